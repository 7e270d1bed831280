//! Named shared-memory segments: files in `/dev/shm` (or `$ESHM_SHM_DIR`) that start with a
//! header (magic, layout version, schema, owner, state) and are mapped by every process that uses them.
//!
//! # Names
//!
//! A topic `robot/pose` lives in `eshm.topic.robot%2Fpose`, a channel `control` in
//! `eshm.chan.control`, a service `calc/add` in `eshm.svc.calc%2Fadd` and an action `move` in
//! `eshm.action.move`: the kind prefix keeps the four namespaces apart, and percent-encoding
//! `%`, `/` and control characters makes the mapping injective and reversible.
//!
//! # Creating: a segment appears complete or not at all
//!
//! The creator writes the whole segment into a temporary file (`eshm.tmp.<pid>.<n>`, created
//! with `O_EXCL`, mode 0600 by default) and then hard-links it under its name, which fails if
//! the name exists. In that case the creator opens the existing file, takes its advisory lock,
//! checks that the name still refers to it, and reads its header:
//!
//! - if its owner is alive (pid and start time match a running process) and it is not closed,
//!   creation fails with the owner's pid;
//! - otherwise (owner dead, segment closed, or header unreadable) the creator marks the old
//!   segment superseded, wakes anyone sleeping on it, and renames its temporary file over the
//!   name, atomically, while still holding the old file's lock. A second creator racing for the
//!   same name waits for that lock and then sees that the name now refers to a live segment.
//!
//! # Opening: nothing read from the file is trusted
//!
//! An opener refuses symbolic links, files of other users (unless allowed) and world-writable
//! files, then checks every header field against the file's real length before using it.

//!
//! # Files
//!
//! `name` maps names to file names, `create` makes a segment appear complete (and reclaims
//! dead owners' segments), `open` attaches to one with every header field checked; this file
//! holds the mapped `Segment` and its header.

mod create;
mod guard;
mod name;
mod open;

pub use crate::os::{SHM_DIR_ENV, shm_dir};
pub(crate) use create::{Created, NewSegment, Removed, create, remove_unowned};
pub use guard::absorbed as truncations_absorbed;
pub(crate) use name::tmp_file_pid;
pub use name::{FILE_PREFIX, SegmentKind, file_name, parse_file_name};
pub(crate) use open::{Trust, open, open_for_inspection};

use crate::error::{Error, Result};
use crate::layout::{
    HEADER_LEN, KIND_ACTION, KIND_CHANNEL, KIND_SERVICE, KIND_TOPIC, LAYOUT_VERSION, MAGIC,
    MAX_NAME_LEN, SegmentHeader,
};
use crate::os::{Dir, FileId, FileStat};
use crate::schema::MAX_ENCODED_LEN;
use crate::sync::{AtomicU64, Ordering, torn};
use memmap2::{MmapOptions, MmapRaw};
use std::fs::File;
use std::mem::MaybeUninit;
use std::path::{Path, PathBuf};

/// An open, mapped segment.
pub(crate) struct Segment {
    /// Declared before `map`, so that it is dropped (the mapping unregistered) first.
    guard: guard::Guard,
    map: MmapRaw,
    len: usize,
    _file: File,
    id: FileId,
    path: PathBuf,
    file_name: String,
}

impl std::fmt::Debug for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segment").field("path", &self.path).field("len", &self.len).finish()
    }
}

/// A segment's header, copied out of shared memory and checked.
#[derive(Clone, Debug)]
pub(crate) struct HeaderInfo {
    pub(crate) name: String,
    pub(crate) schema: Vec<u8>,
    pub(crate) fingerprint: u64,
    pub(crate) body_offset: usize,
    pub(crate) owner_pid: u32,
    pub(crate) owner_start_time: u64,
    pub(crate) created_ns: u64,
    pub(crate) created_unix_ns: u64,
}

