//! Publish/subscribe within one process: semantics (order, loss, latest, history, loans,
//! restarts) and everything a subscriber must survive in a segment file (garbage, truncation,
//! lies in the header, wrong owner or permissions, invalid field values).

use eshm::pubsub::{PublisherOptions, SubscriberOptions};
use eshm::{
    Error, Message, PublishError, Publisher, RawPublisher, RawSubscriber, RecvError, Subscriber,
    WaitStrategy,
};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, eshm::Message)]
#[repr(C)]
struct Sample {
    seq: u64,
    value: f32,
    valid: bool,
    mode: Mode,
    _pad: [u8; 2],
}

#[derive(Clone, Copy, Debug, PartialEq, eshm::Message)]
#[repr(u8)]
enum Mode {
    Idle = 3,
    Run = 4,
}

fn sample(seq: u64) -> Sample {
    Sample {
        seq,
        value: seq as f32 * 0.5,
        valid: seq.is_multiple_of(2),
        mode: Mode::Run,
        _pad: [0; 2],
    }
}

#[allow(clippy::disallowed_types)] // a process-local counter, not shared memory
fn name(what: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!("eshm-test/pubsub/{what}/{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

fn file_of(name: &str) -> PathBuf {
    eshm::segment::shm_dir()
        .join(eshm::segment::file_name(eshm::segment::SegmentKind::Topic, name).unwrap())
}

const SECOND: Duration = Duration::from_secs(5);

#[test]
fn pubsub_delivers_in_order_then_nothing() {
    let n = name("order");
    let mut sub = Subscriber::<Sample>::open(&n).unwrap();
    let mut publisher = Publisher::<Sample>::create(&n).unwrap();
    for i in 1..=100 {
        publisher.publish(&sample(i)).unwrap();
    }
    for i in 1..=100 {
        assert_eq!(sub.recv_timeout(SECOND).unwrap(), sample(i));
    }
    assert_eq!(sub.try_recv().unwrap(), None);
    assert_eq!(sub.lost(), 0);
    assert!(sub.is_connected());
    assert_eq!(publisher.published(), 100);
}

#[test]
fn pubsub_counts_overwritten_messages_as_lost_and_resumes_at_the_oldest() {
    let n = name("loss");
    let mut sub = Subscriber::<Sample>::open(&n).unwrap();
    let mut publisher = Publisher::<Sample>::builder(&n).capacity(4).create().unwrap();
    assert_eq!(publisher.capacity(), 4);
    for i in 1..=10 {
        publisher.publish(&sample(i)).unwrap();
    }
    // The ring holds 7..=10: 1..=6 are lost, the next receive is the oldest retained.
    assert_eq!(sub.try_recv().unwrap(), Some(sample(7)));
    assert_eq!(sub.lost(), 6);
    let rest: Vec<u64> = std::iter::from_fn(|| sub.try_recv().unwrap()).map(|s| s.seq).collect();
    assert_eq!(rest, [8, 9, 10]);
    assert_eq!(sub.lost() + 4, 10);
}

#[test]
fn pubsub_capacity_rounds_up_and_rejects_zero() {
    let n = name("capacity");
    assert_eq!(Publisher::<u8>::builder(&n).capacity(3).create().unwrap().capacity(), 4);
    assert!(matches!(
        Publisher::<u8>::builder(&name("zero")).capacity(0).create(),
        Err(Error::InvalidCapacity { requested: 0, min: 1, .. })
    ));
    assert!(matches!(
        Publisher::<u8>::builder(&name("huge")).capacity(usize::MAX).create(),
        Err(Error::InvalidCapacity { max: 16_777_216, .. })
    ));
}

#[test]
fn pubsub_latest_skips_to_the_newest_without_counting_loss() {
    let n = name("latest");
    let mut publisher = Publisher::<Sample>::builder(&n).capacity(8).create().unwrap();
    let mut sub = Subscriber::<Sample>::open(&n).unwrap();
    assert_eq!(sub.latest().unwrap(), None);
    for i in 1..=5 {
        publisher.publish(&sample(i)).unwrap();
    }
    assert_eq!(sub.latest().unwrap(), Some(sample(5)));
    assert_eq!(sub.latest().unwrap(), None, "nothing newer");
    assert_eq!(sub.lost(), 0);
    publisher.publish(&sample(6)).unwrap();
    assert_eq!(sub.try_recv().unwrap(), Some(sample(6)));
}

#[test]
fn pubsub_new_subscriber_starts_after_existing_messages_unless_history_is_asked() {
    let n = name("history");
    let mut publisher = Publisher::<Sample>::builder(&n).capacity(4).create().unwrap();
    for i in 1..=6 {
        publisher.publish(&sample(i)).unwrap();
    }
    let mut fresh = Subscriber::<Sample>::open(&n).unwrap();
    assert_eq!(fresh.try_recv().unwrap(), None);
    let mut one = Subscriber::<Sample>::builder(&n).history(1).open().unwrap();
    assert_eq!(one.try_recv().unwrap(), Some(sample(6)));
    let mut all = Subscriber::<Sample>::builder(&n).history(100).open().unwrap();
    let got: Vec<u64> = std::iter::from_fn(|| all.try_recv().unwrap()).map(|s| s.seq).collect();
    assert_eq!(got, [3, 4, 5, 6], "as much history as the ring holds");
    assert_eq!(all.lost(), 0);
}

#[test]
fn pubsub_loan_writes_in_place_and_an_unpublished_loan_publishes_nothing() {
    let n = name("loan");
    let mut sub = Subscriber::<Sample>::open(&n).unwrap();
    let mut publisher = Publisher::<Sample>::create(&n).unwrap();
    {
        let mut slot = publisher.loan();
        *slot = sample(1);
        slot.value = 42.0;
        slot.publish().unwrap();
    }
    let dropped = publisher.loan();
    drop(dropped);
    assert_eq!(sub.try_recv().unwrap(), Some(Sample { value: 42.0, ..sample(1) }));
    assert_eq!(sub.try_recv().unwrap(), None);
    publisher.publish(&sample(2)).unwrap();
    assert_eq!(sub.try_recv().unwrap(), Some(sample(2)));
    assert_eq!(publisher.published(), 2);
}

#[test]
fn pubsub_loan_of_a_fresh_slot_holds_the_initial_value() {
    // `Mode` has no zero variant: fresh slots must still hold a valid `Sample`.
    let n = name("loan-init");
    let mut publisher = Publisher::<Sample>::create(&n).unwrap();
    let slot = publisher.loan();
    assert_eq!(*slot, Sample::INIT);
    assert_eq!(slot.mode, Mode::Idle);
}

#[test]
fn pubsub_second_publisher_and_wrong_type_are_refused() {
    let n = name("exclusive");
    let _publisher = Publisher::<Sample>::create(&n).unwrap();
    match Publisher::<Sample>::create(&n) {
        Err(Error::PublisherExists { pid, .. }) => assert_eq!(pid, std::process::id()),
        other => panic!("expected PublisherExists, got {other:?}"),
    }
    let err = Subscriber::<[f32; 5]>::open(&n).unwrap_err();
    let Error::TypeMismatch { expected, found, difference, .. } = &err else { panic!("{err:?}") };
    assert_eq!((expected.as_str(), found.as_str()), ("[f32; 5]", "Sample"));
    assert_eq!(difference, "type: `[f32; 5]` here, `Sample` there");
    let text = err.to_string();
    assert!(text.contains("`[f32; 5]`") && text.contains("`Sample`"), "{text}");
}

#[test]
fn pubsub_subscriber_reattaches_when_the_publisher_is_replaced() {
    let n = name("restart");
    let mut sub = Subscriber::<Sample>::open(&n).unwrap();
    assert!(!sub.is_connected());
    assert!(matches!(sub.recv_timeout(Duration::from_millis(20)), Err(RecvError::Timeout)));
    let mut first = Publisher::<Sample>::create(&n).unwrap();
    assert_eq!(sub.try_recv().unwrap(), None, "attaches");
    assert!(sub.is_connected());
    first.publish(&sample(1)).unwrap();
    first.publish(&sample(2)).unwrap();
    drop(first);
    assert!(!file_of(&n).exists(), "a dropped publisher removes the name");
    // What the first publisher left is still delivered, then the second one's messages.
    let mut second = Publisher::<Sample>::create(&n).unwrap();
    second.publish(&sample(10)).unwrap();
    let got: Vec<u64> = (0..3).map(|_| sub.recv_timeout(SECOND).unwrap().seq).collect();
    assert_eq!(got, [1, 2, 10]);
    assert!(sub.is_connected());
}

#[test]
fn pubsub_closed_segment_kept_by_request_is_taken_over() {
    let n = name("keep");
    let mut first = Publisher::<Sample>::builder(&n).unlink_on_drop(false).create().unwrap();
    first.publish(&sample(1)).unwrap();
    drop(first);
    assert!(file_of(&n).exists());
    let mut sub = Subscriber::<Sample>::builder(&n).history(1).open().unwrap();
    assert!(!sub.is_connected(), "closed");
    let mut second = Publisher::<Sample>::create(&n).unwrap();
    second.publish(&sample(2)).unwrap();
    let got: Vec<u64> = (0..2).map(|_| sub.recv_timeout(SECOND).unwrap().seq).collect();
    assert_eq!(got, [1, 2]);
}

#[test]
fn pubsub_blocking_receive_is_woken_by_a_publish_from_another_thread() {
    for wait in [WaitStrategy::Park, WaitStrategy::default(), WaitStrategy::Spin] {
        let n = name("wake");
        let mut publisher = Publisher::<u64>::create(&n).unwrap();
        let handle = std::thread::spawn({
            let n = n.clone();
            move || {
                let mut sub = Subscriber::<u64>::builder(&n).wait_strategy(wait).open().unwrap();
                (1..=1000).map(|_| sub.recv().unwrap()).collect::<Vec<u64>>()
            }
        });
        // The subscriber attaches to an existing topic and starts with the next message:
        // wait until it is registered before publishing.
        while eshm::inspect::info(eshm::segment::SegmentKind::Topic, &n).unwrap().readers == 0 {
            std::thread::yield_now();
        }
        for i in 1..=1000u64 {
            publisher.publish(&i).unwrap();
            if i % 100 == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        let got = handle.join().unwrap();
        assert_eq!(got.len(), 1000);
        assert!(got.windows(2).all(|w| w[0] < w[1]), "{wait:?}: in order");
    }
}

#[test]
fn pubsub_invalid_names_are_refused() {
    for bad in ["", "nul\0inside", &"x".repeat(300)] {
        assert!(matches!(Publisher::<u8>::create(bad), Err(Error::InvalidName { .. })), "{bad:?}");
        assert!(matches!(Subscriber::<u8>::open(bad), Err(Error::InvalidName { .. })), "{bad:?}");
    }
}

#[test]
fn pubsub_raw_publisher_validates_its_input() {
    let n = name("raw");
    let mut publisher = RawPublisher::create(&n, Sample::SCHEMA).unwrap();
    let mut sub = RawSubscriber::open(&n, None, SubscriberOptions::default()).unwrap();
    assert_eq!(sub.schema(), Some(Sample::SCHEMA));
    let good = eshm::message::as_bytes(&sample(1)).to_vec();
    assert!(matches!(
        publisher.publish_bytes(&good[1..]),
        Err(PublishError::WrongSize { size: 16, given: 15, .. })
    ));
    let mut bad = good.clone();
    bad[12] = 7; // `valid`
    assert!(matches!(publisher.publish_bytes(&bad), Err(PublishError::InvalidMessage { .. })));
    publisher.publish_bytes(&good).unwrap();
    assert_eq!(sub.try_recv_bytes().unwrap(), Some(good));
    assert_eq!(sub.try_recv_bytes().unwrap(), None);
}

#[test]
fn pubsub_raw_subscriber_fingerprint_follows_the_attached_type() {
    let n = name("fingerprint");
    let mut sub = RawSubscriber::open(&n, None, SubscriberOptions::default()).unwrap();
    assert_eq!(sub.fingerprint(), None, "no topic yet");
    let mut first = Publisher::<Sample>::create(&n).unwrap();
    first.publish(&sample(1)).unwrap();
    assert!(sub.try_recv_bytes().unwrap().is_some());
    assert_eq!(sub.fingerprint(), Some(Sample::SCHEMA.fingerprint()));
    drop(first);
    let mut second = Publisher::<u64>::create(&n).unwrap();
    second.publish(&7).unwrap();
    assert_eq!(sub.try_recv_bytes().unwrap(), Some(7u64.to_ne_bytes().to_vec()));
    assert_eq!(sub.fingerprint(), Some(u64::SCHEMA.fingerprint()), "the new publisher's type");
    assert_eq!(sub.schema().map(eshm::Schema::fingerprint), sub.fingerprint());
}

// ---------------------------------------------------------------------------------------------
// Hostile segment files.

/// Offsets of the first slot's sequence word and payload, read from the file itself.
fn first_slot(bytes: &[u8]) -> (usize, usize) {
    let u64_at = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().unwrap()) as usize;
    let body = u64_at(48);
    let (slot_size, payload_offset, slots_offset) =
        (u64_at(body + 8), u64_at(body + 16), u64_at(body + 32));
    let _ = slot_size;
    (body + slots_offset, body + slots_offset + payload_offset)
}

#[test]
fn pubsub_invalid_field_values_in_shared_memory_are_an_error_not_ub() {
    let n = name("invalid-bits");
    let mut publisher = Publisher::<Sample>::builder(&n).capacity(1).create().unwrap();
    let mut sub = Subscriber::<Sample>::open(&n).unwrap();
    publisher.publish(&sample(2)).unwrap();
    // Another process scribbles on the message: `valid` (offset 12) becomes 9.
    let path = file_of(&n);
    let mut bytes = std::fs::read(&path).unwrap();
    let (_, payload) = first_slot(&bytes);
    bytes[payload + 12] = 9;
    write_at(&path, payload + 12, &[9]);
    match sub.try_recv() {
        Err(RecvError::InvalidMessage { source, .. }) => {
            assert_eq!(source.to_string(), "`valid` at byte 12 holds 9, which is not a valid bool");
        }
        other => panic!("expected InvalidMessage, got {other:?}"),
    }
    // An enum value outside its variants.
    publisher.publish(&sample(4)).unwrap();
    write_at(&path, payload + 13, &[0]);
    assert!(matches!(sub.try_recv(), Err(RecvError::InvalidMessage { .. })));
    // The loan checks the slot before lending it as a `&mut Sample`.
    let slot = publisher.loan();
    assert_eq!(*slot, Sample::INIT);
}

fn write_at(path: &std::path::Path, offset: usize, data: &[u8]) {
    use std::os::unix::fs::FileExt;
    let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.write_all_at(data, offset as u64).unwrap();
}

#[test]
fn pubsub_garbage_and_truncated_segments_are_errors_and_are_reclaimed() {
    let n = name("garbage");
    let path = file_of(&n);
    for content in [vec![0xAB; 8192], vec![0; 100], b"not a segment".to_vec()] {
        std::fs::write(&path, &content).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let err = Subscriber::<Sample>::open(&n).unwrap_err();
        assert!(matches!(err, Error::Corrupt { .. }), "{err:?}");
        assert!(err.to_string().contains("eshm clean"), "{err}");
    }
    // A publisher takes over an unreadable segment whose owner is unknown.
    let mut publisher = Publisher::<Sample>::create(&n).unwrap();
    publisher.publish(&sample(1)).unwrap();
    let mut sub = Subscriber::<Sample>::builder(&n).history(1).open().unwrap();
    assert_eq!(sub.try_recv().unwrap(), Some(sample(1)));
}

#[test]
fn pubsub_segment_of_another_layout_version_is_named_as_such() {
    let n = name("version");
    let publisher = Publisher::<Sample>::builder(&n).unlink_on_drop(false).create().unwrap();
    drop(publisher);
    write_at(&file_of(&n), 8, &99u32.to_le_bytes());
    match Subscriber::<Sample>::open(&n) {
        Err(Error::LayoutVersion { found: 99, .. }) => {}
        other => panic!("expected LayoutVersion, got {other:?}"),
    }
    std::fs::remove_file(file_of(&n)).unwrap();
}

#[test]
fn pubsub_mutated_headers_never_crash_a_subscriber() {
    // Take a real segment, then change bytes of its headers (segment and ring) one at a
    // time, to every kind of value: opening and reading must give a result or an error.
    let n = name("mutate");
    let mut publisher =
        Publisher::<Sample>::builder(&n).capacity(2).unlink_on_drop(false).create().unwrap();
    publisher.publish(&sample(1)).unwrap();
    publisher.publish(&sample(2)).unwrap();
    let original = std::fs::read(file_of(&n)).unwrap();
    drop(publisher);
    let (slots, _) = first_slot(&original);
    let target = name("mutant");
    let path = file_of(&target);
    let mut outcomes = [0usize; 2];
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    for offset in 0..slots {
        for value in [0u8, 1, 0x7f, 0xff, 0x40] {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            if original[offset] == value && offset % 3 != 0 {
                continue;
            }
            let mut bytes = original.clone();
            bytes[offset] = value;
            if rng.is_multiple_of(4) {
                // Sometimes also a second, random byte.
                let o = (rng >> 8) as usize % slots;
                bytes[o] = (rng >> 32) as u8;
            }
            // The name stored in the file must match the name opened.
            std::fs::write(&path, &bytes).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            let result = Subscriber::<Sample>::builder(&n).history(2).open().and_then(|mut s| {
                s.try_recv()?;
                Ok(s.latest()?)
            });
            outcomes[usize::from(result.is_ok())] += 1;
            // The same file, opened under the name it holds.
            let _ = std::fs::rename(&path, file_of(&n));
            let result = RawSubscriber::open(&n, None, SubscriberOptions::default().history(2))
                .and_then(|mut s| Ok(s.try_recv_bytes()?));
            outcomes[usize::from(result.is_ok())] += 1;
        }
    }
    let _ = std::fs::remove_file(file_of(&n));
    assert!(outcomes[0] > 0 && outcomes[1] > 0, "both outcomes seen: {outcomes:?}");
}

#[test]
fn pubsub_segments_of_other_users_or_writable_by_others_are_refused() {
    let n = name("perm");
    let publisher = Publisher::<Sample>::builder(&n).mode(0o666).create().unwrap();
    let path = file_of(&n);
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o666,
        "the mode is exact"
    );
    match Subscriber::<Sample>::open(&n) {
        Err(Error::Permission { reason, .. }) => assert!(reason.contains("0666"), "{reason}"),
        other => panic!("expected Permission, got {other:?}"),
    }
    assert!(Subscriber::<Sample>::builder(&n).allow_other_owners(true).open().is_ok());
    drop(publisher);

    // A symbolic link is never followed.
    let n = name("symlink");
    let target = name("symlink-target");
    let _real = Publisher::<Sample>::create(&target).unwrap();
    std::os::unix::fs::symlink(file_of(&target), file_of(&n)).unwrap();
    assert!(matches!(Subscriber::<Sample>::open(&n), Err(Error::Permission { .. })));
    std::fs::remove_file(file_of(&n)).unwrap();

    // Another user's segment: testable when this process may change owners (as root, which is
    // what CI runs as: there a failing chown is a failure, not a skip).
    let n = name("other-user");
    let publisher = Publisher::<Sample>::builder(&n).unlink_on_drop(false).create().unwrap();
    drop(publisher);
    let root = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata("/proc/self").unwrap()) == 0;
    let chowned = std::os::unix::fs::chown(file_of(&n), Some(4242), None);
    assert!(chowned.is_ok() || !root, "root could not chown: {chowned:?}");
    if chowned.is_ok() {
        match Subscriber::<Sample>::open(&n) {
            Err(Error::Permission { reason, .. }) => {
                assert!(reason.contains("uid 4242"), "{reason}")
            }
            other => panic!("expected Permission, got {other:?}"),
        }
        assert!(matches!(Publisher::<Sample>::create(&n), Err(Error::Permission { .. })));
    } else {
        eprintln!("SKIPPED: the other-user case needs root (to chown a file to another user)");
    }
    std::fs::remove_file(file_of(&n)).unwrap();
}

