//! The errors of service calls and action goals: [`CallError`] (client side) and
//! [`ServeError`] (server side), each converting into [`Error`].

use super::Error;
use crate::schema::ValidityError;
use std::sync::Arc;

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
