//! Publish/subscribe and the byte channel between real processes: completeness and ordering
//! under load, crash and restart (publisher, channel master), role races, frozen peers, and
//! what a second publisher or a wrongly typed subscriber gets.
//!
//! This binary has its own `main` (no libtest): when `ESHM_TEST_CHILD_ROLE` is set it plays a
//! child role (publisher or subscriber) instead of running the tests. Run one test with
//! `cargo test -p eshm-tests --test multiprocess -- <name-substring>`.

use eshm::channel::{Channel, DisconnectBehavior, Role};
use eshm::{Error, Publisher, ReadError, Subscriber, WriteError};
use eshm_tests::{ChildProcess, Stamped, field, read_parent_line, unique_name};
use std::time::{Duration, Instant};

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
    let mut sub = Subscriber::<Stamped>::open(name).expect("open subscriber");
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

/// A channel message: generation, sequence number, then bytes derived from both.
fn channel_message(generation: u64, seq: u64, len: usize) -> Vec<u8> {
    let mut m = Vec::with_capacity(16 + len);
    m.extend_from_slice(&generation.to_le_bytes());
    m.extend_from_slice(&seq.to_le_bytes());
    m.extend((0..len).map(|i| (generation * 131 + seq * 31 + i as u64) as u8));
    m
}

/// Checks a channel message; returns (generation, seq).
fn check_channel_message(m: &[u8]) -> (u64, u64) {
    assert!(m.len() >= 16, "message of {} bytes", m.len());
    let generation = u64::from_le_bytes(m[..8].try_into().unwrap());
    let seq = u64::from_le_bytes(m[8..16].try_into().unwrap());
    assert_eq!(m, channel_message(generation, seq, m.len() - 16), "corrupt message");
    (generation, seq)
}

/// `channel_echo NAME COUNT`: a slave that sends back every message, COUNT times.
fn child_channel_echo(args: &[String]) {
    let (name, count) = (&args[0], args[1].parse::<u64>().unwrap());
    let ch = Channel::builder(name)
        .role(Role::Slave)
        .read_timeout(Duration::from_secs(60))
        .wait_strategy(eshm::WaitStrategy::Spin)
        .open()
        .expect("open slave");
    println!("ready");
    for _ in 0..count {
        let m = ch.read().expect("read");
        ch.write_timeout(&m, Duration::from_secs(60)).expect("echo");
    }
    println!("done");
    eshm_tests::wait_for_parent();
}

/// `channel_master NAME GENERATION COUNT`: a master that writes COUNT messages (forever if 0),
/// never reading until then; afterwards it reads one message and prints it.
fn child_channel_master(args: &[String]) {
    let (name, generation, count) =
        (&args[0], args[1].parse().unwrap(), args[2].parse::<u64>().unwrap());
    let ch = Channel::builder(name)
        .role(Role::Master)
        .disconnect_behavior(DisconnectBehavior::Never)
        .max_reconnect_attempts(None)
        .max_message(256)
        .capacity(8192)
        .open()
        .expect("open master");
    println!("ready");
    let mut seq = 1;
    while count == 0 || seq <= count {
        match ch.write_timeout(
            &channel_message(generation, seq, (seq % 200) as usize),
            Duration::from_secs(60),
        ) {
            Ok(()) => seq += 1,
            Err(WriteError::Timeout) => {}
            Err(e) => panic!("write: {e}"),
        }
    }
    println!("done written={}", seq - 1);
    let m = ch.read_timeout(Duration::from_secs(60)).expect("read from the slave");
    println!("got {}", String::from_utf8_lossy(&m));
    eshm_tests::wait_for_parent();
}

/// `channel_auto NAME`: waits for "go", opens the channel as Auto, prints the role it got,
/// and keeps it until released.
fn child_channel_auto(args: &[String]) {
    assert_eq!(read_parent_line(), "go");
    let ch = Channel::builder(&args[0]).role(Role::Auto).open().expect("open auto");
    println!("role={}", ch.role().as_str());
    eshm_tests::wait_for_parent();
    drop(ch);
}

/// `channel_slave NAME`: a slave that does nothing but keep its heartbeat until told "drain";
/// then it reads every queued message and prints how many.
fn child_channel_slave(args: &[String]) {
    let ch = Channel::builder(&args[0]).role(Role::Slave).open().expect("open slave");
    println!("ready");
    if read_parent_line() == "drain" {
        let mut n = 0;
        while ch.try_read().expect("read").is_some() {
            n += 1;
        }
        println!("drained count={n}");
    }
    eshm_tests::wait_for_parent();
}

