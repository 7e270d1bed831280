//! Named shared-memory segments: files in `/dev/shm` (or `$ESHM_SHM_DIR`) that start with a
//! header (magic, layout version, schema, owner, state) and are mapped by every process that uses them.
//!
//! # Names
//!
//! A topic `robot/pose` lives in `eshm.topic.robot%2Fpose` and a channel `control` in
//! `eshm.chan.control`: the kind prefix keeps topics and channels apart, and percent-encoding
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

pub(crate) mod os;

pub use os::{SHM_DIR_ENV, shm_dir};

use crate::error::{Error, Result};
use crate::layout::{
    HEADER_LEN, KIND_CHANNEL, KIND_TOPIC, LAYOUT_VERSION, MAGIC, MAX_NAME_LEN, STATE_LIVE,
    STATE_SUPERSEDED, SegmentHeader,
};
use crate::schema::MAX_ENCODED_LEN;
use crate::sync::{AtomicU64, Ordering, torn};
use memmap2::MmapRaw;
use os::{Dir, FileId, FileStat};
use std::fs::File;
use std::mem::MaybeUninit;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// File-name prefix shared by every eshm file.
pub const FILE_PREFIX: &str = "eshm.";
const TOPIC_PREFIX: &str = "eshm.topic.";
const CHANNEL_PREFIX: &str = "eshm.chan.";
const TMP_PREFIX: &str = "eshm.tmp.";
/// Longest file name Linux accepts.
const NAME_MAX: usize = 255;

/// What a segment carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SegmentKind {
    /// A publish/subscribe topic.
    Topic,
    /// A duplex byte channel.
    Channel,
}

impl SegmentKind {
    fn prefix(self) -> &'static str {
        match self {
            SegmentKind::Topic => TOPIC_PREFIX,
            SegmentKind::Channel => CHANNEL_PREFIX,
        }
    }

    pub(crate) fn code(self) -> u32 {
        match self {
            SegmentKind::Topic => KIND_TOPIC,
            SegmentKind::Channel => KIND_CHANNEL,
        }
    }

    /// `"topic"` or `"channel"`.
    pub fn as_str(self) -> &'static str {
        match self {
            SegmentKind::Topic => "topic",
            SegmentKind::Channel => "channel",
        }
    }
}

fn escape_byte(b: u8) -> bool {
    b == b'/' || b == b'%' || b < 0x20 || b == 0x7f
}

/// The file name that holds the topic or channel `name`.
///
/// # Errors
///
/// [`Error::InvalidName`] for an empty name, a name with a NUL byte, or one whose file name
/// would be longer than 255 bytes.
pub fn file_name(kind: SegmentKind, name: &str) -> Result<String> {
    let invalid = |reason: String| Error::InvalidName { name: name.to_owned(), reason };
    if name.is_empty() {
        return Err(invalid("names cannot be empty".into()));
    }
    if name.contains('\0') {
        return Err(invalid("names cannot contain NUL characters".into()));
    }
    let mut out = String::with_capacity(kind.prefix().len() + name.len());
    out.push_str(kind.prefix());
    for c in name.chars() {
        if c.is_ascii() && escape_byte(c as u8) {
            out.push_str(&format!("%{:02X}", c as u8));
        } else {
            out.push(c);
        }
    }
    if out.len() > NAME_MAX {
        return Err(invalid(format!(
            "its file name would be {} bytes, more than the {NAME_MAX} a file name can hold \
             (each '/' or '%' takes 3 bytes)",
            out.len()
        )));
    }
    Ok(out)
}

/// The kind and name held by the file `file_name`, if it is an eshm segment name.
pub fn parse_file_name(file_name: &str) -> Option<(SegmentKind, String)> {
    let (kind, rest) = if let Some(rest) = file_name.strip_prefix(TOPIC_PREFIX) {
        (SegmentKind::Topic, rest)
    } else {
        (SegmentKind::Channel, file_name.strip_prefix(CHANNEL_PREFIX)?)
    };
    let bytes = rest.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            let b = u8::from_str_radix(hex, 16).ok()?;
            if !escape_byte(b) {
                return None;
            }
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let name = String::from_utf8(out).ok()?;
    (!name.is_empty()).then_some((kind, name))
}

