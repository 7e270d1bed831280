//! The duplex byte channel: two endpoints, a master and a slave, each writing variable-length
//! messages to the other, with heartbeats, stale detection and automatic reconnection. This is
//! the channel of the original ESHM library, with every message delivered in order (ESHM kept
//! only the latest one, in one 4 KiB slot), configurable sizes, and futex wake-ups.
//!
//! ```
//! use eshm::channel::{Channel, Role};
//! use std::time::Duration;
//!
//! # let name = format!("doc/channel/{}", std::process::id());
//! let master = Channel::open(&name, Role::Master)?;
//! master.write(b"queued before the slave came")?;         // a master need not wait for a slave
//! let slave = Channel::open(&name, Role::Slave)?;         // usually another process
//! assert_eq!(slave.read()?, b"queued before the slave came");
//! master.write(b"ping")?;
//! assert_eq!(slave.read()?, b"ping");
//! slave.write(b"")?;                                       // empty messages are messages
//! assert_eq!(master.read_timeout(Duration::from_secs(1))?, b"");
//! assert!(master.is_remote_alive());
//! assert_eq!(master.stats().channel.master_to_slave.read, 2);
//! # Ok::<(), eshm::Error>(())
//! ```
//!
//! # Roles
//!
//! - A **master** creates the channel's segment, or takes over the segment of a master that
//!   died (see [`segment`] for the protocol). A second live master gets
//!   [`Error::RoleTaken`].
//! - A **slave** attaches to the master's segment, retrying every `reconnect_interval` (up to
//!   `max_reconnect_attempts`) until a live master exists.
//! - **Auto** becomes the master if no live master exists, else a slave. Creation is decided
//!   by an atomic `link(2)`, so of two `Auto` endpoints started together exactly one is master.
//!
//! # Threads
//!
//! A `Channel` is `Sync`: one thread may read while another writes (the two directions are
//! independent queues). Readers take turns, and so do writers.
//!
//! # Liveness and disconnection
//!
//! Each endpoint refreshes a heartbeat in shared memory on every operation and, unless turned
//! off, from a background thread. The remote is *alive* when its heartbeat is younger than the
//! stale threshold and its process (pid and start time, so that a recycled pid is not mistaken
//! for it) exists. Operations follow the original ESHM: a master writes whether or not a slave
//! is there; with nothing to read, a read waits for its timeout and `try_read` returns nothing;
//! a slave waits for a missing master (and looks for a new one) up to the operation's timeout.
//! [`ReadError::Disconnected`](crate::ReadError::Disconnected) and [`WriteError::Disconnected`] come only where the
//! [`DisconnectBehavior`] gives up: `Immediately`, once a remote that was there has gone; for a
//! slave, once the outage has lasted `reconnect_wait` (`OnTimeout`, the default) or spent the
//! reconnection budget.
//!
//! When a master dies and a new one appears, a slave re-attaches by itself. Messages the old
//! master wrote and the slave had not read are delivered; messages the slave wrote and the old
//! master never read are counted in [`Stats::lost`]. Nothing is delivered twice, except a
//! message whose reader was killed while copying it out. When a slave dies, the master sees it
//! and the next slave takes the role over, receiving what was queued for the role.

mod builder;
mod in_place;
mod link;
mod liveness;
mod read;
mod stats;
mod wakeups;

pub use builder::{ChannelBuilder, DisconnectBehavior, Role};
pub use in_place::{ReadRef, WriteLoan};
pub use link::MAX_CAPACITY;
pub(crate) use link::{Link, wake_segment};
pub use read::Sink;
pub use stats::{ChannelDetails, EndpointInfo, QueueInfo, Stats};

