//! Where everything sits in a topic segment's body: computed by the creator from the schema and
//! the options, written into the `RingHeader` (and `PoolHeader`), and checked by everyone who
//! maps the segment (every number in a header is untrusted).
//!
//! ```text
//! body + 0              RingHeader (writer line, reader table)
//! body + slots_offset   slot_count slots of slot_size bytes
//! body + pool_offset    PoolHeader                                  } pooled topics only
//! body + holds_offset   hold_count hold slots of 32 bytes           }
//! body + blocks_offset  block_count blocks of block_size bytes,     }
//!                       page-aligned                                }
//! ```
//!
//! Messages of [`POOLED_MIN`] bytes or more (the largest message, for a slice) live in a pool:
//! a reader can then keep one in place (a `Sample`) and the writer never copies it twice.
//! Smaller ones live in their slots, next to the sequence word, one cache-line transfer per
//! message (for up to 56 bytes).

use crate::error::{Error, Result};
use crate::layout::{HoldSlot, PoolHeader, RING_POOLED, RING_SLICE, RingHeader};
use crate::schema::Schema;
use crate::segment::Segment;
use crate::sync::{AtomicU64, Ordering, torn};

/// Messages (the largest, for a slice) from this many bytes up live in a pool.
pub const POOLED_MIN: usize = 4096;
/// Largest ring accepted, in slots.
pub const MAX_CAPACITY: usize = 1 << 24;
/// Default number of hold slots of a pooled topic: how many messages its subscribers may keep
/// in place at once, together.
pub const DEFAULT_HELD_SAMPLES: usize = 4;
/// Most hold slots a pooled topic may have.
pub const MAX_HELD_SAMPLES: usize = 4096;
/// Default ring size: as many messages as fit in this many bytes (within the bounds below).
const DEFAULT_RING_BYTES: usize = 16 << 20;
/// Blocks are page-aligned, so that a message starts on a page.
const BLOCK_ALIGN: usize = 4096;

/// Where the pool of a pooled topic sits, relative to the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PoolGeometry {
    pub(crate) pool_offset: usize,
    pub(crate) block_count: usize,
    pub(crate) block_size: usize,
    pub(crate) blocks_offset: usize,
    pub(crate) hold_count: usize,
    pub(crate) holds_offset: usize,
}

/// Ring geometry, as stored in the `RingHeader`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Geometry {
    pub(crate) slot_count: usize,
    pub(crate) slot_size: usize,
    /// Offset of the message in a slot (inline), or of its descriptor (pooled).
    pub(crate) payload_offset: usize,
    /// Size of a message (of the largest, for a slice), in bytes.
    pub(crate) payload_size: usize,
    pub(crate) slots_offset: usize,
    /// Messages are slices, each with its length.
    pub(crate) slice: bool,
    pub(crate) pool: Option<PoolGeometry>,
}

fn too_large(what: &'static str, requested: usize, max: usize) -> Error {
    Error::InvalidCapacity { what, requested: requested as u64, min: 1, max: max as u64 }
}