/// The process id in a temporary file's name, if `file_name` is one.
pub(crate) fn tmp_file_pid(file_name: &str) -> Option<u32> {
    file_name.strip_prefix(TMP_PREFIX)?.split('.').next()?.parse().ok()
}

/// Who may have created a segment that we open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Trust {
    /// Accept segments owned by another user, or writable by group or others.
    pub(crate) other_owners: bool,
}

/// An open, mapped segment.
pub(crate) struct Segment {
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
        let map = os::map(&file, len, write, &path)?;
        Ok(Segment { map, len, _file: file, id: stat.id, path, file_name })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
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
unsafe impl Shared for crate::layout::ChannelHeader {}
// SAFETY: as above.
unsafe impl Shared for crate::layout::QueueHeader {}

/// What a new segment holds, apart from its kind-specific body.
pub(crate) struct NewSegment<'a> {
    pub(crate) kind: SegmentKind,
    pub(crate) name: &'a str,
    /// The encoded schema (topics) or nothing (channels).
    pub(crate) schema: &'a [u8],
    pub(crate) fingerprint: u64,
    /// Bytes of body, and the body's alignment (at least 64).
    pub(crate) body_len: usize,
    pub(crate) body_align: usize,
    /// Permission bits of the file.
    pub(crate) mode: u32,
}

/// The outcome of [`create`].
pub(crate) enum Created {
    /// A new segment, now visible under its name.
    New(Segment, HeaderInfo),
    /// A live process owns the name.
    Owned {
        /// Its pid.
        pid: u32,
    },
}

fn round_up(n: usize, to: usize) -> Option<usize> {
    n.checked_next_multiple_of(to)
}

