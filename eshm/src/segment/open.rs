//! Opening a segment: nothing read from the file is trusted (see the [module docs](super)).

use super::name::file_name;
use super::{HeaderInfo, Segment, SegmentKind};
use crate::error::{Error, Result};
use crate::layout::HEADER_LEN;
use crate::os::{self, Dir, FileStat};
use std::fs::File;
use std::path::Path;
use std::time::Duration;

/// Who may have created a segment that we open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Trust {
    /// Accept segments owned by another user, or writable by group or others.
    pub(crate) other_owners: bool,
}

/// How long the create/reclaim protocol waits for another process's lock on a segment file.
const LOCK_PATIENCE: Duration = Duration::from_secs(5);

fn check_trust(path: &Path, stat: &FileStat, trust: Trust) -> Result<()> {
    let refuse = |reason: String| Err(Error::Permission { path: path.to_owned(), reason });
    if let Some(what) = stat.odd_type {
        return refuse(format!("it is {what}, not a regular file"));
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
    if let Some(what) = stat.odd_type {
        let reason = format!("it is {what}, not a regular file");
        return Err(Error::Permission { path, reason });
    }
    let len = mappable_len(&path, &stat)?;
    Ok(Some((Segment::new(file, stat, len, false, path, file_name.to_owned())?, stat)))
}

/// The length of a segment file, if it can be mapped and holds at least a header.
fn mappable_len(path: &Path, stat: &FileStat) -> Result<usize> {
    let len = usize::try_from(stat.len)
        .map_err(|_| Error::corrupt(path, "the file is too large to map"))?;
    if len < HEADER_LEN {
        return Err(Error::corrupt(
            path,
            format!("the file is {len} bytes, shorter than a header"),
        ));
    }
    Ok(len)
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
    let len = mappable_len(&path, &stat)?;
    let seg = Segment::new(file, stat, len, true, path, fname)?;
    let info = seg.read_header(kind)?;
    if info.name != name {
        return Err(Error::corrupt(seg.path(), format!("it holds {:?}, not {name:?}", info.name)));
    }
    Ok(Some((seg, info)))
}

/// What [`lock_and_examine`] found under a name.
#[expect(clippy::large_enum_variant, reason = "made once per open and matched at once")]
pub(crate) enum Examined {
    /// The name disappeared or changed while we looked.
    Vanished,
    /// A file, locked (when examined for writing) until this value is dropped.
    Found {
        /// Its mapping, if the file is long enough to hold a header.
        seg: Option<Segment>,
        /// Its header, if it reads and checks.
        header: Option<HeaderInfo>,
        /// Whether the header's owner (pid and start time) is running.
        owner_alive: bool,
        /// Holds the advisory lock.
        _lock: Option<File>,
    },
}

/// The one place that looks at an existing segment before replacing or removing it: opens
/// `file_name` without following links, checks its owner and permissions if `trust` says so,
/// takes its advisory lock (when `write`: the create and reclaim protocol), makes sure the
/// name still refers to the file it opened, then maps it and reads its header.
pub(crate) fn lock_and_examine(
    dir: &Dir,
    kind: SegmentKind,
    file_name: &str,
    write: bool,
    trust: Option<Trust>,
) -> Result<Examined> {
    let path = dir.file_path(file_name);
    let Some(file) = dir.open_file(file_name, write)? else { return Ok(Examined::Vanished) };
    let stat = os::fstat(&file, &path)?;
    if let Some(trust) = trust {
        check_trust(&path, &stat, trust)?;
    }
    if stat.odd_type.is_some() {
        // A FIFO, a socket, a device: never mapped; unreadable as a segment.
        return Ok(Examined::Found { seg: None, header: None, owner_alive: false, _lock: None });
    }
    if write {
        os::lock_exclusive(&file, &path, LOCK_PATIENCE)?;
    }
    if !matches!(dir.stat(file_name)?, Some(now) if now.id == stat.id) {
        return Ok(Examined::Vanished);
    }
    let len = usize::try_from(stat.len).unwrap_or(0);
    let lock =
        if write { Some(file.try_clone().map_err(|e| Error::io("open", &path, e))?) } else { None };
    if len < HEADER_LEN {
        return Ok(Examined::Found { seg: None, header: None, owner_alive: false, _lock: lock });
    }
    let seg = Segment::new(file, stat, len, write, path, file_name.to_owned())?;
    let header = seg.read_header(kind).ok();
    let owner_alive =
        header.as_ref().is_some_and(|h| os::is_alive(h.owner_pid, h.owner_start_time));
    Ok(Examined::Found { seg: Some(seg), header, owner_alive, _lock: lock })
}
