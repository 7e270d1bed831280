//! The single-writer, many-reader broadcast ring: a seqlock per slot.
//!
//! Messages are numbered from 1. Message `n` goes to slot `n % slot_count`, whose sequence word
//! reads `2n - 1` while the writer fills it and `2n` once it is complete (the seqlock of
//! Lamport/Boehm, one per slot, as in crossbeam's `SeqLock`). Sequence words only grow, so a
//! reader expecting message `n` learns everything from one load of its slot's word:
//!
//! | word            | meaning                                         |
//! |-----------------|-------------------------------------------------|
//! | `< 2n - 1`      | message `n` is not written yet (older lap)       |
//! | `2n - 1`        | the writer is writing message `n`                |
//! | `2n`            | message `n` is there: copy it, then re-check     |
//! | `> 2n`          | message `n` was overwritten: the reader lost it  |
//!
//! A reader polls the slot of the message it waits for, not a shared index, so a small message
//! and its sequence word share one cache line: one line transfer per message. The writer never
//! waits for readers; a reader that falls behind by more than the ring's capacity counts what
//! it lost and resumes at the oldest message still in the ring.
//!
//! Copies in and out go through [`crate::sync::torn`] (relaxed atomic words), so a copy that
//! races the writer is never a data race; it is discarded when the re-check fails.
//!
//! Blocking readers sleep on the futex word `WriterLine::notify`. The writer calls
//! `futex_wake` only when `WriterLine::waiters` is non-zero, so a publish with nobody asleep
//! costs no system call. A `SeqCst` fence on each side (the writer between its commit and its
//! load of `waiters`, the reader between registering and re-checking the slot) makes it
//! impossible for both to miss each other (the store-load pattern of Dekker's algorithm).

#[cfg(not(loom))]
pub(crate) mod geometry;
#[cfg(not(loom))]
pub(crate) mod mapped;
pub(crate) mod messages;
pub(crate) mod pool;

use crate::layout::{ReaderSlot, WriterLine};
use crate::sync::{AtomicU64, Ordering, fence, futex, torn};
use std::mem::MaybeUninit;
use std::time::Duration;

/// The sequence word of a slot holding message `n`, and of one being written with it. Message
/// numbers read from shared memory (`write_seq`) are untrusted, so the arithmetic wraps
/// instead of panicking; honest numbers never get near 2^63.
#[inline(always)]
const fn committed(n: u64) -> u64 {
    n.wrapping_mul(2)
}

#[inline(always)]
const fn writing(n: u64) -> u64 {
    committed(n).wrapping_sub(1)
}

/// A view of one ring: the writer's line and the slot words.
#[derive(Clone, Copy)]
pub(crate) struct RingView<'a> {
    pub(crate) writer: &'a WriterLine,
    /// All slots, `slot_count * slot_words` words.
    pub(crate) slots: &'a [AtomicU64],
    /// Words per slot.
    pub(crate) slot_words: usize,
    /// Offset of the message in a slot, in words (at least 1: word 0 is the sequence).
    pub(crate) payload_word: usize,
    /// `slot_count - 1`; `slot_count` is a power of two.
    pub(crate) mask: u64,
}

/// What [`RingView::read`] (or [`RingView::read_with`]) found for the message asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Read<T = ()> {
    /// The message was copied out (or looked at), consistent; with what the look returned.
    Done(T),
    /// The message has not been (completely) written yet.
    Pending,
    /// The message was overwritten before (or while) it was read.
    Lost,
}

impl<'a> RingView<'a> {
    pub(crate) fn capacity(&self) -> u64 {
        self.mask + 1
    }

    #[inline(always)]
    fn base(&self, n: u64) -> usize {
        // `mask < slot_count`, so the index fits in usize (the slots fit in memory).
        (n & self.mask) as usize * self.slot_words
    }