/// Creates the segment `spec` (see the module docs for the protocol). `init` fills the body
/// (at the given offset) before the segment becomes visible; `wake` is called on a segment
/// being superseded, after it is marked, to wake its sleepers.
pub(crate) fn create(
    dir: &Dir,
    spec: &NewSegment<'_>,
    init: impl FnOnce(&Segment, usize),
    wake: fn(&Segment),
) -> Result<Created> {
    // `file_name` limits names to what fits in 255 bytes, far below the header's MAX_NAME_LEN.
    let final_name = file_name(spec.kind, spec.name)?;
    let too_large =
        || Error::InvalidArgument("the segment would be larger than the address space".into());
    let name_offset = HEADER_LEN;
    let schema_offset = round_up(name_offset + spec.name.len(), 8).ok_or_else(too_large)?;
    let body_offset = round_up(schema_offset + spec.schema.len(), spec.body_align.max(64))
        .ok_or_else(too_large)?;
    let total = body_offset.checked_add(spec.body_len).ok_or_else(too_large)?;
    let total = round_up(total, 8).ok_or_else(too_large)?;

    let tmp = tmp_name();
    let file = dir.create_exclusive(&tmp, spec.mode)?;
    let tmp_guard = TmpGuard { dir, name: &tmp, armed: true };
    let tmp_path = dir.file_path(&tmp);
    os::set_len(&file, total as u64, &tmp_path)?;
    let stat = os::fstat(&file, &tmp_path)?;
    let seg =
        Segment::new(file, stat, total, true, dir.file_path(&final_name), final_name.clone())?;

    let h = seg.header();
    let w32 = |a: &crate::sync::AtomicU32, v: u32| a.store(v, Ordering::Relaxed);
    let w64 = |a: &AtomicU64, v: u64| a.store(v, Ordering::Relaxed);
    w32(&h.layout_version, LAYOUT_VERSION);
    w32(&h.kind, spec.kind.code());
    w64(&h.total_len, total as u64);
    w32(&h.name_offset, name_offset as u32);
    w32(&h.name_len, spec.name.len() as u32);
    w32(&h.schema_offset, schema_offset as u32);
    w32(&h.schema_len, spec.schema.len() as u32);
    w64(&h.fingerprint, spec.fingerprint);
    w64(&h.body_offset, body_offset as u64);
    let created_ns = os::monotonic_ns();
    w64(&h.created_ns, created_ns);
    w32(&h.owner_pid, os::pid());
    w64(&h.owner_start_time, os::self_start_time());
    w64(&h.created_unix_ns, os::unix_ns());
    w32(&h.state, STATE_LIVE);
    w64(&h.heartbeat_ns, os::coarse_ns());
    torn::store(seg.words(name_offset, torn::words_for(spec.name.len())), spec.name.as_bytes());
    if !spec.schema.is_empty() {
        torn::store(seg.words(schema_offset, torn::words_for(spec.schema.len())), spec.schema);
    }
    init(&seg, body_offset);
    // Magic last (pairs with the Acquire load in `read_header`): even a reader that somehow
    // sees the file before it is linked sees either no magic or a complete header.
    h.magic.store(MAGIC, Ordering::Release);
    let info = seg.read_header(spec.kind)?;

    loop {
        // SYNC POINT: the link (or the rename below) publishes the complete segment.
        if dir.link(&tmp, &final_name)? {
            drop(tmp_guard);
            return Ok(Created::New(seg, info));
        }
        match examine_existing(dir, spec.kind, &final_name)? {
            Existing::Live { pid } => return Ok(Created::Owned { pid }),
            Existing::Vanished => continue,
            Existing::Replaceable { old, _lock_holder } => {
                if let Some(old) = &old {
                    old.header().state.store(STATE_SUPERSEDED, Ordering::Release);
                    wake(old);
                }
                // SYNC POINT: readers of the old segment see STATE_SUPERSEDED and re-open the
                // name, which now (atomically) refers to the new segment.
                dir.rename(&tmp, &final_name)?;
                let mut guard = tmp_guard;
                guard.armed = false;
                return Ok(Created::New(seg, info));
            }
        }
    }
}

enum Existing {
    Live {
        pid: u32,
    },
    /// The name disappeared or changed while we looked: try again.
    Vanished,
    /// Dead, closed or unreadable: replace it. `old` is its mapping when the header was
    /// readable; the lock is held until the replacement is done.
    Replaceable {
        old: Option<Segment>,
        _lock_holder: File,
    },
}

/// How long the create/reclaim protocol waits for another process's lock on a segment file.
const LOCK_PATIENCE: Duration = Duration::from_secs(5);

fn examine_existing(dir: &Dir, kind: SegmentKind, name: &str) -> Result<Existing> {
    let path = dir.file_path(name);
    let Some(file) = dir.open_file(name, true)? else { return Ok(Existing::Vanished) };
    let stat = os::fstat(&file, &path)?;
    check_trust(&path, &stat, Trust::default())?;
    os::lock_exclusive(&file, &path, LOCK_PATIENCE)?;
    if !matches!(dir.stat(name)?, Some(now) if now.id == stat.id) {
        return Ok(Existing::Vanished);
    }
    let len = usize::try_from(stat.len).unwrap_or(0);
    if len < HEADER_LEN {
        return Ok(Existing::Replaceable { old: None, _lock_holder: file });
    }
    let lock_holder = file.try_clone().map_err(|e| Error::io("open", &path, e))?;
    let old = Segment::new(file, stat, len, true, path, name.to_owned())?;
    match old.read_header(kind) {
        Ok(info) => {
            if old.state() == STATE_LIVE && os::is_alive(info.owner_pid, info.owner_start_time) {
                Ok(Existing::Live { pid: info.owner_pid })
            } else {
                Ok(Existing::Replaceable { old: Some(old), _lock_holder: lock_holder })
            }
        }
        // Unreadable and owner unknown: reclaim without touching its contents.
        Err(_) => Ok(Existing::Replaceable { old: None, _lock_holder: lock_holder }),
    }
}

