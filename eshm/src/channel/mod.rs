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
//! let mut master = Channel::open(&name, Role::Master)?;
//! let mut slave = Channel::open(&name, Role::Slave)?;    // usually another process
//! master.write(b"ping")?;
//! assert_eq!(slave.read()?, b"ping");
//! slave.write(b"")?;                                       // empty messages are messages
//! assert_eq!(master.read_timeout(Duration::from_secs(1))?, b"");
//! assert!(master.is_remote_alive());
//! assert_eq!(master.stats().m2s_read, 1);
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
//! # Liveness and disconnection
//!
//! Each endpoint refreshes a heartbeat in shared memory on every operation and, unless turned
//! off, from a background thread. The remote is *alive* when its heartbeat is younger than the
//! stale threshold and its process (pid and start time, so that a recycled pid is not mistaken
//! for it) exists. An operation that finds the remote not alive waits for it, up to its own
//! timeout, until the [`DisconnectBehavior`] gives up on the outage: at once, once it has
//! lasted `reconnect_wait` (the default), or when the reconnection budget is spent.
//!
//! When a master dies and a new one appears, a slave re-attaches by itself. Messages the old
//! master wrote and the slave had not read are delivered; messages the slave wrote and the old
//! master never read are counted in [`Stats::lost`]. Nothing is delivered twice, except a
//! message whose reader was killed while copying it out. When a slave dies, the master sees it
//! and the next slave takes the role over, receiving what was queued for the role.

pub(crate) mod queue;

use crate::error::{Error, Result};
use crate::layout::{ChannelHeader, Endpoint, QueueHeader, REGISTERING, STATE_LIVE};
use crate::pubsub::WaitStrategy;
use crate::segment::os::{self, Dir};
use crate::segment::{self, Created, HeaderInfo, NewSegment, Segment, SegmentKind, Trust};
use crate::sync::{AtomicU64, Ordering};
use queue::{Push, QueueView, record_size};
use std::mem::MaybeUninit;
use std::ptr::NonNull;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Which end of the channel an endpoint is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Creates (or takes over) the channel.
    Master,
    /// Attaches to the master's channel.
    Slave,
    /// Master if there is no live master, slave otherwise.
    Auto,
}

impl Role {
    /// `"master"`, `"slave"` or `"auto"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Master => "master",
            Role::Slave => "slave",
            Role::Auto => "auto",
        }
    }
}

/// When operations give up on a remote endpoint that is not alive (an *outage*), with
/// [`Error::Disconnected`].
///
/// Whatever the behaviour, an operation never blocks past its own timeout: while the remote
/// is missing and the behaviour has not given up yet, a blocking operation waits for it (a
/// slave looks for a new master meanwhile) and then reports [`Error::Timeout`]. The outage is
/// measured from the moment an operation first found the remote missing, across operations,
/// and so is the reconnection budget (`max_reconnect_attempts`): any behaviour gives up once
/// the outage has spent it. Messages the remote wrote before it went are read first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum DisconnectBehavior {
    /// Give up at once.
    Immediately,
    /// Give up once the outage has lasted `reconnect_wait` (the default).
    #[default]
    OnTimeout,
    /// Give up only when the reconnection budget is spent (never if it is unlimited).
    Never,
}

/// Counters and liveness of a channel, as [`Channel::stats`] reads them now. A superset of
/// the original ESHM's `ESHMStats`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Process id of the master (0 if none).
    pub master_pid: u32,
    /// Process id of the slave (0 if none).
    pub slave_pid: u32,
    /// Whether the master is alive (process running, heartbeat fresh).
    pub master_alive: bool,
    /// Whether the slave is alive.
    pub slave_alive: bool,
    /// Heartbeats of the master so far.
    pub master_heartbeat: u64,
    /// Heartbeats of the slave so far.
    pub slave_heartbeat: u64,
    /// Time since the master's last heartbeat.
    pub master_heartbeat_age: Option<Duration>,
    /// Time since the slave's last heartbeat.
    pub slave_heartbeat_age: Option<Duration>,
    /// Heartbeat age above which an endpoint is stale.
    pub stale_threshold: Duration,
    /// Messages written master to slave.
    pub m2s_written: u64,
    /// Messages read master to slave.
    pub m2s_read: u64,
    /// Messages written slave to master.
    pub s2m_written: u64,
    /// Messages read slave to master.
    pub s2m_read: u64,
    /// Payload bytes written master to slave.
    pub m2s_bytes_written: u64,
    /// Payload bytes read master to slave.
    pub m2s_bytes_read: u64,
    /// Payload bytes written slave to master.
    pub s2m_bytes_written: u64,
    /// Payload bytes read slave to master.
    pub s2m_bytes_read: u64,
    /// Times this endpoint re-attached to a new master (slaves) or saw a new slave (masters).
    pub reconnects: u64,
    /// Times this endpoint found the remote not alive after it had been.
    pub stale_events: u64,
    /// Messages this endpoint wrote that a dead remote never read.
    pub lost: u64,
    /// How many processes have held the master role of the current segment.
    pub master_generation: u64,
    /// How many processes have held the slave role of the current segment.
    pub slave_generation: u64,
}

/// Builds a [`Channel`]: `Channel::builder(name).role(Role::Slave).open()`.
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until `open` is called"]
pub struct ChannelBuilder {
    name: String,
    role: Role,
    capacity: usize,
    max_message: usize,
    stale_threshold: Duration,
    reconnect_interval: Duration,
    max_reconnect_attempts: Option<u32>,
    disconnect_behavior: DisconnectBehavior,
    reconnect_wait: Duration,
    auto_cleanup: bool,
    heartbeat_thread: bool,
    read_timeout: Duration,
    write_timeout: Duration,
    wait: WaitStrategy,
    mode: u32,
    trust: Trust,
}

