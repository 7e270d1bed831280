//! eshm's benchmark: one-way latency and throughput between two processes, each pinned to its
//! own core, next to the hardware floor measured in the same run.
//!
//! ```text
//! cargo run --release --example bench                  # everything (about a minute)
//! cargo run --release --example bench -- --quick       # 10x fewer iterations
//! cargo run --release --example bench -- --only pingpong,throughput
//! cargo run --release --example bench -- --only large         # 1, 4, 16 MiB in place
//! ```
//!
//! - **floor**: one `AtomicU64` in a mapped `/dev/shm` file, bounced between the two processes
//!   (one cache-line transfer each way): the best any shared-memory transport can do.
//! - **pingpong**: process A publishes on `ping`, B receives it and publishes it back on `pong`,
//!   A receives that; one-way latency = round trip / 2. Payloads of 8 B, 64 B, 4 KiB and 1 MiB,
//!   written and read in full (the publisher copies the message in, the subscriber copies it
//!   out). Modes: `spin` (busy-polling receive), `blocking` (the default strategy: spin 20 µs,
//!   then sleep on a futex) and `park` (sleep at once: every message costs a wake-up).
//! - **throughput**: A publishes 8 B or 64 B messages as fast as it can, B receives them
//!   (busy-polling); messages/s received, and how many B lost because it fell behind.
//! - **burst**: A publishes bursts of 64 B messages, 1 ms apart, to B waiting with
//!   the default strategy (asleep when a burst starts): A's time per message within a burst
//!   (see `burst.rs`).
//! - **large**: 1, 4 and 16 MiB frames written in place (loans) and read in place (samples),
//!   every byte, against the touch floor of the same run (see `large.rs`); the byte channel's
//!   1 MiB round trip in place.
//!
//! Each latency row is paired with a floor measured just before it, and printed as a multiple
//! of that floor too: the core-to-core latency of these machines changes by 3x from minute to
//! minute, so only ratios taken in one run mean anything. Every figure is also printed as a
//! machine-readable line, e.g. `RESULT impl=eshm bench=pingpong payload=8 mode=spin ...`.
#![allow(clippy::disallowed_types)] // the floor uses a plain std atomic in a mapping

mod burst;
mod channel;
use channel::{channel_child, channel_round_trip, channel_throughput};
mod common;
use common::{
    CPU_A, CPU_B, ROLE_ENV, Stats, floor, floor_child, pin, spawn, time_rounds, wait_ok,
    wait_strategy,
};
mod large;

use eshm::pubsub::{PublisherOptions, SubscriberOptions};
use eshm::{Message, Publisher, RawPublisher, RawSubscriber, Subscriber, WaitStrategy};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Names and labels.

fn topic(what: &str) -> String {
    format!("eshm-bench/{}/{what}", std::process::id())
}

fn label(bytes: usize) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 => format!("{} KiB", b >> 10),
        b => format!("{b} B"),
    }
}

// ---------------------------------------------------------------------------------------------
// Ping-pong over eshm topics.

/// A message that carries an iteration number in its first word.
trait Payload: Message {
    fn with(id: u64) -> Self;
    fn id(&self) -> u64;
}

impl Payload for u64 {
    fn with(id: u64) -> Self {
        id
    }
    fn id(&self) -> u64 {
        *self
    }
}

impl<const N: usize> Payload for [u64; N] {
    fn with(id: u64) -> Self {
        let mut v = [id ^ 0x5555; N];
        v[0] = id;
        v
    }
    fn id(&self) -> u64 {
        self[0]
    }
}

/// Side B: echoes `total` messages from `ping` back on `pong`.
fn echo_child<T: Payload>(ping: &str, pong: &str, mode: &str, total: u64) {
    pin(CPU_B);
    let mut sub = Subscriber::<T>::builder(ping)
        .wait_strategy(wait_strategy(mode))
        .open()
        .expect("ping subscriber");
    let mut publisher = Publisher::<T>::create(pong).expect("pong publisher");
    for _ in 0..total {
        let m = sub.recv().expect("receive ping");
        publisher.publish(&m).expect("publish pong");
    }
    // Dropping the publisher closes `pong`; A still reads what is left in it.
}

