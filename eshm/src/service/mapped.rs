//! A mapped service or action segment: its geometry, its creation by the server, its
//! validation by everyone who maps it (every number in it is untrusted), the entries and slots
//! the protocol works on, and waking everyone when it is closed or superseded.

use super::layout::{
    ClientSlot, FB_PAYLOAD, MAX_CLIENTS, MAX_FEEDBACK_DEPTH, MAX_IN_FLIGHT, MAX_SCHEMAS,
    REQ_PAYLOAD, RES_PAYLOAD, ServiceHeader,
};
use super::protocol::Entry;
use crate::error::{Error, Result};
use crate::os::{self, Dir};
use crate::schema::{MAX_ENCODED_LEN, Schema};
use crate::segment::{self, Created, HeaderInfo, NewSegment, Segment, SegmentKind, Shared};
use crate::sync::{AtomicU32, AtomicU64, Ordering, futex, torn};
use std::mem::MaybeUninit;

// SAFETY: all-atomic `#[repr(C)]` structures (see `layout`).
unsafe impl Shared for ServiceHeader {}
// SAFETY: as above.
unsafe impl Shared for ClientSlot {}

/// Bytes of a slot's header ([`ClientSlot`]), before its entries.
const SLOT_HEADER: usize = size_of::<ClientSlot>();

/// The sizes of a service segment, as stored in its [`ServiceHeader`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Geometry {
    pub(crate) max_clients: usize,
    /// Entries per client (calls or goals in flight), a power of two.
    pub(crate) entries: usize,
    pub(crate) request_size: usize,
    pub(crate) response_size: usize,
    pub(crate) feedback_size: usize,
    pub(crate) feedback_depth: usize,
    pub(crate) request_part: usize,
    pub(crate) response_part: usize,
    pub(crate) feedback_part: usize,
    /// From the start of the segment (for a geometry being created: from the body).
    pub(crate) slots_offset: usize,
    pub(crate) slot_stride: usize,
}

/// Bytes of a part holding `header_words` words and a `payload`-byte message, in whole lines.
fn part(header_words: usize, payload: usize) -> Option<usize> {
    (header_words * 8)
        .checked_add(payload.checked_next_multiple_of(8)?)?
        .checked_next_multiple_of(64)
}

/// Bytes of the header and the schemas, before the slots.
fn schemas_len(schemas: &[&[u8]]) -> usize {
    schemas.iter().map(|s| s.len().next_multiple_of(8)).sum()
}

impl Geometry {
    /// The geometry for these message sizes and limits (slots placed after the header and the
    /// encoded `schemas`, relative to the body).
    pub(crate) fn new(
        sizes: [usize; 3],
        max_clients: usize,
        max_in_flight: usize,
        feedback_depth: usize,
        schemas: &[&[u8]],
    ) -> Result<Geometry> {
        let limit = |what, requested: usize, min, max: usize| {
            if requested < min || requested > max {
                Err(Error::InvalidCapacity {
                    what,
                    requested: requested as u64,
                    min: min as u64,
                    max: max as u64,
                })
            } else {
                Ok(())
            }
        };
        limit("a service's number of clients", max_clients, 1, MAX_CLIENTS)?;
        limit("a service's calls in flight per client", max_in_flight, 1, MAX_IN_FLIGHT)?;
        limit(
            "an action's feedback messages kept per goal",
            feedback_depth,
            0,
            MAX_FEEDBACK_DEPTH,
        )?;
        let too_large = || Error::InvalidCapacity {
            what: "a service's message size (bytes)",
            requested: sizes.iter().copied().max().unwrap_or(0) as u64,
            min: 0,
            max: u32::MAX as u64,
        };
        if sizes.iter().any(|&s| s > u32::MAX as usize / 2) {
            return Err(too_large());
        }
        let [request_size, response_size, feedback_size] = sizes;
        let request_part = part(REQ_PAYLOAD, request_size).ok_or_else(too_large)?;
        let response_part = part(RES_PAYLOAD, response_size).ok_or_else(too_large)?;
        let feedback_part = if feedback_depth == 0 {
            0
        } else {
            part(FB_PAYLOAD, feedback_size).ok_or_else(too_large)?
        };
        let entries = max_in_flight.next_power_of_two();
        let mut geo = Geometry {
            max_clients,
            entries,
            request_size,
            response_size,
            feedback_size: if feedback_depth == 0 { 0 } else { feedback_size },
            feedback_depth,
            request_part,
            response_part,
            feedback_part,
            slots_offset: (size_of::<ServiceHeader>() + schemas_len(schemas)).next_multiple_of(64),
            slot_stride: 0,
        };
        geo.slot_stride = geo.stride().ok_or_else(too_large)?;
        geo.body_len().ok_or_else(too_large)?;
        Ok(geo)
    }

