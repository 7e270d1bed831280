//! One direction of a channel: a single-producer single-consumer queue of variable-length
//! records in a byte area of fixed capacity.
//!
//! Positions (`head`, `tail`) count bytes since the queue was created and only grow; a
//! position's place in the data area is `position % capacity`. A record is an 8-byte header
//! word (`len` in the low 32 bits, flags in the high 32) followed by the payload, padded to a
//! multiple of 8. A record never wraps around the end of the area: when it does not fit in
//! what is left before the end, the producer writes a [`WRAP`] header there and starts the
//! record at offset 0, so the consumer always finds a contiguous payload.
//!
//! The producer writes a record, then publishes it by storing the new `head` (Release); the
//! consumer reads `head` (Acquire), copies the record out, then frees it by storing the new
//! `tail` (Release), which the producer reads (Acquire) before reusing the space (the classic
//! Lamport SPSC queue). Each side sleeps on its own futex (`data_futex` for the consumer,
//! `space_futex` for the producer) with the same registration handshake as the ring (see
//! `ring`): a `SeqCst` fence between publishing and looking for sleepers on one side, and
//! between registering and re-checking on the other.
//!
//! Everything read from the queue (positions, record headers) is checked before use: a corrupt
//! or hostile peer makes operations fail with [`Corrupt`], never read out of bounds. Payloads
//! move through `torn` copies, so even a peer that writes while we read is no data race.

use crate::layout::{QueueHeader, WRAP};
use crate::sync::{AtomicU64, Ordering, fence, futex, torn};
use std::mem::MaybeUninit;
use std::time::Duration;

/// Bytes of a record with a `len`-byte payload.
pub(crate) const fn record_size(len: usize) -> u64 {
    8 + (len as u64).next_multiple_of(8)
}

/// Words that hold `len` bytes.
const fn len_words(len: usize) -> usize {
    len.div_ceil(8)
}

/// Room for one record, reserved by [`QueueView::try_reserve`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Room {
    /// `head` when reserved.
    head: u64,
    /// Bytes skipped to the start of the area (a wrap marker goes at `head`).
    skip: u64,
    /// Bytes the record takes, skip included.
    total: u64,
    /// Word index of the record's header word.
    start: usize,
    pub(crate) len: usize,
}

/// The queue's shared state is inconsistent (written by something that does not follow the
/// protocol).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Corrupt(pub(crate) String);

/// The result of [`QueueView::try_push`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Push {
    /// Written; `true` if a consumer may be asleep and must be woken.
    Written(bool),
    /// No room now.
    Full,
}

/// A record found by [`QueueView::peek`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Record {
    /// Payload length.
    pub(crate) len: usize,
    /// Word index of the payload in the data area.
    word: usize,
    /// `tail` after this record is consumed.
    next_tail: u64,
}

/// A view of one queue: its header and its data words.
#[derive(Clone, Copy)]
pub(crate) struct QueueView<'a> {
    pub(crate) header: &'a QueueHeader,
    /// `capacity / 8` words.
    pub(crate) data: &'a [AtomicU64],
    /// Largest payload accepted.
    pub(crate) max_message: usize,
}

impl<'a> QueueView<'a> {
    /// The payload words of reserved room.
    pub(crate) fn payload(&self, room: &Room) -> &'a [AtomicU64] {
        &self.data[room.start + 1..room.start + 1 + len_words(room.len)]
    }

    /// Consumer: `record`'s payload words, to read in place until it is consumed (the producer
    /// does not write them before the consumer moves `tail` past them).
    pub(crate) fn record_words(&self, record: &Record) -> &'a [AtomicU64] {
        &self.data[record.word..record.word + len_words(record.len)]
    }
}

