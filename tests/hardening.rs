//! What a dead peer or a hostile process cannot do to eshm processes, between real processes:
//! readers killed asleep leave no lasting cost, a truncated segment file kills nobody, and a
//! subscriber that missed whole publishers counts their messages as lost.
//!
//! Like `multiprocess.rs`, this binary has its own `main`: with `ESHM_TEST_CHILD_ROLE` set it
//! plays a child role.

use eshm::channel::{Channel, DisconnectBehavior, Role};
use eshm::inspect;
use eshm::segment::{SegmentKind, file_name, shm_dir};
use eshm::{Publisher, RecvError, Subscriber};
use eshm_tests::{ChildProcess, FirstError, Stamped, field, repeat_until_released, unique_name};
use rustix::process::{Pid, Signal, kill_process};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Child roles.

/// `sleeper NAME`: a subscriber that waits (spin 20 µs, then a futex) for messages forever.
fn child_sleeper(args: &[String]) {
    let mut sub = Subscriber::<u64>::open(&args[0]).expect("open");
    println!("ready");
    loop {
        let _ = sub.recv();
    }
}

/// `slave_sleeper NAME`: a channel slave that waits for messages forever.
fn child_slave_sleeper(args: &[String]) {
    let ch = Channel::builder(&args[0])
        .role(Role::Slave)
        .disconnect_behavior(DisconnectBehavior::Never)
        .max_reconnect_attempts(None)
        .read_timeout(Duration::from_secs(3600))
        .open()
        .expect("open");
    println!("ready");
    loop {
        let _ = ch.read();
    }
}

/// `publisher NAME GENERATION COUNT`: publishes COUNT messages, says so, and stays (keeping
/// the topic) until released.
fn child_publisher(args: &[String]) {
    let (name, generation, count) =
        (&args[0], args[1].parse().unwrap(), args[2].parse::<u64>().unwrap());
    let mut publisher = Publisher::<Stamped>::create(name).expect("create");
    for seq in 1..=count {
        publisher.publish(&Stamped::new(generation, seq)).expect("publish");
    }
    println!("published count={count}");
    eshm_tests::wait_for_parent();
}

/// `counter NAME GENERATION SEQ`: receives until message SEQ of GENERATION, printing
/// `got100` after the first 100 messages; prints `done received=R lost=L`.
fn child_counter(args: &[String]) {
    let (name, last_gen, last_seq) =
        (&args[0], args[1].parse::<u64>().unwrap(), args[2].parse::<u64>().unwrap());
    let mut sub = Subscriber::<Stamped>::open(name).expect("open");
    println!("ready");
    let mut received = 0u64;
    loop {
        let m = sub.recv_timeout(Duration::from_secs(120)).expect("receive");
        assert!(m.is_intact(), "{m:?}");
        received += 1;
        if received == 100 {
            println!("got100");
        }
        if (m.generation, m.seq) == (last_gen, last_seq) {
            break;
        }
    }
    println!("done received={received} lost={}", sub.lost());
}

/// `steady_publisher NAME GENERATION`: publishes a message every millisecond until its stdin
/// closes, printing the first error of each kind (`error: ...`) and carrying on.
fn child_steady_publisher(args: &[String]) {
    let (name, generation) = (&args[0], args[1].parse().unwrap());
    let mut publisher = Publisher::<Stamped>::create(name).expect("create");
    println!("ready");
    let (mut errors, mut seq) = (FirstError::default(), 1);
    repeat_until_released(|| {
        match publisher.publish(&Stamped::new(generation, seq)) {
            Ok(()) => seq += 1,
            Err(e) => errors.report(&e),
        }
        std::thread::sleep(Duration::from_millis(1));
    });
    println!("done");
}