    fn entry_stride(&self) -> Option<usize> {
        self.feedback_part
            .checked_mul(self.feedback_depth)?
            .checked_add(self.request_part)?
            .checked_add(self.response_part)
    }

    fn stride(&self) -> Option<usize> {
        self.entry_stride()?.checked_mul(self.entries)?.checked_add(SLOT_HEADER)
    }

    /// Bytes of body (for a geometry being created).
    pub(crate) fn body_len(&self) -> Option<usize> {
        self.slot_stride.checked_mul(self.max_clients)?.checked_add(self.slots_offset)
    }

    /// Reads and checks the geometry of `seg` (whose header `info` was checked): every number
    /// against the others and against the file's length.
    pub(crate) fn read(seg: &Segment, info: &HeaderInfo) -> Result<Geometry> {
        let bad = |reason: String| Error::corrupt(seg.path(), reason);
        let body = info.body_offset;
        if body.checked_add(size_of::<ServiceHeader>()).is_none_or(|end| end > seg.len()) {
            return Err(bad("the service header runs past the end of the file".into()));
        }
        let h: &ServiceHeader = seg.at(body);
        let r32 = |a: &AtomicU32| a.load(Ordering::Acquire) as usize;
        let r64 = |a: &AtomicU64| usize::try_from(a.load(Ordering::Acquire)).unwrap_or(usize::MAX);
        let geo = Geometry {
            max_clients: r32(&h.max_clients),
            entries: r32(&h.max_in_flight),
            request_size: r32(&h.request_size),
            response_size: r32(&h.response_size),
            feedback_size: r32(&h.feedback_size),
            feedback_depth: r32(&h.feedback_depth),
            request_part: r32(&h.request_part),
            response_part: r32(&h.response_part),
            feedback_part: r32(&h.feedback_part),
            slots_offset: r64(&h.slots_offset),
            slot_stride: r64(&h.slot_stride),
        };
        if geo.max_clients == 0
            || geo.max_clients > MAX_CLIENTS
            || !geo.entries.is_power_of_two()
            || geo.entries > MAX_IN_FLIGHT.next_power_of_two()
            || geo.feedback_depth > MAX_FEEDBACK_DEPTH
        {
            return Err(bad(format!(
                "bad limits: {} clients, {} entries, {} feedback slots",
                geo.max_clients, geo.entries, geo.feedback_depth
            )));
        }
        let fits = |part: usize, words: usize, size: usize| {
            part.is_multiple_of(64) && part >= words * 8 + size.next_multiple_of(8)
        };
        if !fits(geo.request_part, REQ_PAYLOAD, geo.request_size)
            || !fits(geo.response_part, RES_PAYLOAD, geo.response_size)
            || (geo.feedback_depth > 0 && !fits(geo.feedback_part, FB_PAYLOAD, geo.feedback_size))
        {
            return Err(bad("an entry's parts cannot hold its messages".into()));
        }
        if !geo.slots_offset.is_multiple_of(64)
            || geo.slots_offset < body + size_of::<ServiceHeader>()
            || geo.stride() != Some(geo.slot_stride)
            || geo
                .slot_stride
                .checked_mul(geo.max_clients)
                .and_then(|n| n.checked_add(geo.slots_offset))
                .is_none_or(|end| end > seg.len())
        {
            return Err(bad(format!(
                "client slots ({} of {} bytes at {}) do not fit in the file",
                geo.max_clients, geo.slot_stride, geo.slots_offset
            )));
        }
        Ok(geo)
    }
}

/// A mapped service or action segment, checked.
pub(crate) struct Mapped {
    pub(crate) seg: Segment,
    pub(crate) info: HeaderInfo,
    pub(crate) kind: SegmentKind,
    pub(crate) geo: Geometry,
    /// The message types: request and response, or goal, result and feedback.
    pub(crate) schemas: Vec<Schema>,
    body: usize,
}

impl std::fmt::Debug for Mapped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mapped").field("path", &self.seg.path()).field("geo", &self.geo).finish()
    }
}

/// What a server creates.
pub(crate) struct Spec<'a> {
    pub(crate) kind: SegmentKind,
    pub(crate) name: &'a str,
    pub(crate) schemas: &'a [&'a Schema],
    pub(crate) max_clients: usize,
    pub(crate) max_in_flight: usize,
    pub(crate) feedback_depth: usize,
    pub(crate) mode: u32,
}

/// The header's fingerprint of a service: FNV-1a of its types' fingerprints (what `eshm list`
/// shows; clients compare each type's own).
pub(crate) fn combined_fingerprint(schemas: &[&Schema]) -> u64 {
    let bytes: Vec<u8> = schemas.iter().flat_map(|s| s.fingerprint().to_le_bytes()).collect();
    crate::schema::fnv1a64(&bytes)
}

