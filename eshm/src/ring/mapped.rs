//! A ring in a topic segment: its geometry, its initialisation by the creator, its validation
//! by everyone who maps it (every number in the header is untrusted), wake-ups of a closed or
//! superseded ring, and the reader registry (who is subscribed, for `eshm list`).

use super::RingView;
use super::geometry::Geometry;
use super::messages::Messages;
use super::pool::{Holder, PoolView};
use crate::error::Result;
use crate::layout::{HoldSlot, MAX_READERS, ReaderSlot, RingHeader, WriterLine};
use crate::os;
use crate::schema::Schema;
use crate::segment::{HeaderInfo, Segment, SegmentKind};
use crate::sync::{AtomicU64, Ordering};
use std::ptr::NonNull;

/// A topic segment, mapped, with pointers to its validated ring.
pub(crate) struct MappedRing {
    pub(crate) seg: Segment,
    pub(crate) info: HeaderInfo,
    pub(crate) geo: Geometry,
    writer: NonNull<WriterLine>,
    header: NonNull<RingHeader>,
    slots: NonNull<AtomicU64>,
    slots_len: usize,
    /// Pooled topics: the hold slots and the blocks (as words).
    pool: Option<(NonNull<HoldSlot>, usize, NonNull<AtomicU64>, usize)>,
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
    pub(crate) fn new(seg: Segment, info: HeaderInfo, schema: &Schema) -> Result<MappedRing> {
        let body = info.body_offset;
        let geo = Geometry::read(&seg, body, schema)?;
        let header: &RingHeader = seg.at(body);
        let slots_start = body + geo.slots_offset;
        let slots_len = geo.slot_count * geo.slot_size / 8;
        let slots = NonNull::from(seg.words(slots_start, slots_len)).cast::<AtomicU64>();
        let pool = geo.pool.map(|p| {
            // Checked by `Geometry::read` (and asserted by `words`): the hold slots fit in the
            // file; a hold slot is four words.
            let hold_words = p.hold_count * size_of::<HoldSlot>() / 8;
            let holds =
                NonNull::from(seg.words(body + p.holds_offset, hold_words)).cast::<HoldSlot>();
            let words = p.block_count * p.block_size / 8;
            let blocks =
                NonNull::from(seg.words(body + p.blocks_offset, words)).cast::<AtomicU64>();
            (holds, p.hold_count, blocks, words)
        });
        let writer = NonNull::from(&header.writer);
        let header = NonNull::from(header);
        Ok(MappedRing { seg, info, geo, writer, header, slots, slots_len, pool })
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

    /// The ring's messages, whatever their form.
    #[inline(always)]
    pub(crate) fn messages(&self) -> Messages<'_> {
        Messages {
            ring: self.view(),
            pool: self.pool(),
            max: self.geo.payload_size,
            slice: self.geo.slice,
        }
    }

    /// The pool of a pooled topic.
    #[inline(always)]
    pub(crate) fn pool(&self) -> Option<PoolView<'_>> {
        let (holds, hold_count, blocks, words) = self.pool?;
        // SAFETY: `holds` comes from a checked slice of `hold_count * 4` words of the mapping
        // `self.seg` keeps alive, 8-aligned; `HoldSlot` is four `AtomicU64` in `repr(C)` (size
        // 32, align 8), all atomics (any bits valid, only atomic access); borrows `self`.
        let holds = unsafe { std::slice::from_raw_parts(holds.as_ptr(), hold_count) };
        // SAFETY: as for `slots` in `view`: a checked slice of the same mapping.
        let blocks = unsafe { std::slice::from_raw_parts(blocks.as_ptr(), words) };
        let block_words = self.geo.pool.map_or(1, |p| p.block_size / 8);
        Some(PoolView { holds, blocks, block_words })
    }

    /// Gives back the hold slots of holders that died (see `ring::pool`).
    pub(crate) fn reclaim_dead_holds(&self) -> usize {
        self.pool().map_or(0, |pool| {
            pool.reclaim_dead(|pid, start| match start {
                Some(start) => os::is_alive(pid, start),
                None => os::start_time(pid).is_some(),
            })
        })
    }

    /// This process as a holder of samples.
    pub(crate) fn me() -> Holder {
        Holder { pid: os::pid(), start_time: os::self_start_time() }
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
