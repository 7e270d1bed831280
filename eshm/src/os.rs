//! The operating system, as eshm uses it (through rustix: no hand-written libc): the segment
//! directory (exclusive creation, links and renames, advisory locks), clocks, and process
//! identity (a pid and its start time), with the claim protocol for pid slots in shared memory.
//! Futexes are in `sync::futex`, and mappings are made where segments are opened.

use crate::error::{Error, Result};
use crate::layout::REGISTERING;
use crate::sync::{AtomicU32, AtomicU64, Ordering};
use rustix::fs::{AtFlags, FlockOperation, Mode, OFlags};
use rustix::io::Errno;
use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Environment variable that moves every segment out of `/dev/shm` (for tests, containers, or
/// systems that mount tmpfs elsewhere). All processes that talk must agree on it.
pub const SHM_DIR_ENV: &str = "ESHM_SHM_DIR";

/// The directory segments live in: `$ESHM_SHM_DIR`, or `/dev/shm`.
pub fn shm_dir() -> PathBuf {
    std::env::var_os(SHM_DIR_ENV).map_or_else(|| PathBuf::from("/dev/shm"), PathBuf::from)
}

/// A file's identity: device and inode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FileId {
    pub(crate) dev: u64,
    pub(crate) ino: u64,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct FileStat {
    pub(crate) id: FileId,
    pub(crate) uid: u32,
    pub(crate) mode: u32,
    pub(crate) len: u64,
    /// What it is, in words, when it is not a regular file (`"a symbolic link"`, ...).
    pub(crate) odd_type: Option<&'static str>,
}

fn stat_of(st: &rustix::fs::Stat) -> FileStat {
    FileStat {
        id: FileId { dev: st.st_dev, ino: st.st_ino },
        uid: st.st_uid,
        mode: st.st_mode & 0o7777,
        len: u64::try_from(st.st_size).unwrap_or(0),
        odd_type: {
            use rustix::fs::FileType as T;
            match T::from_raw_mode(st.st_mode) {
                T::RegularFile => None,
                T::Symlink => Some("a symbolic link"),
                T::Fifo => Some("a FIFO"),
                T::Socket => Some("a socket"),
                T::Directory => Some("a directory"),
                T::CharacterDevice | T::BlockDevice => Some("a device"),
                _ => Some("a special file"),
            }
        },
    }
}

/// The segment directory, held open so that every operation is relative to the same directory
/// even if the path is remounted or replaced.
pub(crate) struct Dir {
    fd: OwnedFd,
    path: PathBuf,
}

impl std::fmt::Debug for Dir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dir").field("path", &self.path).finish()
    }
}

impl Dir {
    pub(crate) fn open() -> Result<Dir> {
        let path = shm_dir();
        let fd = rustix::fs::open(
            &path,
            OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| Error::io("open the segment directory", &path, e))?;
        Ok(Dir { fd, path })
    }

