//! The error type of every fallible eshm operation.
//!
//! Messages are lowercase phrases that name the topic or file involved and, where there is one,
//! what to do about it. Variants carry the facts as fields so that programs can act on them
//! (the live publisher's pid, both fingerprints, the first field where two types differ).

use crate::schema::ValidityError;
use std::io;
use std::path::PathBuf;

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

    /// An argument is out of range (capacity zero, a message size too large, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

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
