//! Zero-copy samples and variable-length topics within one process: samples read in place and
//! never overwritten while held, the held-sample limits, loans in place, slice topics of every
//! length, in order, with their errors. (Crashed holders and other processes are in
//! `tests/zero_copy.rs` of the `eshm-tests` package.)

use eshm::pubsub::POOLED_MIN;
use eshm::{Error, PublishError, Publisher, RawSubscriber, RecvError, Subscriber};
use std::time::Duration;

const SECOND: Duration = Duration::from_secs(5);

/// 8 KiB messages: they live in a pool.
type Frame = [u64; 1024];

fn frame(seq: u64) -> Frame {
    std::array::from_fn(|i| seq.wrapping_mul(1_000_003) ^ i as u64)
}

#[allow(clippy::disallowed_types)] // a process-local counter, not shared memory
fn name(what: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!("eshm-test/samples/{what}/{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// A small deterministic generator (xorshift64*), for message lengths and contents.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn samples_of_pooled_topics_are_read_in_place_and_never_overwritten_while_held() {
    let n = name("held");
    let mut sub = Subscriber::<Frame>::open(&n).unwrap();
    let mut copier = Subscriber::<Frame>::open(&n).unwrap();
    let mut publisher = Publisher::<Frame>::builder(&n).capacity(4).create().unwrap();
    assert!(publisher.is_pooled());
    publisher.publish(&frame(1)).unwrap();
    let held = sub.recv_ref_timeout(SECOND).unwrap();
    assert!(held.is_in_place());
    assert_eq!(*held, frame(1));
    let before = eshm::schema::fnv1a64(eshm::message::as_bytes(&*held));
    // The publisher laps the ring 100 times while the sample is held; the copying reader
    // receives every message or counts it lost.
    let (mut received, mut last) = (0u64, 1u64);
    assert_eq!(copier.try_recv().unwrap(), Some(frame(1)));
    for seq in 2..=401 {
        publisher.publish(&frame(seq)).unwrap();
        if seq % 3 == 0 {
            while let Some(f) = copier.try_recv().unwrap() {
                let got = f[0];
                assert_eq!(f, frame(got / 1_000_003), "an intact message");
                assert!(got / 1_000_003 > last, "in order");
                last = got / 1_000_003;
                received += 1;
            }
        }
    }
    while let Some(f) = copier.try_recv().unwrap() {
        last = f[0] / 1_000_003;
        received += 1;
    }
    assert_eq!(last, 401);
    assert_eq!(received + copier.lost(), 400, "every message received or counted lost");
    let after = eshm::schema::fnv1a64(eshm::message::as_bytes(&*held));
    assert_eq!(after, before, "the held message did not change");
    assert_eq!(*held, frame(1));
    // The holder's next message is the oldest still in the ring; it lost the others.
    let next = sub.recv_ref_timeout(SECOND).unwrap();
    assert_eq!(*next, frame(398));
    assert_eq!(sub.lost(), 396);
}

#[test]
fn samples_count_against_max_held_and_give_room_back_when_dropped() {
    let n = name("limit");
    let mut sub = Subscriber::<Frame>::builder(&n).max_held(2).open().unwrap();
    let mut publisher = Publisher::<Frame>::create(&n).unwrap();
    for seq in 1..=4 {
        publisher.publish(&frame(seq)).unwrap();
    }
    let a = sub.try_recv_ref().unwrap().unwrap();
    let b = sub.try_recv_ref().unwrap().unwrap();
    assert_eq!(sub.held(), 2);
    let err = sub.try_recv_ref().unwrap_err();
    assert!(matches!(err, RecvError::HeldLimit { held: 2, max: 2 }), "{err}");
    assert!(err.to_string().contains("holds 2 samples"), "{err}");
    // The message stayed unread: dropping a sample makes room for it.
    drop(a);
    assert_eq!(sub.held(), 1);
    assert_eq!(*sub.try_recv_ref().unwrap().unwrap(), frame(3));
    drop(b);
    // A copying receive is unaffected by the limit.
    assert_eq!(sub.try_recv().unwrap(), Some(frame(4)));
    // As a setup error, it says the same.
    let e = Error::from(RecvError::HeldLimit { held: 2, max: 2 });
    assert!(e.to_string().contains("`max_held`"));
}

#[test]
fn samples_beyond_the_topics_held_samples_are_refused_until_one_is_dropped() {
    let n = name("slots");
    let mut a = Subscriber::<Frame>::open(&n).unwrap();
    let mut b = Subscriber::<Frame>::open(&n).unwrap();
    let mut publisher = Publisher::<Frame>::builder(&n).held_samples(1).create().unwrap();
    publisher.publish(&frame(1)).unwrap();
    let held = a.try_recv_ref().unwrap().unwrap();
    let err = b.try_recv_ref().unwrap_err();
    assert!(matches!(err, RecvError::HoldSlotsFull { slots: 1, held: 0, .. }), "{err}");
    drop(held);
    assert_eq!(*b.try_recv_ref().unwrap().unwrap(), frame(1));
}

#[test]
fn samples_follow_the_copying_receives_rules_history_latest_and_blocking() {
    let n = name("rules");
    let mut publisher = Publisher::<Frame>::builder(&n).capacity(8).create().unwrap();
    for seq in 1..=5 {
        publisher.publish(&frame(seq)).unwrap();
    }
    // History: a late subscriber gets the last two, in place.
    let mut late = Subscriber::<Frame>::builder(&n).history(2).open().unwrap();
    assert_eq!(*late.try_recv_ref().unwrap().unwrap(), frame(4));
    assert_eq!(*late.try_recv_ref().unwrap().unwrap(), frame(5));
    assert!(late.try_recv_ref().unwrap().is_none());
    // Latest: skips to the newest without counting the skipped as lost.
    for seq in 6..=8 {
        publisher.publish(&frame(seq)).unwrap();
    }
    assert_eq!(*late.latest_ref().unwrap().unwrap(), frame(8));
    assert!(late.latest_ref().unwrap().is_none());
    assert_eq!(late.lost(), 0);
    // Blocking: a receive in another thread waits for the next publish.
    std::thread::scope(|s| {
        let waiter = s.spawn(|| late.recv_ref_timeout(Duration::from_secs(60)).map(|f| f[0]));
        publisher.publish(&frame(9)).unwrap();
        assert_eq!(waiter.join().unwrap().unwrap(), frame(9)[0]);
    });
    assert!(matches!(late.recv_ref_timeout(Duration::from_millis(1)), Err(RecvError::Timeout)));
}

#[test]
fn samples_of_small_messages_are_copies_under_the_same_rules() {
    let n = name("small");
    let mut sub = Subscriber::<u64>::builder(&n).max_held(1).open().unwrap();
    let mut publisher = Publisher::<u64>::create(&n).unwrap();
    assert!(!publisher.is_pooled());
    publisher.publish(&7).unwrap();
    publisher.publish(&8).unwrap();
    let s = sub.recv_ref_timeout(SECOND).unwrap();
    assert!(!s.is_in_place());
    assert_eq!(*s, 7);
    assert!(matches!(sub.try_recv_ref(), Err(RecvError::HeldLimit { held: 1, max: 1 })));
    drop(s);
    assert_eq!(*sub.try_recv_ref().unwrap().unwrap(), 8);
    assert!(sub.try_recv_ref().unwrap().is_none());
}

#[test]
fn loans_write_pooled_messages_in_place_and_a_dropped_loan_publishes_nothing() {
    let n = name("loan");
    let mut sub = Subscriber::<Frame>::open(&n).unwrap();
    let mut publisher = Publisher::<Frame>::builder(&n).capacity(2).create().unwrap();
    let mut got = Vec::new();
    for round in 0..10u64 {
        let mut slot = publisher.loan();
        slot.copy_from_slice(&frame(round));
        if round % 2 == 0 {
            slot.publish().unwrap();
        } else {
            drop(slot);
        }
        got.extend(std::iter::from_fn(|| sub.try_recv().unwrap()));
    }
    assert_eq!(got, [0, 2, 4, 6, 8].map(frame));
    assert_eq!((publisher.published(), sub.lost()), (5, 0));
}

#[test]
fn raw_loans_taken_apart_and_resumed_publish_or_give_their_room_back() {
    // As a binding keeps a loan across calls: `into_parts`, then `resume_loan` on the same
    // publisher with nothing published or lent in between; inline (small) and pooled topics.
    for (what, len) in [("inline", 64usize), ("pooled", POOLED_MIN * 2)] {
        let n = name(what);
        let schema =
            eshm::Schema::slice(eshm::Schema::primitive(eshm::schema::Primitive::U8), len).unwrap();
        let mut sub = RawSubscriber::open(&n, Some(&schema), Default::default()).unwrap();
        let mut publisher = eshm::RawPublisher::create(&n, &schema).unwrap();
        for round in 0..6u8 {
            let parts = publisher.loan(len).unwrap().into_parts();
            assert_eq!(parts.len(), len);
            // SAFETY: `parts` is `len` bytes of room, valid for writes while the loan is out.
            unsafe { std::ptr::write_bytes(parts.as_mut_ptr(), round, len) };
            // SAFETY: `parts` came from this publisher's loan, and it published and lent
            // nothing since.
            let loan = unsafe { publisher.resume_loan(parts) };
            if round % 2 == 0 {
                loan.publish().unwrap();
            } else {
                drop(loan); // publishes nothing
            }
        }
        let got: Vec<Vec<u8>> = std::iter::from_fn(|| sub.try_recv_bytes().unwrap()).collect();
        assert_eq!(got, [0u8, 2, 4].map(|b| vec![b; len]), "{what}");
        assert_eq!((publisher.published(), sub.lost()), (3, 0), "{what}");
    }
}

#[test]
fn slice_topics_deliver_every_length_in_order_inline_and_pooled() {
    for (max_len, what) in [(100usize, "inline"), (4096, "pooled")] {
        let n = name(what);
        let mut sub = Subscriber::<[u32]>::open(&n).unwrap();
        let mut publisher = Publisher::<[u32]>::builder(&n).max_len(max_len).create().unwrap();
        assert_eq!(publisher.max_len(), max_len);
        assert_eq!(publisher.is_pooled(), max_len * 4 >= POOLED_MIN);
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ max_len as u64);
        let mut sent = Vec::new();
        let mut out = Vec::new();
        for i in 0..20_000u32 {
            let len = match i {
                0 => 0,
                1 => max_len,
                _ => rng.below(max_len as u64 + 1) as usize,
            };
            let msg: Vec<u32> = (0..len as u32).map(|k| i.wrapping_mul(31) ^ k).collect();
            if i % 2 == 0 {
                publisher.publish(&msg).unwrap();
            } else {
                let mut slot = publisher.loan_slice(len).unwrap();
                slot.copy_from_slice(&msg);
                slot.publish().unwrap();
            }
            sent.push(msg);
            // Receive often enough that nothing is lost (the default ring holds 1024 or more).
            if i % 64 == 63 || i == 19_999 {
                for want in sent.drain(..) {
                    let got = if i % 128 == 127 {
                        sub.recv_ref_timeout(SECOND).unwrap().to_vec()
                    } else {
                        assert!(sub.try_recv_into_vec(&mut out).unwrap());
                        out.clone()
                    };
                    assert_eq!(got, want, "{what}: message of {} elements", want.len());
                }
            }
        }
        assert_eq!(sub.try_recv().unwrap(), None);
        assert_eq!(sub.lost(), 0, "{what}");
    }
}