/// Waits until the other process's subscriber is attached to `name` (it then receives every
/// message published from now on).
fn wait_for_reader(name: &str) {
    while eshm::inspect::info(eshm::segment::SegmentKind::Topic, name).map_or(0, |i| i.readers) == 0
    {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Side A: returns round-trip samples.
fn pingpong<T: Payload>(mode: &str, iters: usize) -> Vec<u64> {
    let (ping, pong) = (topic("ping"), topic("pong"));
    let warmup = iters / 10;
    let total = warmup + iters;
    let mut publisher = Publisher::<T>::create(&ping).expect("ping publisher");
    let child = spawn(
        "echo",
        &[
            size_of::<T>().to_string(),
            ping.clone(),
            pong.clone(),
            mode.to_owned(),
            total.to_string(),
        ],
    );
    pin(CPU_A);
    // Opened before or after the echo side's publisher, it receives every pong.
    let mut sub = Subscriber::<T>::builder(&pong)
        .wait_strategy(wait_strategy(mode))
        .open()
        .expect("pong subscriber");
    wait_for_reader(&ping);
    let rounds = time_rounds(warmup, iters, |i| {
        publisher.publish(&T::with(i)).expect("publish ping");
        let back = sub.recv().expect("receive pong");
        assert_eq!(back.id(), i, "pong carries the ping's number");
    });
    wait_ok(child);
    rounds
}

/// 1 MiB: untyped publisher and a heap buffer on the receive side (the message would be a
/// 1 MiB value on the stack with the typed API).
fn echo_child_large(ping: &str, pong: &str, mode: &str, total: u64, size: usize) {
    pin(CPU_B);
    let options = SubscriberOptions::default().wait_strategy(wait_strategy(mode));
    let schema = <[u64; LARGE_WORDS]>::SCHEMA;
    let mut sub = RawSubscriber::open(ping, Some(schema), options).expect("ping subscriber");
    let mut publisher =
        RawPublisher::create_with(pong, schema, &PublisherOptions::default().capacity(4))
            .expect("pong");
    let mut buf = vec![0u8; size];
    for _ in 0..total {
        sub.recv_into_deadline(&mut buf, None).expect("receive ping");
        // SAFETY: a successful receive initialised all of `buf`.
        let bytes = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), size) };
        publisher.publish_bytes(bytes).expect("publish pong");
    }
}

const LARGE_WORDS: usize = 1 << 17; // 1 MiB

fn pingpong_large(mode: &str, iters: usize) -> Vec<u64> {
    let size = LARGE_WORDS * 8;
    let (ping, pong) = (topic("ping-large"), topic("pong-large"));
    let warmup = iters / 10;
    let total = warmup + iters;
    let schema = <[u64; LARGE_WORDS]>::SCHEMA;
    let mut publisher =
        RawPublisher::create_with(&ping, schema, &PublisherOptions::default().capacity(4))
            .expect("ping");
    let child = spawn(
        "echo",
        &[size.to_string(), ping.clone(), pong.clone(), mode.to_owned(), total.to_string()],
    );
    pin(CPU_A);
    let options = SubscriberOptions::default().wait_strategy(wait_strategy(mode));
    let mut sub = RawSubscriber::open(&pong, Some(schema), options).expect("pong subscriber");
    wait_for_reader(&ping);
    let mut out = vec![0x5au8; size];
    let mut back = vec![0u8; size];
    let rounds = time_rounds(warmup, iters, |i| {
        out[..8].copy_from_slice(&i.to_ne_bytes());
        publisher.publish_bytes(&out).expect("publish ping");
        sub.recv_into_deadline(&mut back, None).expect("receive pong");
        // SAFETY: a successful receive initialised `back`; only its first word is read.
        let id = unsafe { std::ptr::read_unaligned(back.as_ptr().cast::<u64>()) };
        assert_eq!(id, i);
    });
    wait_ok(child);
    rounds
}

// ---------------------------------------------------------------------------------------------
// Throughput.

fn throughput_child<T: Payload>(name: &str, total: u64) {
    pin(CPU_A);
    let mut publisher = Publisher::<T>::create(name).expect("publisher");
    wait_for_reader(name);
    for i in 1..=total {
        publisher.publish(&T::with(i)).expect("publish");
    }
}

