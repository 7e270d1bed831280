//! The service benchmark: round trips of a service call (8-byte request and response) between
//! a client process and a server process, next to the pub/sub ping-pong and the bare
//! core-to-core floor measured in the same run; and calls per second with 1, 2 and 4 client
//! processes calling one server.
//!
//! ```text
//! cargo run --release --example service_bench               # everything (about a minute)
//! cargo run --release --example service_bench -- --quick    # 10x fewer iterations
//! cargo run --release --example service_bench -- --only latency,throughput
//! ```
//!
//! - **floor**: one atomic word bounced between the two processes (pinned to CPU 0 and 1).
//! - **pingpong**: A publishes a `u64` on a topic, B receives it and publishes it back on a
//!   second topic: the round trip of two topics, the natural yardstick for a call.
//! - **service**: A calls `Server<u64, u64>` in B, which answers `x + 1`; one time stamp per
//!   call (as iceoryx2's request-response benchmark takes them). Modes: `spin` (both sides
//!   busy-poll), `blocking` (the default: spin 20 µs, then sleep on a futex) and `park` (sleep
//!   at once: every call pays two wake-ups).
//! - **throughput**: 1, 2 and 4 client processes call as fast as they can (default wait,
//!   one call in flight each, clients on CPU 0, the server on CPU 1).
//! - **feedback**: an action server publishes one goal's feedback in bursts to a client that
//!   sleeps between them: the server's time per feedback message (see `feedback.rs`).
//!
//! Latency rows print one-way figures (round trip / 2, as the peers' harness compares them),
//! with the round trip itself (`rtt_p50_ns`) on the `RESULT` lines. `ESHM_BENCH_CASE=service-spin`
//! runs one latency case only.
#![allow(clippy::disallowed_types)] // the floor uses a plain std atomic in a mapping

use eshm::service::{Client, Server};
use eshm::{Publisher, Subscriber};
use std::process::Child;
use std::time::{Duration, Instant};

#[path = "common.rs"]
mod common;
#[path = "feedback.rs"]
mod feedback;
use common::{
    CPU_A, CPU_B, ROLE_ENV, Stats, floor, floor_child, pin, spawn, wait_ok, wait_strategy,
};

fn name(what: &str) -> String {
    format!("eshm-service-bench/{}/{what}", std::process::id())
}

// ---------------------------------------------------------------------------------------------
// Pub/sub ping-pong over two topics.

fn echo_child(args: &[String]) {
    pin(CPU_B);
    let (ping, pong, mode, total) = (&args[0], &args[1], &args[2], args[3].parse().unwrap());
    let mut sub = Subscriber::<u64>::builder(ping)
        .wait_strategy(wait_strategy(mode))
        .open()
        .expect("ping subscriber");
    let mut publisher = Publisher::<u64>::create(pong).expect("pong publisher");
    for _ in 0..total {
        let m = sub.recv().expect("receive ping");
        publisher.publish(&m).expect("publish pong");
    }
}