/// `watcher NAME`: receives, printing `got generation=G` for the first message of each
/// generation and `error: ...` for each error, until a message of generation 2 arrives.
fn child_watcher(args: &[String]) {
    let mut sub = Subscriber::<Stamped>::open(&args[0]).expect("open");
    println!("ready");
    let (mut generation, mut errors) = (0, FirstError::default());
    loop {
        match sub.recv_timeout(Duration::from_secs(120)) {
            Ok(m) if m.generation != generation => {
                generation = m.generation;
                println!("got generation={generation}");
                if generation == 2 {
                    return;
                }
            }
            Ok(_) => {}
            Err(RecvError::Timeout) => panic!("nothing for 120 s"),
            Err(e) => {
                // The first error says what happened; until the topic is back, each receive
                // reports the unusable file again.
                errors.report(&e);
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
}

/// `channel_end NAME ROLE`: a channel end that writes and reads a message a millisecond until
/// its stdin closes, printing the first error (`error: ...`) and carrying on.
fn child_channel_end(args: &[String]) {
    let role = if args[1] == "master" { Role::Master } else { Role::Slave };
    let ch = Channel::builder(&args[0])
        .role(role)
        .disconnect_behavior(DisconnectBehavior::Never)
        .max_reconnect_attempts(None)
        .open()
        .expect("open");
    println!("ready");
    let mut errors = FirstError::default();
    repeat_until_released(|| {
        if let Err(e) = ch.try_write(b"ping") {
            errors.report(&e);
        }
        if let Err(e) = ch.read_timeout(Duration::from_millis(1))
            && !matches!(e, eshm::ReadError::Timeout)
        {
            errors.report(&e);
        }
    });
    println!("done");
}

// ---------------------------------------------------------------------------------------------
// Helpers.

fn topic_file(name: &str) -> std::path::PathBuf {
    shm_dir().join(file_name(SegmentKind::Topic, name).unwrap())
}

/// Polls `inspect::info` until `ok` holds (the state a child reached), for at most 2 minutes.
fn wait_for_info(
    kind: SegmentKind,
    name: &str,
    what: &str,
    ok: impl Fn(&inspect::SegmentInfo) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if inspect::info(kind, name).is_ok_and(|i| ok(&i)) {
            return;
        }
        assert!(Instant::now() < deadline, "not {what} within 120 s");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn signal(child: &ChildProcess, sig: Signal) {
    kill_process(Pid::from_raw(child.pid() as i32).unwrap(), sig).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Tests.

/// Readers killed while asleep (SIGKILL, and SIGINT as a Ctrl-C on `eshm echo` gives) leave
/// their sleeping registration behind; the next publish takes it with the wake-up, so the
/// publisher does not make a system call per message for the rest of its life.
fn pubsub_readers_killed_asleep_leave_no_lasting_cost() {
    let name = unique_name("dead-sleepers");
    let mut publisher = Publisher::<u64>::create(&name).unwrap();
    let mut sleepers: Vec<ChildProcess> =
        (0..4).map(|_| ChildProcess::spawn("sleeper", std::slice::from_ref(&name))).collect();
    for s in &mut sleepers {
        s.expect_line("ready");
    }
    let pids: Vec<u32> = sleepers.iter().map(ChildProcess::pid).collect();
    wait_for_info(SegmentKind::Topic, &name, "all four asleep", |i| {
        pids.iter().all(|p| i.sleeping_reader_pids.contains(p))
    });
    for (i, s) in sleepers.iter_mut().enumerate() {
        signal(s, if i % 2 == 0 { Signal::KILL } else { Signal::INT });
    }
    for s in &mut sleepers {
        s.kill(); // reap
    }
    let before = inspect::info(SegmentKind::Topic, &name).unwrap();
    assert_eq!(before.sleeping_reader_pids.len(), 4, "dead sleepers are still registered");
    publisher.publish(&1).unwrap();
    let after = inspect::info(SegmentKind::Topic, &name).unwrap();
    assert_eq!(after.sleeping_reader_pids, [0u32; 0], "cleared by the first wake-up");
    assert_eq!(after.sleeping_unlisted, 0);
}

/// A channel slave killed asleep in `read` leaves its sleep registered; the next slave that
/// takes the role clears it.
fn channel_slave_killed_asleep_leaves_no_lasting_cost() {
    let name = unique_name("dead-slave");
    let master = Channel::open(&name, Role::Master).unwrap();
    let mut slave = ChildProcess::spawn("slave_sleeper", std::slice::from_ref(&name));
    slave.expect_line("ready");
    let asleep = |i: &inspect::SegmentInfo| {
        i.channel.as_ref().is_some_and(|c| c.master_to_slave.reader_asleep)
    };
    wait_for_info(SegmentKind::Channel, &name, "the slave asleep", asleep);
    slave.kill();
    assert!(asleep(&inspect::info(SegmentKind::Channel, &name).unwrap()), "left behind");
    let next = Channel::open(&name, Role::Slave).unwrap();
    assert!(!asleep(&inspect::info(SegmentKind::Channel, &name).unwrap()), "cleared");
    master.write(b"to the next slave").unwrap();
    assert_eq!(next.read().unwrap(), b"to the next slave");
}

/// A subscriber stopped (SIGSTOP) while its publisher is killed, a second publisher publishes
/// 500 messages and is killed, and a third starts: once resumed, it counts the second's 500
/// messages as lost.
fn pubsub_a_subscriber_counts_whole_publishers_it_never_saw() {
    let name = unique_name("generations");
    let mut counter = ChildProcess::spawn("counter", &[name.clone(), "3".into(), "10".into()]);
    counter.expect_line("ready");
    let mut first = ChildProcess::spawn("publisher", &[name.clone(), "1".into(), "100".into()]);
    first.expect_line("published");
    counter.expect_line("got100");
    signal(&counter, Signal::STOP);
    first.kill();
    let mut second = ChildProcess::spawn("publisher", &[name.clone(), "2".into(), "500".into()]);
    second.expect_line("published");
    second.kill();
    let mut third = ChildProcess::spawn("publisher", &[name.clone(), "3".into(), "10".into()]);
    third.expect_line("published");
    signal(&counter, Signal::CONT);
    let done = counter.finish("done");
    assert_eq!((field(&done, "received"), field(&done, "lost")), (110, 500), "{done}");
    // Ends normally, removing the topic.
    third.finish("");
}

/// Truncating a segment file kills none of the processes that have it mapped: a publisher and
/// a subscriber report the topic as corrupt and carry on, and the subscriber moves to the
/// topic's next publisher; both ends of a channel report it and carry on.
fn truncating_a_segment_kills_nobody() {
    let name = unique_name("truncate");
    let mut publisher = ChildProcess::spawn("steady_publisher", &[name.clone(), "1".into()]);
    publisher.expect_line("ready");
    let mut watcher = ChildProcess::spawn("watcher", std::slice::from_ref(&name));
    watcher.expect_line("got generation=1");
    std::fs::OpenOptions::new().write(true).open(topic_file(&name)).unwrap().set_len(0).unwrap();
    let reported = publisher.expect_line("error:");
    assert!(reported.contains("truncated"), "{reported}");
    let reported = watcher.expect_line("error:");
    assert!(reported.contains("truncated") || reported.contains("shorter"), "{reported}");
    // Both still run: the publisher ends on request, and the watcher takes the next publisher.
    publisher.release();
    assert_eq!(publisher.finish("done"), "done");
    let mut second = ChildProcess::spawn("steady_publisher", &[name.clone(), "2".into()]);
    second.expect_line("ready");
    assert_eq!(watcher.finish("got"), "got generation=2");
    assert_eq!(second.finish("done"), "done");

    let name = unique_name("truncate-channel");
    let mut master = ChildProcess::spawn("channel_end", &[name.clone(), "master".into()]);
    master.expect_line("ready");
    let mut slave = ChildProcess::spawn("channel_end", &[name.clone(), "slave".into()]);
    slave.expect_line("ready");
    let file = shm_dir().join(file_name(SegmentKind::Channel, &name).unwrap());
    std::fs::OpenOptions::new().write(true).open(&file).unwrap().set_len(0).unwrap();
    for end in [&mut master, &mut slave] {
        // Through its mapping (truncated) or by reopening the name (shorter than a header).
        let reported = end.expect_line("error:");
        assert!(reported.contains("truncated") || reported.contains("shorter"), "{reported}");
    }
    assert_eq!(master.finish("done"), "done");
    assert_eq!(slave.finish("done"), "done");
}

fn main() {
    eshm_tests::run_main(
        &[
            ("sleeper", child_sleeper as eshm_tests::ChildRole),
            ("slave_sleeper", child_slave_sleeper),
            ("publisher", child_publisher),
            ("counter", child_counter),
            ("steady_publisher", child_steady_publisher),
            ("watcher", child_watcher),
            ("channel_end", child_channel_end),
        ],
        eshm_tests::named_tests![
            pubsub_readers_killed_asleep_leave_no_lasting_cost,
            channel_slave_killed_asleep_leaves_no_lasting_cost,
            pubsub_a_subscriber_counts_whole_publishers_it_never_saw,
            truncating_a_segment_kills_nobody,
        ],
    );
}