impl ChannelBuilder {
    /// Master, slave or auto (default auto).
    pub fn role(mut self, role: Role) -> Self {
        self.role = role;
        self
    }

    /// Bytes of queue per direction (default 1 MiB). Must hold at least two records of the
    /// largest message. Only the master's value matters: a slave uses the segment's.
    pub fn capacity(mut self, bytes: usize) -> Self {
        self.capacity = bytes;
        self
    }

    /// Largest message, in bytes (default 64 KiB). Only the master's value matters.
    pub fn max_message(mut self, bytes: usize) -> Self {
        self.max_message = bytes;
        self
    }

    /// Heartbeat age above which the remote counts as stale (default 100 ms).
    pub fn stale_threshold(mut self, threshold: Duration) -> Self {
        self.stale_threshold = threshold;
        self
    }

    /// Time between reconnection attempts (default 100 ms).
    pub fn reconnect_interval(mut self, interval: Duration) -> Self {
        self.reconnect_interval = interval;
        self
    }

    /// Reconnection attempts before giving up; `None` for no limit (default 50). A slave
    /// opening the channel spends them waiting for its master; afterwards they count per
    /// outage, across operations: once an outage has used them all, operations that need the
    /// remote check it once and fail at once, until it is back (which refills the budget).
    pub fn max_reconnect_attempts(mut self, attempts: Option<u32>) -> Self {
        self.max_reconnect_attempts = attempts;
        self
    }

    /// What operations do when the remote is not alive (default
    /// [`DisconnectBehavior::OnTimeout`]).
    pub fn disconnect_behavior(mut self, behavior: DisconnectBehavior) -> Self {
        self.disconnect_behavior = behavior;
        self
    }

    /// How long an outage lasts before [`DisconnectBehavior::OnTimeout`] gives up on it
    /// (default 5 s).
    pub fn reconnect_wait(mut self, wait: Duration) -> Self {
        self.reconnect_wait = wait;
        self
    }

    /// Whether a master that is dropped removes the channel's name (default `true`).
    pub fn auto_cleanup(mut self, cleanup: bool) -> Self {
        self.auto_cleanup = cleanup;
        self
    }

    /// Whether a background thread keeps this endpoint's heartbeat fresh (default `true`;
    /// without it, only operations refresh it, and an idle endpoint looks stale).
    pub fn heartbeat_thread(mut self, enabled: bool) -> Self {
        self.heartbeat_thread = enabled;
        self
    }

    /// Timeout of [`Channel::read`] and [`Channel::read_into`] (default 1 s).
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// Timeout of [`Channel::write`] while the queue is full (default 1 s).
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// How blocking calls wait (default: spin 20 µs, then sleep on a futex).
    pub fn wait_strategy(mut self, wait: WaitStrategy) -> Self {
        self.wait = wait;
        self
    }

    /// Permission bits of the segment a master creates (default `0o600`).
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = mode & 0o777;
        self
    }

    /// Accept a segment created by another user, or writable by others (refused by default).
    pub fn allow_other_owners(mut self, allow: bool) -> Self {
        self.trust.other_owners = allow;
        self
    }

    /// Opens the channel in the configured role.
    ///
    /// # Errors
    ///
    /// - [`Error::InvalidName`] for an unusable name, [`Error::InvalidArgument`] for sizes
    ///   that do not fit (capacity below two records of the largest message);
    /// - [`Error::RoleTaken`] if a live process holds the role (a master, or for a slave, a
    ///   live slave);
    /// - [`Error::NotFound`] or [`Error::Disconnected`] if a slave finds no live master within
    ///   its reconnection attempts;
    /// - [`Error::Corrupt`], [`Error::Permission`], [`Error::Io`] for unusable segments.
    pub fn open(self) -> Result<Channel> {
        Channel::open_with(self, true)
    }

    /// Like [`open`](Self::open), but a slave looks for its master once instead of retrying:
    /// it fails at once with [`Error::NotFound`] or [`Error::Disconnected`] if there is no
    /// live master now. The channel it opens keeps the configured reconnection budget. For
    /// callers that wait in their own loop (to stay responsive to a shutdown request, say).
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open).
    pub fn try_open(self) -> Result<Channel> {
        Channel::open_with(self, false)
    }
}

/// A mapped channel segment, with pointers to its (checked) header and queues.
struct Link {
    seg: Segment,
    header: NonNull<ChannelHeader>,
    queues: [(NonNull<QueueHeader>, NonNull<AtomicU64>); 2],
    data_words: usize,
    max_message: usize,
}

// SAFETY: the pointers point into `seg`'s mapping, which moves with the struct, and reach only
// atomics; using them from another thread (the heartbeat thread) is as sound as from this one.
unsafe impl Send for Link {}
// SAFETY: `&Link` gives out only shared references to atomics.
unsafe impl Sync for Link {}