struct TmpGuard<'a> {
    dir: &'a Dir,
    name: &'a str,
    armed: bool,
}

impl Drop for TmpGuard<'_> {
    fn drop(&mut self) {
        // After a successful link, or on an error, the temporary name must go; after a
        // rename it no longer exists.
        if self.armed {
            let _ = self.dir.unlink(self.name);
        }
    }
}

fn tmp_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        "{TMP_PREFIX}{}.{}.{}",
        os::pid(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        os::monotonic_ns() % 1_000_000_000
    )
}

fn check_trust(path: &Path, stat: &FileStat, trust: Trust) -> Result<()> {
    let refuse = |reason: String| Err(Error::Permission { path: path.to_owned(), reason });
    if !stat.regular {
        return refuse("it is not a regular file".into());
    }
    if trust.other_owners {
        return Ok(());
    }
    let me = os::euid();
    if stat.uid != me {
        return refuse(format!(
            "it belongs to uid {}, not to this process's uid {me}; allow segments of other users \
             explicitly (`allow_other_owners(true)`) if that user is trusted",
            stat.uid
        ));
    }
    if stat.mode & 0o022 != 0 {
        return refuse(format!(
            "its mode is {:04o}: other users could write into it; allow it explicitly \
             (`allow_other_owners(true)`) if they are trusted",
            stat.mode
        ));
    }
    Ok(())
}

/// Opens a segment file for inspection only (read-only mapping, no trust checks: nothing is
/// received from it). `Ok(None)` if it does not exist.
pub(crate) fn open_for_inspection(
    dir: &Dir,
    file_name: &str,
) -> Result<Option<(Segment, FileStat)>> {
    let path = dir.file_path(file_name);
    let Some(file) = dir.open_file(file_name, false)? else { return Ok(None) };
    let stat = os::fstat(&file, &path)?;
    if !stat.regular {
        return Err(Error::Permission { path, reason: "it is not a regular file".into() });
    }
    let len = usize::try_from(stat.len)
        .map_err(|_| Error::corrupt(&path, "the file is too large to map"))?;
    if len < HEADER_LEN {
        return Err(Error::corrupt(
            &path,
            format!("the file is {len} bytes, shorter than a header"),
        ));
    }
    Ok(Some((Segment::new(file, stat, len, false, path, file_name.to_owned())?, stat)))
}

/// Opens and checks the segment `name`; `Ok(None)` if it does not exist.
pub(crate) fn open(
    dir: &Dir,
    kind: SegmentKind,
    name: &str,
    trust: Trust,
) -> Result<Option<(Segment, HeaderInfo)>> {
    let fname = file_name(kind, name)?;
    let path = dir.file_path(&fname);
    let Some(file) = dir.open_file(&fname, true)? else { return Ok(None) };
    let stat = os::fstat(&file, &path)?;
    check_trust(&path, &stat, trust)?;
    let len = usize::try_from(stat.len)
        .map_err(|_| Error::corrupt(&path, "the file is too large to map"))?;
    if len < HEADER_LEN {
        return Err(Error::corrupt(
            &path,
            format!("the file is {len} bytes, shorter than a header"),
        ));
    }
    let seg = Segment::new(file, stat, len, true, path, fname)?;
    let info = seg.read_header(kind)?;
    if info.name != name {
        return Err(Error::corrupt(seg.path(), format!("it holds {:?}, not {name:?}", info.name)));
    }
    Ok(Some((seg, info)))
}

/// Why [`remove_unowned`] did or did not remove a file.
pub(crate) enum Removed {
    /// Removed (or, in a dry run, would be); the dead owner's pid, if the header was readable.
    Yes { owner: Option<u32> },
    /// Its owner is alive: left alone.
    OwnerAlive { pid: u32 },
    /// Gone already, or replaced while we looked.
    Vanished,
}