impl Geometry {
    /// The geometry of a ring of `capacity` messages of `schema` (the default capacity if
    /// `None`, rounded up to a power of two), with `held` hold slots if it is pooled (the
    /// default if `None`).
    pub(crate) fn for_schema(
        schema: &Schema,
        capacity: Option<usize>,
        held: Option<usize>,
    ) -> Result<Geometry> {
        let align = schema.align().max(8);
        let payload_size = schema.size();
        let slice = schema.slice_element().is_some();
        let pooled = payload_size >= POOLED_MIN;
        let (payload_offset, slot_size) = if pooled {
            (8, 64)
        } else {
            let offset = if slice { align.max(16) } else { align };
            (offset, (offset + payload_size.next_multiple_of(8)).next_multiple_of(align.max(64)))
        };
        let block_size = payload_size.next_multiple_of(BLOCK_ALIGN);
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
            None if pooled => 1 << (DEFAULT_RING_BYTES / block_size).clamp(2, 1024).ilog2(),
            None => 1 << (DEFAULT_RING_BYTES / slot_size).clamp(4, 1024).ilog2(),
        };
        let slots_offset = size_of::<RingHeader>().next_multiple_of(align.max(64));
        let capacity_error = || {
            too_large(
                "a topic's capacity (messages), at this message size",
                slot_count,
                usize::MAX / slot_size.max(block_size),
            )
        };
        let slots_end = slot_count
            .checked_mul(slot_size)
            .and_then(|b| b.checked_add(slots_offset))
            .ok_or_else(capacity_error)?;
        let pool = if pooled {
            let hold_count = match held {
                Some(n) if n == 0 || n > MAX_HELD_SAMPLES => {
                    return Err(Error::InvalidCapacity {
                        what: "a topic's held samples",
                        requested: n as u64,
                        min: 1,
                        max: MAX_HELD_SAMPLES as u64,
                    });
                }
                Some(n) => n,
                None => DEFAULT_HELD_SAMPLES,
            };
            let pool_offset = slots_end;
            let holds_offset = pool_offset + size_of::<PoolHeader>();
            let blocks_offset =
                (holds_offset + hold_count * size_of::<HoldSlot>()).next_multiple_of(BLOCK_ALIGN);
            let block_count = slot_count + hold_count + 1;
            block_count
                .checked_mul(block_size)
                .and_then(|b| b.checked_add(blocks_offset))
                .filter(|_| block_count <= u32::MAX as usize)
                .ok_or_else(capacity_error)?;
            Some(PoolGeometry {
                pool_offset,
                block_count,
                block_size,
                blocks_offset,
                hold_count,
                holds_offset,
            })
        } else {
            None
        };
        Ok(Geometry {
            slot_count,
            slot_size,
            payload_offset,
            payload_size,
            slots_offset,
            slice,
            pool,
        })
    }

    /// Bytes of segment body the ring needs.
    pub(crate) fn body_len(&self) -> usize {
        match &self.pool {
            Some(p) => p.blocks_offset + p.block_count * p.block_size,
            None => self.slots_offset + self.slot_count * self.slot_size,
        }
    }

    /// The alignment the body needs in the file (blocks are page-aligned).
    pub(crate) fn body_align(&self, schema: &Schema) -> usize {
        if self.pool.is_some() { BLOCK_ALIGN } else { schema.align().max(64) }
    }

    fn flags(&self) -> u64 {
        (if self.slice { RING_SLICE } else { 0 })
            | (if self.pool.is_some() { RING_POOLED } else { 0 })
    }

    /// Writes the ring header (and pool header) at `body` of a segment being created, and
    /// fills every inline slot with `init` (a valid message, for loans) unless it is all zero
    /// (as the file is). Pool blocks are left as they are (zero): loans check what they lend.
    pub(crate) fn init(&self, seg: &Segment, body: usize, init: &[u8]) {
        let h: &RingHeader = seg.at(body);
        let w = |a: &AtomicU64, v: usize| a.store(v as u64, Ordering::Relaxed);
        w(&h.slot_count, self.slot_count);
        w(&h.slot_size, self.slot_size);
        w(&h.payload_offset, self.payload_offset);
        w(&h.payload_size, self.payload_size);
        w(&h.slots_offset, self.slots_offset);
        h.flags.store(self.flags(), Ordering::Relaxed);
        match &self.pool {
            Some(p) => {
                w(&h.pool_offset, p.pool_offset);
                let ph: &PoolHeader = seg.at(body + p.pool_offset);
                w(&ph.block_count, p.block_count);
                w(&ph.block_size, p.block_size);
                w(&ph.blocks_offset, p.blocks_offset);
                w(&ph.hold_count, p.hold_count);
                w(&ph.holds_offset, p.holds_offset);
            }
            None if init.iter().any(|&b| b != 0) => {
                for i in 0..self.slot_count {
                    let at = body + self.slots_offset + i * self.slot_size + self.payload_offset;
                    torn::store(seg.words(at, torn::words_for(init.len())), init);
                }
            }
            None => {}
        }
    }

    /// Reads and checks the geometry of the ring at `body` of `seg`, whose schema is `schema`:
    /// everything must fit in the file and agree with the schema.
    pub(crate) fn read(seg: &Segment, body: usize, schema: &Schema) -> Result<Geometry> {
        let bad = |reason: String| Error::corrupt(seg.path(), reason);
        if body.checked_add(size_of::<RingHeader>()).is_none_or(|end| end > seg.len()) {
            return Err(bad("the ring header runs past the end of the file".into()));
        }
        let header: &RingHeader = seg.at(body);
        let rd = |a: &AtomicU64| usize::try_from(a.load(Ordering::Acquire)).unwrap_or(usize::MAX);
        let flags = header.flags.load(Ordering::Acquire);
        let slice = flags & RING_SLICE != 0;
        let mut geo = Geometry {
            slot_count: rd(&header.slot_count),
            slot_size: rd(&header.slot_size),
            payload_offset: rd(&header.payload_offset),
            payload_size: rd(&header.payload_size),
            slots_offset: rd(&header.slots_offset),
            slice,
            pool: None,
        };
        if flags & !(RING_SLICE | RING_POOLED) != 0 {
            return Err(bad(format!("unknown ring flags {flags:#x}")));
        }
        if slice != schema.slice_element().is_some() {
            return Err(bad("the ring's slice flag disagrees with the schema".into()));
        }
        if !geo.slot_count.is_power_of_two() || geo.slot_count > MAX_CAPACITY {
            return Err(bad(format!(
                "slot count {} is not a power of two up to {MAX_CAPACITY}",
                geo.slot_count
            )));
        }
        if geo.payload_size != schema.size() {
            return Err(bad(format!(
                "message size {} differs from the schema's {}",
                geo.payload_size,
                schema.size()
            )));
        }
        let pooled = flags & RING_POOLED != 0;
        let min_offset = if slice && !pooled { 16 } else { 8 };
        if geo.payload_offset < min_offset || !geo.payload_offset.is_multiple_of(8) {
            return Err(bad(format!("bad payload offset {}", geo.payload_offset)));
        }
        let in_slot = if pooled { 8 } else { geo.payload_size.next_multiple_of(8) };
        let needed = geo.payload_offset.checked_add(in_slot);
        if !geo.slot_size.is_multiple_of(64) || needed.is_none_or(|n| n > geo.slot_size) {
            return Err(bad(format!("slot size {} cannot hold its message", geo.slot_size)));
        }
        let slots_end =
            geo.slot_count.checked_mul(geo.slot_size).and_then(|n| n.checked_add(geo.slots_offset));
        if geo.slots_offset < size_of::<RingHeader>()
            || !geo.slots_offset.is_multiple_of(64)
            || slots_end.and_then(|e| e.checked_add(body)).is_none_or(|end| end > seg.len())
        {
            return Err(bad("the slots run past the end of the file".into()));
        }
        if pooled {
            geo.pool = Some(read_pool(seg, body, header, &geo, schema)?);
        }
        Ok(geo)
    }
}

