//! Feedback bursts: what publishing an action's feedback costs when its client sleeps between
//! bursts.
//!
//! The server (A) publishes the feedback of one goal in bursts of [`BURST`], 1 ms apart; the
//! client (B) takes it with `next_feedback` and the default wait (spin 20 µs, then sleep on
//! its slot's futex), so it is asleep when each burst starts and on its way back from the
//! wake-up while the burst goes on. The figure is A's time per feedback message within a
//! burst: the first message of a burst wakes B, and the others must not pay for B's wake-up
//! in progress.

use crate::common::{CPU_A, CPU_B, Stats, pin, spawn, wait_ok};
use eshm::action::{ActionClient, ActionServer};
use std::time::Duration;

/// Feedback messages per burst.
pub(crate) const BURST: u64 = 64;

/// Side B: sends one goal and takes its `total` feedback messages; prints what it took and
/// what it missed.
pub(crate) fn feedback_client(args: &[String]) {
    pin(CPU_B);
    let (name, total): (&str, u64) = (&args[0], args[1].parse().expect("total"));
    let mut client = ActionClient::<u64, u64, u64>::open(name).expect("action client");
    let goal = client.send_goal(&total).expect("send goal");
    let mut taken = 0u64;
    while let Some(f) = client.next_feedback(goal, Duration::from_secs(60)).expect("feedback") {
        taken += 1;
        if f == total {
            break;
        }
    }
    println!("feedback client: took {taken}, missed {}", client.feedback_lost(goal));
}

/// Side A: `bursts` bursts of feedback to one goal; time per message within each burst, in ns.
pub(crate) fn feedback_bursts(name: &str, bursts: u64) -> Stats {
    pin(CPU_A);
    let mut server = ActionServer::<u64, u64, u64>::builder(name)
        .feedback_depth(4 * BURST as usize)
        .create()
        .expect("action server");
    let total = bursts * BURST;
    let child = spawn("feedback", &[name.to_owned(), total.to_string()]);
    let mut goal = server.recv_goal().expect("a goal").accept().expect("accept");
    let mut samples = Vec::with_capacity(bursts as usize);
    let mut n = 0u64;
    for _ in 0..bursts {
        // Far enough apart for B to fall asleep; counted from the end of the previous burst.
        std::thread::sleep(Duration::from_millis(1));
        let t = std::time::Instant::now();
        for _ in 0..BURST {
            n += 1;
            goal.publish_feedback(&n).expect("feedback");
        }
        samples.push(t.elapsed().as_nanos() as u64);
    }
    wait_ok(child);
    goal.succeed(&0).expect("succeed");
    Stats::of(samples, 1.0 / BURST as f64)
}