    #[inline(always)]
    fn seq(&self, n: u64) -> &'a AtomicU64 {
        &self.slots[self.base(n)]
    }

    /// The words of message `n`'s payload.
    #[inline(always)]
    pub(crate) fn payload(&self, n: u64) -> &'a [AtomicU64] {
        let base = self.base(n);
        &self.slots[base + self.payload_word..base + self.slot_words]
    }

    /// All words of message `n`'s slot, its sequence word first.
    #[inline(always)]
    pub(crate) fn slot(&self, n: u64) -> &'a [AtomicU64] {
        let base = self.base(n);
        &self.slots[base..base + self.slot_words]
    }

    /// The slot index of message `n`.
    #[inline(always)]
    pub(crate) fn slot_index(&self, n: u64) -> usize {
        (n & self.mask) as usize
    }

    /// Writer, step 1: marks message `n`'s slot as being written. Readers that copy the old
    /// contents concurrently will see the sequence move and discard their copy.
    #[inline(always)]
    pub(crate) fn begin_write(&self, n: u64) {
        self.seq(n).store(writing(n), Ordering::Relaxed);
        // Orders the odd store before the payload stores: a reader whose copy contains any of
        // the new payload sees (after its Acquire fence in `read`) at least this odd value on
        // its re-check. Pairs with the Acquire fence in `read`.
        fence(Ordering::Release);
    }

    /// Writer, step 2: commits message `n` and tells whether a reader may be asleep (then
    /// call [`wake`](Self::wake)).
    #[inline(always)]
    pub(crate) fn end_write(&self, n: u64) -> bool {
        // Publishes the payload: pairs with the Acquire load of the sequence in `read`.
        self.seq(n).store(committed(n), Ordering::Release);
        self.writer.write_seq.store(n, Ordering::Release);
        // Store-load barrier: either a reader registered in `waiters` or `waiting_mask`
        // before this fence (and we see it below), or its re-check after its own fence sees
        // the commit above. Pairs with the SeqCst fence in `park`.
        fence(Ordering::SeqCst);
        // The writer takes the registrations it is about to wake (the caller wakes whenever
        // this returns `true`): a reader woken is not woken again by every commit until it
        // has run and withdrawn its registration (at a high rate, a futile `futex_wake` per
        // message while the reader is on its way), and one that died asleep costs one wake-up.
        // A bit cleared here is always followed by the caller's bump of `notify`, which the
        // reader's ticket predates (the fences order them), so its `futex_wait` returns.
        let mask = self.writer.waiting_mask.load(Ordering::Relaxed);
        let taken = mask != 0 && self.writer.waiting_mask.swap(0, Ordering::Relaxed) != 0;
        taken || self.writer.waiters.load(Ordering::Relaxed) != 0
    }

    /// Brings the first cache line of message `n`'s slot into this core's cache (read intent)
    /// ahead of writing it: the reader that waits for `n` polls that line, so without this
    /// the write would first have to fetch it from the reader's core, with its data; with it,
    /// the write only has to invalidate the reader's copy, as when both sides share one line.
    #[inline(always)]
    pub(crate) fn prefetch(&self, n: u64) {
        let word = self.seq(n);
        #[cfg(all(target_arch = "x86_64", not(loom)))]
        // SAFETY: `prefetch` is a hint that never faults, whatever the address; this one
        // points into the ring anyway. SSE is part of the x86-64 baseline.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                std::ptr::from_ref(word).cast::<i8>(),
            );
        }
        #[cfg(not(all(target_arch = "x86_64", not(loom))))]
        let _ = word;
    }

    /// Wakes every reader asleep on this ring (and readers about to sleep: the bump makes
    /// their `futex_wait` return at once); how many were asleep.
    pub(crate) fn wake(&self) -> u32 {
        futex::bump_and_wake(&self.writer.notify)
    }

    /// Writes message `n` from `bytes` (word-wise atomics) and commits it.
    #[inline(always)]
    pub(crate) fn write(&self, n: u64, bytes: &[u8]) -> bool {
        self.begin_write(n);
        torn::store(self.payload(n), bytes);
        self.end_write(n)
    }

    /// Copies message `n` into `dst` if it is there and stays consistent during the copy.
    /// `dst` is fully initialised when this returns [`Read::Done`].
    #[inline(always)]
    pub(crate) fn read(&self, n: u64, dst: &mut [MaybeUninit<u8>]) -> Read {
        self.read_with(n, |slot| torn::load(&slot[self.payload_word..], dst))
    }

    /// The seqlock read of message `n` with a custom look at its slot (all its words, the
    /// sequence word first): `look` runs if the message is there and may see a torn mix of
    /// writes (it must only load, with relaxed atomics or `torn`); its result is returned only
    /// if the slot stayed consistent meanwhile.
    #[inline(always)]
    pub(crate) fn read_with<T>(&self, n: u64, look: impl FnOnce(&'a [AtomicU64]) -> T) -> Read<T> {
        let seq = self.seq(n);
        // Pairs with the Release store in `end_write`: seeing 2n means seeing its payload.
        let before = seq.load(Ordering::Acquire);
        if before != committed(n) {
            return if before < committed(n) { Read::Pending } else { Read::Lost };
        }
        let seen = look(self.slot(n));
        // Pairs with the Release fence in `begin_write`: if the look saw any byte of a later
        // write, the load below sees that write's odd (or a larger) sequence.
        fence(Ordering::Acquire);
        if seq.load(Ordering::Relaxed) == committed(n) { Read::Done(seen) } else { Read::Lost }
    }

    /// Whether message `n` is still the one in its slot (not yet being overwritten). What the
    /// caller did before must be ordered before this load by the caller's own fence (see
    /// `pool`).
    #[inline(always)]
    pub(crate) fn still_committed(&self, n: u64) -> bool {
        self.seq(n).load(Ordering::Relaxed) == committed(n)
    }

    /// Whether message `n` is not written yet, or being written (cheap: one load). `false`
    /// once it is there, and once it has been overwritten.
    #[inline(always)]
    pub(crate) fn is_pending(&self, n: u64) -> bool {
        self.seq(n).load(Ordering::Acquire) < committed(n)
    }

    /// The newest committed message number (0 if none).
    pub(crate) fn newest(&self) -> u64 {
        // Pairs with the Release store of `write_seq` in `end_write`.
        self.writer.write_seq.load(Ordering::Acquire)
    }

    /// Where a reader that lost message `n` resumes: the oldest message that can still be in
    /// the ring, and always after `n`.
    pub(crate) fn resume_after_loss(&self, n: u64) -> u64 {
        let newest = self.newest();
        // Slots hold newest - capacity + 1 ..= newest; the oldest of them may be under
        // rewrite already, in which case the next read reports another loss and we move on.
        n.saturating_add(1).max(newest.saturating_add(1).saturating_sub(self.capacity()))
    }

    /// Sleeps until message `n` may have arrived, a wake-up, or `timeout`. Returns at once if
    /// it is already there. Spurious returns are possible: callers loop. A reader with an entry
    /// in the reader table passes it (`slot`, its index): it then registers by its flag and its
    /// bit, which the writer takes when it wakes it (so one that dies asleep costs one wake-up);
    /// one without registers in the `waiters` count.
    pub(crate) fn park(
        &self,
        n: u64,
        timeout: Option<Duration>,
        slot: Option<(&ReaderSlot, usize)>,
    ) {
        if let Some(ticket) = self.register(n, slot) {
            futex::wait(&self.writer.notify, ticket, timeout);
            self.deregister(slot);
        }
    }

    /// Registers a reader that waits for message `n` to be woken by the writer's next commit
    /// (see [`park`](Self::park) for `slot`), and returns the value of the futex word to wait
    /// on; `None` (and nothing registered) if message `n` is there already (or no longer
    /// pending). A registration must be withdrawn with [`deregister`](Self::deregister).
    pub(crate) fn register(&self, n: u64, slot: Option<(&ReaderSlot, usize)>) -> Option<u32> {
        let w = self.writer;
        let ticket = w.notify.load(Ordering::Acquire);
        match slot {
            Some((entry, i)) => {
                entry.waiting.store(1, Ordering::Relaxed);
                w.waiting_mask.fetch_or(1 << i, Ordering::Relaxed);
            }
            None => {
                w.waiters.fetch_add(1, Ordering::Relaxed);
            }
        }
        // Pairs with the SeqCst fence in `end_write` (see there).
        fence(Ordering::SeqCst);
        if self.is_pending(n) {
            return Some(ticket);
        }
        self.deregister(slot);
        None
    }

    /// Withdraws a reader's registration (see [`register`](Self::register)).
    pub(crate) fn deregister(&self, slot: Option<(&ReaderSlot, usize)>) {
        let w = self.writer;
        match slot {
            Some((entry, i)) => {
                w.waiting_mask.fetch_and(!(1 << i), Ordering::Relaxed);
                entry.waiting.store(0, Ordering::Relaxed);
            }
            None => {
                w.waiters.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::sync::AtomicU32;

    struct HeapRing {
        writer: WriterLine,
        slots: Vec<AtomicU64>,
        slot_words: usize,
        mask: u64,
    }

    impl HeapRing {
        fn new(capacity: u64, payload_words: usize) -> HeapRing {
            let slot_words = 1 + payload_words;
            HeapRing {
                writer: WriterLine {
                    write_seq: AtomicU64::new(0),
                    last_publish_ns: AtomicU64::new(0),
                    waiters: AtomicU32::new(0),
                    notify: AtomicU32::new(0),
                    waiting_mask: AtomicU64::new(0),
                    _reserved: Default::default(),
                },
                slots: (0..capacity as usize * slot_words).map(|_| AtomicU64::new(0)).collect(),
                slot_words,
                mask: capacity - 1,
            }
        }

        fn view(&self) -> RingView<'_> {
            RingView {
                writer: &self.writer,
                slots: &self.slots,
                slot_words: self.slot_words,
                payload_word: 1,
                mask: self.mask,
            }
        }
    }

    fn read_u64(ring: &RingView<'_>, n: u64) -> (Read, u64) {
        let mut buf = [MaybeUninit::<u8>::uninit(); 8];
        let r = ring.read(n, &mut buf);
        if r == Read::Done(()) {
            // SAFETY: `Done` means `read` initialised all 8 bytes.
            let bytes: [u8; 8] = unsafe { std::mem::transmute(buf) };
            (r, u64::from_ne_bytes(bytes))
        } else {
            (r, 0)
        }
    }

    #[test]
    fn ring_reports_pending_done_and_lost() {
        let heap = HeapRing::new(4, 1);
        let ring = heap.view();
        assert_eq!(read_u64(&ring, 1).0, Read::Pending);
        for n in 1..=3u64 {
            ring.write(n, &(n * 10).to_ne_bytes());
        }
        assert_eq!(read_u64(&ring, 1), (Read::Done(()), 10));
        assert_eq!(read_u64(&ring, 3), (Read::Done(()), 30));
        assert_eq!(read_u64(&ring, 4).0, Read::Pending);
        for n in 4..=9u64 {
            ring.write(n, &(n * 10).to_ne_bytes());
        }
        // Slots hold 6..=9 now.
        assert_eq!(read_u64(&ring, 5).0, Read::Lost);
        assert_eq!(ring.resume_after_loss(5), 6);
        assert_eq!(read_u64(&ring, 6), (Read::Done(()), 60));
        assert_eq!(ring.newest(), 9);
        // A write in progress is pending for its message and lost for the one it replaces.
        ring.begin_write(10);
        assert_eq!(read_u64(&ring, 10).0, Read::Pending);
        assert_eq!(read_u64(&ring, 6).0, Read::Lost);
        torn::store(ring.payload(10), &100u64.to_ne_bytes());
        assert!(!ring.end_write(10), "nobody is waiting");
        assert_eq!(read_u64(&ring, 10), (Read::Done(()), 100));
    }

    #[test]
    fn ring_park_returns_when_a_message_is_there() {
        let heap = HeapRing::new(2, 1);
        let ring = heap.view();
        ring.write(1, &[1; 8]);
        ring.park(1, Some(Duration::from_secs(60)), None);
        assert_eq!(heap.writer.waiters.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn ring_writer_wakes_a_parked_reader() {
        let heap = std::sync::Arc::new(HeapRing::new(2, 1));
        let reader = {
            let heap = heap.clone();
            std::thread::spawn(move || {
                let ring = heap.view();
                while ring.is_pending(1) {
                    ring.park(1, None, None);
                }
                read_u64(&ring, 1)
            })
        };
        // Wait until the reader is registered, so that the wake-up path is exercised.
        while heap.writer.waiters.load(Ordering::Relaxed) == 0 {
            std::thread::yield_now();
        }
        let ring = heap.view();
        if ring.write(1, &7u64.to_ne_bytes()) {
            ring.wake();
        }
        assert_eq!(reader.join().unwrap(), (Read::Done(()), 7));
    }

    /// The registrations a commit reports are taken with it: a reader woken is not reported
    /// again to every commit until it has run (a futile `futex_wake` per message, and, before,
    /// a look at /proc), while a reader without a table entry is counted until it withdraws.
    #[test]
    fn ring_writer_takes_the_registrations_it_wakes() {
        let heap = HeapRing::new(8, 1);
        let ring = heap.view();
        let slot = ReaderSlot::new();
        assert!(ring.register(1, Some((&slot, 3))).is_some(), "message 1 is pending");
        assert!(ring.write(1, &[1; 8]), "a reader registered: to be woken");
        assert_eq!(heap.writer.waiting_mask.load(Ordering::Relaxed), 0, "taken");
        assert!(!ring.write(2, &[2; 8]), "woken already, though it has not run yet");
        ring.deregister(Some((&slot, 3)));
        assert!(!ring.write(3, &[3; 8]), "nobody registered");
        assert!(ring.register(4, Some((&slot, 3))).is_some());
        assert!(ring.write(4, &[4; 8]), "registered again: woken again");

        assert!(ring.register(5, None).is_some());
        assert!(ring.write(5, &[5; 8]));
        assert!(ring.write(6, &[6; 8]), "counted until it withdraws");
        ring.deregister(None);
        assert!(!ring.write(7, &[7; 8]));
    }
}