use crate::error::{Error, Result, WriteError};
use crate::layout::STATE_LIVE;
use crate::os::{self, Dir};
use crate::queue::{Corrupt, Push, record_size};
use crate::segment::{self, SegmentKind};
use crate::sync::{AtomicU64, Ordering};
use crate::wait::{self, Stand};
use link::{attach_slave, create_master, release_endpoint};
use liveness::{Beat, Liveness, Remote, spawn_heartbeat};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One endpoint of a duplex byte channel. See the [module docs](self).
pub struct Channel {
    cfg: ChannelBuilder,
    /// The channel's name, shared with errors.
    name: Arc<str>,
    role: Role,
    dir: Dir,
    /// The segment in use; a slave replaces it when it re-attaches to a new master.
    links: Mutex<Arc<Link>>,
    /// Bumped when `links` changes, so that each direction notices without locking.
    link_generation: AtomicU64,
    /// The reading direction: one reader at a time, with the link it reads from.
    reader: Direction,
    /// The writing direction, likewise.
    writer: Direction,
    live: Mutex<Liveness>,
    beat: Arc<Beat>,
    thread: Option<JoinHandle<()>>,
    /// The process that opened the endpoint: in another one (a forked child), dropping it does
    /// nothing.
    creator: u32,
}

/// One direction of the channel: its lock, and which thread holds it for a message in place
/// (a `ReadRef` or a `WriteLoan`; 0 when none), so that the same thread asking again gets an
/// error instead of waiting for itself forever.
pub(super) struct Direction {
    side: Mutex<Side>,
    pub(super) in_place_by: AtomicU64,
}

/// This thread's number, for [`Direction::in_place_by`] (never 0).
pub(super) fn thread_number() -> u64 {
    thread_local!(static NUMBER: u64 = {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        NEXT.fetch_add(1, Ordering::Relaxed)
    });
    NUMBER.with(|n| *n)
}

/// The calling thread holds a message of this direction in place.
#[derive(Debug)]
pub(super) struct HeldHere;

/// One direction's view of the channel.
pub(super) struct Side {
    link: Arc<Link>,
    generation: u64,
}

impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channel").field("name", &self.cfg.name).field("role", &self.role).finish()
    }
}

impl Channel {
    /// Opens the channel `name` in `role` with default settings.
    ///
    /// # Errors
    ///
    /// As [`ChannelBuilder::open`].
    pub fn open(name: &str, role: Role) -> Result<Channel> {
        Channel::builder(name).role(role).open()
    }

    /// A builder with the defaults of the original ESHM: auto role, stale threshold 100 ms,
    /// reconnect wait 5 s, retry interval 100 ms, 50 attempts, auto cleanup and heartbeat
    /// thread on; plus 1 MiB per direction, 64 KiB messages and 1 s read/write timeouts.
    pub fn builder(name: &str) -> ChannelBuilder {
        ChannelBuilder::new(name)
    }

    pub(crate) fn open_with(cfg: ChannelBuilder, wait_for_master: bool) -> Result<Channel> {
        segment::file_name(SegmentKind::Channel, &cfg.name)?;
        if cfg.stale_threshold.is_zero() {
            return Err(Error::ZeroDuration { what: "stale threshold" });
        }
        let dir = Dir::open()?;
        let (role, link) = match cfg.role {
            Role::Master => (Role::Master, create_master(&dir, &cfg)?),
            Role::Slave => (Role::Slave, attach_slave(&dir, &cfg, wait_for_master)?),
            Role::Auto => match create_master(&dir, &cfg) {
                Ok(link) => (Role::Master, link),
                Err(Error::RoleTaken { .. }) => {
                    (Role::Slave, attach_slave(&dir, &cfg, wait_for_master)?)
                }
                Err(e) => return Err(e),
            },
        };
        let link = Arc::new(link);
        let beat = Arc::new(Beat {
            link: Mutex::new(Some(link.clone())),
            stop: Mutex::new(false),
            wake: Condvar::new(),
        });
        let thread =
            cfg.heartbeat_thread.then(|| spawn_heartbeat(beat.clone(), role, cfg.stale_threshold));
        let side = || Direction {
            side: Mutex::new(Side { link: link.clone(), generation: 0 }),
            in_place_by: AtomicU64::new(0),
        };
        Ok(Channel {
            name: cfg.name.as_str().into(),
            reader: side(),
            writer: side(),
            links: Mutex::new(link.clone()),
            link_generation: AtomicU64::new(0),
            live: Mutex::new(Liveness::new(role)),
            cfg,
            role,
            dir,
            beat,
            thread,
            creator: os::pid(),
        })
    }

