//! A ring in a topic segment: its geometry, its initialisation by the creator, its validation
//! by everyone who maps it (every number in the header is untrusted), wake-ups of a closed or
//! superseded ring, and the reader registry (who is subscribed, for `eshm list`).

use super::RingView;
use crate::error::{Error, Result};
use crate::layout::{MAX_READERS, ReaderSlot, RingHeader, WriterLine};
use crate::os;
use crate::schema::Schema;
use crate::segment::{HeaderInfo, Segment, SegmentKind};
use crate::sync::{AtomicU64, Ordering, torn};
use std::ptr::NonNull;

/// Default number of slots: as many as fit in 16 MiB, between 4 and 1024, a power of two.
const DEFAULT_RING_BYTES: usize = 16 << 20;
/// Largest ring accepted, in slots.
pub const MAX_CAPACITY: usize = 1 << 24;

/// Ring geometry, as stored in the `RingHeader`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Geometry {
    pub(crate) slot_count: usize,
    pub(crate) slot_size: usize,
    pub(crate) payload_offset: usize,
    pub(crate) payload_size: usize,
    pub(crate) slots_offset: usize,
}

impl Geometry {
    /// The geometry of a ring of `capacity` messages of `schema` (the default capacity if
    /// `None`; rounded up to a power of two).
    pub(crate) fn for_schema(schema: &Schema, capacity: Option<usize>) -> Result<Geometry> {
        let align = schema.align().max(8);
        let payload_offset = align;
        let payload_size = schema.size();
        let slot_size =
            (payload_offset + payload_size.next_multiple_of(8)).next_multiple_of(align.max(64));
        let slot_count = match capacity {
            Some(n) if n == 0 || n > MAX_CAPACITY => {
                return Err(Error::InvalidCapacity {
                    what: "a topic's capacity (messages)",
                    requested: n as u64,
                    min: 1,
                    max: MAX_CAPACITY as u64,
                });
            }
            Some(n) => n.next_power_of_two(),
            None => {
                let fit = (DEFAULT_RING_BYTES / slot_size).clamp(4, 1024);
                1 << fit.ilog2()
            }
        };
        let header = size_of::<RingHeader>().next_multiple_of(align.max(64));
        let geo =
            Geometry { slot_count, slot_size, payload_offset, payload_size, slots_offset: header };
        slot_count.checked_mul(slot_size).and_then(|b| b.checked_add(header)).ok_or(
            Error::InvalidCapacity {
                what: "a topic's capacity (messages), at this message size",
                requested: slot_count as u64,
                min: 1,
                max: (usize::MAX / slot_size) as u64,
            },
        )?;
        Ok(geo)
    }

    /// Bytes of segment body the ring needs.
    pub(crate) fn body_len(&self) -> usize {
        self.slots_offset + self.slot_count * self.slot_size
    }

    /// Writes the ring header at `body` of a segment being created, and fills every slot with
    /// `init` (a valid message, for loans) unless it is all zero (as the file is).
    pub(crate) fn init(&self, seg: &Segment, body: usize, init: &[u8]) {
        let h: &RingHeader = seg.at(body);
        let w = |a: &AtomicU64, v: usize| a.store(v as u64, Ordering::Relaxed);
        w(&h.slot_count, self.slot_count);
        w(&h.slot_size, self.slot_size);
        w(&h.payload_offset, self.payload_offset);
        w(&h.payload_size, self.payload_size);
        w(&h.slots_offset, self.slots_offset);
        if init.iter().any(|&b| b != 0) {
            for i in 0..self.slot_count {
                let at = body + self.slots_offset + i * self.slot_size + self.payload_offset;
                torn::store(seg.words(at, torn::words_for(init.len())), init);
            }
        }
    }
}

/// A topic segment, mapped, with pointers to its validated ring.
pub(crate) struct MappedRing {
    pub(crate) seg: Segment,
    pub(crate) info: HeaderInfo,
    pub(crate) geo: Geometry,
    writer: NonNull<WriterLine>,
    header: NonNull<RingHeader>,
    slots: NonNull<AtomicU64>,
    slots_len: usize,
}

// SAFETY: the pointers point into `seg`'s mapping, which moves with the struct (the mapping's
// address does not change), and everything they reach is atomics: using them from another
// thread is as sound as from this one.
unsafe impl Send for MappedRing {}
// SAFETY: `&MappedRing` only gives out shared references to atomics.
unsafe impl Sync for MappedRing {}