impl Segment {
    fn new(
        file: File,
        stat: FileStat,
        len: usize,
        write: bool,
        path: PathBuf,
        file_name: String,
    ) -> Result<Segment> {
        assert!(len >= HEADER_LEN, "eshm bug: mapping a {len}-byte segment");
        let map = map(&file, len, write, &path)?;
        let guard = guard::register(map.as_ptr(), len, write);
        Ok(Segment { guard, map, len, _file: file, id: stat.id, path, file_name })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Whether another process truncated the file under this mapping (see `guard`): every
    /// value read from it since may be zeros, and writes go nowhere.
    #[inline(always)]
    pub(crate) fn is_broken(&self) -> bool {
        self.guard.is_broken()
    }

    /// The error for a broken segment.
    pub(crate) fn broken_error(&self) -> Error {
        Error::corrupt(&self.path, "another process truncated the file while it was in use")
    }

    pub(crate) fn file_name(&self) -> &str {
        &self.file_name
    }

    /// The file's identity (device and inode).
    pub(crate) fn id(&self) -> FileId {
        self.id
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// A shared structure at `offset`.
    ///
    /// # Panics
    ///
    /// If `T` does not fit in the mapping at `offset` or `offset` is misaligned for `T`:
    /// callers validate offsets first, so this is a bug, never a bad file.
    pub(crate) fn at<T: Shared>(&self, offset: usize) -> &T {
        assert!(
            offset.checked_add(size_of::<T>()).is_some_and(|end| end <= self.len)
                && offset.is_multiple_of(align_of::<T>()),
            "eshm bug: structure at {offset} outside or misaligned in a {}-byte segment",
            self.len
        );
        let ptr = self.byte_ptr(offset);
        // The mapping (in `self.map`) is page-aligned and valid for `self.len` bytes while
        // `self` lives; `T: Shared` is only atomics, so any bits are a valid `T` and other
        // processes' writes go through the same atomics (no data race).
        // SAFETY: the assertion keeps `offset..offset + size_of::<T>()` in the mapping and
        // `offset` aligned for `T`; the reference is shared, never written non-atomically.
        unsafe { &*ptr.cast::<T>() }
    }

    /// Pointer to byte `offset` of the mapping.
    ///
    /// # Panics
    ///
    /// If `offset` is past the end of the mapping.
    fn byte_ptr(&self, offset: usize) -> *const u8 {
        assert!(offset <= self.len, "eshm bug: offset {offset} past a {}-byte segment", self.len);
        // SAFETY: `offset <= self.len`, so the result is in bounds of (or one past) the
        // mapping, which is one allocation of `self.len` bytes; `add` keeps its provenance.
        unsafe { self.map.as_ptr().add(offset) }
    }

    /// `count` shared 64-bit words starting at `offset`.
    ///
    /// # Panics
    ///
    /// Like [`at`](Self::at), on offsets that callers should have validated.
    pub(crate) fn words(&self, offset: usize, count: usize) -> &[AtomicU64] {
        let end = count.checked_mul(8).and_then(|n| n.checked_add(offset));
        assert!(
            end.is_some_and(|end| end <= self.len) && offset.is_multiple_of(8),
            "eshm bug: {count} words at {offset} outside a {}-byte segment",
            self.len
        );
        // SAFETY: as in `at`: in bounds (asserted), 8-aligned (asserted; the base is
        // page-aligned), valid for the lifetime of `&self`, and `AtomicU64` has the size and
        // alignment of `u64` with every bit pattern valid and only atomic access.
        let ptr = self.byte_ptr(offset).cast::<AtomicU64>();
        // SAFETY: see above; `ptr` is `offset` bytes into the mapping.
        unsafe { std::slice::from_raw_parts(ptr, count) }
    }

    pub(crate) fn header(&self) -> &SegmentHeader {
        // SAFETY: `Segment::new` asserts that the mapping holds at least `HEADER_LEN` bytes,
        // the size of `SegmentHeader`; offset 0 of a page-aligned mapping is aligned; and the
        // header is all atomics (see `at`). This skips `at`'s check on the publish path.
        unsafe { &*self.map.as_ptr().cast::<SegmentHeader>() }
    }

    /// Copies `len` bytes at `offset` out of shared memory (word-wise atomics).
    fn read_bytes(&self, offset: usize, len: usize) -> Vec<u8> {
        let mut buf = vec![MaybeUninit::<u8>::uninit(); len];
        torn::load(self.words(offset, torn::words_for(len)), &mut buf);
        // SAFETY: `torn::load` initialised all `len` bytes.
        unsafe { torn::assume_init_vec(buf) }
    }

    /// Reads and checks the header against the file's real length and the expected kind.
    pub(crate) fn read_header(&self, kind: SegmentKind) -> Result<HeaderInfo> {
        let bad = |reason: String| Error::corrupt(&self.path, reason);
        if self.len < HEADER_LEN {
            return Err(bad(format!("the file is {} bytes, shorter than a header", self.len)));
        }
        let h = self.header();
        let r32 = |a: &crate::sync::AtomicU32| a.load(Ordering::Acquire);
        let r64 = |a: &AtomicU64| a.load(Ordering::Acquire);
        if r64(&h.magic) != MAGIC {
            return Err(bad("it does not start with the eshm magic number".into()));
        }
        let version = r32(&h.layout_version);
        if version != LAYOUT_VERSION {
            return Err(Error::LayoutVersion {
                path: self.path.clone(),
                found: version,
                expected: LAYOUT_VERSION,
            });
        }
        let found_kind = match r32(&h.kind) {
            KIND_TOPIC => SegmentKind::Topic,
            KIND_CHANNEL => SegmentKind::Channel,
            KIND_SERVICE => SegmentKind::Service,
            KIND_ACTION => SegmentKind::Action,
            k => return Err(bad(format!("unknown segment kind {k}"))),
        };
        if found_kind != kind {
            return Err(bad(format!(
                "it holds a {}, not a {}",
                found_kind.as_str(),
                kind.as_str()
            )));
        }
        let total = r64(&h.total_len);
        if total != self.len as u64 {
            return Err(bad(format!(
                "the header says {total} bytes but the file has {}",
                self.len
            )));
        }
        let name_offset = r32(&h.name_offset) as usize;
        let name_len = r32(&h.name_len) as usize;
        let schema_offset = r32(&h.schema_offset) as usize;
        let schema_len = r32(&h.schema_len) as usize;
        let body_offset = usize::try_from(r64(&h.body_offset)).unwrap_or(usize::MAX);
        let in_file =
            |off: usize, len: usize| off.checked_add(len).is_some_and(|end| end <= self.len);
        if name_offset < HEADER_LEN
            || !name_offset.is_multiple_of(8)
            || name_len == 0
            || name_len > MAX_NAME_LEN
            || !in_file(name_offset, name_len)
        {
            return Err(bad(format!("bad name field ({name_len} bytes at {name_offset})")));
        }
        if schema_offset < name_offset + name_len
            || !schema_offset.is_multiple_of(8)
            || schema_len > MAX_ENCODED_LEN
            || !in_file(schema_offset, schema_len)
        {
            return Err(bad(format!("bad schema field ({schema_len} bytes at {schema_offset})")));
        }
        if body_offset < schema_offset + schema_len
            || !body_offset.is_multiple_of(64)
            || body_offset >= self.len
        {
            return Err(bad(format!("bad body offset {body_offset}")));
        }
        // The name and schema are read as whole words: make sure those fit too.
        if !in_file(name_offset, torn::words_for(name_len) * 8)
            || !in_file(schema_offset, torn::words_for(schema_len) * 8)
        {
            return Err(bad("name or schema runs past the end of the file".into()));
        }
        let name = String::from_utf8(self.read_bytes(name_offset, name_len))
            .map_err(|_| bad("the name is not UTF-8".into()))?;
        let schema = self.read_bytes(schema_offset, schema_len);
        let fingerprint = r64(&h.fingerprint);
        if kind == SegmentKind::Topic && crate::schema::fnv1a64(&schema) != fingerprint {
            return Err(bad("the schema does not match its fingerprint".into()));
        }
        Ok(HeaderInfo {
            name,
            schema,
            fingerprint,
            body_offset,
            owner_pid: r32(&h.owner_pid),
            owner_start_time: r64(&h.owner_start_time),
            created_ns: r64(&h.created_ns),
            created_unix_ns: r64(&h.created_unix_ns),
        })
    }

    /// The header's state word (live, closed or superseded).
    pub(crate) fn state(&self) -> u32 {
        self.header().state.load(Ordering::Acquire)
    }

    /// Whether the name still refers to this segment's file.
    pub(crate) fn is_current(&self, dir: &Dir) -> bool {
        matches!(dir.stat(&self.file_name), Ok(Some(st)) if st.id == self.id)
    }
}

/// Marker for the `#[repr(C)]` all-atomic structures of [`crate::layout`].
///
/// # Safety
///
/// Implementors consist only of atomics from `crate::sync` (and arrays or structs of them),
/// so that any bit pattern is valid and all access is atomic.
pub(crate) unsafe trait Shared {}
// SAFETY: all-atomic `#[repr(C)]` structures (see `layout`).
unsafe impl Shared for SegmentHeader {}
// SAFETY: as above.
unsafe impl Shared for crate::layout::RingHeader {}
// SAFETY: as above.
unsafe impl Shared for crate::layout::WriterLine {}
// SAFETY: as above.
unsafe impl Shared for crate::layout::PoolHeader {}
// SAFETY: as above.
unsafe impl Shared for crate::layout::HoldSlot {}
// SAFETY: as above.
unsafe impl Shared for crate::layout::ChannelHeader {}
// SAFETY: as above.
unsafe impl Shared for crate::layout::QueueHeader {}

/// Marks a segment closed by its owner and wakes its sleepers.
pub(crate) fn close(seg: &Segment, wake: fn(&Segment)) {
    seg.header().state.store(crate::layout::STATE_CLOSED, Ordering::Release);
    wake(seg);
}

/// Maps the whole file, shared and writable (or read-only).
fn map(file: &File, len: usize, write: bool, path: &Path) -> Result<MmapRaw> {
    let mut opts = MmapOptions::new();
    opts.len(len);
    let map = if write { opts.map_raw(file) } else { opts.map_raw_read_only(file) };
    map.map_err(|e| Error::io("map", path, e))
}