    /// The channel's name.
    pub fn name(&self) -> &str {
        &self.cfg.name
    }

    /// This endpoint's role: [`Role::Master`] or [`Role::Slave`] (an `Auto` endpoint has
    /// resolved to one of them).
    pub fn role(&self) -> Role {
        self.role
    }

    /// The largest message, in bytes (the master's setting).
    pub fn max_message(&self) -> usize {
        self.link().max_message
    }

    /// The remote endpoint's role.
    fn remote_role(&self) -> Role {
        if self.role == Role::Master { Role::Slave } else { Role::Master }
    }

    /// The segment in use now.
    fn link(&self) -> Arc<Link> {
        self.links.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// A direction, locked, looking at the segment in use now. Waits while another thread
    /// uses it; [`HeldHere`] if this thread holds it for a message in place.
    pub(super) fn side<'a>(&self, dir: &'a Direction) -> Result<MutexGuard<'a, Side>, HeldHere> {
        let mut side = match dir.side.try_lock() {
            Ok(side) => side,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => {
                if dir.in_place_by.load(Ordering::Relaxed) == thread_number() {
                    return Err(HeldHere);
                }
                dir.side.lock().unwrap_or_else(|p| p.into_inner())
            }
        };
        self.refresh(&mut side);
        Ok(side)
    }

    /// Moves `side` to the segment in use, if a re-attachment changed it.
    fn refresh(&self, side: &mut Side) {
        let generation = self.link_generation.load(Ordering::Acquire);
        if generation != side.generation {
            side.link = self.link();
            side.generation = generation;
        }
    }

    pub(super) fn corrupt(link: &Link, c: Corrupt) -> Box<Error> {
        Box::new(Error::corrupt(link.seg.path(), c.0))
    }

    /// Writes `data`, waiting up to the write timeout while the queue is full (or, for a
    /// slave, while its master is missing).
    ///
    /// # Errors
    ///
    /// [`WriteError::TooLarge`], [`WriteError::Timeout`] (the queue stayed full, or the
    /// master stayed missing without the disconnect behaviour giving up on it yet),
    /// [`WriteError::Disconnected`] (per the disconnect behaviour), [`WriteError::Segment`].
    pub fn write(&self, data: &[u8]) -> Result<(), WriteError> {
        self.write_timeout(data, self.cfg.write_timeout)
    }

    /// Writes `data` if it can be written now; never waits.
    ///
    /// # Errors
    ///
    /// [`WriteError::Full`] if there is no room now (or, for a slave, its master is missing
    /// now), [`WriteError::Disconnected`] per the disconnect behaviour; otherwise as
    /// [`write`](Self::write).
    pub fn try_write(&self, data: &[u8]) -> Result<(), WriteError> {
        self.write_until(data, Instant::now(), None).map(|_| ())
    }

    /// Writes `data`, waiting up to `timeout` while the queue is full (or the master is
    /// missing).
    ///
    /// # Errors
    ///
    /// As [`write`](Self::write).
    pub fn write_timeout(&self, data: &[u8], timeout: Duration) -> Result<(), WriteError> {
        self.write_until(data, Instant::now() + timeout, None).map(|_| ())
    }

    /// The write operation with explicit deadlines: `deadline` for the whole operation, and
    /// `slice_end`, at which it returns `Ok(None)` so that the caller can look around (the
    /// Python module checks for Ctrl-C) and call again. An operation whose deadline has passed
    /// when it starts (`try_write`) does not wait: what cannot be written now is
    /// [`WriteError::Full`].
    #[doc(hidden)]
    pub fn write_until(
        &self,
        data: &[u8],
        deadline: Instant,
        slice_end: Option<Instant>,
    ) -> Result<Option<()>, WriteError> {
        let mut side = self.side(&self.writer).map_err(|HeldHere| WriteError::LoanHeld)?;
        self.write_loop(&mut side, data.len(), deadline, slice_end, |link| {
            Ok(Self::push(link, self.role, data)?.then_some(()))
        })
    }

    /// The writing loop: checks the size, then calls `attempt` until it returns something,
    /// waiting in between for room (or, for a slave, for its master) as `write_until` says.
    pub(super) fn write_loop<R>(
        &self,
        side: &mut Side,
        len: usize,
        deadline: Instant,
        slice_end: Option<Instant>,
        mut attempt: impl FnMut(&Link) -> Result<Option<R>, WriteError>,
    ) -> Result<Option<R>, WriteError> {
        let max = side.link.max_message;
        if len > max {
            return Err(WriteError::TooLarge { size: len, max });
        }
        side.link.beat(self.role);
        let patient = Instant::now() < deadline;
        // A master writes whether or not a slave is there; a slave needs its master.
        let needs_remote = self.role == Role::Slave
            || self.cfg.disconnect_behavior == DisconnectBehavior::Immediately;
        loop {
            let mut missing = false;
            let mut next_attempt = None;
            if needs_remote {
                match self.check_remote() {
                    Err(gone) => return Err(gone.into_write(&self.name)),
                    Ok(Remote::Present) => self.refresh(side),
                    Ok(Remote::Missing(at)) => {
                        missing = self.role == Role::Slave;
                        next_attempt = at;
                    }
                }
            }
            if !missing && let Some(done) = attempt(&side.link)? {
                return Ok(Some(done));
            }
            let now = Instant::now();
            let until = match wait::check(now, Some(deadline), slice_end) {
                Stand::Expired if patient => return Err(WriteError::Timeout),
                Stand::Expired => return Err(WriteError::Full),
                Stand::SliceEnd => return Ok(None),
                Stand::Until(until) => until.unwrap_or(deadline),
            };
            // Sleep in slices, to notice a remote that dies (or a master that comes back).
            let nap = nap(now, until, self.cfg.stale_threshold, next_attempt);
            if missing {
                std::thread::sleep(nap);
            } else {
                side.link.outgoing(self.role).wait_for_space(record_size(len), Some(nap));
            }
            side.link.beat(self.role);
        }
    }

    fn push(link: &Link, role: Role, data: &[u8]) -> Result<bool, WriteError> {
        let q = link.outgoing(role);
        let pushed = q.try_push(data).map_err(|c| WriteError::Segment(Self::corrupt(link, c)))?;
        if link.seg.is_broken() {
            return Err(WriteError::Segment(Box::new(link.seg.broken_error())));
        }
        match pushed {
            Push::Written(sleeper) => {
                if sleeper {
                    q.wake_consumer();
                }
                Ok(true)
            }
            Push::Full => Ok(false),
        }
    }
}

