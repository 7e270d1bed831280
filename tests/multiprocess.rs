//! Publish/subscribe between real processes: completeness and ordering under load, crash and
//! restart of the publisher, and what a second publisher or a wrongly typed subscriber gets.
//!
//! This binary has its own `main` (no libtest): when `ESHM_TEST_CHILD_ROLE` is set it plays a
//! child role (publisher or subscriber) instead of running the tests. Run one test with
//! `cargo test -p eshm-tests --test multiprocess -- <name-substring>`.

use eshm::{Error, Publisher, Subscriber};
use eshm_tests::{CHILD_ROLE_ENV, ChildProcess, Stamped, field, unique_name};
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// Child roles.

/// `publisher NAME GENERATION COUNT`: publishes messages 1..=COUNT (forever if COUNT is 0),
/// then stays alive (keeping the topic) until the parent releases it.
fn child_publisher(args: &[String]) {
    let (name, generation, count) =
        (&args[0], args[1].parse().unwrap(), args[2].parse::<u64>().unwrap());
    let mut publisher = Publisher::<Stamped>::create(name).expect("create publisher");
    println!("ready pid={}", std::process::id());
    let mut seq = 1;
    while count == 0 || seq <= count {
        publisher.publish(&Stamped::new(generation, seq)).expect("publish");
        seq += 1;
    }
    println!("done published={}", seq - 1);
    eshm_tests::wait_for_parent();
}

/// `subscriber NAME LAST_GENERATION LAST_SEQ`: receives until message LAST_SEQ of generation
/// LAST_GENERATION, checking every message; prints per-run counts.
fn child_subscriber(args: &[String]) {
    let (name, last_gen, last_seq) =
        (&args[0], args[1].parse::<u64>().unwrap(), args[2].parse::<u64>().unwrap());
    let mut sub = Subscriber::<Stamped>::new(name).expect("open subscriber");
    println!("ready");
    let (mut generation, mut seq, mut received, mut per_gen) = (0u64, 0u64, 0u64, [0u64; 8]);
    loop {
        let m = sub.recv_timeout(Duration::from_secs(60)).expect("receive");
        assert!(m.is_intact(), "torn or corrupt message: {m:?}");
        assert!(
            (m.generation, m.seq) > (generation, seq),
            "out of order: ({}, {}) after ({generation}, {seq})",
            m.generation,
            m.seq
        );
        assert!(m.generation > generation || m.seq > seq);
        generation = m.generation;
        seq = m.seq;
        received += 1;
        per_gen[generation as usize % 8] += 1;
        if generation == last_gen && seq == last_seq {
            break;
        }
    }
    println!(
        "done received={received} lost={} gen1={} gen2={}",
        sub.lost(),
        per_gen[1],
        per_gen[2]
    );
}

// ---------------------------------------------------------------------------------------------
// Tests.

/// One publisher, three subscriber processes, 1,000,000 messages each carrying a sequence
/// number and a checksum: nothing torn, nothing reordered, and for every subscriber the
/// messages received plus those counted as lost are exactly the messages sent.
fn pubsub_three_subscribers_receive_in_order_and_count_every_loss() {
    const COUNT: u64 = 1_000_000;
    let name = unique_name("completeness");
    let arg = |v: &dyn ToString| v.to_string();
    let mut subscribers: Vec<ChildProcess> = (0..3)
        .map(|_| ChildProcess::spawn("subscriber", &[arg(&name), arg(&1), arg(&COUNT)]))
        .collect();
    for s in &mut subscribers {
        s.expect_line("ready");
    }
    let mut publisher = ChildProcess::spawn("publisher", &[arg(&name), arg(&1), arg(&COUNT)]);
    assert_eq!(field(&publisher.expect_line("done"), "published"), COUNT);
    for s in subscribers {
        let line = s.finish("done");
        let (received, lost) = (field(&line, "received"), field(&line, "lost"));
        println!("    subscriber: {line}");
        assert_eq!(received + lost, COUNT, "received {received} + lost {lost} != sent {COUNT}");
        assert!(received >= 1);
    }
    publisher.finish("");
}

