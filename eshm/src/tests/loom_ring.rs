//! Loom models of the seqlock ring: torn reads, loss accounting across wrap-around, and the
//! writer/sleeper handshake. Threads stand in for processes (loom models threads only; the
//! cross-process behaviour is tested in `tests/multiprocess.rs`).

use crate::layout::{ReaderSlot, WriterLine};
use crate::ring::{Read, RingView};
use crate::sync::AtomicU64;
use loom::sync::Arc;
use loom::thread;
use std::mem::MaybeUninit;

/// A ring of `capacity` slots, each a sequence word and two payload words.
struct Model {
    writer: WriterLine,
    slots: Vec<AtomicU64>,
    mask: u64,
}

impl Model {
    fn new(capacity: u64) -> Arc<Model> {
        Arc::new(Model {
            writer: WriterLine::new(),
            slots: (0..capacity * 3).map(|_| AtomicU64::new(0)).collect(),
            mask: capacity - 1,
        })
    }

    fn view(&self) -> RingView<'_> {
        RingView {
            writer: &self.writer,
            slots: &self.slots,
            slot_words: 3,
            payload_word: 1,
            mask: self.mask,
        }
    }
}

/// The payload of message `n`: two words that must agree.
fn payload(n: u64) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&n.to_ne_bytes());
    b[8..].copy_from_slice(&(!n).to_ne_bytes());
    b
}

fn decode(buf: &[MaybeUninit<u8>; 16]) -> (u64, u64) {
    // SAFETY: called only after `Read::Done`, which initialised all 16 bytes.
    let bytes: [u8; 16] = unsafe { std::mem::transmute(*buf) };
    (
        u64::from_ne_bytes(bytes[..8].try_into().unwrap()),
        u64::from_ne_bytes(bytes[8..].try_into().unwrap()),
    )
}

/// Makes `attempts` receive attempts as a subscriber does (or, with `None`, waits until
/// message `last` is accounted for); returns (received, lost, next message).
fn read_some(ring: RingView<'_>, last: u64, attempts: Option<u32>) -> (u64, u64, u64) {
    let (mut next, mut received, mut lost) = (1u64, 0u64, 0u64);
    let mut left = attempts;
    while next <= last && left != Some(0) {
        left = left.map(|l| l - 1);
        let mut buf = [MaybeUninit::<u8>::uninit(); 16];
        match ring.read(next, &mut buf) {
            Read::Done(()) => {
                let (a, b) = decode(&buf);
                assert_eq!(a, next, "message {next} carried the payload of {a}");
                assert_eq!(b, !a, "torn message {next}");
                received += 1;
                next += 1;
            }
            Read::Lost => {
                let resume = ring.resume_after_loss(next);
                assert!(resume > next);
                lost += resume - next;
                next = resume;
            }
            Read::Pending => {
                if attempts.is_none() {
                    thread::yield_now();
                }
            }
        }
    }
    (received, lost, next)
}

#[test]
fn loom_ring_readers_never_see_torn_or_reordered_messages() {
    loom::model(|| {
        let model = Model::new(2);
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let model = model.clone();
                thread::spawn(move || read_some(model.view(), 3, Some(2)))
            })
            .collect();
        let ring = model.view();
        for n in 1..=3 {
            ring.write(n, &payload(n));
        }
        for r in readers {
            let (received, lost, next) = r.join().unwrap();
            assert_eq!(
                received + lost,
                next - 1,
                "every message before `next` is received or lost"
            );
        }
        // After the writer is done, the newest message is always still there to be read.
        let (received, lost, next) = read_some(ring, 3, None);
        assert_eq!((received + lost, next), (3, 4));
        assert!(received >= 2, "a ring of two keeps the last two messages");
    });
}

/// A reader that sleeps until each of `messages` messages is there, while the writer commits
/// them one after the other, waking it when the commit says so: every message is received.
/// `table`: the reader has an entry in the reader table and sleeps by its bit, which the
/// writer takes when it wakes it (over two messages, the second may be committed while the
/// reader is still on its way back from the first wake-up); otherwise it counts in `waiters`.
fn sleeping_reader_is_always_woken(messages: u64, table: bool) {
    loom::model(move || {
        let model = Model::new(4);
        let reader = {
            let model = model.clone();
            thread::spawn(move || {
                let ring = model.view();
                let slot = ReaderSlot::new();
                for n in 1..=messages {
                    while ring.is_pending(n) {
                        ring.park(n, None, table.then_some((&slot, 0)));
                    }
                }
                read_some(ring, messages, None)
            })
        };
        let ring = model.view();
        for n in 1..=messages {
            if ring.write(n, &payload(n)) {
                ring.wake();
            }
        }
        assert_eq!(reader.join().unwrap(), (messages, 0, messages + 1));
    });
}

#[test]
fn loom_ring_reader_whose_registration_is_taken_is_always_woken() {
    sleeping_reader_is_always_woken(2, true);
}

#[test]
fn loom_ring_sleeping_reader_is_always_woken() {
    sleeping_reader_is_always_woken(1, false);
}