/// Polls `cond` until it holds, failing after a minute (a bound for hung tests, not a timing
/// assertion).
fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !cond() {
        assert!(Instant::now() < deadline, "still not {what} after a minute");
        std::thread::sleep(Duration::from_millis(1));
    }
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
    let mut watcher = Subscriber::<Stamped>::open(&name).expect("watcher");
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
    match Subscriber::<f64>::open(&name) {
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

/// 100,000 round trips through a slave process that echoes them, with random sizes from 0 to
/// the largest message, every byte checked.
fn channel_echo_round_trips_of_random_sizes() {
    const COUNT: u64 = 100_000;
    const MAX: usize = 4096;
    let name = unique_name("channel-echo");
    let master = Channel::builder(&name)
        .role(Role::Master)
        .max_message(MAX)
        .capacity(64 << 10)
        .wait_strategy(eshm::WaitStrategy::Spin)
        .open()
        .unwrap();
    let mut slave = ChildProcess::spawn("channel_echo", &[name.clone(), COUNT.to_string()]);
    slave.expect_line("ready");
    let mut x = 0x9e37_79b9u64;
    let mut bytes = 0usize;
    for i in 0..COUNT {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let len = match i % 1000 {
            0 => 0,
            1 => MAX,
            _ => (x % (MAX as u64 + 1)) as usize,
        };
        let m: Vec<u8> = (0..len).map(|k| (x as usize + k * 13) as u8).collect();
        master.write(&m).unwrap();
        let back = master.read_timeout(Duration::from_secs(60)).unwrap();
        assert!(back == m, "round trip {i}: {} bytes came back as {}", m.len(), back.len());
        bytes += len;
    }
    slave.expect_line("done");
    let stats = master.stats();
    assert_eq!(
        (stats.channel.master_to_slave.written, stats.channel.slave_to_master.read),
        (COUNT, COUNT)
    );
    assert_eq!(stats.channel.master_to_slave.bytes_written as usize, bytes);
    println!("    {COUNT} round trips, {} MiB each way", bytes >> 20);
}

/// The master is killed with SIGKILL mid-stream; a new master process takes over, and the
/// slave (this process, never re-created) carries on: it receives what the first master had
/// queued, then the second master's messages, each once and intact; what it had written to the
/// dead master is counted as lost.
fn channel_slave_reconnects_when_the_master_is_killed_and_restarted() {
    let name = unique_name("channel-crash");
    let mut first = ChildProcess::spawn("channel_master", &[name.clone(), "1".into(), "0".into()]);
    first.expect_line("ready");
    let slave = Channel::builder(&name)
        .role(Role::Slave)
        .reconnect_wait(Duration::from_secs(60))
        .max_reconnect_attempts(None)
        .read_timeout(Duration::from_secs(60))
        .open()
        .unwrap();
    for i in 0..3 {
        slave.write(format!("to the first master {i}").as_bytes()).unwrap();
    }
    let mut last = (0, 0);
    while last.1 < 1000 {
        let got = check_channel_message(&slave.read().unwrap());
        assert!(got > last, "{got:?} after {last:?}");
        last = got;
    }
    first.kill();
    let mut second =
        ChildProcess::spawn("channel_master", &[name.clone(), "2".into(), "500".into()]);
    second.expect_line("ready");
    // The rest of the first master's messages, then the second's, in order.
    let mut second_run = 0;
    while last != (2, 500) {
        let got = check_channel_message(&slave.read().unwrap());
        assert!(got > last, "{got:?} after {last:?}");
        assert!(got.0 == last.0 || got == (2, 1), "the second master starts at 1: {got:?}");
        second_run += u64::from(got.0 == 2);
        last = got;
    }
    assert_eq!(second_run, 500);
    slave.write(b"hello, second master").unwrap();
    assert_eq!(second.expect_line("got"), "got hello, second master");
    let stats = slave.stats();
    assert_eq!(stats.reconnects, 1);
    assert_eq!(stats.lost, 3, "the first master never read the slave's three messages");
    assert_eq!(stats.channel.master.pid, second.pid());
    second.finish("");
}

/// Two Auto endpoints started at the same moment: exactly one becomes the master, every time.
fn channel_auto_endpoints_racing_elect_exactly_one_master() {
    for round in 0..20 {
        let name = unique_name("channel-auto");
        let mut a = ChildProcess::spawn("channel_auto", std::slice::from_ref(&name));
        let mut b = ChildProcess::spawn("channel_auto", std::slice::from_ref(&name));
        a.send("go");
        b.send("go");
        let mut roles = [a.expect_line("role="), b.expect_line("role=")];
        roles.sort();
        assert_eq!(roles, ["role=master", "role=slave"], "round {round}");
        a.finish("");
        b.finish("");
    }
}

/// A slave frozen with SIGSTOP goes stale (its heartbeat stops); resumed with SIGCONT, it is
/// alive again.
fn channel_frozen_peer_goes_stale_and_recovers() {
    use rustix::process::{Pid, Signal, kill_process};
    let name = unique_name("channel-stale");
    let master = Channel::builder(&name)
        .role(Role::Master)
        .disconnect_behavior(DisconnectBehavior::Immediately)
        .open()
        .unwrap();
    let mut slave = ChildProcess::spawn("channel_slave", std::slice::from_ref(&name));
    slave.expect_line("ready");
    wait_until("alive", || master.is_remote_alive());
    assert_eq!(master.try_read().unwrap(), None);
    let pid = Pid::from_raw(slave.pid() as i32).unwrap();
    kill_process(pid, Signal::STOP).unwrap();
    wait_until("stale", || !master.is_remote_alive());
    assert!(matches!(master.try_read(), Err(ReadError::Disconnected { .. })));
    assert!(matches!(master.write(b"x"), Err(WriteError::Disconnected { .. })));
    assert!(master.stats().stale_events >= 1);
    kill_process(pid, Signal::CONT).unwrap();
    wait_until("alive again", || master.is_remote_alive());
    master.write(b"welcome back").unwrap();
    slave.finish("");
}

/// A full queue across processes: `try_write` says `Full` (nothing blocks), oversized messages
/// are refused, and the reader gets exactly the messages that were accepted.
fn channel_full_queue_and_oversized_writes_across_processes() {
    let name = unique_name("channel-full");
    let master =
        Channel::builder(&name).role(Role::Master).max_message(56).capacity(1024).open().unwrap();
    let mut slave = ChildProcess::spawn("channel_slave", std::slice::from_ref(&name));
    slave.expect_line("ready");
    wait_until("attached", || master.is_remote_alive());
    assert!(matches!(master.try_write(&[0; 57]), Err(WriteError::TooLarge { .. })));
    let mut accepted = 0;
    loop {
        match master.try_write(&[accepted as u8; 56]) {
            Ok(()) => accepted += 1,
            Err(WriteError::Full) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(accepted, 1024 / 64);
    slave.send("drain");
    assert_eq!(field(&slave.expect_line("drained"), "count"), accepted);
    master.try_write(&[1; 56]).unwrap();
    slave.finish("");
}

// ---------------------------------------------------------------------------------------------
// A minimal runner: run every test (or those whose name contains the filter), report like
// libtest, and exit non-zero on any failure.

/// `flow NAME COUNT`: a publisher thread and a busy-polling subscriber thread pass COUNT
/// messages; prints `done received=R lost=L`.
fn child_flow(args: &[String]) {
    let (name, count) = (&args[0], args[1].parse::<u64>().unwrap());
    let mut publisher = Publisher::<u64>::builder(name).capacity(1 << 16).create().unwrap();
    let mut sub =
        Subscriber::<u64>::builder(name).wait_strategy(eshm::WaitStrategy::Spin).open().unwrap();
    let reader = std::thread::spawn(move || {
        let mut received = 0u64;
        loop {
            let v = sub.recv().unwrap();
            received += 1;
            if v == count {
                return (received, sub.lost());
            }
        }
    });
    for i in 1..=count {
        publisher.publish(&i).unwrap();
    }
    let (received, lost) = reader.join().unwrap();
    println!("done received={received} lost={lost}");
}

/// Publishing and receiving make no system call while messages flow: the number of system
/// calls of a process that passes a million messages between two threads (counted by strace)
/// is that of setting up, not one per message.
fn pubsub_messages_flow_without_system_calls() {
    const COUNT: u64 = 1_000_000;
    if std::process::Command::new("strace").arg("-V").output().is_err() {
        eprintln!("SKIPPED: strace is not installed (Debian package `strace`)");
        return;
    }
    let out = std::env::temp_dir().join(format!("eshm-strace-{}.txt", std::process::id()));
    let name = unique_name("flow");
    let run = std::process::Command::new("strace")
        .args(["-f", "-qq", "-c", "-o"])
        .arg(&out)
        .arg(std::env::current_exe().unwrap())
        .args([&name, &COUNT.to_string()])
        .env(eshm_tests::CHILD_ROLE_ENV, "flow")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&run.stderr));
    let (received, lost) = (field(&stdout, "received"), field(&stdout, "lost"));
    assert_eq!(received + lost, COUNT, "{stdout}");
    let summary = std::fs::read_to_string(&out).unwrap();
    let _ = std::fs::remove_file(&out);
    let total = summary.lines().find(|l| l.trim_end().ends_with(" total")).expect("a total line");
    let calls: u64 = total.split_whitespace().nth(3).unwrap().parse().unwrap();
    println!("{COUNT} messages ({received} received, {lost} lost): {calls} system calls in all");
    assert!(calls < 2_000, "{calls} system calls for {COUNT} messages:\n{summary}");
}

fn main() {
    eshm_tests::run_main(
        &[
            ("publisher", child_publisher as eshm_tests::ChildRole),
            ("flow", child_flow),
            ("subscriber", child_subscriber),
            ("channel_echo", child_channel_echo),
            ("channel_master", child_channel_master),
            ("channel_auto", child_channel_auto),
            ("channel_slave", child_channel_slave),
        ],
        eshm_tests::named_tests![
            pubsub_three_subscribers_receive_in_order_and_count_every_loss,
            pubsub_subscribers_survive_publisher_crash_and_restart,
            channel_echo_round_trips_of_random_sizes,
            channel_slave_reconnects_when_the_master_is_killed_and_restarted,
            channel_auto_endpoints_racing_elect_exactly_one_master,
            channel_frozen_peer_goes_stale_and_recovers,
            channel_full_queue_and_oversized_writes_across_processes,
            pubsub_messages_flow_without_system_calls,
        ],
    );
}
