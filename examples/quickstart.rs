//! The eshm demo: one command starts a publisher and a subscriber process, shows messages
//! flowing between them, and prints the one-way latency they measured.
//!
//! ```text
//! cargo run --release --example quickstart
//! ```
//!
//! The publisher sends a `Pose` every 100 µs for 2 seconds, stamped with the time it was
//! published; the subscriber (a second process, started by this one) compares each stamp with
//! the time it received the message. Both clocks are the machine's `CLOCK_MONOTONIC`, so the
//! difference is the one-way latency.
//!
//! The subscriber busy-polls (`WaitStrategy::Spin`), the lowest-latency mode. With the default
//! strategy (spin 20 µs, then sleep on a futex) a message that arrives while the subscriber
//! sleeps costs a process wake-up, tens of µs: see `cargo run --release --example bench`.

use eshm::{Publisher, Subscriber, WaitStrategy};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A robot pose, as a sensor driver would publish it.
#[derive(Clone, Copy, Debug, eshm::Message)]
#[repr(C)]
struct Pose {
    /// When it was published (`CLOCK_MONOTONIC`, ns).
    stamp_ns: u64,
    /// Message number, from 0.
    seq: u64,
    x: f64,
    y: f64,
    theta: f64,
}

const MESSAGES: u64 = 20_000;
const PERIOD: Duration = Duration::from_micros(100);
const ROLE_ENV: &str = "ESHM_QUICKSTART_ROLE";

fn now_ns() -> u64 {
    // `Instant` has no public epoch; CLOCK_MONOTONIC is the same clock in both processes.
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn main() -> eshm::Result<()> {
    let topic = std::env::args()
        .nth(1)
        .unwrap_or_else(|| format!("quickstart/pose/{}", std::process::id()));
    if std::env::var_os(ROLE_ENV).is_some() {
        return subscriber(&topic);
    }

    // Start the subscriber first: it waits for the topic to appear.
    let exe = std::env::current_exe().expect("current executable");
    let mut child = Command::new(exe)
        .arg(&topic)
        .env(ROLE_ENV, "subscriber")
        .stdout(Stdio::inherit())
        .spawn()
        .expect("start the subscriber process");
    println!(
        "[publisher  pid {}] publishing `Pose` on {topic:?}, one every {PERIOD:?}",
        std::process::id()
    );

    let published = publish(&topic);
    if published.is_err() {
        let _ = child.kill();
    }
    let status = child.wait().expect("wait for the subscriber");
    published?;
    assert!(status.success(), "subscriber failed: {status}");
    Ok(())
}

fn publish(topic: &str) -> eshm::Result<()> {
    let mut publisher = Publisher::<Pose>::create(topic)?;
    // Wait until the subscriber process has attached (it registers in the topic's reader table).
    while eshm::inspect::info(eshm::segment::SegmentKind::Topic, topic)?.readers == 0 {
        std::thread::sleep(Duration::from_millis(1));
    }
    let start = Instant::now();
    for seq in 0..MESSAGES {
        let t = seq as f64 * 1e-3;
        publisher.publish(&Pose { stamp_ns: now_ns(), seq, x: t.cos(), y: t.sin(), theta: t })?;
        // Pace the stream (a sensor at 10 kHz); spin for precision, it is a demo.
        let next = start + PERIOD * (seq as u32 + 1);
        while Instant::now() < next {
            std::hint::spin_loop();
        }
    }
    println!("[publisher  pid {}] published {MESSAGES} messages", std::process::id());
    Ok(())
}

fn subscriber(topic: &str) -> eshm::Result<()> {
    let pid = std::process::id();
    let mut subscriber =
        Subscriber::<Pose>::builder(topic).wait_strategy(WaitStrategy::Spin).open()?;
    let mut latencies = Vec::with_capacity(MESSAGES as usize);
    loop {
        let pose = subscriber.recv_timeout(Duration::from_secs(10))?;
        let latency = now_ns().saturating_sub(pose.stamp_ns);
        latencies.push(latency);
        if pose.seq % 4000 == 0 {
            println!(
                "[subscriber pid {pid}] #{:<6} x={:+.3} y={:+.3} theta={:6.3}  one-way {:>6.2} µs",
                pose.seq,
                pose.x,
                pose.y,
                pose.theta,
                latency as f64 / 1e3
            );
        }
        if pose.seq == MESSAGES - 1 {
            break;
        }
    }
    latencies.sort_unstable();
    let q = |p: f64| {
        latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)] as f64 / 1e3
    };
    println!(
        "[subscriber pid {pid}] received {} messages, lost {}; one-way latency (busy-polling): median {:.2} µs, p99 {:.2} µs, p99.9 {:.2} µs, max {:.2} µs",
        latencies.len(),
        subscriber.lost(),
        q(0.5),
        q(0.99),
        q(0.999),
        *latencies.last().unwrap() as f64 / 1e3
    );
    Ok(())
}