impl std::fmt::Debug for MappedRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappedRing")
            .field("segment", &self.seg)
            .field("geometry", &self.geo)
            .finish()
    }
}

impl MappedRing {
    /// Checks the ring header of a freshly opened (or created) topic segment against the file
    /// and the schema, and keeps pointers to it.
    pub(crate) fn new(seg: Segment, info: HeaderInfo, schema_size: usize) -> Result<MappedRing> {
        let bad = |reason: String| Error::corrupt(seg.path(), reason);
        let body = info.body_offset;
        if body.checked_add(size_of::<RingHeader>()).is_none_or(|end| end > seg.len()) {
            return Err(bad("the ring header runs past the end of the file".into()));
        }
        let header: &RingHeader = seg.at(body);
        let rd = |a: &AtomicU64| usize::try_from(a.load(Ordering::Acquire)).unwrap_or(usize::MAX);
        let geo = Geometry {
            slot_count: rd(&header.slot_count),
            slot_size: rd(&header.slot_size),
            payload_offset: rd(&header.payload_offset),
            payload_size: rd(&header.payload_size),
            slots_offset: rd(&header.slots_offset),
        };
        if !geo.slot_count.is_power_of_two() || geo.slot_count > MAX_CAPACITY {
            return Err(bad(format!(
                "slot count {} is not a power of two up to {MAX_CAPACITY}",
                geo.slot_count
            )));
        }
        if geo.payload_size != schema_size {
            return Err(bad(format!(
                "message size {} differs from the schema's {schema_size}",
                geo.payload_size
            )));
        }
        if geo.payload_offset < 8 || !geo.payload_offset.is_multiple_of(8) {
            return Err(bad(format!("bad payload offset {}", geo.payload_offset)));
        }
        let needed = geo.payload_offset.checked_add(geo.payload_size.next_multiple_of(8));
        if !geo.slot_size.is_multiple_of(64) || needed.is_none_or(|n| n > geo.slot_size) {
            return Err(bad(format!("slot size {} cannot hold its message", geo.slot_size)));
        }
        let slots_start = body.checked_add(geo.slots_offset);
        let slots_end = geo
            .slot_count
            .checked_mul(geo.slot_size)
            .zip(slots_start)
            .and_then(|(n, s)| s.checked_add(n));
        if geo.slots_offset < size_of::<RingHeader>()
            || !geo.slots_offset.is_multiple_of(64)
            || slots_end.is_none_or(|end| end > seg.len())
        {
            return Err(bad("the slots run past the end of the file".into()));
        }
        let slots_start = body + geo.slots_offset;
        let slots_len = geo.slot_count * geo.slot_size / 8;
        let slots = NonNull::from(seg.words(slots_start, slots_len)).cast::<AtomicU64>();
        let writer = NonNull::from(&header.writer);
        let header = NonNull::from(header);
        Ok(MappedRing { seg, info, geo, writer, header, slots, slots_len })
    }