impl Link {
    /// Checks the channel header of a segment and keeps pointers to it.
    fn new(seg: Segment, info: HeaderInfo) -> Result<Link> {
        let bad = |reason: String| Error::corrupt(seg.path(), reason);
        let body = info.body_offset;
        if body.checked_add(size_of::<ChannelHeader>()).is_none_or(|end| end > seg.len()) {
            return Err(bad("the channel header runs past the end of the file".into()));
        }
        let header: &ChannelHeader = seg.at(body);
        let rd = |a: &AtomicU64| usize::try_from(a.load(Ordering::Acquire)).unwrap_or(usize::MAX);
        let capacity = rd(&header.capacity);
        let max_message = rd(&header.max_message);
        if capacity == 0 || !capacity.is_multiple_of(8) || capacity > MAX_CAPACITY {
            return Err(bad(format!(
                "queue capacity {capacity} is not a positive multiple of 8 up to {MAX_CAPACITY}"
            )));
        }
        if record_size(max_message).saturating_mul(2) > capacity as u64 {
            return Err(bad(format!(
                "largest message {max_message} does not fit twice in {capacity} bytes"
            )));
        }
        let mut queues = [(NonNull::dangling(), NonNull::dangling()); 2];
        for (i, q) in queues.iter_mut().enumerate() {
            let at = rd(&header.queue_offset[i]);
            let data = at.checked_add(size_of::<QueueHeader>());
            if !at.is_multiple_of(64)
                || data.and_then(|d| d.checked_add(capacity)).is_none_or(|end| end > seg.len())
            {
                return Err(bad(format!("queue {i} at offset {at} runs past the end of the file")));
            }
            let qh: &QueueHeader = seg.at(at);
            let words = seg.words(at + size_of::<QueueHeader>(), capacity / 8);
            *q = (NonNull::from(qh), NonNull::from(words).cast::<AtomicU64>());
        }
        Ok(Link {
            header: NonNull::from(header),
            seg,
            queues,
            data_words: capacity / 8,
            max_message,
        })
    }

    fn header(&self) -> &ChannelHeader {
        // SAFETY: derived in `new` from a checked reference into `self.seg`'s mapping, which
        // lives as long as `self`; all atomics.
        unsafe { self.header.as_ref() }
    }

    /// Queue 0 carries master to slave, queue 1 slave to master.
    fn queue(&self, i: usize) -> QueueView<'_> {
        let (header, data) = self.queues[i];
        // SAFETY: as in `header`: checked in `new` (`at` and `words`), same mapping.
        let header = unsafe { header.as_ref() };
        // SAFETY: as above; `data_words` words were checked to lie inside the mapping.
        let data = unsafe { std::slice::from_raw_parts(data.as_ptr(), self.data_words) };
        QueueView { header, data, max_message: self.max_message }
    }

    fn endpoint(&self, role: Role) -> &Endpoint {
        match role {
            Role::Slave => &self.header().slave,
            _ => &self.header().master,
        }
    }

    fn outgoing(&self, role: Role) -> QueueView<'_> {
        self.queue(if role == Role::Master { 0 } else { 1 })
    }

    fn incoming(&self, role: Role) -> QueueView<'_> {
        self.queue(if role == Role::Master { 1 } else { 0 })
    }

    fn beat(&self, role: Role) {
        let ep = self.endpoint(role);
        ep.heartbeat_ns.store(os::coarse_ns(), Ordering::Release);
        // A statistic: load and store, not a locked add on every message. The heartbeat thread
        // beating at the same moment can make one beat go uncounted, nothing more.
        ep.heartbeats.store(ep.heartbeats.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }
}

/// Where a waiting operation stands at `now`: [`Error::Timeout`] past its deadline, `None` at
/// the end of its slice (the caller returns to look around), else until when to wait.
fn wait_until(
    now: Instant,
    deadline: Instant,
    slice_end: Option<Instant>,
) -> Result<Option<Instant>> {
    if now >= deadline {
        return Err(Error::Timeout);
    }
    match slice_end {
        Some(end) if now >= end => Ok(None),
        Some(end) => Ok(Some(end.min(deadline))),
        None => Ok(Some(deadline)),
    }
}

/// What `eshm::inspect` shows of a channel: its endpoints and queues, the queue capacity and
/// the largest message. The header is checked as when attaching.
pub(crate) fn inspect(
    seg: Segment,
    info: HeaderInfo,
) -> Result<(crate::inspect::ChannelDetails, usize, usize)> {
    use crate::inspect::{ChannelDetails, EndpointInfo, QueueInfo};
    let link = Link::new(seg, info)?;
    let now = os::coarse_ns();
    let endpoint = |role: Role| {
        let ep = link.endpoint(role);
        let pid = ep.pid.load(Ordering::Acquire);
        let beat = ep.heartbeat_ns.load(Ordering::Acquire);
        EndpointInfo {
            pid: pid & !REGISTERING,
            alive: pid & REGISTERING == 0
                && pid != 0
                && ep.attached.load(Ordering::Acquire) != 0
                && os::is_alive(pid, ep.start_time.load(Ordering::Acquire)),
            heartbeat_age: (beat != 0).then(|| Duration::from_nanos(now.saturating_sub(beat))),
            heartbeats: ep.heartbeats.load(Ordering::Relaxed),
            generation: ep.generation.load(Ordering::Relaxed),
        }
    };
    let queue = |q: QueueView<'_>| {
        let (written, bytes_written, read, bytes_read) = q.counters();
        QueueInfo { written, bytes_written, read, bytes_read }
    };
    let details = ChannelDetails {
        master: endpoint(Role::Master),
        slave: endpoint(Role::Slave),
        master_to_slave: queue(link.outgoing(Role::Master)),
        slave_to_master: queue(link.outgoing(Role::Slave)),
    };
    Ok((details, link.data_words * 8, link.max_message))
}

