//! Bursts: what a publish costs when its subscriber sleeps between bursts.
//!
//! A publishes 64 B messages in bursts of [`BURST`], 1 ms apart; B receives
//! them with the default wait (spin 20 µs, then sleep on the ring's futex), so it is asleep
//! when each burst starts and on its way back from the wake-up while the burst goes on. The
//! figure is A's time per message within a burst (the burst's time / [`BURST`]): the first
//! publish of a burst makes the `futex_wake` system call, and the others must not pay for B's
//! wake-up in progress.

use crate::common::{CPU_A, CPU_B, Stats, pin, spawn, wait_ok};
use eshm::{Publisher, Subscriber};
use std::time::{Duration, Instant};

/// Messages per burst.
pub(crate) const BURST: u64 = 256;
type Msg = [u64; 8];

/// Side B: receives `total` messages with the default wait; prints what it received and lost.
pub(crate) fn burst_child(args: &[String]) {
    pin(CPU_B);
    let (name, total): (&str, u64) = (&args[0], args[1].parse().expect("total"));
    let mut sub = Subscriber::<Msg>::open(name).expect("subscriber");
    let mut received = 0u64;
    loop {
        let m = sub.recv().expect("receive");
        received += 1;
        if m[0] == total {
            break;
        }
    }
    println!("burst subscriber: received {received}, lost {}", sub.lost());
}

/// Side A: `bursts` bursts; per-message time within each burst, in ns.
pub(crate) fn bursts(name: &str, bursts: u64) -> Stats {
    pin(CPU_A);
    let mut publisher = Publisher::<Msg>::create(name).expect("publisher");
    let total = bursts * BURST;
    let child = spawn("burst", &[name.to_owned(), total.to_string()]);
    crate::wait_for_reader(name);
    let mut samples = Vec::with_capacity(bursts as usize);
    let mut n = 0u64;
    for _ in 0..bursts {
        // Far enough apart for B to fall asleep (its spin lasts 20 µs); counted from the end of
        // the previous burst, so that a late wake-up of A never sends bursts back to back
        // (which could overrun the ring before B wakes).
        std::thread::sleep(Duration::from_millis(1));
        let t = Instant::now();
        for _ in 0..BURST {
            n += 1;
            let mut m = [n ^ 0x5555; 8];
            m[0] = n;
            publisher.publish(&m).expect("publish");
        }
        samples.push(t.elapsed().as_nanos() as u64);
    }
    wait_ok(child);
    Stats::of(samples, 1.0 / BURST as f64)
}
