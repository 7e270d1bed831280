//! The hot paths' errors of topics and channels: [`RecvError`], [`PublishError`],
//! [`WriteError`] and [`ReadError`], each converting into [`Error`].

use super::Error;
use crate::schema::ValidityError;
use std::sync::Arc;

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

pub(super) fn held_limit(held: usize) -> String {
    format!(
        "this subscriber holds {held} samples, its limit (`max_held`): drop one to receive \
         another in place"
    )
}

pub(super) fn hold_slots_full(topic: &str, slots: usize, held: usize) -> String {
    format!(
        "the subscribers of {topic:?} hold all {slots} samples its publisher allows \
         (`held_samples`; this subscriber holds {held}): drop samples, or create the topic \
         with more"
    )
}

pub(super) const LOAN_HELD: &str =
    "this thread holds a loan of this channel: commit or drop it before writing again";
pub(super) const REF_HELD: &str =
    "this thread holds a message of this channel read in place: drop it before reading again";

pub(super) const TAKEN_OVER: &str = "another process took this topic over (did it see this process as \
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