/// Wakes everyone asleep on a channel segment (used when it is closed or superseded). Reads
/// only offsets it checks, so a corrupt segment wakes nobody rather than panicking.
pub(crate) fn wake_segment(seg: &Segment) {
    let Ok(info) = seg.read_header(SegmentKind::Channel) else { return };
    let body = info.body_offset;
    if body.checked_add(size_of::<ChannelHeader>()).is_none_or(|end| end > seg.len()) {
        return;
    }
    let header: &ChannelHeader = seg.at(body);
    for offset in &header.queue_offset {
        let at = usize::try_from(offset.load(Ordering::Acquire)).unwrap_or(usize::MAX);
        if at.is_multiple_of(64)
            && at.checked_add(size_of::<QueueHeader>()).is_some_and(|end| end <= seg.len())
        {
            let q: &QueueHeader = seg.at(at);
            for word in [&q.data_futex, &q.space_futex] {
                crate::sync::futex::bump_and_wake(word);
            }
        }
    }
}

/// The largest queue accepted, in bytes per direction.
pub const MAX_CAPACITY: usize = 1 << 30;

/// What the heartbeat thread shares with its channel.
struct Beat {
    link: Mutex<Option<Arc<Link>>>,
    stop: Mutex<bool>,
    wake: Condvar,
}

/// One endpoint of a duplex byte channel. See the [module docs](self).
pub struct Channel {
    cfg: ChannelBuilder,
    role: Role,
    dir: Dir,
    link: Arc<Link>,
    beat: Arc<Beat>,
    thread: Option<JoinHandle<()>>,
    /// Last answer of `is_remote_alive` and when it was computed (the `/proc` check is not
    /// free, so it is reused for a few ms).
    remote_cache: Option<(Instant, bool)>,
    remote_was_alive: bool,
    reconnects: u64,
    stale_events: u64,
    lost: u64,
    slave_generation_seen: u64,
    /// The current outage of the remote (`None` while it is alive).
    outage: Option<Outage>,
}

/// A period during which the remote is missing, as far as operations have looked.
#[derive(Clone, Copy, Debug)]
struct Outage {
    /// When an operation first found the remote missing.
    since: Instant,
    /// Reconnection attempts made since.
    attempts: u32,
    /// When the next attempt is due.
    next: Instant,
}

impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channel").field("name", &self.cfg.name).field("role", &self.role).finish()
    }
}

