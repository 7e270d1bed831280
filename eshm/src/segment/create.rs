//! Creating a segment so that it appears complete or not at all, reclaiming the segment of a
//! dead owner, and removing what dead processes left behind (see the [module docs](super)).

use super::name::{file_name, is_dead_tmp_of, tmp_name};
use super::open::{Examined, Trust, lock_and_examine};
use super::{HeaderInfo, Segment, SegmentKind};
use crate::error::{Error, Result};
use crate::layout::{HEADER_LEN, LAYOUT_VERSION, MAGIC, STATE_LIVE, STATE_SUPERSEDED};
use crate::os::{self, Dir};
use crate::sync::{AtomicU64, Ordering, torn};

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
#[expect(clippy::large_enum_variant, reason = "made once per create and matched at once")]
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
/// (at the given offset) before the segment becomes visible; `inherit(old, new)` carries what
/// the new segment takes over from a readable segment it replaces (before it is visible);
/// `wake` is called on a segment being superseded, after it is marked, to wake its sleepers.
pub(crate) fn create(
    dir: &Dir,
    spec: &NewSegment<'_>,
    init: impl FnOnce(&Segment, usize),
    inherit: fn(&Segment, &Segment),
    wake: fn(&Segment),
) -> Result<Created> {
    // `file_name` limits names to what fits in 255 bytes, far below the header's MAX_NAME_LEN.
    let final_name = file_name(spec.kind, spec.name)?;
    let too_large = || Error::InvalidCapacity {
        what: "a segment's size (bytes)",
        requested: spec.body_len as u64,
        min: 0,
        max: isize::MAX as u64,
    };
    let name_offset = HEADER_LEN;
    let schema_offset = round_up(name_offset + spec.name.len(), 8).ok_or_else(too_large)?;
    let body_offset = round_up(schema_offset + spec.schema.len(), spec.body_align.max(64))
        .ok_or_else(too_large)?;
    let total = body_offset.checked_add(spec.body_len).ok_or_else(too_large)?;
    let total = round_up(total, 8).ok_or_else(too_large)?;

    // Temporary files of creators of this segment that were killed while creating it.
    for entry in dir.entries()? {
        if is_dead_tmp_of(&entry, &final_name) {
            let _ = dir.unlink(&entry);
        }
    }
    let tmp = tmp_name(&final_name);
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
        let Examined::Found { seg: old, header, owner_alive, _lock } =
            lock_and_examine(dir, spec.kind, &final_name, true, Some(Trust::default()))?
        else {
            continue;
        };
        if let (Some(old), Some(header)) = (&old, &header) {
            if owner_alive && old.state() == STATE_LIVE {
                return Ok(Created::Owned { pid: header.owner_pid });
            }
            // Dead or closed: replace it. (An unreadable one, whose owner is unknown, is
            // replaced without touching its contents.)
            inherit(old, &seg);
            old.header().state.store(STATE_SUPERSEDED, Ordering::Release);
            wake(old);
        }
        // SYNC POINT: readers of the old segment see STATE_SUPERSEDED and re-open the name,
        // which now (atomically) refers to the new segment. The old file's lock is held until
        // the rename is done, so a second creator waits for it and then finds a live owner.
        dir.rename(&tmp, &final_name)?;
        let mut guard = tmp_guard;
        guard.armed = false;
        return Ok(Created::New(seg, info));
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
    let Examined::Found { seg, header, owner_alive, _lock } =
        lock_and_examine(dir, kind, file_name, !dry_run, None)?
    else {
        return Ok(Removed::Vanished);
    };
    let owner = match header {
        Some(info) if owner_alive => return Ok(Removed::OwnerAlive { pid: info.owner_pid }),
        Some(info) => Some(info.owner_pid),
        None if include_corrupt => None,
        None => {
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