fn pingpong(mode: &str, iters: usize) -> Vec<u64> {
    let (ping, pong) = (name("ping"), name("pong"));
    let warmup = iters / 10;
    let total = warmup + iters;
    let mut publisher = Publisher::<u64>::create(&ping).expect("ping publisher");
    let child = spawn("echo", &[ping.clone(), pong.clone(), mode.to_owned(), total.to_string()]);
    pin(CPU_A);
    let mut sub =
        Subscriber::<u64>::builder(&pong).wait_strategy(wait_strategy(mode)).open().unwrap();
    while eshm::inspect::info(eshm::segment::SegmentKind::Topic, &ping).map_or(0, |i| i.readers)
        == 0
    {
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut samples = Vec::with_capacity(iters);
    for i in 1..=total as u64 {
        let t = Instant::now();
        publisher.publish(&i).expect("publish ping");
        let back = sub.recv().expect("receive pong");
        let dt = t.elapsed().as_nanos() as u64;
        assert_eq!(back, i);
        if i as usize > warmup {
            samples.push(dt);
        }
    }
    wait_ok(child);
    samples
}

// ---------------------------------------------------------------------------------------------
// Service calls.

/// `server NAME MODE TOTAL CPU`: answers TOTAL calls with `x + 1`.
fn server_child(args: &[String]) {
    let (svc, mode, total) = (&args[0], &args[1], args[2].parse::<u64>().unwrap());
    pin(args[3].parse().unwrap());
    let mut server = Server::<u64, u64>::builder(svc)
        .wait_strategy(wait_strategy(mode))
        .max_clients(8)
        .create()
        .expect("create server");
    println!("ready");
    for _ in 0..total {
        let req = server.recv().expect("receive a call");
        let x = *req;
        req.respond(&(x + 1)).expect("answer");
    }
    // The last answers are taken before the service goes.
    std::thread::sleep(Duration::from_millis(100));
}

fn open_client(svc: &str, mode: &str) -> Client<u64, u64> {
    let client =
        Client::<u64, u64>::builder(svc).wait_strategy(wait_strategy(mode)).open().unwrap();
    assert!(client.wait_for_server(Duration::from_secs(30)), "no server");
    client
}

fn service_round_trips(mode: &str, iters: usize) -> Vec<u64> {
    let svc = name("add-one");
    let warmup = iters / 10;
    let total = warmup + iters;
    let server = spawn("server", &[svc.clone(), mode.to_owned(), total.to_string(), "1".into()]);
    pin(CPU_A);
    let client = open_client(&svc, mode);
    let timeout = Duration::from_secs(30);
    let mut samples = Vec::with_capacity(iters);
    for i in 0..total as u64 {
        let t = Instant::now();
        let got = client.call(&i, timeout).expect("call");
        let dt = t.elapsed().as_nanos() as u64;
        assert_eq!(got, i + 1, "wrong answer");
        if i as usize >= warmup {
            samples.push(dt);
        }
    }
    wait_ok(server);
    samples
}

/// `client NAME CALLS`: makes CALLS calls as fast as it can (pinned to CPU 0).
fn client_child(args: &[String]) {
    pin(CPU_A);
    let client = open_client(&args[0], "blocking");
    let calls: u64 = args[1].parse().unwrap();
    for i in 0..calls {
        assert_eq!(client.call(&i, Duration::from_secs(30)).expect("call"), i + 1);
    }
}

/// Calls per second with `clients` client processes, each making `calls` calls.
fn throughput(clients: usize, calls: usize) -> f64 {
    let svc = name(&format!("tput-{clients}"));
    let total = clients * calls;
    let server = spawn("server", &[svc.clone(), "blocking".into(), total.to_string(), "1".into()]);
    // Started together: each waits for the server, which is up once the first one calls.
    let start = Instant::now();
    let children: Vec<Child> =
        (0..clients).map(|_| spawn("client", &[svc.clone(), calls.to_string()])).collect();
    for c in children {
        wait_ok(c);
    }
    let elapsed = start.elapsed();
    wait_ok(server);
    total as f64 / elapsed.as_secs_f64()
}

fn main() {
    if let Ok(role) = std::env::var(ROLE_ENV) {
        let args: Vec<String> = std::env::args().skip(1).collect();
        return match role.as_str() {
            "floor" => floor_child(&args),
            "echo" => echo_child(&args),
            "server" => server_child(&args),
            "client" => client_child(&args),
            "feedback" => feedback::feedback_client(&args),
            other => panic!("unknown role {other}"),
        };
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
        "eshm service benchmark: {} CPUs, client on CPU 0, server on CPU 1{}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        if quick { " (quick)" } else { "" }
    );

    if want("latency") {
        println!(
            "\none-way latency (round trip / 2) of 8-byte messages, each row paired with a floor \
             taken just before it:"
        );
        println!(
            "{:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10} {:>8}",
            "what", "mode", "p50 ns", "p99 ns", "p99.9 ns", "mean ns", "floor ns", "x floor"
        );
        let cases: &[(&str, &str, usize)] = &[
            ("pingpong", "spin", 200_000),
            ("service", "spin", 200_000),
            ("pingpong", "blocking", 200_000),
            ("service", "blocking", 200_000),
            ("service", "park", 10_000),
        ];
        let case_filter = std::env::var("ESHM_BENCH_CASE").ok();
        for &(what, mode, iters) in cases {
            if case_filter.as_ref().is_some_and(|c| *c != format!("{what}-{mode}")) {
                continue;
            }
            let paired = floor(scale(50_000), "1");
            let iters = scale(iters);
            let rtt = if what == "pingpong" {
                pingpong(mode, iters)
            } else {
                service_round_trips(mode, iters)
            };
            let rtt_stats = Stats::of(rtt.clone(), 1.0);
            let s = Stats::of(rtt, 0.5);
            let x = s.p50 / paired.p50;
            println!(
                "{what:>10} {mode:>9} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>10.1} {x:>8.2}",
                s.p50, s.p99, s.p999, s.mean, paired.p50
            );
            println!(
                "RESULT impl=eshm bench={what}_8b payload=8 wait={mode} n={} oneway_p50_ns={:.1} \
                 oneway_p99_ns={:.1} oneway_p999_ns={:.1} oneway_mean_ns={:.1} rtt_p50_ns={:.1} \
                 rtt_p99_ns={:.1} calls_per_s={:.0} eshm_floor_p50_ns={:.1} x_floor={x:.2}",
                s.n,
                s.p50,
                s.p99,
                s.p999,
                s.mean,
                rtt_stats.p50,
                rtt_stats.p99,
                1e9 / rtt_stats.mean,
                paired.p50
            );
        }
    }

    if want("feedback") {
        let s = feedback::feedback_bursts(&name("feedback"), scale(2_000) as u64);
        println!(
            "\naction feedback in bursts of {} messages, 1 ms apart, to a client with the default \
             wait (asleep when each burst starts): the server's time per message within a burst",
            feedback::BURST
        );
        println!(
            "  median {:.1} ns, p99 {:.1} ns, p99.9 {:.1} ns, mean {:.1} ns ({} bursts)",
            s.p50, s.p99, s.p999, s.mean, s.n
        );
        println!(
            "RESULT impl=eshm bench=feedback_burst payload=8 burst={} n={} per_msg_p50_ns={:.1} \
             per_msg_p99_ns={:.1} per_msg_p999_ns={:.1} per_msg_mean_ns={:.1}",
            feedback::BURST,
            s.n,
            s.p50,
            s.p99,
            s.p999,
            s.mean
        );
    }

    if want("throughput") {
        println!("\ncalls per second, one server process, one call in flight per client:");
        for clients in [1usize, 2, 4] {
            let rate = throughput(clients, scale(200_000) / clients);
            println!("{clients:>3} client(s) {rate:>12.0} calls/s");
            println!(
                "RESULT impl=eshm bench=service_throughput payload=8 clients={clients} \
                 msgs_per_s={rate:.0}"
            );
        }
    }
}