impl QueueView<'_> {
    fn capacity(&self) -> u64 {
        self.data.len() as u64 * 8
    }

    /// Reads both positions and checks them against each other.
    fn positions(&self) -> Result<(u64, u64), Corrupt> {
        // Pairs with the Release stores of `head` (in `try_push`) and `tail` (in `consume`).
        let head = self.header.head.load(Ordering::Acquire);
        let tail = self.header.tail.load(Ordering::Acquire);
        let used = head.wrapping_sub(tail);
        if used > self.capacity() || !head.is_multiple_of(8) || !tail.is_multiple_of(8) {
            return Err(Corrupt(format!("positions head {head} and tail {tail} are inconsistent")));
        }
        Ok((head, tail))
    }

    /// Producer: appends one record with `payload`, if there is room for it now.
    ///
    /// The caller checks `payload.len() <= max_message` (and the channel guarantees that any
    /// such record fits in an empty queue).
    pub(crate) fn try_push(&self, payload: &[u8]) -> Result<Push, Corrupt> {
        let Some(room) = self.try_reserve(payload.len())? else { return Ok(Push::Full) };
        torn::store(self.payload(&room), payload);
        Ok(Push::Written(self.commit(&room)))
    }

    /// Producer: room for a record of `len` payload bytes, if there is some now. Nothing is
    /// visible to the consumer until [`commit`](Self::commit); the payload is written
    /// through [`payload`](Self::payload) meanwhile (only the producer writes there: the
    /// consumer reads no further than `head`).
    pub(crate) fn try_reserve(&self, len: usize) -> Result<Option<Room>, Corrupt> {
        let (head, tail) = self.positions()?;
        let capacity = self.capacity();
        let free = capacity - (head - tail);
        let pos = head % capacity;
        let need = record_size(len);
        let to_end = capacity - pos;
        let (skip, total) = if need <= to_end { (0, need) } else { (to_end, to_end + need) };
        if total > free {
            return Ok(None);
        }
        let start = ((head + skip) % capacity / 8) as usize;
        Ok(Some(Room { head, skip, total, start, len }))
    }

    /// Producer: publishes the record in `room` (its payload written); returns whether a
    /// consumer may be asleep and must be woken.
    pub(crate) fn commit(&self, room: &Room) -> bool {
        let capacity = self.capacity();
        if room.skip > 0 {
            self.data[(room.head % capacity / 8) as usize]
                .store(u64::from(WRAP), Ordering::Relaxed);
        }
        self.data[room.start].store(room.len as u64, Ordering::Relaxed);
        let h = self.header;
        h.written.store(h.written.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        h.bytes_written
            .store(h.bytes_written.load(Ordering::Relaxed) + room.len as u64, Ordering::Relaxed);
        // Publishes the record: pairs with the Acquire load of `head` in `positions`.
        h.head.store(room.head + room.total, Ordering::Release);
        // Store-load barrier against a consumer registering to sleep: pairs with the SeqCst
        // fence in `wait_for_data`.
        fence(Ordering::SeqCst);
        h.data_waiters.load(Ordering::Relaxed) != 0
    }

    /// Consumer: the next record, if any (skipping wrap markers, which it consumes).
    pub(crate) fn peek(&self) -> Result<Option<Record>, Corrupt> {
        let (head, mut tail) = self.positions()?;
        let capacity = self.capacity();
        loop {
            if tail == head {
                return Ok(None);
            }
            let pos = tail % capacity;
            let word = self.data[(pos / 8) as usize].load(Ordering::Relaxed);
            let len = word as u32;
            if len == WRAP {
                let skip = capacity - pos;
                if skip > head - tail {
                    return Err(Corrupt(format!("a wrap marker at {tail} runs past head {head}")));
                }
                tail += skip;
                // Release the skipped bytes at once (pairs with `positions` in the producer).
                self.header.tail.store(tail, Ordering::Release);
                continue;
            }
            let len = len as usize;
            let need = record_size(len);
            if len > self.max_message || need > capacity - pos || need > head - tail {
                return Err(Corrupt(format!(
                    "a record of {len} bytes at {tail} does not fit (head {head}, capacity {capacity})"
                )));
            }
            return Ok(Some(Record { len, word: (pos / 8) as usize + 1, next_tail: tail + need }));
        }
    }

    /// Consumer: copies `record`'s payload into `dst` (exactly `record.len` bytes).
    pub(crate) fn copy(&self, record: &Record, dst: &mut [MaybeUninit<u8>]) {
        debug_assert_eq!(dst.len(), record.len);
        torn::load(&self.data[record.word..], dst);
    }

    /// Consumer: frees `record`; returns whether a producer may be asleep waiting for room.
    pub(crate) fn consume(&self, record: &Record) -> bool {
        let h = self.header;
        h.read.store(h.read.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        h.bytes_read
            .store(h.bytes_read.load(Ordering::Relaxed) + record.len as u64, Ordering::Relaxed);
        // Frees the space (pairs with the Acquire load of `tail` in the producer's
        // `positions`): the copy above is complete before the producer may overwrite it.
        h.tail.store(record.next_tail, Ordering::Release);
        // Pairs with the SeqCst fence in `wait_for_space`.
        fence(Ordering::SeqCst);
        h.space_waiters.load(Ordering::Relaxed) != 0
    }

    /// Wakes a consumer asleep in [`wait_for_data`](Self::wait_for_data).
    pub(crate) fn wake_consumer(&self) {
        futex::bump_and_wake(&self.header.data_futex);
    }

    /// Wakes a producer asleep in [`wait_for_space`](Self::wait_for_space).
    pub(crate) fn wake_producer(&self) {
        futex::bump_and_wake(&self.header.space_futex);
    }

    /// Consumer: sleeps until the queue may hold a record, a wake-up, or `timeout`.
    pub(crate) fn wait_for_data(&self, timeout: Option<Duration>) {
        if let Some(ticket) = self.register_for_data() {
            futex::wait(&self.header.data_futex, ticket, timeout);
            self.deregister_for_data();
        }
    }

    /// Consumer: registers to be woken by the producer's next record, and returns the value of
    /// `data_futex` to wait on; `None` (nothing registered) if a record is there already.
    pub(crate) fn register_for_data(&self) -> Option<u32> {
        let h = self.header;
        let ticket = h.data_futex.load(Ordering::Acquire);
        h.data_waiters.fetch_add(1, Ordering::Relaxed);
        // Pairs with the SeqCst fence in `try_push`.
        fence(Ordering::SeqCst);
        if h.head.load(Ordering::Acquire) == h.tail.load(Ordering::Relaxed) {
            return Some(ticket);
        }
        self.deregister_for_data();
        None
    }

    /// Withdraws a consumer's registration (see [`register_for_data`](Self::register_for_data)).
    pub(crate) fn deregister_for_data(&self) {
        self.header.data_waiters.fetch_sub(1, Ordering::Relaxed);
    }

    /// Producer: sleeps until `need` bytes (plus a possible wrap) may be free, a wake-up, or
    /// `timeout`.
    pub(crate) fn wait_for_space(&self, need: u64, timeout: Option<Duration>) {
        if let Some(ticket) = self.register_for_space(need) {
            futex::wait(&self.header.space_futex, ticket, timeout);
            self.deregister_for_space();
        }
    }

    /// Producer: registers to be woken when the consumer frees space, and returns the value of
    /// `space_futex` to wait on; `None` (nothing registered) if `need` bytes (plus a possible
    /// wrap) may be free already.
    pub(crate) fn register_for_space(&self, need: u64) -> Option<u32> {
        let h = self.header;
        let ticket = h.space_futex.load(Ordering::Acquire);
        h.space_waiters.fetch_add(1, Ordering::Relaxed);
        // Pairs with the SeqCst fence in `consume`.
        fence(Ordering::SeqCst);
        let used = h.head.load(Ordering::Relaxed).wrapping_sub(h.tail.load(Ordering::Acquire));
        if self.capacity().saturating_sub(used) < need * 2 {
            return Some(ticket);
        }
        self.deregister_for_space();
        None
    }

    /// Withdraws a producer's registration (see [`register_for_space`](Self::register_for_space)).
    pub(crate) fn deregister_for_space(&self) {
        self.header.space_waiters.fetch_sub(1, Ordering::Relaxed);
    }

    /// Records and payload bytes written, read.
    pub(crate) fn counters(&self) -> (u64, u64, u64, u64) {
        let h = self.header;
        let r = |a: &AtomicU64| a.load(Ordering::Relaxed);
        (r(&h.written), r(&h.bytes_written), r(&h.read), r(&h.bytes_read))
    }

    /// Records queued now (written but not yet read).
    pub(crate) fn pending(&self) -> u64 {
        let (written, _, read, _) = self.counters();
        written.saturating_sub(read)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::sync::AtomicU32;

    fn header() -> QueueHeader {
        let z = || AtomicU64::new(0);
        QueueHeader {
            head: z(),
            written: z(),
            bytes_written: z(),
            _reserved0: Default::default(),
            tail: z(),
            read: z(),
            bytes_read: z(),
            _reserved1: Default::default(),
            data_futex: AtomicU32::new(0),
            data_waiters: AtomicU32::new(0),
            space_futex: AtomicU32::new(0),
            space_waiters: AtomicU32::new(0),
            _reserved2: Default::default(),
        }
    }

    fn pop(q: &QueueView<'_>) -> Option<Vec<u8>> {
        let r = q.peek().unwrap()?;
        let mut buf = vec![MaybeUninit::<u8>::uninit(); r.len];
        q.copy(&r, &mut buf);
        q.consume(&r);
        // SAFETY: `copy` initialised all `r.len` bytes.
        Some(unsafe { crate::sync::torn::assume_init_vec(buf) })
    }

    #[test]
    fn queue_delivers_records_in_order_across_wrap_around() {
        let h = header();
        let data: Vec<AtomicU64> = (0..8).map(|_| AtomicU64::new(0)).collect(); // 64 bytes
        let q = QueueView { header: &h, data: &data, max_message: 24 };
        let mut expected = std::collections::VecDeque::new();
        let mut next = 0u8;
        for round in 0..200 {
            // Push records of 0..=24 bytes while they fit, then pop some.
            loop {
                let len = (round * 7 + next as usize) % 25;
                let payload: Vec<u8> = (0..len).map(|i| next.wrapping_add(i as u8)).collect();
                match q.try_push(&payload).unwrap() {
                    Push::Written(_) => {
                        expected.push_back(payload);
                        next = next.wrapping_add(1);
                    }
                    Push::Full => break,
                }
            }
            for _ in 0..=(round % 3) {
                assert_eq!(pop(&q), expected.pop_front());
            }
        }
        while let Some(want) = expected.pop_front() {
            assert_eq!(pop(&q), Some(want));
        }
        assert_eq!(pop(&q), None);
        let (w, bw, r, br) = q.counters();
        assert_eq!((w, bw), (r, br));
    }

    #[test]
    fn queue_rejects_inconsistent_state() {
        let h = header();
        let data: Vec<AtomicU64> = (0..8).map(|_| AtomicU64::new(0)).collect();
        let q = QueueView { header: &h, data: &data, max_message: 24 };
        q.try_push(&[1, 2, 3]).unwrap();
        // A record header claiming more than the maximum.
        data[0].store(1000, Ordering::Relaxed);
        assert!(q.peek().is_err());
        data[0].store(3, Ordering::Relaxed);
        // Positions that do not make sense.
        h.tail.store(100, Ordering::Relaxed);
        assert!(q.peek().is_err());
        assert!(q.try_push(&[1]).is_err());
        h.tail.store(0, Ordering::Relaxed);
        h.head.store(3, Ordering::Relaxed);
        assert!(q.peek().is_err(), "unaligned head");
    }

    /// A queue of `words` data words over a fresh header.
    fn with_queue<R>(words: usize, max_message: usize, f: impl FnOnce(&QueueView<'_>) -> R) -> R {
        let h = header();
        let data: Vec<AtomicU64> = (0..words).map(|_| AtomicU64::new(0)).collect();
        f(&QueueView { header: &h, data: &data, max_message })
    }

    #[test]
    fn queue_rejects_each_inconsistency_on_its_own() {
        with_queue(8, 24, |q| {
            let h = q.header;
            // More used than the capacity, positions aligned.
            h.head.store(72, Ordering::Relaxed);
            assert!(q.peek().is_err(), "used > capacity");
            // Only the head misaligned, only the tail misaligned.
            h.head.store(12, Ordering::Relaxed);
            h.tail.store(8, Ordering::Relaxed);
            assert!(q.peek().is_err(), "unaligned head");
            h.head.store(16, Ordering::Relaxed);
            h.tail.store(4, Ordering::Relaxed);
            assert!(q.peek().is_err(), "unaligned tail");
        });
        // A wrap marker whose skip runs past the head.
        with_queue(8, 24, |q| {
            let h = q.header;
            h.tail.store(48, Ordering::Relaxed);
            h.head.store(56, Ordering::Relaxed);
            q.data[6].store(u64::from(WRAP), Ordering::Relaxed);
            assert!(q.peek().is_err(), "the marker skips 16 bytes, 8 are written");
            h.head.store(72, Ordering::Relaxed); // the skip, then an empty record at offset 0
            q.data[0].store(0, Ordering::Relaxed);
            assert_eq!(q.peek().unwrap().map(|r| r.len), Some(0), "a skip within what is there");
        });
        // A record that runs past the end of the area, or past the head (each alone).
        with_queue(8, 64, |q| {
            let h = q.header;
            h.tail.store(40, Ordering::Relaxed);
            h.head.store(104, Ordering::Relaxed); // the queue is full: 64 bytes written
            q.data[5].store(24, Ordering::Relaxed); // 32 bytes from offset 40: past the end
            assert!(q.peek().is_err(), "past the end of the area");
            q.data[5].store(16, Ordering::Relaxed); // 24 bytes: exactly to the end
            assert_eq!(q.peek().unwrap().map(|r| r.len), Some(16));
            h.head.store(56, Ordering::Relaxed);
            assert!(q.peek().is_err(), "past the head");
        });
        // A record longer than the largest message, though it fits everywhere.
        with_queue(8, 8, |q| {
            q.header.head.store(24, Ordering::Relaxed);
            q.data[0].store(16, Ordering::Relaxed);
            assert!(q.peek().is_err(), "longer than max_message");
            q.data[0].store(8, Ordering::Relaxed);
            assert_eq!(q.peek().unwrap().map(|r| r.len), Some(8));
        });
    }

    #[test]
    fn queue_counts_pending_and_says_when_to_wake() {
        with_queue(16, 24, |q| {
            assert_eq!(q.pending(), 0);
            assert_eq!(q.try_push(&[1]).unwrap(), Push::Written(false), "nobody asleep");
            q.header.data_waiters.store(1, Ordering::Relaxed);
            assert_eq!(q.try_push(&[2]).unwrap(), Push::Written(true), "a reader asleep");
            assert_eq!(q.pending(), 2);
            let r = q.peek().unwrap().unwrap();
            assert!(!q.consume(&r), "no writer asleep");
            q.header.space_waiters.store(1, Ordering::Relaxed);
            let r = q.peek().unwrap().unwrap();
            assert!(q.consume(&r), "a writer asleep");
            assert_eq!(q.pending(), 0);
        });
    }

    #[test]
    fn queue_registers_sleepers_only_when_there_is_nothing_to_do() {
        with_queue(8, 24, |q| {
            let h = q.header;
            // Empty: a reader registers (and withdraws); a writer of 24 bytes (32 with its
            // header, 64 with a possible wrap) does not: 64 bytes are free.
            let ticket = q.register_for_data().expect("nothing queued");
            assert_eq!((ticket, h.data_waiters.load(Ordering::Relaxed)), (0, 1));
            q.deregister_for_data();
            assert_eq!(h.data_waiters.load(Ordering::Relaxed), 0);
            assert_eq!(q.register_for_space(record_size(24)), None);
            assert_eq!(h.space_waiters.load(Ordering::Relaxed), 0, "withdrawn at once");
            // With 8 bytes written, 56 are free: not enough for 32 plus a wrap.
            q.try_push(&[]).unwrap();
            assert_eq!(q.register_for_data(), None, "a record is queued");
            assert_eq!(h.data_waiters.load(Ordering::Relaxed), 0, "withdrawn at once");
            assert!(q.register_for_space(record_size(24)).is_some());
            assert_eq!(h.space_waiters.load(Ordering::Relaxed), 1);
            q.deregister_for_space();
            assert_eq!(h.space_waiters.load(Ordering::Relaxed), 0);
            // Enough room means twice the record (one more record's worth for a wrap): 56 free
            // is enough for 24-byte records; 48 free is exactly enough.
            assert_eq!(q.register_for_space(record_size(16)), None);
            q.try_push(&[]).unwrap();
            assert_eq!(q.register_for_space(record_size(16)), None, "48 free, 2 x 24 needed");
            assert!(q.register_for_space(record_size(17)).is_some(), "48 free, 2 x 32 needed");
            q.deregister_for_space();
        });
    }

    /// Runs `f` on another thread and fails if it does not finish (a wait that never ends).
    fn finishes(what: &str, f: impl FnOnce() + Send) {
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::scope(|s| {
            s.spawn(move || {
                f();
                let _ = done.send(());
            });
            if finished.recv_timeout(Duration::from_secs(120)).is_err() {
                panic!("{what} never returned");
            }
        });
    }

    #[test]
    fn queue_waits_return_when_there_is_something_and_wakes_end_them() {
        let h = header();
        let data: Vec<AtomicU64> = (0..16).map(|_| AtomicU64::new(0)).collect();
        let q = QueueView { header: &h, data: &data, max_message: 24 };
        // Nothing to wait for: the waits return at once (no timeout given).
        q.try_push(&[1]).unwrap();
        finishes("a wait for data with data there", || q.wait_for_data(None));
        finishes("a wait for space with space there", || q.wait_for_space(16, None));
        let r = q.peek().unwrap().unwrap();
        q.consume(&r);
        // A sleeping reader is woken by a push and its wake-up.
        finishes("a sleeping reader", || {
            std::thread::scope(|s| {
                s.spawn(|| {
                    while q.peek().unwrap().is_none() {
                        q.wait_for_data(None);
                    }
                });
                while h.data_waiters.load(Ordering::Relaxed) == 0 {
                    std::thread::yield_now();
                }
                if let Push::Written(true) = q.try_push(&[2]).unwrap() {
                    q.wake_consumer();
                }
            });
        });
        // A sleeping writer is woken by a read and its wake-up.
        while q.try_push(&[3; 24]).unwrap() != Push::Full {}
        finishes("a sleeping writer", || {
            std::thread::scope(|s| {
                s.spawn(|| {
                    while q.try_push(&[4; 24]).unwrap() == Push::Full {
                        q.wait_for_space(record_size(24), None);
                    }
                });
                while h.space_waiters.load(Ordering::Relaxed) == 0 {
                    std::thread::yield_now();
                }
                let r = q.peek().unwrap().unwrap();
                if q.consume(&r) {
                    q.wake_producer();
                }
            });
        });
    }
}