    #[inline(always)]
    pub(crate) fn view(&self) -> RingView<'_> {
        // SAFETY: `writer` was derived in `new` from a reference into `self.seg`'s mapping
        // (bounds checked there), which stays mapped while `self` lives; the returned view
        // borrows `self`. It points to atomics only.
        let writer = unsafe { self.writer.as_ref() };
        // SAFETY: as for `writer`: `slots` and `slots_len` come from a checked slice of the
        // same mapping (`Segment::words` in `new`).
        let slots = unsafe { std::slice::from_raw_parts(self.slots.as_ptr(), self.slots_len) };
        RingView {
            writer,
            slots,
            slot_words: self.geo.slot_size / 8,
            payload_word: self.geo.payload_offset / 8,
            mask: self.geo.slot_count as u64 - 1,
        }
    }

    pub(crate) fn header(&self) -> &RingHeader {
        // SAFETY: as in `view`: derived from a checked reference into the mapping `self` owns.
        unsafe { self.header.as_ref() }
    }

    /// Messages published on the topic before this segment (see
    /// `RingHeader::published_before`).
    pub(crate) fn published_before(&self) -> u64 {
        self.header().published_before.load(Ordering::Acquire)
    }

    /// The ring header of a topic segment, if its header and body offset check out.
    fn ring_header(seg: &Segment) -> Option<&RingHeader> {
        let info = seg.read_header(SegmentKind::Topic).ok()?;
        let body = info.body_offset;
        body.checked_add(size_of::<RingHeader>())
            .is_some_and(|end| end <= seg.len())
            .then(|| seg.at::<RingHeader>(body))
    }

    /// A new topic segment `new` takes over `old`: it counts the messages published on the
    /// topic so far (untrusted numbers, added without overflow; they only feed loss counts).
    pub(crate) fn inherit(old: &Segment, new: &Segment) {
        let (Some(old), Some(new)) = (Self::ring_header(old), Self::ring_header(new)) else {
            return;
        };
        let total = old
            .published_before
            .load(Ordering::Acquire)
            .saturating_add(old.writer.write_seq.load(Ordering::Acquire));
        new.published_before.store(total, Ordering::Release);
    }

    /// Wakes the sleepers of a topic segment being closed or superseded, if its ring header is
    /// readable (a corrupt segment wakes nobody rather than panicking).
    pub(crate) fn wake_segment(seg: &Segment) {
        if let Some(header) = Self::ring_header(seg) {
            crate::sync::futex::bump_and_wake(&header.writer.notify);
        }
    }

    /// Registers this process in the reader table (for `eshm list`, and for sleeping: see
    /// `RingView::park`); `None` if it is full. An entry taken over from a reader that died
    /// asleep loses that reader's sleeping registration.
    pub(crate) fn register_reader(&self) -> Option<usize> {
        let header = self.header();
        header.readers[..MAX_READERS].iter().enumerate().position(|(i, slot)| {
            os::claim_pid_slot(&slot.pid, &slot.start_time, || {
                slot.waiting.store(0, Ordering::Relaxed);
                header.writer.waiting_mask.fetch_and(!(1 << i), Ordering::Relaxed);
            })
            .is_ok()
        })
    }

    /// Entry `i` of the reader table, for sleeping (`RingView::park`).
    pub(crate) fn reader(&self, i: usize) -> &ReaderSlot {
        &self.header().readers[i]
    }

    /// Writer: after a wake-up that woke nobody although readers are registered as asleep,
    /// clears the registrations of readers that are not asleep (a flag left by a reader that
    /// died) or whose process is gone. Costs a look at `/proc` per registered reader, so it
    /// runs only then: a dead sleeper costs its writer this once, not on every publish.
    pub(crate) fn reap_dead_waiters(&self) {
        let header = self.header();
        let mask = header.writer.waiting_mask.load(Ordering::Acquire);
        for i in 0..MAX_READERS {
            if mask & (1 << i) == 0 {
                continue;
            }
            let slot = &header.readers[i];
            let asleep = slot.waiting.load(Ordering::Acquire) != 0;
            let alive = os::pid_slot_alive(
                slot.pid.load(Ordering::Acquire),
                slot.start_time.load(Ordering::Acquire),
            );
            if !asleep || !alive {
                header.writer.waiting_mask.fetch_and(!(1 << i), Ordering::Relaxed);
            }
        }
    }

    /// Process ids of the readers registered as asleep (for `eshm info`), and the count of
    /// sleepers without an entry in the reader table.
    pub(crate) fn sleepers(&self) -> (Vec<u32>, u32) {
        let header = self.header();
        let mask = header.writer.waiting_mask.load(Ordering::Acquire);
        let pids = (0..MAX_READERS)
            .filter(|i| mask & (1 << i) != 0)
            .map(|i| header.readers[i].pid.load(Ordering::Acquire))
            .collect();
        (pids, header.writer.waiters.load(Ordering::Acquire))
    }

    /// Frees entry `i` of the reader table, if this process still holds it.
    pub(crate) fn unregister_reader(&self, i: usize) {
        let slot = &self.header().readers[i];
        os::release_pid_slot(&slot.pid, &slot.start_time);
    }

    /// Process ids of the live readers registered.
    pub(crate) fn reader_pids(&self) -> Vec<u32> {
        self.header()
            .readers
            .iter()
            .filter_map(|r| {
                let pid = r.pid.load(Ordering::Acquire);
                os::pid_slot_alive(pid, r.start_time.load(Ordering::Acquire)).then_some(pid)
            })
            .collect()
    }
}
