//! Errors, in two tiers.
//!
//! - [`Error`] is what setting up fails with: creating, opening and attaching to topics and
//!   channels, inspecting and cleaning. Its variants carry the facts as fields so that programs
//!   can act on them (the live publisher's pid, both fingerprints, the first field where two
//!   types differ).
//! - The hot paths return small per-operation enums: [`RecvError`] (topic receives),
//!   [`PublishError`], [`WriteError`] and [`ReadError`] (channels), [`CallError`] (service
//!   calls and action goals, client side) and [`ServeError`] (their server side). They allocate nothing on
//!   the common failures (a timeout, a full queue), never need matching on a string, and each
//!   converts into [`Error`] with `?`.
//!
//! Messages are lowercase phrases that name the topic or file involved and, where there is one,
//! what to do about it.

use crate::schema::ValidityError;
use std::io;
use std::path::PathBuf;

mod ops;
mod service;

pub use ops::{PublishError, ReadError, RecvError, WriteError};
use ops::{held_limit, hold_slots_full};
pub use service::{CallError, ServeError};

/// Result alias for eshm operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why an eshm operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A blocking call reached its deadline.
    #[error("timed out")]
    Timeout,

    /// A topic or channel name cannot be used.
    #[error("invalid name {name:?}: {reason}")]
    InvalidName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The segment carries another message type than this process expects.
    #[error(
        "type mismatch on {name:?}: this process uses `{expected}` (fingerprint \
         {expected_fingerprint:#018x}) but the segment carries `{found}` (fingerprint \
         {found_fingerprint:#018x}); first difference: {difference}"
    )]
    TypeMismatch {
        /// The topic.
        name: String,
        /// The type this process asked for.
        expected: String,
        /// The type in the segment.
        found: String,
        /// Fingerprint of `expected`.
        expected_fingerprint: u64,
        /// Fingerprint of `found`.
        found_fingerprint: u64,
        /// Where the two layouts first differ, in words.
        difference: String,
    },

    /// Another live process already publishes on this topic.
    #[error(
        "topic {name:?} already has a live publisher (pid {pid}); a topic has one publisher at \
         a time: stop that process, or publish on another topic"
    )]
    PublisherExists {
        /// The topic.
        name: String,
        /// The publisher's process id.
        pid: u32,
    },

    /// Another live process already holds this role on the channel.
    #[error(
        "channel {name:?} already has a live {role} (pid {pid}); stop that process, or open \
         the channel with another role"
    )]
    RoleTaken {
        /// The channel.
        name: String,
        /// `"master"` or `"slave"`.
        role: &'static str,
        /// The holder's process id.
        pid: u32,
    },

    /// The topic or channel does not exist (for operations that do not wait for it).
    #[error("{name:?} does not exist: no publisher or master has created it yet")]
    NotFound {
        /// The topic or channel.
        name: String,
    },

    /// A slave found no live master for its channel within its reconnection attempts.
    #[error(
        "channel {name:?} has no live master{}: start the master, or give the slave more \
         max_reconnect_attempts",
        if *attempts == 0 { String::new() } else { format!(" after {attempts} reconnection attempt(s)") }
    )]
    NoMaster {
        /// The channel.
        name: String,
        /// Reconnection attempts made after the first look.
        attempts: u32,
        /// Why the last look failed (no segment, or a dead master's), if there was a segment.
        reason: Option<String>,
    },

    /// A segment file does not hold a valid eshm segment.
    #[error(
        "{} is not a valid eshm segment: {reason}; if no process uses it, remove it with \
         `eshm clean` (or delete the file)",
        path.display()
    )]
    Corrupt {
        /// The segment file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// A segment was written by an incompatible version of eshm.
    #[error(
        "{} was created by an eshm with segment layout version {found}, this build uses \
         {expected}; run both processes with the same eshm version",
        path.display()
    )]
    LayoutVersion {
        /// The segment file.
        path: PathBuf,
        /// Version in the file.
        found: u32,
        /// Version this build writes.
        expected: u32,
    },

    /// A segment's owner or permissions make it untrustworthy or inaccessible.
    #[error("refusing {}: {reason}", path.display())]
    Permission {
        /// The segment file.
        path: PathBuf,
        /// What is wrong and what to do.
        reason: String,
    },

    /// A received message is not a valid value of its type (a `bool` or enum field holds a
    /// value outside its range): the publisher is buggy or the segment was written by
    /// something other than eshm.
    #[error("invalid message on {name:?}: {source}")]
    InvalidMessage {
        /// The topic or channel.
        name: String,
        /// Which field holds what.
        #[source]
        source: ValidityError,
    },

    /// The message does not fit: larger than the channel's maximum message size or queue.
    #[error("message of {size} bytes is larger than the maximum of {max} bytes{hint}")]
    MessageTooLarge {
        /// The message's size.
        size: usize,
        /// The largest size accepted.
        max: usize,
        /// How to raise the limit, if it can be raised.
        hint: &'static str,
    },

    /// A slice longer than its topic's maximum.
    #[error("{name:?} carries at most {max_len} elements per message, not {len}")]
    SliceTooLong {
        /// The topic.
        name: String,
        /// The elements given.
        len: usize,
        /// The topic's maximum.
        max_len: usize,
    },

    /// A subscriber holds as many samples as it may (see [`RecvError::HeldLimit`]).
    #[error("{}", held_limit(*held))]
    HeldLimit {
        /// Samples held.
        held: usize,
        /// The subscriber's limit.
        max: usize,
    },

    /// A topic's subscribers hold every sample its publisher allows (see
    /// [`RecvError::HoldSlotsFull`]).
    #[error("{}", hold_slots_full(name, *slots, *held))]
    HoldSlotsFull {
        /// The topic.
        name: String,
        /// The topic's hold slots.
        slots: usize,
        /// Samples this subscriber holds.
        held: usize,
    },

    /// The calling thread holds a channel message in place (see [`ReadError::RefHeld`] and
    /// [`WriteError::LoanHeld`]).
    #[error("{what}")]
    HeldInPlace {
        /// What is held, and what to do.
        what: &'static str,
    },

    /// The queue has no room for the message right now (non-blocking write).
    #[error("the queue is full: the reader has not caught up yet")]
    Full,

    /// The other end of a channel is gone (or stale) and the disconnect policy gave up.
    #[error("channel {name:?} is disconnected: {reason}")]
    Disconnected {
        /// The channel.
        name: String,
        /// What happened.
        reason: String,
    },

    /// A buffer given to a read call is too small for the next message (which stays queued).
    #[error("the next message is {needed} bytes but the buffer holds only {capacity}")]
    BufferTooSmall {
        /// The message's size.
        needed: usize,
        /// The buffer's size.
        capacity: usize,
    },

    /// A size or count is outside what is accepted.
    #[error("{what} must be between {min} and {max}, not {requested}")]
    InvalidCapacity {
        /// What was asked for (`"a topic's capacity (messages)"`, ...).
        what: &'static str,
        /// The value given.
        requested: u64,
        /// The smallest value accepted.
        min: u64,
        /// The largest value accepted.
        max: u64,
    },

    /// A channel's queue cannot hold two records of its largest message.
    #[error(
        "a queue of {capacity} bytes cannot hold two messages of {max_message} bytes; raise \
         the capacity to at least {needed}, or lower the largest message"
    )]
    ChannelSizes {
        /// Queue bytes per direction.
        capacity: usize,
        /// The largest message asked for.
        max_message: usize,
        /// The smallest capacity that fits it.
        needed: u64,
    },

    /// A duration that must be positive is zero.
    #[error("the {what} must be positive")]
    ZeroDuration {
        /// Which setting (`"stale threshold"`).
        what: &'static str,
    },

    /// Bytes given as a message of a topic are not its size (untyped publish and receive).
    #[error("{name:?} carries messages of {size} bytes, not {given}")]
    WrongSize {
        /// The topic.
        name: String,
        /// Its message size.
        size: usize,
        /// The size given.
        given: usize,
    },

    /// Another live process already serves this service or action.
    #[error(
        "{name:?} already has a live server (pid {pid}); a service has one server at a time: \
         stop that process, or serve another name"
    )]
    ServerExists {
        /// The service or action.
        name: String,
        /// The server's process id.
        pid: u32,
    },

    /// Every client slot of the service is held by a live client.
    #[error(
        "{name:?} already has {max} live clients, as many as its server allows; close a \
         client, or have the server allow more (`max_clients`)"
    )]
    TooManyClients {
        /// The service or action.
        name: String,
        /// Its number of client slots.
        max: usize,
    },

    /// The server that was handling a call died or closed the service before answering.
    #[error(
        "the server of {name:?} is gone (its process exited, or it closed the service) before \
         answering; the next call waits for a new server"
    )]
    ServerGone {
        /// The service or action.
        name: String,
    },

    /// No live server serves the service (and the call was not to wait for one, or none came
    /// in time).
    #[error("{name:?} has no live server: start its server")]
    NoServer {
        /// The service or action.
        name: String,
    },

    /// A client has as many calls (or goals) in flight as the service allows.
    #[error(
        "{name:?}: {max} calls already in flight from this client; wait for their answers (a \
         call that timed out stays in flight until its answer comes or its server goes)"
    )]
    TooManyInFlight {
        /// The service or action.
        name: String,
        /// Calls in flight allowed per client.
        max: usize,
    },

    /// The server dropped a request without answering it (its handler failed, say).
    #[error("the server of {name:?} dropped the request without answering it")]
    CallDropped {
        /// The service or action.
        name: String,
    },

    /// An action client does not know the goal (it was never sent by this client, or its
    /// result was taken long ago).
    #[error("{name:?}: goal {goal} is not a goal of this client")]
    UnknownGoal {
        /// The action.
        name: String,
        /// The goal's number.
        goal: u64,
    },

    /// A system call on a segment file failed.
    #[error("{op} {}: {source}{}", path.display(), io_hint(source))]
    Io {
        /// What was being done (`"create"`, `"open"`, `"map"`, ...).
        op: &'static str,
        /// The file involved.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
}

fn io_hint(err: &io::Error) -> &'static str {
    match err.kind() {
        io::ErrorKind::PermissionDenied => {
            " (the segment belongs to another user or has restrictive permissions: run as \
             that user, or have the creator pick a wider mode)"
        }
        io::ErrorKind::StorageFull | io::ErrorKind::OutOfMemory => {
            " (/dev/shm is full: remove stale segments with `eshm clean`, or use smaller \
             capacities)"
        }
        _ => "",
    }
}

impl Error {
    pub(crate) fn io(
        op: &'static str,
        path: impl Into<PathBuf>,
        source: impl Into<io::Error>,
    ) -> Error {
        Error::Io { op, path: path.into(), source: source.into() }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, reason: impl Into<String>) -> Error {
        Error::Corrupt { path: path.into(), reason: reason.into() }
    }

    /// Whether this is [`Error::Timeout`].
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout)
    }
}
