//! What readers that die asleep cost a publisher: its per-publish cost before, and after 50
//! subscribers are SIGKILLed while parked in a blocking receive and 5 `eshm echo`s are
//! interrupted (Ctrl-C) while waiting.
//!
//! ```text
//! cargo build --release -p eshm-cli          # for the `eshm echo` part
//! cargo run --release --example dead_readers
//! cargo run --release --example dead_readers -- --quick
//! ```
//!
//! A reader asleep on the topic's futex is registered in the ring; a publisher makes the wake-up
//! system call only while someone is. A reader killed asleep cannot unregister: the publisher
//! takes the registrations it wakes, so such a reader costs one wake-up. Without that, every
//! later publish made the system call (8.7 ns became 269 ns,
//! `bench-results/2026-11-29-dead-readers-taken.txt`).

use eshm::inspect;
use eshm::segment::SegmentKind;
use eshm::{Publisher, Subscriber};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ROLE_ENV: &str = "ESHM_DEAD_READERS_ROLE";

/// Nanoseconds per publish: the median of `batches` batches of `per_batch` publishes.
fn publish_cost(publisher: &mut Publisher<u64>, batches: usize, per_batch: u64) -> f64 {
    let mut costs: Vec<f64> = (0..batches)
        .map(|_| {
            let start = Instant::now();
            for i in 0..per_batch {
                publisher.publish(&i).expect("publish");
            }
            start.elapsed().as_nanos() as f64 / per_batch as f64
        })
        .collect();
    costs.sort_by(f64::total_cmp);
    costs[costs.len() / 2]
}

/// Waits until `n` readers sleep on the topic.
fn wait_for_sleepers(name: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let info = inspect::info(SegmentKind::Topic, name).expect("inspect the topic");
        if info.sleeping_reader_pids.len() + info.sleeping_unlisted as usize >= n {
            return;
        }
        assert!(Instant::now() < deadline, "{n} readers never fell asleep");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn signal(child: &mut Child, signal: rustix::process::Signal) {
    let pid = rustix::process::Pid::from_raw(child.id() as i32).expect("a child's pid");
    rustix::process::kill_process(pid, signal).expect("signal a child");
    child.wait().expect("reap a child");
}

/// The `eshm` binary built next to this example, if there is one.
fn eshm_binary() -> Option<std::path::PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let path = exe.parent()?.parent()?.join("eshm");
    path.exists().then_some(path)
}

fn main() {
    // Started in the background without job control, this process and the `eshm echo`s it
    // starts would inherit SIGINT ignored, and the Ctrl-C it sends them would do nothing.
    // SAFETY: `SIG_DFL` installs no handler (no code of ours runs on the signal), and this runs
    // first in `main`, before any thread is started.
    unsafe { libc::signal(libc::SIGINT, libc::SIG_DFL) };
    if let Ok(name) = std::env::var(ROLE_ENV) {
        // A subscriber that sleeps in a blocking receive until it is killed.
        let mut sub = Subscriber::<u64>::open(&name).expect("subscribe");
        let _ = sub.recv();
        return;
    }
    let quick = std::env::args().any(|a| a == "--quick");
    let (batches, per_batch) = if quick { (5, 200_000) } else { (21, 1_000_000) };
    let name = format!("eshm-bench/dead-readers/{}", std::process::id());
    let mut publisher = Publisher::<u64>::create(&name).expect("create the topic");

    let before = publish_cost(&mut publisher, batches, per_batch);
    println!("publish cost before:            {before:7.1} ns");

    // 50 subscribers asleep in a blocking receive, killed.
    let exe = std::env::current_exe().expect("current_exe");
    let mut sleepers: Vec<Child> = (0..50)
        .map(|_| Command::new(&exe).env(ROLE_ENV, &name).spawn().expect("spawn a subscriber"))
        .collect();
    wait_for_sleepers(&name, sleepers.len());
    for child in &mut sleepers {
        signal(child, rustix::process::Signal::KILL);
    }
    println!("killed 50 subscribers asleep in a blocking receive (SIGKILL)");

    // 5 `eshm echo`s, waiting for the next message, interrupted.
    match eshm_binary() {
        Some(eshm) => {
            let mut echoes: Vec<Child> = (0..5)
                .map(|_| {
                    Command::new(&eshm)
                        .args(["echo", &name])
                        .stdout(Stdio::null())
                        .spawn()
                        .expect("run eshm echo")
                })
                .collect();
            wait_for_sleepers(&name, echoes.len());
            for child in &mut echoes {
                signal(child, rustix::process::Signal::INT);
            }
            println!("interrupted 5 `eshm echo`s waiting for a message (SIGINT)");
        }
        None => {
            println!("(no eshm binary next to this example: `cargo build --release -p eshm-cli`)")
        }
    }

    let after = publish_cost(&mut publisher, batches, per_batch);
    let info = inspect::info(SegmentKind::Topic, &name).expect("inspect the topic");
    println!("publish cost after:             {after:7.1} ns  ({:.2}x before)", after / before);
    println!(
        "readers registered asleep now:  {}",
        info.sleeping_reader_pids.len() + info.sleeping_unlisted as usize
    );
    println!(
        "RESULT bench=dead_readers before_ns={before:.1} after_ns={after:.1} ratio={:.3}",
        after / before
    );
}