    pub(crate) fn file_path(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Creates `name` exclusively (`O_EXCL | O_NOFOLLOW`) with exactly `mode` (the umask is
    /// undone with `fchmod`).
    pub(crate) fn create_exclusive(&self, name: &str, mode: u32) -> Result<File> {
        let flags =
            OFlags::RDWR | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(&self.fd, name, flags, Mode::from_raw_mode(mode))
            .map_err(|e| Error::io("create", self.file_path(name), e))?;
        rustix::fs::fchmod(&fd, Mode::from_raw_mode(mode))
            .map_err(|e| Error::io("set permissions of", self.file_path(name), e))?;
        Ok(File::from(fd))
    }

    /// Opens an existing segment without following symbolic links and without blocking (a
    /// FIFO planted under a segment's name would otherwise block the open forever); `Ok(None)`
    /// if absent. Callers check that it is a regular file (`fstat`) before anything else.
    pub(crate) fn open_file(&self, name: &str, write: bool) -> Result<Option<File>> {
        let access = if write { OFlags::RDWR } else { OFlags::RDONLY };
        match rustix::fs::openat(
            &self.fd,
            name,
            access | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => Ok(Some(File::from(fd))),
            Err(Errno::NOENT) => Ok(None),
            Err(Errno::LOOP) => Err(Error::Permission {
                path: self.file_path(name),
                reason: "it is a symbolic link, which eshm never follows".into(),
            }),
            Err(e) => Err(Error::io("open", self.file_path(name), e)),
        }
    }

    /// Hard-links `from` as `to`; `Ok(false)` if `to` already exists. This is how a fully
    /// initialised segment appears under its name in one step.
    pub(crate) fn link(&self, from: &str, to: &str) -> Result<bool> {
        match rustix::fs::linkat(&self.fd, from, &self.fd, to, AtFlags::empty()) {
            Ok(()) => Ok(true),
            Err(Errno::EXIST) => Ok(false),
            Err(e) => Err(Error::io("link", self.file_path(to), e)),
        }
    }

    /// Atomically replaces `to` by `from`.
    pub(crate) fn rename(&self, from: &str, to: &str) -> Result<()> {
        rustix::fs::renameat(&self.fd, from, &self.fd, to)
            .map_err(|e| Error::io("rename into", self.file_path(to), e))
    }

    /// Removes `name`; an absent file is not an error.
    pub(crate) fn unlink(&self, name: &str) -> Result<()> {
        match rustix::fs::unlinkat(&self.fd, name, AtFlags::empty()) {
            Ok(()) | Err(Errno::NOENT) => Ok(()),
            Err(e) => Err(Error::io("remove", self.file_path(name), e)),
        }
    }

    /// Metadata of `name` (not following links); `Ok(None)` if absent.
    pub(crate) fn stat(&self, name: &str) -> Result<Option<FileStat>> {
        match rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(stat_of(&st))),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(Error::io("stat", self.file_path(name), e)),
        }
    }

    /// Names of the entries in the directory.
    pub(crate) fn entries(&self) -> Result<Vec<String>> {
        let rd = std::fs::read_dir(&self.path).map_err(|e| Error::io("list", &self.path, e))?;
        Ok(rd.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect())
    }
}

pub(crate) fn fstat(file: &File, path: &Path) -> Result<FileStat> {
    rustix::fs::fstat(file.as_fd()).map(|st| stat_of(&st)).map_err(|e| Error::io("stat", path, e))
}

pub(crate) fn set_len(file: &File, len: u64, path: &Path) -> Result<()> {
    rustix::fs::ftruncate(file.as_fd(), len).map_err(|e| Error::io("size", path, e))
}

/// Takes the advisory exclusive lock on `file`, waiting at most `patience` (then a timed-out
/// [`Error::Io`]). Only the create/reclaim protocol uses it: holders keep it for a few system
/// calls, and the kernel drops it if the holder dies.
pub(crate) fn lock_exclusive(file: &File, path: &Path, patience: Duration) -> Result<()> {
    let deadline = Instant::now() + patience;
    loop {
        match rustix::fs::flock(file.as_fd(), FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => return Ok(()),
            Err(Errno::WOULDBLOCK) | Err(Errno::INTR) => {
                if Instant::now() >= deadline {
                    let held = format!("another process held the lock for {patience:?}");
                    let e = std::io::Error::new(std::io::ErrorKind::TimedOut, held);
                    return Err(Error::io("lock", path, e));
                }
                std::thread::sleep(Duration::from_micros(200));
            }
            Err(e) => return Err(Error::io("lock", path, e)),
        }
    }
}

// -------------------------------------------------------------------------------------------
// Clocks. CLOCK_MONOTONIC is one clock for the whole machine, so values written by one process
// are comparable in another.

fn ns(ts: rustix::time::Timespec) -> u64 {
    (ts.tv_sec as u64).wrapping_mul(1_000_000_000).wrapping_add(ts.tv_nsec as u64)
}

