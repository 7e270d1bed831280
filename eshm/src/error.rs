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
use std::sync::Arc;

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

/// Why receiving from a topic failed. The next receive carries on with the next message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecvError {
    /// Nothing arrived before the deadline.
    #[error("timed out")]
    Timeout,
    /// A message holds an invalid `bool` or enum value (a buggy publisher, or a segment written
    /// by something other than eshm); it was skipped.
    #[error("invalid message on {topic:?}: {source}")]
    InvalidMessage {
        /// The topic.
        topic: Arc<str>,
        /// Which field holds what.
        #[source]
        source: ValidityError,
    },
    /// The buffer given to an untyped receive is not the size of the topic's messages (the
    /// topic may have been re-created with another type).
    #[error("{topic:?} carries messages of {size} bytes, the buffer holds {buffer}")]
    WrongSize {
        /// The topic.
        topic: Arc<str>,
        /// Its message size.
        size: usize,
        /// The buffer's size.
        buffer: usize,
    },
    /// The topic was re-created and attaching to it failed: another message type
    /// ([`Error::TypeMismatch`]), a corrupt or foreign segment, or an I/O error.
    #[error(transparent)]
    Attach(Box<Error>),
    /// This subscriber already holds as many samples as it may (`max_held`): drop one to
    /// receive another in place. The message was not received.
    #[error("{}", held_limit(*held))]
    HeldLimit {
        /// Samples held.
        held: usize,
        /// The subscriber's limit.
        max: usize,
    },
    /// The topic's subscribers (in all processes) hold as many samples as its publisher
    /// allows (`held_samples`). The message was not received.
    #[error("{}", hold_slots_full(topic, *slots, *held))]
    HoldSlotsFull {
        /// The topic.
        topic: Arc<str>,
        /// The topic's hold slots.
        slots: usize,
        /// Samples this subscriber holds.
        held: usize,
    },
}

fn held_limit(held: usize) -> String {
    format!(
        "this subscriber holds {held} samples, its limit (`max_held`): drop one to receive \
         another in place"
    )
}

fn hold_slots_full(topic: &str, slots: usize, held: usize) -> String {
    format!(
        "the subscribers of {topic:?} hold all {slots} samples its publisher allows \
         (`held_samples`; this subscriber holds {held}): drop samples, or create the topic \
         with more"
    )
}

const LOAN_HELD: &str =
    "this thread holds a loan of this channel: commit or drop it before writing again";
const REF_HELD: &str =
    "this thread holds a message of this channel read in place: drop it before reading again";

const TAKEN_OVER: &str = "another process took this topic over (did it see this process as \
                          dead? run publishers and subscribers in one pid namespace)";

/// Why publishing on a topic failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// Another process took the topic over (it saw this one as dead, e.g. from another pid
    /// namespace): messages would go nowhere.
    #[error("topic {topic:?}: {TAKEN_OVER}")]
    TakenOver {
        /// The topic.
        topic: Arc<str>,
    },
    /// Bytes given to an untyped publish are not the topic's message size.
    #[error("{topic:?} carries messages of {size} bytes, not {given}")]
    WrongSize {
        /// The topic.
        topic: Arc<str>,
        /// Its message size.
        size: usize,
        /// The size given.
        given: usize,
    },
    /// Another process truncated the topic's segment file while it was in use: what was
    /// published went nowhere (see `eshm::segment`'s SIGBUS guard).
    #[error(transparent)]
    Segment(Box<Error>),
    /// A slice longer than the topic's maximum.
    #[error("{topic:?} carries at most {max_len} elements per message, not {len}")]
    MessageTooLarge {
        /// The topic.
        topic: Arc<str>,
        /// The elements given.
        len: usize,
        /// The topic's maximum.
        max_len: usize,
    },
    /// Bytes given to an untyped publish are not a valid message (a `bool` or enum field out of
    /// range).
    #[error("invalid message for {topic:?}: {source}")]
    InvalidMessage {
        /// The topic.
        topic: Arc<str>,
        /// Which field holds what.
        #[source]
        source: ValidityError,
    },
}

/// Why writing to a channel failed. The message was not written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// No room now (a non-blocking write).
    #[error("the queue is full: the reader has not caught up yet")]
    Full,
    /// This thread holds room in this channel's queue (a `WriteLoan`): commit or drop it before
    /// writing again (another thread's write would wait for it).
    #[error("{LOAN_HELD}")]
    LoanHeld,
    /// The queue stayed full, or the remote stayed missing, until the deadline.
    #[error("timed out")]
    Timeout,
    /// Larger than the channel's largest message.
    #[error(
        "message of {size} bytes is larger than the maximum of {max} bytes (the master sets \
         the largest message with `max_message`)"
    )]
    TooLarge {
        /// The message's size.
        size: usize,
        /// The largest size accepted.
        max: usize,
    },
    /// The remote is gone and the disconnect behaviour gave up on it.
    #[error("channel {channel:?} is disconnected: {reason}")]
    Disconnected {
        /// The channel.
        channel: Arc<str>,
        /// What happened.
        reason: String,
    },
    /// The channel's segment is corrupt, or re-attaching to a new master failed.
    #[error(transparent)]
    Segment(Box<Error>),
}

