//! The duplex byte channel within one process: order and content, sizes, back-pressure, roles,
//! disconnect behaviours and hostile segments. Behaviour across processes (crashes, races,
//! frozen peers) is in `tests/multiprocess.rs`.

use eshm::channel::{Channel, ChannelBuilder, DisconnectBehavior, Role};
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
    let (master, slave) = pair("order", 1024, 8 * 1024);
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
    let (master, slave) = pair("empty", 64, 1024);
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
    let (master, slave) = pair("oversized", 100, 1024);
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
    let master =
        Channel::builder(&n).role(Role::Master).max_message(56).capacity(256).open().unwrap();
    let slave = Channel::open(&n, Role::Slave).unwrap();
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
    let (master, slave) = pair("small-buffer", 128, 1024);
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
    let err = Channel::builder(&name("no-master"))
        .role(Role::Slave)
        .reconnect_interval(Duration::from_millis(1))
        .max_reconnect_attempts(Some(3))
        .open()
        .unwrap_err();
    assert!(matches!(err, Error::NoMaster { attempts: 3, .. }), "it retried 3 times: {err:?}");
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
    let slave = slave().try_open().unwrap();
    drop(master);
    let err = slave.read_timeout(Duration::from_secs(3600)).unwrap_err();
    assert!(
        matches!(&err, ReadError::Disconnected { reason, .. }
            if reason.contains("all max_reconnect_attempts spent") && reason.contains("2 reconnection attempt(s)")),
        "{err}"
    );
}

/// A master and a slave of `n` whose master is gone: the slave's reconnection settings are
/// those of `slave`.
fn orphaned_slave(n: &str, slave: ChannelBuilder) -> Channel {
    let master = Channel::builder(n).role(Role::Master).open().unwrap();
    let slave = slave.role(Role::Slave).open().unwrap();
    drop(master);
    slave
}

#[test]
fn channel_reconnection_budget_counts_per_outage_across_operations() {
    let n = name("budget");
    let slave = orphaned_slave(
        &n,
        Channel::builder(&n)
            .disconnect_behavior(DisconnectBehavior::Never)
            .reconnect_interval(Duration::from_millis(1))
            .max_reconnect_attempts(Some(5)),
    );
    // Operations that give up at their own deadline spend the budget between them, so that
    // a caller retrying short operations still gets `Disconnected` after 5 attempts.
    let mut timeouts = 0;
    let err = loop {
        match slave.read_timeout(Duration::from_micros(1500)) {
            Err(ReadError::Timeout) => timeouts += 1,
            other => break other.unwrap_err(),
        }
        assert!(timeouts < 10_000, "the budget is never spent");
    };
    assert!(
        matches!(&err, ReadError::Disconnected { reason, .. } if reason.contains("all")),
        "{err}"
    );
    // Spent: the next operation looks once and fails at once, even with no deadline.
    assert!(matches!(slave.write(b"x"), Err(WriteError::Disconnected { .. })));
    // A master coming back ends the outage and refills the budget.
    let master = Channel::builder(&n).role(Role::Master).open().unwrap();
    slave.write(b"back").unwrap();
    assert_eq!(master.read().unwrap(), b"back");
    drop(master);
    let err = slave.read_timeout(Duration::from_secs(3600)).unwrap_err();
    assert!(
        matches!(&err, ReadError::Disconnected { reason, .. } if reason.contains("5 reconnection")),
        "{err}"
    );
    assert!(slave.stats().reconnects >= 1);
}