impl Mapped {
    /// Creates the segment (or takes over a dead server's): `Ok(Err(pid))` if a live server
    /// owns the name.
    pub(crate) fn create(dir: &Dir, spec: &Spec<'_>) -> Result<std::result::Result<Mapped, u32>> {
        let encoded: Vec<Vec<u8>> = spec.schemas.iter().map(|s| s.encode()).collect();
        let refs: Vec<&[u8]> = encoded.iter().map(Vec::as_slice).collect();
        let mut sizes = [0; 3];
        for (size, schema) in sizes.iter_mut().zip(spec.schemas) {
            *size = schema.size();
        }
        let mut geo =
            Geometry::new(sizes, spec.max_clients, spec.max_in_flight, spec.feedback_depth, &refs)?;
        let body_len = geo.body_len().expect("checked by Geometry::new");
        let new = NewSegment {
            kind: spec.kind,
            name: spec.name,
            schema: &[],
            fingerprint: combined_fingerprint(spec.schemas),
            body_len,
            body_align: 64,
            mode: spec.mode,
        };
        let action = spec.kind == SegmentKind::Action;
        let inherit: fn(&Segment, &Segment) = if action { inherit_action } else { inherit_service };
        let wake: fn(&Segment) = if action { wake_action } else { wake_service };
        let created = segment::create(
            dir,
            &new,
            |seg, body| {
                geo.slots_offset += body;
                init(seg, body, &geo, &encoded, spec.schemas);
            },
            inherit,
            wake,
        )?;
        match created {
            Created::New(seg, info) => Ok(Ok(Mapped::new(seg, info, spec.kind)?)),
            Created::Owned { pid } => Ok(Err(pid)),
        }
    }

    /// Checks a segment's body and decodes its types.
    pub(crate) fn new(seg: Segment, info: HeaderInfo, kind: SegmentKind) -> Result<Mapped> {
        let geo = Geometry::read(&seg, &info)?;
        let bad = |reason: String| Error::corrupt(seg.path(), reason);
        let h: &ServiceHeader = seg.at(info.body_offset);
        let count = h.schema_count.load(Ordering::Acquire) as usize;
        let expected = if kind == SegmentKind::Action { 3 } else { 2 };
        if count != expected {
            return Err(bad(format!("{count} message types, not {expected}")));
        }
        let mut schemas = Vec::with_capacity(count);
        for i in 0..count {
            let offset = h.schema_offset[i].load(Ordering::Acquire) as usize;
            let len = h.schema_len[i].load(Ordering::Acquire) as usize;
            if len > MAX_ENCODED_LEN
                || !offset.is_multiple_of(8)
                || offset < info.body_offset + size_of::<ServiceHeader>()
                || offset + torn::words_for(len) * 8 > geo.slots_offset
            {
                return Err(bad(format!("bad schema field ({len} bytes at {offset})")));
            }
            let mut bytes = vec![MaybeUninit::<u8>::uninit(); len];
            torn::load(seg.words(offset, torn::words_for(len)), &mut bytes);
            // SAFETY: `torn::load` initialised all `len` bytes.
            let bytes = unsafe { torn::assume_init_vec(bytes) };
            if crate::schema::fnv1a64(&bytes) != h.fingerprint[i].load(Ordering::Acquire) {
                return Err(bad("a schema does not match its fingerprint".into()));
            }
            let schema = Schema::decode(&bytes)
                .map_err(|e| bad(format!("a schema does not decode: {e}")))?;
            schemas.push(schema);
        }
        let sizes = [geo.request_size, geo.response_size, geo.feedback_size];
        for (schema, size) in schemas.iter().zip(sizes) {
            if schema.size() != size {
                return Err(bad(format!(
                    "the message size {size} differs from its type's ({})",
                    schema.size()
                )));
            }
        }
        Ok(Mapped { body: info.body_offset, seg, info, kind, geo, schemas })
    }

    /// The service header.
    #[inline(always)]
    pub(crate) fn header(&self) -> &ServiceHeader {
        self.seg.at(self.body)
    }

    fn slot_offset(&self, slot: usize) -> usize {
        assert!(slot < self.geo.max_clients, "eshm bug: client slot {slot} out of range");
        self.geo.slots_offset + slot * self.geo.slot_stride
    }

    /// Client slot `slot` (checked against the geometry).
    #[inline(always)]
    pub(crate) fn slot(&self, slot: usize) -> &ClientSlot {
        self.seg.at(self.slot_offset(slot))
    }