/// Why reading from a channel failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// Nothing arrived before the deadline.
    #[error("timed out")]
    Timeout,
    /// This thread holds a message of this channel read in place (a `ReadRef`): drop it before
    /// reading again (another thread's read would wait for it).
    #[error("{REF_HELD}")]
    RefHeld,
    /// The buffer given is too small for the next message, which stays queued.
    #[error("the next message is {needed} bytes but the buffer holds only {capacity}")]
    BufferTooSmall {
        /// The message's size.
        needed: usize,
        /// The buffer's size.
        capacity: usize,
    },
    /// Nothing is queued, the remote is gone, and the disconnect behaviour gave up on it.
    #[error("channel {channel:?} is disconnected: {reason}")]
    Disconnected {
        /// The channel.
        channel: Arc<str>,
        /// What happened.
        reason: String,
    },
    /// The channel's segment is corrupt, or re-attaching to a new master failed.
    #[error(transparent)]
    Segment(Box<Error>),
}

impl From<RecvError> for Error {
    fn from(e: RecvError) -> Error {
        match e {
            RecvError::Timeout => Error::Timeout,
            RecvError::InvalidMessage { topic, source } => {
                Error::InvalidMessage { name: topic.to_string(), source }
            }
            RecvError::WrongSize { topic, size, buffer } => {
                Error::WrongSize { name: topic.to_string(), size, given: buffer }
            }
            RecvError::Attach(e) => *e,
            RecvError::HeldLimit { held, max } => Error::HeldLimit { held, max },
            RecvError::HoldSlotsFull { topic, slots, held } => {
                Error::HoldSlotsFull { name: topic.to_string(), slots, held }
            }
        }
    }
}

impl From<PublishError> for Error {
    fn from(e: PublishError) -> Error {
        match e {
            PublishError::TakenOver { topic } => {
                Error::Disconnected { name: topic.to_string(), reason: TAKEN_OVER.to_owned() }
            }
            PublishError::WrongSize { topic, size, given } => {
                Error::WrongSize { name: topic.to_string(), size, given }
            }
            PublishError::InvalidMessage { topic, source } => {
                Error::InvalidMessage { name: topic.to_string(), source }
            }
            PublishError::Segment(e) => *e,
            PublishError::MessageTooLarge { topic, len, max_len } => {
                Error::SliceTooLong { name: topic.to_string(), len, max_len }
            }
        }
    }
}

impl From<WriteError> for Error {
    fn from(e: WriteError) -> Error {
        match e {
            WriteError::Full => Error::Full,
            WriteError::LoanHeld => Error::HeldInPlace { what: LOAN_HELD },
            WriteError::Timeout => Error::Timeout,
            WriteError::TooLarge { size, max } => Error::MessageTooLarge {
                size,
                max,
                hint: " (the master sets the largest message with `max_message`)",
            },
            WriteError::Disconnected { channel, reason } => {
                Error::Disconnected { name: channel.to_string(), reason }
            }
            WriteError::Segment(e) => *e,
        }
    }
}

impl From<ReadError> for Error {
    fn from(e: ReadError) -> Error {
        match e {
            ReadError::Timeout => Error::Timeout,
            ReadError::RefHeld => Error::HeldInPlace { what: REF_HELD },
            ReadError::BufferTooSmall { needed, capacity } => {
                Error::BufferTooSmall { needed, capacity }
            }
            ReadError::Disconnected { channel, reason } => {
                Error::Disconnected { name: channel.to_string(), reason }
            }
            ReadError::Segment(e) => *e,
        }
    }
}

impl RecvError {
    /// Whether this is [`RecvError::Timeout`].
    pub fn is_timeout(&self) -> bool {
        matches!(self, RecvError::Timeout)
    }
}

