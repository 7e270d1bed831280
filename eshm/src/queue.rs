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
}