/// How long a waiting operation sleeps before it looks again: until `until`, but at most
/// half the stale threshold (to notice a remote that dies) and, if a reconnection attempt is
/// due, not past it; at least 1 ms.
fn nap(now: Instant, until: Instant, stale: Duration, next_attempt: Option<Instant>) -> Duration {
    let until = next_attempt.map_or(until, |a| a.min(until));
    until.saturating_duration_since(now).min(stale / 2).max(Duration::from_millis(1))
}

impl Drop for Channel {
    fn drop(&mut self) {
        if os::pid() != self.creator {
            // A forked child: the heartbeat thread does not exist here, and the endpoint and
            // the segment belong to the parent.
            if let Some(t) = self.thread.take() {
                std::mem::forget(t);
            }
            return;
        }
        *self.beat.stop.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.beat.wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let link = self.link();
        release_endpoint(&link, self.role);
        if self.role == Role::Master {
            if self.cfg.auto_cleanup && link.seg.is_current(&self.dir) {
                let _ = self.dir.unlink(link.seg.file_name());
            }
            if link.seg.state() == STATE_LIVE {
                segment::close(&link.seg, wake_segment);
            }
        } else {
            // Let a master that waits for our messages notice at once.
            for i in 0..2 {
                link.queue(i).wake_consumer();
                link.queue(i).wake_producer();
            }
        }
    }
}