/// Why a service call (or an action client's operation) failed.
///
/// A call that fails with [`Timeout`](CallError::Timeout) stays in flight: its answer, if it
/// comes, is discarded. Every other error ends the call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// No answer came before the deadline (the server is alive but has not answered).
    #[error("timed out")]
    Timeout,
    /// The server that had the call died, or closed the service, before answering (noticed
    /// within the client's stale threshold, not at the deadline).
    #[error(
        "the server of {service:?} is gone (its process exited, or it closed the service) \
         before answering"
    )]
    ServerGone {
        /// The service or action.
        service: Arc<str>,
    },
    /// There is no live server (none came before the deadline, or the client does not wait
    /// for one).
    #[error("{service:?} has no live server")]
    NoServer {
        /// The service or action.
        service: Arc<str>,
    },
    /// The client already has as many calls (or goals) in flight as the service allows.
    #[error(
        "{service:?}: {max} calls already in flight from this client (a call that timed out \
         stays in flight until its answer comes or its server goes)"
    )]
    TooManyInFlight {
        /// The service or action.
        service: Arc<str>,
        /// Calls in flight allowed per client.
        max: usize,
    },
    /// The server dropped the request without answering it.
    #[error("the server of {service:?} dropped the request without answering it")]
    Dropped {
        /// The service or action.
        service: Arc<str>,
    },
    /// The response is not a valid value of its type (a `bool` or enum field out of range).
    #[error("invalid response from {service:?}: {source}")]
    InvalidResponse {
        /// The service or action.
        service: Arc<str>,
        /// Which field holds what.
        #[source]
        source: ValidityError,
    },
    /// Bytes given to an untyped call are not the size of the service's requests, or not a
    /// valid request.
    #[error("{service:?} takes requests of {size} bytes, not {given}")]
    WrongSize {
        /// The service or action.
        service: Arc<str>,
        /// Its request size.
        size: usize,
        /// The size given.
        given: usize,
    },
    /// The action client has no such goal.
    #[error("{service:?}: goal {goal} is not a goal of this client")]
    UnknownGoal {
        /// The action.
        service: Arc<str>,
        /// The goal's number.
        goal: u64,
    },
    /// Attaching to the (new) server failed: another message type ([`Error::TypeMismatch`]),
    /// no free client slot ([`Error::TooManyClients`]), a corrupt segment, an I/O error.
    #[error(transparent)]
    Attach(Box<Error>),
}

impl CallError {
    /// Whether this is [`CallError::Timeout`].
    pub fn is_timeout(&self) -> bool {
        matches!(self, CallError::Timeout)
    }
}

impl From<CallError> for Error {
    fn from(e: CallError) -> Error {
        match e {
            CallError::Timeout => Error::Timeout,
            CallError::ServerGone { service } => Error::ServerGone { name: service.to_string() },
            CallError::NoServer { service } => Error::NoServer { name: service.to_string() },
            CallError::TooManyInFlight { service, max } => {
                Error::TooManyInFlight { name: service.to_string(), max }
            }
            CallError::Dropped { service } => Error::CallDropped { name: service.to_string() },
            CallError::InvalidResponse { service, source } => {
                Error::InvalidMessage { name: service.to_string(), source }
            }
            CallError::WrongSize { service, size, given } => {
                Error::WrongSize { name: service.to_string(), size, given }
            }
            CallError::UnknownGoal { service, goal } => {
                Error::UnknownGoal { name: service.to_string(), goal }
            }
            CallError::Attach(e) => *e,
        }
    }
}

const SERVICE_TAKEN_OVER: &str = "another process took this service over (did it see this \
                                  process as dead? run servers and clients in one pid namespace)";

/// Why a server's operation (receiving a request or goal, answering it) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// No request came before the deadline.
    #[error("timed out")]
    Timeout,
    /// Another process took the service over (it saw this one as dead, e.g. from another pid
    /// namespace): clients no longer reach this server.
    #[error("{service:?}: {SERVICE_TAKEN_OVER}")]
    TakenOver {
        /// The service or action.
        service: Arc<str>,
    },
    /// Bytes given to an untyped answer are not the size of the service's responses.
    #[error("{service:?} sends messages of {size} bytes, not {given}")]
    WrongSize {
        /// The service or action.
        service: Arc<str>,
        /// Its message size.
        size: usize,
        /// The size given.
        given: usize,
    },
    /// Bytes given to an untyped answer are not a valid message (a `bool` or enum field out
    /// of range).
    #[error("invalid message for {service:?}: {source}")]
    InvalidMessage {
        /// The service or action.
        service: Arc<str>,
        /// Which field holds what.
        #[source]
        source: ValidityError,
    },
    /// Another process truncated the segment file while it was in use.
    #[error(transparent)]
    Segment(Box<Error>),
}

impl ServeError {
    /// Whether this is [`ServeError::Timeout`].
    pub fn is_timeout(&self) -> bool {
        matches!(self, ServeError::Timeout)
    }
}

impl From<ServeError> for Error {
    fn from(e: ServeError) -> Error {
        match e {
            ServeError::Timeout => Error::Timeout,
            ServeError::TakenOver { service } => Error::Disconnected {
                name: service.to_string(),
                reason: SERVICE_TAKEN_OVER.to_owned(),
            },
            ServeError::WrongSize { service, size, given } => {
                Error::WrongSize { name: service.to_string(), size, given }
            }
            ServeError::InvalidMessage { service, source } => {
                Error::InvalidMessage { name: service.to_string(), source }
            }
            ServeError::Segment(e) => *e,
        }
    }
}
