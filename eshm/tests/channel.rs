//! The duplex byte channel within one process: order and content, sizes, back-pressure, roles,
//! disconnect behaviours and hostile segments. Behaviour across processes (crashes, races,
//! frozen peers) is in `tests/multiprocess.rs`.

use eshm::channel::{Channel, DisconnectBehavior, Role};
use eshm::{Error, ReadError, WaitStrategy, WriteError};
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

#[allow(clippy::disallowed_types)] // a process-local counter, not shared memory
fn name(what: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!("eshm-test/channel/{what}/{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

fn file_of(name: &str) -> std::path::PathBuf {
    let kind = eshm::segment::SegmentKind::Channel;
    eshm::segment::shm_dir().join(eshm::segment::file_name(kind, name).unwrap())
}

/// A payload of `len` bytes that depends on `seed`.
fn payload(seed: u64, len: usize) -> Vec<u8> {
    (0..len).map(|i| (seed.wrapping_mul(31).wrapping_add(i as u64 * 7) >> 3) as u8).collect()
}

fn pair(what: &str, max_message: usize, capacity: usize) -> (Channel, Channel) {
    let n = name(what);
    let master = Channel::builder(&n)
        .role(Role::Master)
        .max_message(max_message)
        .capacity(capacity)
        .open()
        .unwrap();
    let slave = Channel::open(&n, Role::Slave).unwrap();
    (master, slave)
}

#[test]
fn channel_delivers_every_message_in_order_both_ways() {
    let (mut master, mut slave) = pair("order", 1024, 8 * 1024);
    assert_eq!((master.role(), slave.role()), (Role::Master, Role::Slave));
    // Interleaved, with sizes from 0 to the maximum, across many wrap-arounds.
    let mut x = 0x1234_5678u64;
    let mut sizes = Vec::new();
    for round in 0..2000u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let len = if round % 97 == 0 { 1024 } else { (x % 1025) as usize };
        sizes.push(len);
        master.write(&payload(round, len)).unwrap();
        slave.write(&payload(!round, len / 2)).unwrap();
        if round % 3 == 2 {
            for r in round - 2..=round {
                let len = sizes[r as usize];
                assert_eq!(slave.read().unwrap(), payload(r, len));
                assert_eq!(master.read().unwrap(), payload(!r, len / 2));
            }
        }
    }
    assert_eq!(slave.try_read().unwrap(), Some(payload(1998, sizes[1998])));
    assert_eq!(slave.try_read().unwrap(), Some(payload(1999, sizes[1999])));
    assert_eq!(slave.try_read().unwrap(), None);
    let stats = master.stats();
    assert_eq!(
        (stats.channel.master_to_slave.written, stats.channel.master_to_slave.read),
        (2000, 2000)
    );
    assert_eq!(
        (stats.channel.slave_to_master.written, stats.channel.slave_to_master.read),
        (2000, 1998)
    );
    assert_eq!(
        stats.channel.master_to_slave.bytes_written,
        sizes.iter().map(|&s| s as u64).sum::<u64>()
    );
    assert_eq!(stats.channel.master.pid, std::process::id());
    assert_eq!(stats.channel.slave.pid, std::process::id());
    assert!(stats.channel.master.alive && stats.channel.slave.alive);
}

#[test]
fn channel_zero_length_messages_are_messages() {
    let (mut master, mut slave) = pair("empty", 64, 1024);
    master.write(b"").unwrap();
    master.write(b"x").unwrap();
    master.write(b"").unwrap();
    assert_eq!(slave.read().unwrap(), b"");
    assert_eq!(slave.read().unwrap(), b"x");
    assert_eq!(slave.read().unwrap(), b"");
    assert_eq!(slave.try_read().unwrap(), None);
}

#[test]
fn channel_rejects_oversized_messages() {
    let (mut master, mut slave) = pair("oversized", 100, 1024);
    for err in [master.write(&[0; 101]).unwrap_err(), master.try_write(&[0; 101]).unwrap_err()] {
        match err {
            WriteError::TooLarge { size: 101, max: 100, .. } => {}
            other => panic!("expected MessageTooLarge, got {other:?}"),
        }
    }
    assert!(matches!(slave.write(&[0; 5000]), Err(WriteError::TooLarge { max: 100, .. })));
    master.write(&[7; 100]).unwrap();
    assert_eq!(slave.read().unwrap(), vec![7; 100]);
    // Sizes that cannot work are refused when the channel is created.
    match Channel::builder(&name("tiny")).role(Role::Master).max_message(1000).capacity(1000).open()
    {
        Err(e @ Error::ChannelSizes { capacity: 1000, max_message: 1000, needed: 2016 }) => {
            assert!(e.to_string().contains("raise the capacity"), "{e}")
        }
        other => panic!("expected ChannelSizes, got {other:?}"),
    }
}

#[test]
fn channel_full_queue_and_back_pressure() {
    let n = name("full");
    let mut master =
        Channel::builder(&n).role(Role::Master).max_message(56).capacity(256).open().unwrap();
    let mut slave = Channel::open(&n, Role::Slave).unwrap();
    // 256 bytes hold four 64-byte records of 56-byte payloads.
    let mut written = 0;
    loop {
        match master.try_write(&[written as u8; 56]) {
            Ok(()) => written += 1,
            Err(WriteError::Full) => break,
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(written, 4);
    assert!(matches!(
        master.write_timeout(&[0; 56], Duration::from_millis(20)),
        Err(WriteError::Timeout)
    ));
    assert_eq!(slave.read().unwrap(), vec![0; 56]);
    master.try_write(&[9; 56]).unwrap();
    // A blocked writer is woken by the reader.
    let writer = std::thread::spawn(move || {
        master.write_timeout(&[10; 56], Duration::from_secs(10)).unwrap();
        master
    });
    for i in [1u8, 2, 3, 9, 10] {
        assert_eq!(slave.read_timeout(Duration::from_secs(10)).unwrap(), vec![i; 56]);
    }
    writer.join().unwrap();
}

#[test]
fn channel_read_into_reports_a_small_buffer_and_keeps_the_message() {
    let (mut master, mut slave) = pair("small-buffer", 128, 1024);
    master.write(&[5; 100]).unwrap();
    let mut small = [0u8; 10];
    match slave.read_into(&mut small) {
        Err(ReadError::BufferTooSmall { needed: 100, capacity: 10 }) => {}
        other => panic!("expected BufferTooSmall, got {other:?}"),
    }
    let mut buf = [0u8; 128];
    assert_eq!(slave.read_into(&mut buf).unwrap(), 100);
    assert_eq!(buf[..100], [5; 100]);
    assert_eq!(slave.try_read_into(&mut buf).unwrap(), None);
}

#[test]
fn channel_roles_are_exclusive_and_auto_picks_the_free_one() {
    let n = name("roles");
    let first = Channel::open(&n, Role::Auto).unwrap();
    assert_eq!(first.role(), Role::Master);
    match Channel::open(&n, Role::Master) {
        Err(Error::RoleTaken { role: "master", pid, .. }) => assert_eq!(pid, std::process::id()),
        other => panic!("expected RoleTaken, got {other:?}"),
    }
    let second = Channel::open(&n, Role::Auto).unwrap();
    assert_eq!(second.role(), Role::Slave);
    assert!(matches!(Channel::open(&n, Role::Slave), Err(Error::RoleTaken { role: "slave", .. })));
    // Once the slave is gone, the role is free again.
    drop(second);
    assert_eq!(Channel::open(&n, Role::Slave).unwrap().role(), Role::Slave);
    drop(first);
    assert!(!file_of(&n).exists(), "a master with auto cleanup removes the channel");
}

#[test]
fn channel_slave_without_a_master_gives_up_after_its_attempts() {
    let start = std::time::Instant::now();
    let err = Channel::builder(&name("no-master"))
        .role(Role::Slave)
        .reconnect_interval(Duration::from_millis(5))
        .max_reconnect_attempts(Some(3))
        .open()
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert!(start.elapsed() >= Duration::from_millis(15), "it retried");
    // try_open looks once, whatever the budget, and the channel keeps the budget.
    let n = name("try-open");
    let slave = || {
        Channel::builder(&n)
            .role(Role::Slave)
            .reconnect_interval(Duration::from_millis(1))
            .max_reconnect_attempts(Some(2))
            .disconnect_behavior(DisconnectBehavior::Never)
    };
    assert!(matches!(slave().try_open(), Err(Error::NotFound { .. })));
    let master = Channel::builder(&n).role(Role::Master).open().unwrap();
    let mut slave = slave().try_open().unwrap();
    drop(master);
    let err = slave.read_timeout(Duration::from_secs(3600)).unwrap_err();
    assert!(
        matches!(&err, ReadError::Disconnected { reason, .. } if reason.contains("2 reconnection attempt(s), all")),
        "{err}"
    );
}

#[test]
fn channel_reconnection_budget_counts_per_outage_across_operations() {
    let n = name("budget");
    let mut master = Channel::builder(&n)
        .role(Role::Master)
        .disconnect_behavior(DisconnectBehavior::Never)
        .reconnect_interval(Duration::from_millis(1))
        .max_reconnect_attempts(Some(5))
        .open()
        .unwrap();
    // Operations that give up at their own deadline spend the budget between them, so that
    // a caller retrying short operations still gets `Disconnected` after 5 attempts.
    let mut timeouts = 0;
    let err = loop {
        match master.read_timeout(Duration::from_micros(1500)) {
            Err(ReadError::Timeout) => timeouts += 1,
            other => break other.unwrap_err(),
        }
        assert!(timeouts < 10_000, "the budget is never spent");
    };
    assert!(
        matches!(&err, ReadError::Disconnected { reason, .. } if reason.contains("all")),
        "{err}"
    );
    // Spent: the next operation checks once and fails at once, even with no deadline.
    assert!(matches!(master.write(b"x"), Err(WriteError::Disconnected { .. })));
    // The remote coming back ends the outage and refills the budget.
    let mut slave = Channel::builder(&n).role(Role::Slave).open().unwrap();
    master.write(b"back").unwrap();
    assert_eq!(slave.read().unwrap(), b"back");
    drop(slave);
    let err = master.read_timeout(Duration::from_secs(3600)).unwrap_err();
    assert!(
        matches!(&err, ReadError::Disconnected { reason, .. } if reason.contains("5 reconnection"))
    );
}

#[test]
fn channel_disconnect_behaviours() {
    // Immediately: a master alone cannot write or read.
    let n = name("immediately");
    let mut master = Channel::builder(&n)
        .role(Role::Master)
        .disconnect_behavior(DisconnectBehavior::Immediately)
        .open()
        .unwrap();
    assert!(!master.is_remote_alive());
    assert!(matches!(master.write(b"x"), Err(WriteError::Disconnected { .. })));
    assert!(matches!(master.read(), Err(ReadError::Disconnected { .. })));
    // With a slave attached, it works; once the slave is gone, it fails again, but what the
    // slave wrote is still delivered first.
    let mut slave = Channel::open(&n, Role::Slave).unwrap();
    master.write(b"hello").unwrap();
    slave.write(b"bye").unwrap();
    assert_eq!(slave.read().unwrap(), b"hello");
    drop(slave);
    assert_eq!(master.read().unwrap(), b"bye");
    assert!(matches!(master.read(), Err(ReadError::Disconnected { .. })));
    assert!(master.stats().stale_events >= 1);

    // OnTimeout: waits `reconnect_wait`, then fails ...
    let n = name("on-timeout");
    let mut master = Channel::builder(&n)
        .role(Role::Master)
        .reconnect_wait(Duration::from_millis(30))
        .reconnect_interval(Duration::from_millis(5))
        .open()
        .unwrap();
    assert!(matches!(master.write(b"x"), Err(WriteError::Disconnected { .. })));
    drop(master);
    // ... and a slave that arrives while it waits lets the operation go on.
    let mut master = Channel::builder(&n)
        .role(Role::Master)
        .reconnect_wait(Duration::from_secs(60))
        .reconnect_interval(Duration::from_millis(2))
        .max_reconnect_attempts(None)
        .write_timeout(Duration::from_secs(60))
        .open()
        .unwrap();
    // Until then, an operation's own timeout still bounds it, and `try_` operations do not
    // wait for the remote at all.
    assert!(matches!(master.read_timeout(Duration::from_millis(5)), Err(ReadError::Timeout)));
    assert!(matches!(
        master.write_timeout(b"x", Duration::from_millis(5)),
        Err(WriteError::Timeout)
    ));
    assert!(matches!(master.try_write(b"x"), Err(WriteError::Disconnected { .. })));
    assert!(matches!(master.try_read(), Err(ReadError::Disconnected { .. })));
    let joiner = std::thread::spawn({
        let n = n.clone();
        move || {
            std::thread::sleep(Duration::from_millis(5));
            let mut slave = Channel::open(&n, Role::Slave).unwrap();
            slave.read_timeout(Duration::from_secs(60)).unwrap()
        }
    });
    master.write(b"late").unwrap();
    assert_eq!(joiner.join().unwrap(), b"late");
}

#[test]
fn channel_never_waits_for_the_remote() {
    let n = name("never");
    let mut master = Channel::builder(&n)
        .role(Role::Master)
        .disconnect_behavior(DisconnectBehavior::Never)
        .max_reconnect_attempts(None)
        .reconnect_interval(Duration::from_millis(2))
        .write_timeout(Duration::from_secs(30))
        .open()
        .unwrap();
    let joiner = std::thread::spawn({
        let n = n.clone();
        move || {
            std::thread::sleep(Duration::from_millis(20));
            let mut slave = Channel::open(&n, Role::Slave).unwrap();
            slave.read_timeout(Duration::from_secs(30)).unwrap()
        }
    });
    master.write(b"patient").unwrap();
    assert_eq!(joiner.join().unwrap(), b"patient");
    // With the slave gone for good, a blocking operation ends at its own timeout.
    assert!(matches!(master.read_timeout(Duration::from_millis(5)), Err(ReadError::Timeout)));
}

#[test]
fn channel_busy_polling_reader() {
    let n = name("spin");
    let mut master = Channel::builder(&n).role(Role::Master).open().unwrap();
    let mut slave =
        Channel::builder(&n).role(Role::Slave).wait_strategy(WaitStrategy::Spin).open().unwrap();
    let reader =
        std::thread::spawn(move || (0..1000).map(|_| slave.read().unwrap().len()).sum::<usize>());
    for i in 0..1000 {
        master.write(&vec![1; i % 50]).unwrap();
    }
    assert_eq!(reader.join().unwrap(), (0..1000).map(|i| i % 50).sum::<usize>());
}

#[test]
fn channel_garbage_in_the_segment_is_an_error() {
    let n = name("garbage");
    std::fs::write(file_of(&n), vec![0x5a; 4096]).unwrap();
    std::fs::set_permissions(file_of(&n), std::fs::Permissions::from_mode(0o600)).unwrap();
    let slave = Channel::builder(&n).role(Role::Slave).max_reconnect_attempts(Some(0)).open();
    assert!(matches!(slave, Err(Error::Corrupt { .. })), "{slave:?}");
    // A master takes the name over.
    let mut master = Channel::open(&n, Role::Master).unwrap();
    let mut slave = Channel::open(&n, Role::Slave).unwrap();
    master.write(b"ok").unwrap();
    assert_eq!(slave.read().unwrap(), b"ok");

    // Corrupt queue positions at run time: an error, not a crash or a hang.
    let bytes = std::fs::read(file_of(&n)).unwrap();
    let body = u64::from_le_bytes(bytes[48..56].try_into().unwrap()) as usize;
    let queue0 = u64::from_le_bytes(bytes[body + 16..body + 24].try_into().unwrap()) as usize;
    use std::os::unix::fs::FileExt;
    let f = std::fs::OpenOptions::new().write(true).open(file_of(&n)).unwrap();
    f.write_all_at(&u64::MAX.to_le_bytes(), queue0 as u64).unwrap(); // head
    assert!(
        matches!(slave.read(), Err(ReadError::Segment(e)) if matches!(*e, Error::Corrupt { .. }))
    );
    assert!(
        matches!(master.write(b"x"), Err(WriteError::Segment(e)) if matches!(*e, Error::Corrupt { .. }))
    );
}

#[test]
fn channel_inspection_shows_endpoints_and_queues() {
    let n = name("inspect");
    let mut master =
        Channel::builder(&n).role(Role::Master).max_message(100).capacity(4096).open().unwrap();
    let mut slave = Channel::open(&n, Role::Slave).unwrap();
    master.write(b"one").unwrap();
    master.write(b"two!").unwrap();
    assert_eq!(slave.read().unwrap(), b"one");
    let info = eshm::inspect::info(eshm::segment::SegmentKind::Channel, &n).unwrap();
    assert_eq!(info.problem, None);
    assert_eq!((info.capacity, info.message_size), (4096, 100));
    assert_eq!(info.owner_pid, std::process::id());
    let ch = info.channel.expect("channel details");
    assert_eq!((ch.master.pid, ch.slave.pid), (std::process::id(), std::process::id()));
    assert!(ch.master.alive && ch.slave.alive);
    assert_eq!((ch.master.generation, ch.slave.generation), (1, 1));
    let q = &ch.master_to_slave;
    assert_eq!((q.written, q.bytes_written, q.read, q.bytes_read, q.pending()), (2, 7, 1, 3, 1));
    assert_eq!(ch.slave_to_master.written, 0);
    drop(slave);
    let ch = eshm::inspect::info(eshm::segment::SegmentKind::Channel, &n).unwrap().channel;
    assert!(!ch.unwrap().slave.alive, "a slave that left is not alive");
}