#[test]
fn pubsub_files_are_private_by_default() {
    let n = name("private");
    let publisher =
        RawPublisher::create_with(&n, u64::SCHEMA, &PublisherOptions::default()).unwrap();
    assert_eq!(publisher.path(), file_of(&n));
    assert_eq!(publisher.name(), n);
    assert_eq!(std::fs::metadata(file_of(&n)).unwrap().permissions().mode() & 0o777, 0o600);
    let typed = Publisher::<u32>::create(&name("typed")).unwrap();
    let sub = Subscriber::<u32>::open(typed.name()).unwrap();
    assert_eq!(sub.name(), typed.name());
    assert_eq!(sub.as_raw().name(), typed.as_raw().name());
}

#[test]
fn pubsub_inspect_lists_and_cleans_what_dead_owners_left() {
    // A topic whose owner is dead: a file from a process that exited (here: written as this
    // process would, with a pid that cannot be running).
    let alive = name("inspect-alive");
    let dead = name("inspect-dead");
    let _publisher = Publisher::<u64>::create(&alive).unwrap();
    let left = Publisher::<u64>::builder(&dead).unlink_on_drop(false).create().unwrap();
    drop(left);
    // Make the header's owner a process that does not exist (pid 0 is nobody's).
    let mut bytes = std::fs::read(file_of(&dead)).unwrap();
    bytes[64..68].copy_from_slice(&0u32.to_le_bytes());
    std::fs::write(file_of(&dead), &bytes).unwrap();
    let listed = eshm::inspect::list().unwrap();
    let find = |n: &str| listed.iter().find(|i| i.name == n).cloned();
    assert!(find(&alive).unwrap().owner_alive);
    assert!(!find(&dead).unwrap().owner_alive);
    let dry = eshm::inspect::clean(true, false).unwrap();
    assert!(dry.removed.iter().any(|r| r.segment.as_ref().is_some_and(|(_, n)| *n == dead)));
    assert!(file_of(&dead).exists(), "a dry run removes nothing");
    let report = eshm::inspect::clean(false, false).unwrap();
    assert!(report.removed.iter().any(|r| r.segment.as_ref().is_some_and(|(_, n)| *n == dead)));
    assert!(
        report
            .kept
            .iter()
            .any(|(path, pid)| *path == file_of(&alive) && *pid == std::process::id())
    );
    assert!(!file_of(&dead).exists() && file_of(&alive).exists());
}
