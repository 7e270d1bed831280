//! Options of servers and clients (of services and actions alike), for the untyped API; the
//! typed builders set the same fields.

use crate::segment::Trust;
use crate::wait::WaitStrategy;
use std::time::Duration;

/// Options for creating a server; see [`Server::builder`](super::Server::builder),
/// [`RawServer::create_with`](super::RawServer::create_with) and the action server's.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    pub(crate) max_clients: usize,
    pub(crate) max_in_flight: usize,
    pub(crate) feedback_depth: usize,
    pub(crate) mode: u32,
    pub(crate) unlink_on_drop: bool,
    pub(crate) wait: WaitStrategy,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            max_clients: 64,
            max_in_flight: 16,
            feedback_depth: 16,
            mode: 0o600,
            unlink_on_drop: true,
            wait: WaitStrategy::default(),
        }
    }
}

impl ServerOptions {
    /// How many clients may be attached at once (default 64, at most 1024). One more gets
    /// [`Error::TooManyClients`](crate::Error::TooManyClients); the slot of a client that dies
    /// goes to the next client that needs one.
    pub fn max_clients(mut self, clients: usize) -> Self {
        self.max_clients = clients;
        self
    }

    /// How many calls (or goals) each client may have in flight (default 16, at most 1024;
    /// rounded up to a power of two). One more is
    /// [`CallError::TooManyInFlight`](crate::CallError::TooManyInFlight).
    pub fn max_in_flight(mut self, calls: usize) -> Self {
        self.max_in_flight = calls;
        self
    }

    /// Actions: how many feedback messages of a goal are kept for a client that has not read
    /// them yet (default 16, at most 1024); older ones are counted as lost.
    pub fn feedback_depth(mut self, messages: usize) -> Self {
        self.feedback_depth = messages;
        self
    }

    /// Permission bits of the segment file (default `0o600`, owner only). Clients refuse
    /// segments of other users, or writable by them, unless they allow it explicitly.
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = mode & 0o777;
        self
    }

    /// Whether dropping the server removes the service's name (default `true`). Either way
    /// the segment is marked closed, and clients waiting for an answer fail at once.
    pub fn unlink_on_drop(mut self, unlink: bool) -> Self {
        self.unlink_on_drop = unlink;
        self
    }

    /// How a blocking receive waits for a request (default: spin 20 µs, then sleep).
    pub fn wait_strategy(mut self, wait: WaitStrategy) -> Self {
        self.wait = wait;
        self
    }
}

/// Options for opening a client; see [`Client::builder`](super::Client::builder),
/// [`RawClient::open`](super::RawClient::open) and the action client's.
#[derive(Clone, Copy, Debug)]
pub struct ClientOptions {
    pub(crate) wait: WaitStrategy,
    pub(crate) stale_threshold: Duration,
    pub(crate) trust: Trust,
    pub(crate) wait_for_server: bool,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            wait: WaitStrategy::default(),
            stale_threshold: DEFAULT_STALE_THRESHOLD,
            trust: Trust::default(),
            wait_for_server: true,
        }
    }
}

/// How long a waiting client may take to notice that its server died (see
/// [`ClientOptions::stale_threshold`]).
pub const DEFAULT_STALE_THRESHOLD: Duration = Duration::from_millis(100);

impl ClientOptions {
    /// How a call waits for its answer (default: spin 20 µs, then sleep on a futex that the
    /// server wakes).
    pub fn wait_strategy(mut self, wait: WaitStrategy) -> Self {
        self.wait = wait;
        self
    }

    /// How long a waiting call may take to notice that the server died (default 100 ms): it
    /// checks the server's process (pid and start time) every half of this, so a call in
    /// flight when the server dies fails with
    /// [`CallError::ServerGone`](crate::CallError::ServerGone) within it, not at its timeout.
    /// (A server that closes the service wakes its clients at once.)
    pub fn stale_threshold(mut self, threshold: Duration) -> Self {
        self.stale_threshold = threshold.max(Duration::from_millis(2));
        self
    }

    /// Accept services created by another user, or writable by other users (refused by
    /// default, since such a process could feed this one arbitrary data).
    pub fn allow_other_owners(mut self, allow: bool) -> Self {
        self.trust.other_owners = allow;
        self
    }

    /// Whether a call made while there is no live server waits (up to its timeout) for one to
    /// start (the default), or fails at once with
    /// [`CallError::NoServer`](crate::CallError::NoServer).
    pub fn wait_for_server(mut self, wait: bool) -> Self {
        self.wait_for_server = wait;
        self
    }
}