/// The publisher is killed with SIGKILL mid-stream; a new publisher process takes the name
/// over, and the subscriber processes, never re-created, carry on receiving from it.
fn pubsub_subscribers_survive_publisher_crash_and_restart() {
    const SECOND_RUN: u64 = 2_000;
    let name = unique_name("crash");
    let arg = |v: &dyn ToString| v.to_string();
    let mut subscribers: Vec<ChildProcess> = (0..2)
        .map(|_| ChildProcess::spawn("subscriber", &[arg(&name), arg(&2), arg(&SECOND_RUN)]))
        .collect();
    for s in &mut subscribers {
        s.expect_line("ready");
    }
    let mut first = ChildProcess::spawn("publisher", &[arg(&name), arg(&1), arg(&0)]);
    first.expect_line("ready");

    // Watch the stream from here too, until the first publisher is well under way.
    let mut watcher = Subscriber::<Stamped>::new(&name).expect("watcher");
    let mut seen = 0;
    while seen < 10_000 {
        let m = watcher.recv_timeout(Duration::from_secs(30)).expect("first run flows");
        assert!(m.is_intact() && m.generation == 1);
        seen += 1;
    }

    // While it lives, nobody else may publish, and a subscriber of another type is refused.
    match Publisher::<Stamped>::create(&name) {
        Err(Error::PublisherExists { pid, .. }) => assert_eq!(pid, first.pid()),
        other => panic!("expected PublisherExists, got {other:?}"),
    }
    match Subscriber::<f64>::new(&name) {
        Err(Error::TypeMismatch { expected, found, .. }) => {
            assert_eq!((&*expected, &*found), ("f64", "Stamped"))
        }
        other => panic!("expected TypeMismatch, got {other:?}"),
    }

    first.kill();
    let mut second = ChildProcess::spawn("publisher", &[arg(&name), arg(&2), arg(&SECOND_RUN)]);
    assert_eq!(field(&second.expect_line("done"), "published"), SECOND_RUN);
    for s in subscribers {
        // Each subscriber exits only after receiving the second run's last message.
        let line = s.finish("done");
        println!("    subscriber: {line}");
        assert!(field(&line, "gen2") >= 1);
    }
    second.finish("");
}

// ---------------------------------------------------------------------------------------------
// A minimal runner: run every test (or those whose name contains the filter), report like
// libtest, and exit non-zero on any failure.

fn main() {
    if let Ok(role) = std::env::var(CHILD_ROLE_ENV) {
        let args: Vec<String> = std::env::args().skip(1).collect();
        match role.as_str() {
            "publisher" => child_publisher(&args),
            "subscriber" => child_subscriber(&args),
            other => panic!("unknown child role {other}"),
        }
        return;
    }
    let tests: &[(&str, fn())] = &[
        (
            "pubsub_three_subscribers_receive_in_order_and_count_every_loss",
            pubsub_three_subscribers_receive_in_order_and_count_every_loss,
        ),
        (
            "pubsub_subscribers_survive_publisher_crash_and_restart",
            pubsub_subscribers_survive_publisher_crash_and_restart,
        ),
    ];
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        for (name, _) in tests {
            println!("{name}: test");
        }
        return;
    }
    let filter = args.iter().find(|a| !a.starts_with('-'));
    let selected: Vec<_> =
        tests.iter().filter(|(n, _)| filter.is_none_or(|f| n.contains(f.as_str()))).collect();
    println!("\nrunning {} tests", selected.len());
    let mut failed = Vec::new();
    for (name, test) in selected {
        let start = std::time::Instant::now();
        let outcome = std::panic::catch_unwind(test);
        let verdict = if outcome.is_ok() { "ok" } else { "FAILED" };
        println!("test {name} ... {verdict} ({:.1} s)", start.elapsed().as_secs_f64());
        if outcome.is_err() {
            failed.push(*name);
        }
    }
    if failed.is_empty() {
        println!("\ntest result: ok. {} passed", tests.len());
    } else {
        println!("\ntest result: FAILED. failures: {failed:?}");
        std::process::exit(1);
    }
}