#[test]
fn channel_master_writes_before_its_slave_and_never_gives_up_on_it() {
    for behavior in
        [DisconnectBehavior::Immediately, DisconnectBehavior::OnTimeout, DisconnectBehavior::Never]
    {
        let n = name(&format!("alone-{behavior:?}"));
        let master = Channel::builder(&n)
            .role(Role::Master)
            .disconnect_behavior(behavior)
            .reconnect_wait(Duration::ZERO)
            .max_reconnect_attempts(Some(0))
            .open()
            .unwrap();
        assert!(!master.is_remote_alive());
        // No slave yet: writes queue up, and reads find nothing, whatever the behaviour.
        master.write(b"first").unwrap();
        master.try_write(b"second").unwrap();
        assert!(matches!(master.try_read(), Ok(None)), "{behavior:?}");
        assert!(matches!(master.read_timeout(Duration::from_millis(1)), Err(ReadError::Timeout)));
        // The first slave receives what was queued.
        let slave = Channel::open(&n, Role::Slave).unwrap();
        assert_eq!(slave.read().unwrap(), b"first");
        assert_eq!(slave.read().unwrap(), b"second");
        slave.write(b"bye").unwrap();
        drop(slave);
        // What the slave wrote is delivered after it left, whatever the behaviour.
        assert_eq!(master.read().unwrap(), b"bye");
        // Then: only Immediately gives up on a slave that was there.
        match behavior {
            DisconnectBehavior::Immediately => {
                assert!(matches!(master.try_read(), Err(ReadError::Disconnected { .. })));
                assert!(matches!(master.write(b"x"), Err(WriteError::Disconnected { .. })));
                assert!(master.stats().stale_events >= 1);
            }
            _ => {
                assert!(matches!(master.try_read(), Ok(None)), "{behavior:?}");
                assert!(matches!(
                    master.read_timeout(Duration::from_millis(1)),
                    Err(ReadError::Timeout)
                ));
                master.write(b"for the next slave").unwrap();
                let next = Channel::open(&n, Role::Slave).unwrap();
                assert_eq!(next.read().unwrap(), b"for the next slave");
            }
        }
    }
}

#[test]
fn channel_slave_disconnect_behaviours() {
    // Immediately: a slave whose master went fails at once, once it has read what is left.
    let n = name("slave-immediately");
    let master = Channel::builder(&n).role(Role::Master).open().unwrap();
    let slave = Channel::builder(&n)
        .role(Role::Slave)
        .disconnect_behavior(DisconnectBehavior::Immediately)
        .open()
        .unwrap();
    master.write(b"last words").unwrap();
    drop(master);
    assert_eq!(slave.try_read().unwrap().unwrap(), b"last words");
    assert!(matches!(slave.try_read(), Err(ReadError::Disconnected { .. })));
    assert!(matches!(slave.write(b"x"), Err(WriteError::Disconnected { .. })));

    // OnTimeout: gives up once the outage has lasted reconnect_wait ...
    let n = name("slave-on-timeout");
    let slave = orphaned_slave(&n, Channel::builder(&n).reconnect_wait(Duration::ZERO));
    assert!(
        matches!(slave.read(), Err(ReadError::Disconnected { reason, .. }) if reason.contains("reconnect_wait"))
    );
    // ... and until then an operation's own timeout bounds it: a timeout, not a failure;
    // `try_read` finds nothing, `try_write` cannot write now.
    let n = name("slave-waits");
    let slave = orphaned_slave(
        &n,
        Channel::builder(&n)
            .reconnect_wait(Duration::from_secs(3600))
            .reconnect_interval(Duration::from_millis(1))
            .max_reconnect_attempts(None),
    );
    assert!(matches!(slave.read_timeout(Duration::from_millis(1)), Err(ReadError::Timeout)));
    assert!(matches!(slave.try_read(), Ok(None)));
    assert!(matches!(
        slave.write_timeout(b"x", Duration::from_millis(1)),
        Err(WriteError::Timeout)
    ));
    assert!(matches!(slave.try_write(b"x"), Err(WriteError::Full)));
    // A master that comes back while the slave waits: the waiting read gets its message.
    std::thread::scope(|scope| {
        let reader = scope.spawn(|| slave.read_timeout(Duration::from_secs(60)));
        let master = Channel::builder(&n).role(Role::Master).open().unwrap();
        master.write(b"back").unwrap();
        assert_eq!(reader.join().unwrap().unwrap(), b"back");
    });
}