/// Returns (received per second, sent, received, lost).
fn throughput<T: Payload>(total: u64) -> (f64, u64, u64, u64) {
    let name = topic(&format!("tput-{}", size_of::<T>()));
    pin(CPU_B);
    let mut sub = Subscriber::<T>::builder(&name)
        .wait_strategy(WaitStrategy::Spin)
        .open()
        .expect("subscriber");
    let child = spawn("tput", &[size_of::<T>().to_string(), name.clone(), total.to_string()]);
    let first = sub.recv().expect("first message");
    let start = Instant::now();
    let mut received = 1u64;
    let mut last = first.id();
    while last != total {
        let m = sub.recv().expect("receive");
        assert!(m.id() > last, "in order");
        last = m.id();
        received += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    wait_ok(child);
    let lost = sub.lost();
    assert_eq!(
        received + lost + first.id() - 1,
        total,
        "every message is received or counted lost"
    );
    (received as f64 / secs, total, received, lost)
}

// ---------------------------------------------------------------------------------------------
// The byte channel.

fn child_main(role: &str) {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match role {
        "floor" => floor_child(&args),
        "echo" => {
            let (ping, pong, mode, total) =
                (&args[1], &args[2], &args[3], args[4].parse().unwrap());
            match args[0].parse::<usize>().unwrap() {
                8 => echo_child::<u64>(ping, pong, mode, total),
                64 => echo_child::<[u64; 8]>(ping, pong, mode, total),
                4096 => echo_child::<[u64; 512]>(ping, pong, mode, total),
                size => echo_child_large(ping, pong, mode, total, size),
            }
        }
        "channel" => channel_child(&args),
        "burst" => burst::burst_child(&args),
        "tput" => {
            let (name, total) = (&args[1], args[2].parse().unwrap());
            match args[0].parse::<usize>().unwrap() {
                8 => throughput_child::<u64>(name, total),
                _ => throughput_child::<[u64; 8]>(name, total),
            }
        }
        other if large::child(other, &args) => {}
        other => panic!("unknown role {other}"),
    }
}

fn main() {
    if let Ok(role) = std::env::var(ROLE_ENV) {
        return child_main(&role);
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let only: Option<Vec<String>> = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .map(|s| s.split(',').map(str::to_owned).collect());
    let want = |what: &str| only.as_ref().is_none_or(|o| o.iter().any(|w| w == what));
    let scale = |n: usize| if quick { (n / 10).max(100) } else { n };

    println!(
        "eshm benchmark: {} CPUs, processes pinned to CPU {CPU_A} and {CPU_B}{}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        if quick { " (quick)" } else { "" }
    );

    let base = floor(scale(500_000), "1");
    let two = floor(scale(500_000), "2");
    println!(
        "\nfloor (one atomic word, two processes, spinning): one-way median {:.1} ns, p99 {:.1} ns, p99.9 {:.1} ns",
        base.p50, base.p99, base.p999
    );
    println!(
        "floor with the answer in a second cache line (as two topics are): one-way median {:.1} ns ({:.2}x)",
        two.p50,
        two.p50 / base.p50
    );
    for (s, bench) in [(&base, "pingpong_atomic"), (&two, "pingpong_atomic_two_lines")] {
        println!(
            "RESULT impl=floor bench={bench} payload=8 n={} oneway_p50_ns={:.1} oneway_p99_ns={:.1} oneway_p999_ns={:.1} oneway_mean_ns={:.1}",
            s.n, s.p50, s.p99, s.p999, s.mean
        );
    }

    if want("pingpong") {
        println!(
            "\none-way latency (round trip / 2), payload written and read in full; each row is paired with a floor measured just before it:"
        );
        println!(
            "{:>8} {:>9} {:>10} {:>10} {:>10} {:>10} {:>11} {:>8}",
            "payload", "mode", "p50 ns", "p99 ns", "p99.9 ns", "mean ns", "floor ns", "x floor"
        );
        let cases: &[(usize, &str, usize)] = &[
            (8, "spin", 300_000),
            (64, "spin", 300_000),
            (4096, "spin", 100_000),
            (1 << 20, "spin", 2_000),
            (8, "blocking", 200_000),
            (64, "blocking", 200_000),
            (8, "park", 10_000),
        ];
        let case_filter = std::env::var("ESHM_BENCH_CASE").ok();
        for &(size, mode, iters) in cases {
            if case_filter.as_ref().is_some_and(|c| *c != format!("{size}-{mode}")) {
                continue;
            }
            let paired = floor(scale(50_000), "1");
            let iters = scale(iters);
            let rtt = match size {
                8 => pingpong::<u64>(mode, iters),
                64 => pingpong::<[u64; 8]>(mode, iters),
                4096 => pingpong::<[u64; 512]>(mode, iters),
                _ => pingpong_large(mode, iters),
            };
            let s = Stats::one_way(rtt);
            let x = s.p50 / paired.p50;
            println!(
                "{:>8} {:>9} {:>10.1} {:>10.1} {:>10.1} {:>10.1} {:>11.1} {:>8.2}",
                label(size),
                mode,
                s.p50,
                s.p99,
                s.p999,
                s.mean,
                paired.p50,
                x
            );
            println!(
                "RESULT impl=eshm bench=pingpong payload={size} mode={mode} n={} oneway_p50_ns={:.1} oneway_p99_ns={:.1} oneway_p999_ns={:.1} oneway_mean_ns={:.1} floor_p50_ns={:.1} x_floor={x:.2}",
                s.n, s.p50, s.p99, s.p999, s.mean, paired.p50
            );
        }
    }

    if want("throughput") {
        println!(
            "\nthroughput, one publisher process -> one busy-polling subscriber process (median of 3 runs):"
        );
        println!(
            "{:>8} {:>14} {:>12} {:>12} {:>10}",
            "payload", "received/s", "sent", "received", "lost"
        );
        for size in [8usize, 64] {
            let total = scale(20_000_000) as u64;
            let mut runs: Vec<(f64, u64, u64, u64)> = (0..3)
                .map(|_| {
                    if size == 8 { throughput::<u64>(total) } else { throughput::<[u64; 8]>(total) }
                })
                .collect();
            runs.sort_by(|a, b| a.0.total_cmp(&b.0));
            let (rate, sent, received, lost) = runs[1];
            println!(
                "{:>8} {:>14.0} {:>12} {:>12} {:>10}",
                label(size),
                rate,
                sent,
                received,
                lost
            );
            println!(
                "RESULT impl=eshm bench=throughput payload={size} msgs_per_s={rate:.0} sent={sent} received={received} lost={lost}"
            );
        }
    }
    if want("burst") {
        let s = burst::bursts(&topic("burst"), scale(2_000) as u64);
        println!(
            "\nbursts of {} 64 B messages, 1 ms apart, to a subscriber with the default wait \
             (asleep when each burst starts): publish time per message within a burst",
            burst::BURST
        );
        println!(
            "  median {:.1} ns, p99 {:.1} ns, p99.9 {:.1} ns, mean {:.1} ns ({} bursts)",
            s.p50, s.p99, s.p999, s.mean, s.n
        );
        println!(
            "RESULT impl=eshm bench=burst payload=64 burst={} n={} per_msg_p50_ns={:.1} per_msg_p99_ns={:.1} per_msg_p999_ns={:.1} per_msg_mean_ns={:.1}",
            burst::BURST,
            s.n,
            s.p50,
            s.p99,
            s.p999,
            s.mean
        );
    }
    if want("channel") {
        println!(
            "\nbyte channel: round trip (master -> slave -> master), one-way = round trip / 2:"
        );
        println!(
            "{:>8} {:>9} {:>10} {:>10} {:>10} {:>11} {:>8}",
            "payload", "mode", "p50 ns", "p99 ns", "p99.9 ns", "floor ns", "x floor"
        );
        for &(size, mode, iters) in &[
            (64usize, "spin", 200_000usize),
            (64, "blocking", 200_000),
            (64 << 10, "spin", 20_000),
        ] {
            let paired = floor(scale(50_000), "1");
            let s = Stats::one_way(channel_round_trip(mode, size, scale(iters)));
            let x = s.p50 / paired.p50;
            println!(
                "{:>8} {:>9} {:>10.1} {:>10.1} {:>10.1} {:>11.1} {:>8.2}",
                label(size),
                mode,
                s.p50,
                s.p99,
                s.p999,
                paired.p50,
                x
            );
            println!(
                "RESULT impl=eshm bench=channel_pingpong payload={size} mode={mode} n={} oneway_p50_ns={:.1} oneway_p99_ns={:.1} oneway_p999_ns={:.1} oneway_mean_ns={:.1} floor_p50_ns={:.1} x_floor={x:.2}",
                s.n, s.p50, s.p99, s.p999, s.mean, paired.p50
            );
        }
        println!("\nbyte channel: throughput master -> slave (back-pressure, nothing lost):");
        for &(size, total) in &[(64usize, 5_000_000usize), (64 << 10, 50_000)] {
            let rate = channel_throughput(size, scale(total) as u64);
            println!(
                "{:>8} {:>14.0} messages/s {:>10.2} GB/s",
                label(size),
                rate,
                rate * size as f64 / 1e9
            );
            println!(
                "RESULT impl=eshm bench=channel_throughput payload={size} msgs_per_s={rate:.0} GBps={:.3}",
                rate * size as f64 / 1e9
            );
        }
    }

    if want("large") {
        large::run(quick);
    }

    let last = floor(scale(200_000), "1");
    println!(
        "\nfloor again: one-way median {:.1} ns (it was {:.1} ns at the start: compare ratios within a row)",
        last.p50, base.p50
    );
}