/// Reads and checks the pool header of a pooled ring.
fn read_pool(
    seg: &Segment,
    body: usize,
    header: &RingHeader,
    geo: &Geometry,
    schema: &Schema,
) -> Result<PoolGeometry> {
    let bad = |reason: &str| Error::corrupt(seg.path(), format!("its message pool {reason}"));
    let rd = |a: &AtomicU64| usize::try_from(a.load(Ordering::Acquire)).unwrap_or(usize::MAX);
    let fits = |offset: usize, len: Option<usize>| {
        len.and_then(|l| offset.checked_add(l))
            .and_then(|end| end.checked_add(body))
            .is_some_and(|end| end <= seg.len())
    };
    let pool_offset = rd(&header.pool_offset);
    if !pool_offset.is_multiple_of(64) || !fits(pool_offset, Some(size_of::<PoolHeader>())) {
        return Err(bad("header runs past the end of the file"));
    }
    let ph: &PoolHeader = seg.at(body + pool_offset);
    let p = PoolGeometry {
        pool_offset,
        block_count: rd(&ph.block_count),
        block_size: rd(&ph.block_size),
        blocks_offset: rd(&ph.blocks_offset),
        hold_count: rd(&ph.hold_count),
        holds_offset: rd(&ph.holds_offset),
    };
    if p.hold_count == 0 || p.hold_count > MAX_HELD_SAMPLES {
        return Err(bad(&format!("has {} hold slots", p.hold_count)));
    }
    if !p.holds_offset.is_multiple_of(64)
        || !fits(p.holds_offset, p.hold_count.checked_mul(size_of::<HoldSlot>()))
    {
        return Err(bad("hold slots run past the end of the file"));
    }
    let align = schema.align().max(64);
    if p.block_size < geo.payload_size
        || !p.block_size.is_multiple_of(align)
        || p.block_count == 0
        || p.block_count > u32::MAX as usize
    {
        return Err(bad(&format!(
            "has {} blocks of {} bytes, for messages of {}",
            p.block_count, p.block_size, geo.payload_size
        )));
    }
    if !(body + p.blocks_offset).is_multiple_of(align)
        || !fits(p.blocks_offset, p.block_count.checked_mul(p.block_size))
    {
        return Err(bad("blocks run past the end of the file"));
    }
    Ok(p)
}