/// How long a cached liveness verdict is reused.
const LIVENESS_CACHE: Duration = Duration::from_millis(5);

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
        ChannelBuilder {
            name: name.to_owned(),
            role: Role::Auto,
            capacity: 1 << 20,
            max_message: 64 << 10,
            stale_threshold: Duration::from_millis(100),
            reconnect_interval: Duration::from_millis(100),
            max_reconnect_attempts: Some(50),
            disconnect_behavior: DisconnectBehavior::OnTimeout,
            reconnect_wait: Duration::from_secs(5),
            auto_cleanup: true,
            heartbeat_thread: true,
            read_timeout: Duration::from_secs(1),
            write_timeout: Duration::from_secs(1),
            wait: WaitStrategy::default(),
            mode: 0o600,
            trust: Trust::default(),
        }
    }

    fn open_with(cfg: ChannelBuilder, wait_for_master: bool) -> Result<Channel> {
        segment::file_name(SegmentKind::Channel, &cfg.name)?;
        if cfg.stale_threshold.is_zero() {
            return Err(Error::InvalidArgument("the stale threshold must be positive".into()));
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
        let slave_generation_seen = link.header().slave.generation.load(Ordering::Acquire);
        Ok(Channel {
            cfg,
            role,
            dir,
            link,
            beat,
            thread,
            remote_cache: None,
            remote_was_alive: false,
            reconnects: 0,
            stale_events: 0,
            lost: 0,
            slave_generation_seen,
            outage: None,
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

    /// The remote endpoint's role.
    fn remote_role(&self) -> Role {
        if self.role == Role::Master { Role::Slave } else { Role::Master }
    }

    /// Whether the remote endpoint is alive: attached, its heartbeat younger than the stale
    /// threshold, and its process running.
    pub fn is_remote_alive(&self) -> bool {
        endpoint_alive(self.link.endpoint(self.remote_role()), self.cfg.stale_threshold)
    }

    /// Refreshes this endpoint's heartbeat.
    fn beat(&self) {
        self.link.beat(self.role);
    }

    /// `is_remote_alive`, reusing a verdict for a few ms; counts stale events and, for a
    /// master, slaves that took the role over.
    fn remote_alive_cached(&mut self) -> bool {
        if let Some((at, alive)) = self.remote_cache
            && alive
            && at.elapsed() < LIVENESS_CACHE
        {
            return true;
        }
        let alive = self.is_remote_alive();
        self.remote_cache = Some((Instant::now(), alive));
        if self.remote_was_alive && !alive {
            self.stale_events += 1;
        }
        if self.role == Role::Master {
            let generation = self.link.header().slave.generation.load(Ordering::Acquire);
            if generation != self.slave_generation_seen {
                if self.slave_generation_seen != 0 {
                    self.reconnects += 1;
                }
                self.slave_generation_seen = generation;
            }
        }
        self.remote_was_alive = alive;
        alive
    }

    /// Makes sure the remote is alive, waiting for it (a slave looks for a new master
    /// meanwhile). While it is missing: [`Error::Disconnected`] once the disconnect behaviour
    /// gives up on the outage (at once, after `reconnect_wait`, or never) or the outage has
    /// spent the reconnection budget; else [`Error::Timeout`] at `deadline`, or `Ok(false)` at
    /// `slice_end`. An operation that is not `patient` (its deadline had passed when it
    /// started: the `try_` operations) does not wait: a missing remote is
    /// [`Error::Disconnected`] at once.
    fn ensure_remote(
        &mut self,
        deadline: Instant,
        slice_end: Option<Instant>,
        patient: bool,
    ) -> Result<bool> {
        if (self.link.seg.state() == STATE_LIVE && self.remote_alive_cached())
            || (self.role == Role::Slave && self.try_reattach()? && self.remote_alive_cached())
        {
            self.outage = None;
            return Ok(true);
        }
        let interval = self.cfg.reconnect_interval;
        let start = Instant::now();
        let mut outage = *self.outage.get_or_insert(Outage {
            since: start,
            attempts: 0,
            next: start + interval,
        });
        let give_up = match self.cfg.disconnect_behavior {
            DisconnectBehavior::Immediately => Some(outage.since),
            DisconnectBehavior::OnTimeout => outage.since.checked_add(self.cfg.reconnect_wait),
            DisconnectBehavior::Never => None,
        };
        loop {
            self.outage = Some(outage);
            let now = Instant::now();
            let budget_spent =
                self.cfg.max_reconnect_attempts.is_some_and(|max| outage.attempts >= max);
            if !patient || budget_spent || give_up.is_some_and(|at| now >= at) {
                let what = if self.role == Role::Slave {
                    "the master is gone or stale"
                } else {
                    "no live slave is attached"
                };
                let spent = if budget_spent { ", all max_reconnect_attempts spent" } else { "" };
                return Err(Error::Disconnected {
                    name: self.cfg.name.clone(),
                    reason: format!(
                        "{what} (missing for {:.1?}, {} reconnection attempt(s){spent})",
                        now - outage.since,
                        outage.attempts
                    ),
                });
            }
            if now >= deadline {
                return Err(Error::Timeout);
            }
            if slice_end.is_some_and(|end| now >= end) {
                return Ok(false);
            }
            if now < outage.next {
                let wake = [give_up, Some(deadline), slice_end]
                    .into_iter()
                    .flatten()
                    .fold(outage.next, Instant::min);
                std::thread::sleep(wake.saturating_duration_since(now));
                continue;
            }
            outage.attempts += 1;
            outage.next = now + interval;
            self.beat();
            self.remote_cache = None;
            if self.role == Role::Slave {
                self.try_reattach()?;
            }
            if self.link.seg.state() == STATE_LIVE && self.remote_alive_cached() {
                self.outage = None;
                return Ok(true);
            }
        }
    }

    /// Slave: if the name now refers to a new segment with a live master, moves to it.
    /// Messages this slave wrote that the old master never read are counted as lost, and so
    /// are messages the old master wrote that this slave had not read (a reader only gets here
    /// once it has read them all).
    fn try_reattach(&mut self) -> Result<bool> {
        let Some((seg, info)) =
            segment::open(&self.dir, SegmentKind::Channel, &self.cfg.name, self.cfg.trust)?
        else {
            return Ok(false);
        };
        if seg.id() == self.link.seg.id() || !os::is_alive(info.owner_pid, info.owner_start_time) {
            return Ok(false);
        }
        let link = Link::new(seg, info)?;
        claim_slave(&link, &self.cfg.name)?;
        let old = std::mem::replace(&mut self.link, Arc::new(link));
        self.lost += old.outgoing(Role::Slave).pending() + old.incoming(Role::Slave).pending();
        release_endpoint(&old, Role::Slave);
        *self.beat.link.lock().unwrap_or_else(|p| p.into_inner()) = Some(self.link.clone());
        self.reconnects += 1;
        self.remote_cache = None;
        Ok(true)
    }

    fn too_large(&self, size: usize) -> Error {
        Error::MessageTooLarge {
            size,
            max: self.link.max_message,
            hint: " (the master sets the largest message with `max_message`)",
        }
    }

    /// Writes `data`, waiting up to the write timeout while the queue is full or the remote
    /// is missing.
    ///
    /// # Errors
    ///
    /// [`Error::MessageTooLarge`], [`Error::Timeout`] (the queue stayed full, or the remote
    /// stayed missing without the disconnect behaviour giving up on it yet),
    /// [`Error::Disconnected`] (per the disconnect behaviour), [`Error::Corrupt`].
    pub fn write(&mut self, data: &[u8]) -> Result<()> {
        self.write_timeout(data, self.cfg.write_timeout)
    }

    /// Writes `data` if there is room now; never waits, not even for a missing remote.
    ///
    /// # Errors
    ///
    /// [`Error::Full`] if there is no room now, [`Error::Disconnected`] if the remote is not
    /// alive; otherwise as [`write`](Self::write).
    pub fn try_write(&mut self, data: &[u8]) -> Result<()> {
        let now = Instant::now();
        match self.write_until(data, now, None) {
            Err(Error::Timeout) => Err(Error::Full),
            other => other.map(|done| debug_assert!(done.is_some())),
        }
    }

    /// Writes `data`, waiting up to `timeout` while the queue is full or the remote is
    /// missing.
    ///
    /// # Errors
    ///
    /// As [`write`](Self::write).
    pub fn write_timeout(&mut self, data: &[u8], timeout: Duration) -> Result<()> {
        self.write_until(data, Instant::now() + timeout, None).map(|_| ())
    }

    /// The write operation with explicit deadlines: `deadline` for the whole operation, and
    /// `slice_end`, at which it returns `Ok(None)` so that the caller can look around (the
    /// Python module checks for Ctrl-C) and call again.
    #[doc(hidden)]
    pub fn write_until(
        &mut self,
        data: &[u8],
        deadline: Instant,
        slice_end: Option<Instant>,
    ) -> Result<Option<()>> {
        if data.len() > self.link.max_message {
            return Err(self.too_large(data.len()));
        }
        self.beat();
        let patient = Instant::now() < deadline;
        loop {
            if !self.ensure_remote(deadline, slice_end, patient)? {
                return Ok(None);
            }
            if self.push(data)? {
                return Ok(Some(()));
            }
            let now = Instant::now();
            let Some(until) = wait_until(now, deadline, slice_end)? else { return Ok(None) };
            // Sleep in slices, to notice a remote that dies while we wait for room.
            let nap = (until - now).min(self.cfg.stale_threshold / 2).max(Duration::from_millis(1));
            self.link.outgoing(self.role).wait_for_space(record_size(data.len()), Some(nap));
            self.beat();
        }
    }

    fn push(&mut self, data: &[u8]) -> Result<bool> {
        let q = self.link.outgoing(self.role);
        match q.try_push(data).map_err(|c| Error::corrupt(self.link.seg.path(), c.0))? {
            Push::Written(sleeper) => {
                if sleeper {
                    q.wake_consumer();
                }
                Ok(true)
            }
            Push::Full => Ok(false),
        }
    }

    /// Reads the next message, waiting up to the read timeout.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`], [`Error::Disconnected`] (per the disconnect behaviour, once every
    /// message the remote wrote has been read), [`Error::Corrupt`].
    pub fn read(&mut self) -> Result<Vec<u8>> {
        self.read_timeout(self.cfg.read_timeout)
    }

    /// Reads the next message, waiting up to `timeout`.
    ///
    /// # Errors
    ///
    /// As [`read`](Self::read).
    pub fn read_timeout(&mut self, timeout: Duration) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.read_until(Instant::now() + timeout, None, &mut out)?;
        Ok(out)
    }

    /// The next message if one is queued; never waits.
    ///
    /// # Errors
    ///
    /// [`Error::Disconnected`] if nothing is queued and the remote is not alive; otherwise as
    /// [`read`](Self::read), without [`Error::Timeout`].
    pub fn try_read(&mut self) -> Result<Option<Vec<u8>>> {
        let mut out = Vec::new();
        let now = Instant::now();
        match self.read_until(now, None, &mut out) {
            Ok(_) => Ok(Some(out)),
            Err(Error::Timeout) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Reads the next message into `buf` without allocating, waiting up to the read timeout;
    /// returns its length.
    ///
    /// # Errors
    ///
    /// [`Error::BufferTooSmall`] (the message stays queued) or as [`read`](Self::read).
    pub fn read_into(&mut self, buf: &mut [u8]) -> Result<usize> {
        self.read_into_timeout(buf, self.cfg.read_timeout)
    }

    /// Reads the next message into `buf`, waiting up to `timeout`; returns its length.
    ///
    /// # Errors
    ///
    /// As [`read_into`](Self::read_into).
    pub fn read_into_timeout(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize> {
        let n = self.read_until(Instant::now() + timeout, None, Sink::Slice(buf))?;
        Ok(n.expect("no slice end"))
    }

    /// Reads the next message into `buf` if one is queued; `Ok(None)` otherwise.
    ///
    /// # Errors
    ///
    /// As [`try_read`](Self::try_read), and [`Error::BufferTooSmall`].
    pub fn try_read_into(&mut self, buf: &mut [u8]) -> Result<Option<usize>> {
        let now = Instant::now();
        match self.read_until(now, None, Sink::Slice(buf)) {
            Ok(n) => Ok(n),
            Err(Error::Timeout) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The read operation with explicit deadlines (see [`write_until`](Self::write_until)):
    /// the message goes into `sink` (a `Vec<u8>`, replaced, or a `&mut [u8]`); returns its
    /// length, or `Ok(None)` at `slice_end`.
    #[doc(hidden)]
    pub fn read_until<'s>(
        &mut self,
        deadline: Instant,
        slice_end: Option<Instant>,
        sink: impl Into<Sink<'s>>,
    ) -> Result<Option<usize>> {
        let mut sink = sink.into();
        self.beat();
        // Whether the deadline had not passed when the operation started, read only once the
        // queue turns out empty (a message waiting needs no clock).
        let mut patient = None;
        let mut polls = 0u32;
        loop {
            if let Some(n) = self.pop(&mut sink)? {
                return Ok(Some(n));
            }
            let patient = *patient.get_or_insert_with(|| Instant::now() < deadline);
            // Nothing queued: is there still someone to write?
            polls = polls.wrapping_add(1);
            if polls % 64 == 1 {
                if !self.ensure_remote(deadline, slice_end, patient)? {
                    return Ok(None);
                }
                if let Some(n) = self.pop(&mut sink)? {
                    return Ok(Some(n));
                }
            }
            let now = Instant::now();
            let Some(until) = wait_until(now, deadline, slice_end)? else { return Ok(None) };
            let q = self.link.incoming(self.role);
            let spin_until = match self.cfg.wait {
                WaitStrategy::Spin => until,
                WaitStrategy::SpinThenPark(d) => (now + d).min(until),
                WaitStrategy::Park => now,
            };
            let mut spins = 0u32;
            while q.header.head.load(Ordering::Acquire) == q.header.tail.load(Ordering::Relaxed) {
                spins = spins.wrapping_add(1);
                if spins.is_multiple_of(64) && Instant::now() >= spin_until {
                    break;
                }
                if self.cfg.wait != WaitStrategy::Spin {
                    crate::sync::spin_loop();
                }
            }
            if !matches!(self.cfg.wait, WaitStrategy::Spin) {
                let nap = until
                    .saturating_duration_since(Instant::now())
                    .min(self.cfg.stale_threshold / 2)
                    .max(Duration::from_millis(1));
                q.wait_for_data(Some(nap));
                self.beat();
                polls = 0;
            }
        }
    }

    /// Takes the next message into `sink`, if there is one.
    fn pop(&mut self, sink: &mut Sink<'_>) -> Result<Option<usize>> {
        let q = self.link.incoming(self.role);
        let corrupt = |c: queue::Corrupt| Error::corrupt(self.link.seg.path(), c.0);
        let Some(record) = q.peek().map_err(corrupt)? else { return Ok(None) };
        let dst: &mut [MaybeUninit<u8>] = match sink {
            Sink::Vec(v) => {
                v.clear();
                v.reserve_exact(record.len);
                &mut v.spare_capacity_mut()[..record.len]
            }
            Sink::Slice(buf) => {
                if buf.len() < record.len {
                    return Err(Error::BufferTooSmall { needed: record.len, capacity: buf.len() });
                }
                // SAFETY: `u8` and `MaybeUninit<u8>` have the same layout, and the copy only
                // writes initialised bytes into the buffer, which stays initialised.
                unsafe {
                    &mut *(std::ptr::from_mut(&mut buf[..record.len]) as *mut [MaybeUninit<u8>])
                }
            }
        };
        q.copy(&record, dst);
        if let Sink::Vec(v) = sink {
            // SAFETY: `copy` initialised the first `record.len` bytes of the spare capacity.
            unsafe { v.set_len(record.len) };
        }
        if q.consume(&record) {
            q.wake_producer();
        }
        Ok(Some(record.len))
    }

    /// Counters and liveness now.
    pub fn stats(&self) -> Stats {
        let link = &self.link;
        let h = link.header();
        let coarse = os::coarse_ns();
        let age = |ep: &Endpoint| {
            let t = ep.heartbeat_ns.load(Ordering::Acquire);
            (t != 0).then(|| Duration::from_nanos(coarse.saturating_sub(t)))
        };
        let pid = |ep: &Endpoint| ep.pid.load(Ordering::Acquire) & !REGISTERING;
        let (m2s_w, m2s_bw, m2s_r, m2s_br) = link.queue(0).counters();
        let (s2m_w, s2m_bw, s2m_r, s2m_br) = link.queue(1).counters();
        Stats {
            master_pid: pid(&h.master),
            slave_pid: pid(&h.slave),
            master_alive: endpoint_alive(&h.master, self.cfg.stale_threshold),
            slave_alive: endpoint_alive(&h.slave, self.cfg.stale_threshold),
            master_heartbeat: h.master.heartbeats.load(Ordering::Relaxed),
            slave_heartbeat: h.slave.heartbeats.load(Ordering::Relaxed),
            master_heartbeat_age: age(&h.master),
            slave_heartbeat_age: age(&h.slave),
            stale_threshold: self.cfg.stale_threshold,
            m2s_written: m2s_w,
            m2s_read: m2s_r,
            s2m_written: s2m_w,
            s2m_read: s2m_r,
            m2s_bytes_written: m2s_bw,
            m2s_bytes_read: m2s_br,
            s2m_bytes_written: s2m_bw,
            s2m_bytes_read: s2m_br,
            reconnects: self.reconnects,
            stale_events: self.stale_events,
            lost: self.lost,
            master_generation: h.master.generation.load(Ordering::Relaxed),
            slave_generation: h.slave.generation.load(Ordering::Relaxed),
        }
    }
}

/// Where [`Channel::read_until`] puts a message.
#[doc(hidden)]
#[derive(Debug)]
pub enum Sink<'a> {
    /// Replaces the vector's contents.
    Vec(&'a mut Vec<u8>),
    /// Fills the start of the slice ([`Error::BufferTooSmall`] if it is too short).
    Slice(&'a mut [u8]),
}

impl<'a> From<&'a mut Vec<u8>> for Sink<'a> {
    fn from(v: &'a mut Vec<u8>) -> Self {
        Sink::Vec(v)
    }
}

impl Drop for Channel {
    fn drop(&mut self) {
        *self.beat.stop.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.beat.wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        release_endpoint(&self.link, self.role);
        if self.role == Role::Master {
            if self.cfg.auto_cleanup && self.link.seg.is_current(&self.dir) {
                let _ = self.dir.unlink(self.link.seg.file_name());
            }
            if self.link.seg.state() == STATE_LIVE {
                segment::close(&self.link.seg, wake_segment);
            }
        } else {
            // Let a master that waits for our messages notice at once.
            for i in 0..2 {
                self.link.queue(i).wake_consumer();
                self.link.queue(i).wake_producer();
            }
        }
    }
}

/// Whether `ep`'s holder is attached, has a fresh heartbeat, and runs.
fn endpoint_alive(ep: &Endpoint, stale: Duration) -> bool {
    let pid = ep.pid.load(Ordering::Acquire);
    if pid == 0 || pid & REGISTERING != 0 || ep.attached.load(Ordering::Acquire) == 0 {
        return false;
    }
    let beat = ep.heartbeat_ns.load(Ordering::Acquire);
    let age = os::coarse_ns().saturating_sub(beat);
    // The coarse clock ticks every few ms: allow for one tick.
    if Duration::from_nanos(age) > stale + Duration::from_millis(4) {
        return false;
    }
    os::is_alive(pid, ep.start_time.load(Ordering::Acquire))
}

/// Fills in an endpoint for this process (after its pid was claimed).
fn take_endpoint(ep: &Endpoint) {
    ep.start_time.store(os::self_start_time(), Ordering::Release);
    ep.heartbeat_ns.store(os::coarse_ns(), Ordering::Release);
    ep.generation.fetch_add(1, Ordering::AcqRel);
    ep.attached.store(1, Ordering::Release);
    ep.pid.store(os::pid(), Ordering::Release);
}

/// Gives up this process's endpoint on `link` (if it still holds it).
fn release_endpoint(link: &Link, role: Role) {
    let ep = link.endpoint(role);
    if ep.pid.load(Ordering::Acquire) == os::pid() {
        ep.attached.store(0, Ordering::Release);
        if role == Role::Slave {
            ep.pid.store(0, Ordering::Release);
        }
    }
}

/// Creates the channel (or takes over a dead master's), with the sizes of `cfg`: only the
/// master's sizes count, so only a master checks them.
fn create_master(dir: &Dir, cfg: &ChannelBuilder) -> Result<Link> {
    let capacity = cfg.capacity.next_multiple_of(8);
    if cfg.max_message > MAX_CAPACITY / 2 || capacity > MAX_CAPACITY {
        return Err(Error::InvalidArgument(format!("queues are limited to {MAX_CAPACITY} bytes")));
    }
    if record_size(cfg.max_message) * 2 > capacity as u64 {
        return Err(Error::InvalidArgument(format!(
            "a capacity of {capacity} bytes cannot hold two messages of {} bytes; raise the \
             capacity to at least {}",
            cfg.max_message,
            record_size(cfg.max_message) * 2
        )));
    }
    let queue_len = size_of::<QueueHeader>() + capacity;
    let spec = NewSegment {
        kind: SegmentKind::Channel,
        name: &cfg.name,
        schema: &[],
        fingerprint: 0,
        body_len: size_of::<ChannelHeader>() + 2 * queue_len.next_multiple_of(64),
        body_align: 64,
        mode: cfg.mode,
    };
    let created = segment::create(
        dir,
        &spec,
        |seg, body| {
            let h: &ChannelHeader = seg.at(body);
            h.capacity.store(capacity as u64, Ordering::Relaxed);
            h.max_message.store(cfg.max_message as u64, Ordering::Relaxed);
            let first = body + size_of::<ChannelHeader>();
            h.queue_offset[0].store(first as u64, Ordering::Relaxed);
            h.queue_offset[1]
                .store((first + queue_len.next_multiple_of(64)) as u64, Ordering::Relaxed);
            take_endpoint(&h.master);
        },
        wake_segment,
    )?;
    let (seg, info) = match created {
        Created::New(seg, info) => (seg, info),
        Created::Owned { pid } => {
            return Err(Error::RoleTaken { name: cfg.name.clone(), role: "master", pid });
        }
    };
    Link::new(seg, info)
}

/// Attaches to a live master, retrying as the reconnection budget allows if `wait`.
fn attach_slave(dir: &Dir, cfg: &ChannelBuilder, wait: bool) -> Result<Link> {
    let budget = if wait { cfg.max_reconnect_attempts } else { Some(0) };
    let mut attempts = 0u32;
    loop {
        let reason = match segment::open(dir, SegmentKind::Channel, &cfg.name, cfg.trust)? {
            Some((seg, info))
                if os::is_alive(info.owner_pid, info.owner_start_time)
                    && seg.state() == STATE_LIVE =>
            {
                let link = Link::new(seg, info)?;
                claim_slave(&link, &cfg.name)?;
                return Ok(link);
            }
            Some((_, info)) => Some(format!("its master (pid {}) is not running", info.owner_pid)),
            None => None,
        };
        attempts += 1;
        if budget.is_some_and(|max| attempts > max) {
            return Err(match reason {
                Some(reason) => Error::Disconnected { name: cfg.name.clone(), reason },
                None => Error::NotFound { name: cfg.name.clone() },
            });
        }
        std::thread::sleep(cfg.reconnect_interval);
    }
}

/// Claims the slave endpoint, unless a live slave holds it.
fn claim_slave(link: &Link, name: &str) -> Result<()> {
    let ep = &link.header().slave;
    let me = os::pid();
    loop {
        let pid = ep.pid.load(Ordering::Acquire);
        let free = match pid {
            0 => true,
            p if p & REGISTERING != 0 => os::start_time(p & !REGISTERING).is_none(),
            p => !os::is_alive(p, ep.start_time.load(Ordering::Acquire)),
        };
        if !free {
            return Err(Error::RoleTaken { name: name.to_owned(), role: "slave", pid });
        }
        if ep
            .pid
            .compare_exchange(pid, me | REGISTERING, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            take_endpoint(ep);
            return Ok(());
        }
    }
}

fn spawn_heartbeat(beat: Arc<Beat>, role: Role, stale: Duration) -> JoinHandle<()> {
    let period = (stale / 4).clamp(Duration::from_millis(1), Duration::from_secs(1));
    std::thread::Builder::new()
        .name("eshm-heartbeat".into())
        .spawn(move || {
            let mut stop = beat.stop.lock().unwrap_or_else(|p| p.into_inner());
            while !*stop {
                if let Some(link) = beat.link.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
                    link.beat(role);
                }
                stop = beat.wake.wait_timeout(stop, period).unwrap_or_else(|p| p.into_inner()).0;
            }
        })
        .expect("spawn the eshm heartbeat thread")
}