#[test]
fn channel_reads_and_writes_from_two_threads_at_once() {
    let n = name("threads");
    let master = Channel::open(&n, Role::Master).unwrap();
    let slave = Channel::open(&n, Role::Slave).unwrap();
    std::thread::scope(|scope| {
        // A reader thread blocked in `read` does not stop a writer thread on the same endpoint.
        let reader = scope.spawn(|| slave.read_timeout(Duration::from_secs(60)));
        let writer = scope.spawn(|| {
            for i in 0..1000u32 {
                slave.write(&i.to_le_bytes()).unwrap();
            }
        });
        writer.join().unwrap();
        for i in 0..1000u32 {
            assert_eq!(master.read().unwrap(), i.to_le_bytes());
        }
        master.write(b"done").unwrap();
        assert_eq!(reader.join().unwrap().unwrap(), b"done");
    });
}

#[test]
fn channel_busy_polling_reader() {
    let n = name("spin");
    let master = Channel::builder(&n).role(Role::Master).open().unwrap();
    let slave =
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
    let master = Channel::open(&n, Role::Master).unwrap();
    let slave = Channel::open(&n, Role::Slave).unwrap();
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
    let master =
        Channel::builder(&n).role(Role::Master).max_message(100).capacity(4096).open().unwrap();
    let slave = Channel::open(&n, Role::Slave).unwrap();
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

#[test]
fn channel_defaults_are_a_1_mib_queue_64_kib_messages_and_a_private_file() {
    let n = name("defaults");
    let master = Channel::open(&n, Role::Master).unwrap();
    assert_eq!(master.name(), n);
    assert_eq!(master.max_message(), 64 << 10);
    let info = eshm::inspect::info(eshm::segment::SegmentKind::Channel, &n).unwrap();
    assert_eq!((info.capacity, info.message_size), (1 << 20, 64 << 10));
    assert_eq!(info.mode, 0o600);
    assert_eq!(std::fs::metadata(file_of(&n)).unwrap().permissions().mode() & 0o777, 0o600);
    let stats = master.stats();
    assert_eq!(stats.stale_threshold, Duration::from_millis(100));
    assert_eq!(stats.channel.master.stale_threshold, Duration::from_millis(100));
}

#[test]
fn channel_builder_options_take_effect() {
    // mode, and a slave that trusts other owners (a file others may write is refused by
    // default).
    let n = name("mode");
    let master = Channel::builder(&n).role(Role::Master).mode(0o666).open().unwrap();
    assert_eq!(std::fs::metadata(file_of(&n)).unwrap().permissions().mode() & 0o777, 0o666);
    let refused = Channel::builder(&n).role(Role::Slave).max_reconnect_attempts(Some(0)).open();
    assert!(matches!(refused, Err(Error::Permission { .. })), "{refused:?}");
    let slave = Channel::builder(&n).role(Role::Slave).allow_other_owners(true).open().unwrap();
    master.write(b"trusted").unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(slave.read_into_timeout(&mut buf, Duration::from_secs(5)).unwrap(), 7);
    assert_eq!(&buf[..7], b"trusted");
    assert!(matches!(
        slave.read_into_timeout(&mut buf, Duration::from_millis(1)),
        Err(ReadError::Timeout)
    ));
    drop((slave, master));

    // auto_cleanup(false): the master leaves the file for the next one.
    let n = name("keep");
    drop(Channel::builder(&n).role(Role::Master).auto_cleanup(false).open().unwrap());
    assert!(file_of(&n).exists(), "kept");
    let next = Channel::open(&n, Role::Master).unwrap();
    drop(next);
    assert!(!file_of(&n).exists(), "auto cleanup by default");

    // The stale threshold, and the heartbeat thread: an idle endpoint without one goes stale
    // after the threshold; one with it stays alive however long it idles. (The slave judges
    // the master with a threshold of a minute, so that a scheduling delay of the master's
    // heartbeat thread on a loaded machine cannot make it look stale.)
    let n = name("stale");
    let master = Channel::builder(&n)
        .role(Role::Master)
        .stale_threshold(Duration::from_millis(200))
        .open()
        .unwrap();
    let idle = Channel::builder(&n)
        .role(Role::Slave)
        .heartbeat_thread(false)
        .stale_threshold(Duration::from_secs(60))
        .open()
        .unwrap();
    assert_eq!(master.stats().stale_threshold, Duration::from_millis(200));
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while master.is_remote_alive() {
        assert!(std::time::Instant::now() < deadline, "an idle slave never went stale");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(idle.is_remote_alive(), "the master's heartbeat thread keeps it alive");
    idle.write(b"x").unwrap(); // an operation beats
    assert!(master.is_remote_alive());
    assert!(matches!(
        Channel::builder(&n).stale_threshold(Duration::ZERO).open(),
        Err(Error::ZeroDuration { what: "stale threshold" })
    ));
}

#[test]
fn channel_read_ref_holds_its_message_while_the_writer_fills_the_queue() {
    let (master, slave) = pair("read-ref", 256, 1024);
    master.write(&payload(1, 200)).unwrap();
    let held = slave.try_read_ref().unwrap().expect("a message");
    assert_eq!(&*held, payload(1, 200).as_slice());
    // The writer fills what is left, then finds no room: the held message is not overwritten.
    let mut written = 0;
    loop {
        match master.try_write(&payload(100 + written, 200)) {
            Ok(()) => written += 1,
            Err(WriteError::Full) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(written >= 2, "{written}");
    assert!(matches!(
        master.write_timeout(&payload(0, 200), Duration::from_millis(20)),
        Err(WriteError::Timeout)
    ));
    assert!(matches!(master.try_loan(200), Err(WriteError::Full)));
    assert_eq!(&*held, payload(1, 200).as_slice(), "the held message is intact");
    held.release().unwrap();
    // Its space is free again, and the rest follows in order.
    master.try_write(&payload(99, 200)).unwrap();
    for i in 0..written {
        assert_eq!(slave.read_ref().unwrap().to_vec(), payload(100 + i, 200));
    }
    assert_eq!(slave.read().unwrap(), payload(99, 200));
    assert!(slave.try_read_ref().unwrap().is_none());
}

#[test]
fn channel_loans_are_sent_on_commit_only() {
    let (master, slave) = pair("loan", 4096, 16 * 1024);
    let mut dropped = master.loan(100).unwrap();
    dropped.fill(9);
    drop(dropped);
    assert_eq!(slave.try_read().unwrap(), None, "a dropped loan sends nothing");
    for (i, len) in [0usize, 1, 4095, 4096, 7].into_iter().enumerate() {
        let mut room = master.loan(len).unwrap();
        assert_eq!(room.len(), len);
        room.copy_from_slice(&payload(i as u64, len));
        room.commit().unwrap();
    }
    for (i, len) in [0usize, 1, 4095, 4096, 7].into_iter().enumerate() {
        assert_eq!(slave.read_ref().unwrap().to_vec(), payload(i as u64, len));
    }
    assert!(matches!(master.loan(4097), Err(WriteError::TooLarge { size: 4097, max: 4096 })));
    // Both ways: the slave writes in place too.
    let mut room = slave.loan(3).unwrap();
    room.copy_from_slice(b"abc");
    room.commit().unwrap();
    assert_eq!(master.read().unwrap(), b"abc");
    let stats = master.stats();
    assert_eq!(stats.channel.master_to_slave.written, stats.channel.master_to_slave.read);
}

#[test]
fn channel_a_thread_holding_a_message_in_place_gets_an_error_not_a_deadlock() {
    let (master, slave) = pair("held-here", 64, 1024);
    master.write(b"one").unwrap();
    master.write(b"two").unwrap();
    let first = slave.read_ref().unwrap();
    assert!(matches!(slave.try_read(), Err(ReadError::RefHeld)));
    assert!(matches!(slave.read_ref_timeout(Duration::from_secs(60)), Err(ReadError::RefHeld)));
    assert!(Error::from(ReadError::RefHeld).to_string().contains("drop it before reading again"));
    let loan = master.loan(3).unwrap();
    assert!(matches!(master.try_write(b"x"), Err(WriteError::LoanHeld)));
    drop(loan);
    // Another thread waits for the guard instead, and reads on once it is dropped.
    std::thread::scope(|s| {
        let reader = s.spawn(|| slave.read().unwrap());
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(&*first, b"one");
        drop(first);
        assert_eq!(reader.join().unwrap(), b"two");
    });
    assert_eq!(slave.try_read().unwrap(), None);
}