/// Removes the segment `file_name` if its owner is dead (or, with `include_corrupt`, if its
/// header is unreadable), using the same lock-and-recheck protocol as [`create`], and wakes
/// its sleepers after marking it superseded.
pub(crate) fn remove_unowned(
    dir: &Dir,
    kind: SegmentKind,
    file_name: &str,
    include_corrupt: bool,
    dry_run: bool,
    wake: fn(&Segment),
) -> Result<Removed> {
    let path = dir.file_path(file_name);
    let Some(file) = dir.open_file(file_name, !dry_run)? else { return Ok(Removed::Vanished) };
    let stat = os::fstat(&file, &path)?;
    if !dry_run {
        os::lock_exclusive(&file, &path, LOCK_PATIENCE)?;
    }
    if !matches!(dir.stat(file_name)?, Some(now) if now.id == stat.id) {
        return Ok(Removed::Vanished);
    }
    let len = usize::try_from(stat.len).unwrap_or(0);
    let seg = if len >= HEADER_LEN {
        Some(Segment::new(file, stat, len, !dry_run, path, file_name.to_owned())?)
    } else {
        None
    };
    let owner = match seg.as_ref().map(|s| s.read_header(kind)) {
        Some(Ok(info)) if os::is_alive(info.owner_pid, info.owner_start_time) => {
            return Ok(Removed::OwnerAlive { pid: info.owner_pid });
        }
        Some(Ok(info)) => Some(info.owner_pid),
        Some(Err(_)) | None if include_corrupt => None,
        Some(Err(_)) | None => {
            return Err(Error::corrupt(dir.file_path(file_name), "its header cannot be read"));
        }
    };
    if !dry_run {
        if let Some(seg) = seg.as_ref().filter(|_| owner.is_some()) {
            seg.header().state.store(STATE_SUPERSEDED, Ordering::Release);
            wake(seg);
        }
        dir.unlink(file_name)?;
    }
    Ok(Removed::Yes { owner })
}

/// Marks a segment closed by its owner and wakes its sleepers.
pub(crate) fn close(seg: &Segment, wake: fn(&Segment)) {
    seg.header().state.store(crate::layout::STATE_CLOSED, Ordering::Release);
    wake(seg);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names_map_injectively_and_back() {
        let names =
            ["robot/pose", "robot%2Fpose", "a", "/a", "a/", "ü/ñ", "tab\there", "100%", "."];
        let mut files = std::collections::HashSet::new();
        for name in names {
            for kind in [SegmentKind::Topic, SegmentKind::Channel] {
                let f = file_name(kind, name).unwrap();
                assert!(f.starts_with(FILE_PREFIX));
                assert!(!f.contains('/'));
                assert!(files.insert(f.clone()), "{f} produced twice");
                assert_eq!(parse_file_name(&f), Some((kind, name.to_owned())));
            }
        }
        assert_eq!(file_name(SegmentKind::Topic, "robot/pose").unwrap(), "eshm.topic.robot%2Fpose");
    }

    #[test]
    fn segment_names_reject_unusable_names() {
        for bad in ["", "a\0b", &"x".repeat(250), &"/".repeat(90)] {
            assert!(
                matches!(file_name(SegmentKind::Topic, bad), Err(Error::InvalidName { .. })),
                "{bad:?}"
            );
        }
        assert!(file_name(SegmentKind::Topic, &"x".repeat(255 - TOPIC_PREFIX.len())).is_ok());
        assert_eq!(parse_file_name("eshm.topic."), None);
        assert_eq!(parse_file_name("eshm.topic.%zz"), None);
        assert_eq!(parse_file_name("eshm.topic.%41"), None, "non-canonical escape");
        assert_eq!(parse_file_name("other"), None);
        assert_eq!(tmp_file_pid("eshm.tmp.1234.0.99"), Some(1234));
    }
}