#[test]
fn slice_topics_refuse_oversize_messages_and_other_element_types() {
    let n = name("errors");
    let mut publisher = Publisher::<[f32]>::builder(&n).max_len(8).create().unwrap();
    let err = publisher.publish(&[0.0; 9]).unwrap_err();
    assert!(matches!(err, PublishError::MessageTooLarge { len: 9, max_len: 8, .. }), "{err}");
    assert!(err.to_string().contains("at most 8 elements"), "{err}");
    assert!(matches!(publisher.loan_slice(9), Err(PublishError::MessageTooLarge { .. })));
    // Another element type: a type mismatch naming both; the same element type with another
    // maximum is accepted.
    let err = Subscriber::<[f64]>::open(&n).unwrap_err();
    assert!(matches!(&err, Error::TypeMismatch { .. }), "{err}");
    assert!(err.to_string().contains("[f32]") && err.to_string().contains("[f64]"), "{err}");
    assert!(Subscriber::<f32>::open(&n).is_err(), "a fixed-size subscriber of a slice topic");
    assert!(Subscriber::<[f32]>::open(&n).is_ok());
    // A slice topic needs its maximum.
    assert!(matches!(
        Publisher::<[u8]>::create(&name("no-max")),
        Err(Error::InvalidCapacity { .. })
    ));
    // Raw receives into a buffer too small for the next message leave it unread.
    let mut raw = RawSubscriber::open(&n, None, Default::default()).unwrap();
    publisher.publish(&[1.0, 2.0, 3.0]).unwrap();
    let mut small = [0u8; 8];
    assert!(matches!(
        raw.try_recv_slice_into(&mut small),
        Err(RecvError::WrongSize { size: 12, .. })
    ));
    let mut big = [0u8; 64];
    assert_eq!(raw.try_recv_slice_into(&mut big).unwrap(), Some(12));
    assert_eq!(&big[..4], &1.0f32.to_ne_bytes());
}

#[test]
fn slice_samples_outlive_their_publisher_and_the_subscriber_takes_the_next() {
    let n = name("restart");
    let mut sub = Subscriber::<[u8]>::open(&n).unwrap();
    let mut first = Publisher::<[u8]>::builder(&n).max_len(1 << 20).create().unwrap();
    first.publish(&vec![1u8; 300_000]).unwrap();
    let held = sub.recv_ref_timeout(SECOND).unwrap();
    assert!(held.is_in_place());
    drop(first);
    let mut second = Publisher::<[u8]>::builder(&n).max_len(1 << 20).create().unwrap();
    second.publish(&[2u8; 5]).unwrap();
    let next = sub.recv_ref_timeout(SECOND).unwrap();
    assert_eq!(&*next, &[2u8; 5]);
    assert_eq!(held.len(), 300_000);
    assert!(held.iter().all(|&b| b == 1), "the first publisher's message is intact");
}