    /// Entry `entry` of client slot `slot`.
    #[inline(always)]
    pub(crate) fn entry(&self, slot: usize, entry: usize) -> Entry<'_> {
        assert!(entry < self.geo.entries, "eshm bug: entry {entry} out of range");
        let g = &self.geo;
        let stride = g.request_part + g.response_part + g.feedback_depth * g.feedback_part;
        let at = self.slot_offset(slot) + SLOT_HEADER + entry * stride;
        // One bounds check for the whole entry (on every poll of a waiting call).
        let words = self.seg.words(at, stride / 8);
        let (request, rest) = words.split_at(g.request_part / 8);
        let (response, feedback) = rest.split_at(g.response_part / 8);
        Entry { request, response, feedback, feedback_words: g.feedback_part / 8 }
    }

    /// The server's generation.
    pub(crate) fn generation(&self) -> u64 {
        self.header().server.generation.load(Ordering::Acquire)
    }

    /// Whether the server is running and has not closed the segment.
    pub(crate) fn server_alive(&self) -> bool {
        self.seg.state() == crate::layout::STATE_LIVE
            && os::is_alive(self.info.owner_pid, self.info.owner_start_time)
    }
}

/// Writes the service header, the schemas and the server's generation into a segment being
/// created.
fn init(seg: &Segment, body: usize, geo: &Geometry, encoded: &[Vec<u8>], schemas: &[&Schema]) {
    let h: &ServiceHeader = seg.at(body);
    let w32 = |a: &AtomicU32, v: usize| a.store(v as u32, Ordering::Relaxed);
    w32(&h.max_clients, geo.max_clients);
    w32(&h.max_in_flight, geo.entries);
    w32(&h.request_size, geo.request_size);
    w32(&h.response_size, geo.response_size);
    w32(&h.feedback_size, geo.feedback_size);
    w32(&h.feedback_depth, geo.feedback_depth);
    w32(&h.request_part, geo.request_part);
    w32(&h.response_part, geo.response_part);
    w32(&h.feedback_part, geo.feedback_part);
    w32(&h.schema_count, encoded.len().min(MAX_SCHEMAS));
    h.slots_offset.store(geo.slots_offset as u64, Ordering::Relaxed);
    h.slot_stride.store(geo.slot_stride as u64, Ordering::Relaxed);
    let mut at = body + size_of::<ServiceHeader>();
    for (i, (bytes, schema)) in encoded.iter().zip(schemas).take(MAX_SCHEMAS).enumerate() {
        w32(&h.schema_offset[i], at);
        w32(&h.schema_len[i], bytes.len());
        h.fingerprint[i].store(schema.fingerprint(), Ordering::Relaxed);
        torn::store(seg.words(at, torn::words_for(bytes.len())), bytes);
        at += bytes.len().next_multiple_of(8);
    }
    h.server.generation.store(1, Ordering::Relaxed);
}

/// The geometry of a segment known only as bytes (for wake-ups and take-overs), if it reads.
fn geometry_of(seg: &Segment, kind: SegmentKind) -> Option<(HeaderInfo, Geometry)> {
    let info = seg.read_header(kind).ok()?;
    let geo = Geometry::read(seg, &info).ok()?;
    Some((info, geo))
}

/// A new server's generation: one more than the one it replaces.
fn inherit(old: &Segment, new: &Segment, kind: SegmentKind) {
    let (Some((old_info, _)), Some((new_info, _))) =
        (geometry_of(old, kind), geometry_of(new, kind))
    else {
        return;
    };
    let old_h: &ServiceHeader = old.at(old_info.body_offset);
    let new_h: &ServiceHeader = new.at(new_info.body_offset);
    let previous = old_h.server.generation.load(Ordering::Acquire);
    new_h.server.generation.store(previous.wrapping_add(1).max(1), Ordering::Release);
}

fn inherit_service(old: &Segment, new: &Segment) {
    inherit(old, new, SegmentKind::Service);
}

fn inherit_action(old: &Segment, new: &Segment) {
    inherit(old, new, SegmentKind::Action);
}

/// Wakes everyone asleep on a service segment: the server, and every client (used when it is
/// closed or superseded). A segment that does not check wakes nobody.
fn wake(seg: &Segment, kind: SegmentKind) {
    let Some((info, geo)) = geometry_of(seg, kind) else { return };
    let h: &ServiceHeader = seg.at(info.body_offset);
    futex::bump_and_wake(&h.server.futex);
    for s in 0..geo.max_clients {
        let slot: &ClientSlot = seg.at(geo.slots_offset + s * geo.slot_stride);
        if slot.pid.load(Ordering::Relaxed) != 0 {
            futex::bump_and_wake(&slot.futex);
        }
    }
}

/// [`wake`] for a service segment.
pub(crate) fn wake_service(seg: &Segment) {
    wake(seg, SegmentKind::Service);
}

/// [`wake`] for an action segment.
pub(crate) fn wake_action(seg: &Segment) {
    wake(seg, SegmentKind::Action);
}
