//! Configuring a channel: its role, sizes, liveness and disconnect settings.

use super::Channel;
use crate::error::Result;
use crate::segment::Trust;
use crate::wait::WaitStrategy;
use std::time::Duration;

#[cfg(doc)]
use crate::error::Error;

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

/// Builds a [`Channel`]: `Channel::builder(name).role(Role::Slave).open()`.
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until `open` is called"]
pub struct ChannelBuilder {
    pub(crate) name: String,
    pub(crate) role: Role,
    pub(crate) capacity: usize,
    pub(crate) max_message: usize,
    pub(crate) stale_threshold: Duration,
    pub(crate) reconnect_interval: Duration,
    pub(crate) max_reconnect_attempts: Option<u32>,
    pub(crate) disconnect_behavior: DisconnectBehavior,
    pub(crate) reconnect_wait: Duration,
    pub(crate) auto_cleanup: bool,
    pub(crate) heartbeat_thread: bool,
    pub(crate) read_timeout: Duration,
    pub(crate) write_timeout: Duration,
    pub(crate) wait: WaitStrategy,
    pub(crate) mode: u32,
    pub(crate) trust: Trust,
}

impl ChannelBuilder {
    /// A builder with the defaults of the original ESHM: auto role, stale threshold 100 ms,
    /// reconnect wait 5 s, retry interval 100 ms, 50 attempts, auto cleanup and heartbeat
    /// thread on; plus 1 MiB per direction, 64 KiB messages and 1 s read/write timeouts.
    pub fn new(name: &str) -> ChannelBuilder {
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
    /// - [`Error::InvalidName`] for an unusable name, [`Error::ChannelSizes`] or
    ///   [`Error::InvalidCapacity`] for sizes that do not fit (capacity below two records of
    ///   the largest message), [`Error::ZeroDuration`] for a zero stale threshold;
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