/// `CLOCK_MONOTONIC`, in ns.
pub(crate) fn monotonic_ns() -> u64 {
    ns(rustix::time::clock_gettime(rustix::time::ClockId::Monotonic))
}

/// `CLOCK_MONOTONIC_COARSE`, in ns: a few ns to read, a few ms of resolution.
pub(crate) fn coarse_ns() -> u64 {
    ns(rustix::time::clock_gettime(rustix::time::ClockId::MonotonicCoarse))
}

/// `CLOCK_REALTIME`, in ns since the Unix epoch.
pub(crate) fn unix_ns() -> u64 {
    ns(rustix::time::clock_gettime(rustix::time::ClockId::Realtime))
}

// -------------------------------------------------------------------------------------------
// Process identity: a pid plus the process's start time, so that a recycled pid is not taken
// for the process that held it before.

pub(crate) fn pid() -> u32 {
    rustix::process::getpid().as_raw_nonzero().get() as u32
}

pub(crate) fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Start time of process `pid` (field 22 of `/proc/<pid>/stat`, in clock ticks since boot), or
/// `None` if there is no such process.
pub(crate) fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may itself contain spaces and
    // parentheses: the fields we want follow the *last* ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    // After the name: field 3 (state) is the first; field 22 is the 20th.
    let start = rest.split_whitespace().nth(19)?.parse().ok()?;
    // A zombie has exited and will never act again.
    (rest.split_whitespace().next()? != "Z").then_some(start)
}

/// This process's start time.
pub(crate) fn self_start_time() -> u64 {
    static START: OnceLock<u64> = OnceLock::new();
    *START.get_or_init(|| start_time(pid()).unwrap_or(0))
}

/// Whether the process `pid` that started at `start` (see [`start_time`]) is still running.
pub(crate) fn is_alive(pid: u32, start: u64) -> bool {
    if pid == 0 {
        return false;
    }
    if pid == self::pid() {
        return start == self_start_time();
    }
    start_time(pid) == Some(start)
}

// -------------------------------------------------------------------------------------------
// Pid slots: a pid word and a start-time word in shared memory that name the process holding
// something (a reader registration, a channel endpoint).

/// Claims the pid slot (`pid`, `start`) for this process if it is free: never claimed, given
/// back, or held by a process that is gone. The pid goes in first with [`REGISTERING`] set,
/// then the start time, then `fill` runs (to set whatever else the slot guards), then the plain
/// pid: nobody mistakes a half-written slot for one whose holder died. `Err(pid)` if a live
/// process holds it.
pub(crate) fn claim_pid_slot(
    pid_word: &AtomicU32,
    start: &AtomicU64,
    fill: impl FnOnce(),
) -> std::result::Result<(), u32> {
    let me = pid();
    loop {
        let current = pid_word.load(Ordering::Acquire);
        let free = match current {
            0 => true,
            p if p & REGISTERING != 0 => start_time(p & !REGISTERING).is_none(),
            p => !is_alive(p, start.load(Ordering::Acquire)),
        };
        if !free {
            return Err(current & !REGISTERING);
        }
        if pid_word
            .compare_exchange(current, me | REGISTERING, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            start.store(self_start_time(), Ordering::Release);
            fill();
            pid_word.store(me, Ordering::Release);
            return Ok(());
        }
    }
}

/// Gives the pid slot back, if this process holds it.
pub(crate) fn release_pid_slot(pid_word: &AtomicU32, start: &AtomicU64) {
    if pid_word.load(Ordering::Acquire) == pid() {
        start.store(0, Ordering::Release);
        pid_word.store(0, Ordering::Release);
    }
}

/// Whether a pid slot read as (`pid`, `start`) is held by a running process.
pub(crate) fn pid_slot_alive(pid: u32, start: u64) -> bool {
    pid != 0 && pid & REGISTERING == 0 && is_alive(pid, start)
}
