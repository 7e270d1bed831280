//! Python exceptions, created once at import from one table, and mapped from [`eshm::Error`] in
//! one place.
//!
//! Every exception the module raises is an `eshm.Error`, and also the built-in exception a
//! user would expect, as listed in [`TABLE`] (and in the README and the package docstring):
//!
//! - `TimeoutError`: a blocking call reached its timeout;
//! - `ValueError`: a value the call cannot use (a name, an argument out of range, a message of
//!   another type than the topic's, a message too large, a buffer too small, an invalid
//!   message); integers that do not fit are `OverflowError`s too, as Python's own are;
//! - `TypeError`: an argument of a type the call does not take (`ArgumentTypeError`: the
//!   arguments of every class and function are converted by [`crate::args`], and values and
//!   messages by `codec` and `data`, which turn the built-in errors into the module's);
//! - `RuntimeError`: the state of the topics, channels and segments (another publisher, no
//!   master, a corrupt segment, a closed object), as the original ESHM wrapper raised it; the
//!   channel's `MessageTooLargeError` and `BufferTooSmallError` are both.
//!
//! Only a call with a wrong signature (a missing or unknown argument) raises Python's own
//! `TypeError`, as any callable does.

use eshm::Error;
use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

/// The exceptions of the module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ex {
    Error,
    Timeout,
    NoData,
    InvalidName,
    InvalidArgument,
    OutOfRange,
    ArgumentType,
    TypeMismatch,
    InvalidMessage,
    TooLarge,
    BufferTooSmall,
    PublisherExists,
    RoleTaken,
    NotFound,
    Disconnected,
    Full,
    Corrupt,
    Permission,
    Io,
    Closed,
    ServerExists,
    TooManyClients,
    ServerGone,
    NoServer,
    TooManyCalls,
    CallDropped,
    UnknownGoal,
    MessageType,
}

/// A base of an exception: a built-in exception, or one of the module's.
enum Base {
    Builtin(&'static str),
    Own(Ex),
}

use Base::{Builtin, Own};

/// Every exception: name, bases, docstring. Bases come before the classes that use them.
const TABLE: &[(Ex, &str, &[Base], &str)] = &[
    (Ex::Error, "Error", &[Builtin("Exception")], "Base class of every eshm error."),
    (
        Ex::Timeout,
        "TimeoutError",
        &[Own(Ex::Error), Builtin("TimeoutError")],
        "A blocking call reached its timeout.",
    ),
    (
        Ex::NoData,
        "NoDataError",
        &[Own(Ex::Timeout), Builtin("RuntimeError")],
        "Nothing to read, and the call was not to wait (`read(timeout_ms=0)`).",
    ),
    (
        Ex::InvalidName,
        "InvalidNameError",
        &[Own(Ex::Error), Builtin("ValueError")],
        "A topic or channel name cannot be used.",
    ),
    (
        Ex::InvalidArgument,
        "InvalidArgumentError",
        &[Own(Ex::Error), Builtin("ValueError")],
        "An argument is out of range (a capacity, a size, a timeout, an enum value, a wait \
         strategy, a write_data key).",
    ),
    (
        Ex::OutOfRange,
        "OutOfRangeError",
        &[Own(Ex::InvalidArgument), Builtin("OverflowError")],
        "An integer that does not fit: a value for a topic of a smaller type (256 for \
         eshm.u8), a negative count.",
    ),
    (
        Ex::ArgumentType,
        "ArgumentTypeError",
        &[Own(Ex::Error), Builtin("TypeError")],
        "An argument of a type the call does not take: a value that is not of the topic's \
         type, a default value that names no message type, a str where an int is expected.",
    ),
    (
        Ex::TypeMismatch,
        "TypeMismatchError",
        &[Own(Ex::Error), Builtin("ValueError")],
        "The topic carries another message type than the one this process uses.",
    ),
    (
        Ex::InvalidMessage,
        "InvalidMessageError",
        &[Own(Ex::Error), Builtin("ValueError")],
        "A received message holds a value outside its field's range (a bool or an enum), or \
         is not a message of its kind at all (read_data).",
    ),
    (
        Ex::TooLarge,
        "MessageTooLargeError",
        &[Own(Ex::Error), Builtin("ValueError"), Builtin("RuntimeError")],
        "The message is larger than the channel's maximum (also a RuntimeError, as the \
         original ESHM wrapper raised it).",
    ),
    (
        Ex::BufferTooSmall,
        "BufferTooSmallError",
        &[Own(Ex::Error), Builtin("ValueError"), Builtin("RuntimeError")],
        "The next message is larger than the buffer size given; it stays queued (also a \
         RuntimeError, as the original ESHM wrapper raised it).",
    ),
    (
        Ex::PublisherExists,
        "PublisherExistsError",
        &[Own(Ex::Error), Builtin("RuntimeError")],
        "A live process already publishes on the topic.",
    ),
    (
        Ex::RoleTaken,
        "RoleTakenError",
        &[Own(Ex::Error), Builtin("RuntimeError")],
        "A live process already holds this role on the channel.",
    ),
    (
        Ex::NotFound,
        "NotFoundError",
        &[Own(Ex::Error), Builtin("RuntimeError")],
        "The topic or channel does not exist (or a slave found no live master).",
    ),
    (
        Ex::Disconnected,
        "DisconnectedError",
        &[Own(Ex::Error), Builtin("RuntimeError")],
        "The other end of the channel is gone, and the disconnect behaviour gave up on it.",
    ),
    (
        Ex::Full,
        "FullError",
        &[Own(Ex::Error), Builtin("RuntimeError")],
        "No room now: in the channel's queue (ESHM.try_write), among the samples a \
         subscriber or a topic may hold (recv_view), or for a second loan.",
    ),
    (
        Ex::Corrupt,
        "CorruptSegmentError",
        &[Own(Ex::Error), Builtin("RuntimeError")],
        "A shared-memory segment is not valid (or comes from another eshm version).",
    ),
    (
        Ex::Permission,
        "SegmentPermissionError",
        &[Own(Ex::Error), Builtin("RuntimeError")],
        "A segment belongs to another user or is writable by others.",
    ),
    (
        Ex::Io,
        "SegmentIOError",
        &[Own(Ex::Error), Builtin("RuntimeError")],
        "A system call on a segment failed.",
    ),
    (
        Ex::Closed,
        "ClosedError",
        &[Own(Ex::Error), Builtin("RuntimeError")],
        "The object was closed, or inherited through fork() (create a new one in the child).",
    ),
    (
        Ex::ServerExists,
        "ServerExistsError",
        &[Own(Ex::Error), Builtin("RuntimeError")],
        "A live process already serves the service or action.",
    ),
    (
        Ex::TooManyClients,
        "TooManyClientsError",
        &[Own(Ex::Error), Builtin("RuntimeError")],
        "Every client slot of the service or action is held by a live client.",
    ),
    (
        Ex::ServerGone,
        "ServerGoneError",
        &[Own(Ex::Error), Builtin("RuntimeError")],
        "The server died, or closed the service, before answering the call (or ending the goal).",
    ),
    (
        Ex::NoServer,
        "NoServerError",
        &[Own(Ex::Error), Builtin("RuntimeError")],
        "No live server serves the service or action (none came in time).",
    ),
    (
        Ex::TooManyCalls,
        "TooManyCallsError",
        &[Own(Ex::Error), Builtin("RuntimeError")],
        "The client already has as many calls (or goals) in flight as the server allows.",
    ),
    (
        Ex::CallDropped,
        "CallDroppedError",
        &[Own(Ex::Error), Builtin("RuntimeError")],
        "The server dropped the request without answering it (its handler failed, say).",
    ),
    (
        Ex::UnknownGoal,
        "UnknownGoalError",
        &[Own(Ex::Error), Builtin("ValueError")],
        "The action client has no goal with this id.",
    ),
    (
        Ex::MessageType,
        "MessageTypeError",
        &[Own(Ex::Error), Builtin("TypeError")],
        "A message class declared in Python breaks a rule of `#[derive(eshm::Message)]`: \
         implicit padding, a field type that is not a message type, no fields, a bad enum \
         (raised when the class is created).",
    ),
];

static CLASSES: PyOnceLock<Vec<Py<PyType>>> = PyOnceLock::new();

fn index(ex: Ex) -> usize {
    TABLE.iter().position(|(e, ..)| *e == ex).expect("every exception is in the table")
}

/// Creates the exception classes and adds them to `m`.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let builtins = py.import("builtins")?;
    let mut made: Vec<Py<PyType>> = Vec::with_capacity(TABLE.len());
    for (_, name, bases, doc) in TABLE {
        let bases = bases
            .iter()
            .map(|b| match b {
                Builtin(n) => builtins.getattr(*n),
                Own(ex) => Ok(made[index(*ex)].bind(py).clone().into_any()),
            })
            .collect::<PyResult<Vec<_>>>()?;
        let dict = PyDict::new(py);
        dict.set_item("__doc__", *doc)?;
        dict.set_item("__module__", "eshm")?;
        let class = py.get_type::<PyType>().call1((*name, PyTuple::new(py, bases)?, dict))?;
        let class = class.cast_into::<PyType>()?;
        m.add(*name, &class)?;
        made.push(class.unbind());
    }
    let _ = CLASSES.set(py, made);
    Ok(())
}

/// An exception of the module, with a message.
pub(crate) fn raise(ex: Ex, message: impl Into<String>) -> PyErr {
    let message = message.into();
    Python::attach(|py| {
        let classes = CLASSES.get(py).expect("exceptions are created when the module is imported");
        PyErr::from_type(classes[index(ex)].bind(py).clone(), message)
    })
}

/// Whether `err` is an `eshm.Error` (any exception of the module).
pub(crate) fn is_eshm_error(py: Python<'_>, err: &PyErr) -> bool {
    CLASSES.get(py).is_some_and(|classes| err.is_instance(py, classes[index(Ex::Error)].bind(py)))
}

/// Which exception an [`eshm::Error`] is. Every variant the core has is named; `Error` is
/// `#[non_exhaustive]`, so a variant added later reaches the fallback (the base class) until
/// it is named here.
fn kind(err: &Error) -> Ex {
    match err {
        Error::Timeout => Ex::Timeout,
        Error::InvalidName { .. } => Ex::InvalidName,
        Error::InvalidCapacity { .. }
        | Error::ChannelSizes { .. }
        | Error::ZeroDuration { .. }
        | Error::WrongSize { .. } => Ex::InvalidArgument,
        Error::TypeMismatch { .. } => Ex::TypeMismatch,
        Error::InvalidMessage { .. } => Ex::InvalidMessage,
        // A slice longer than its topic's maximum is a message larger than the topic takes.
        Error::MessageTooLarge { .. } | Error::SliceTooLong { .. } => Ex::TooLarge,
        Error::BufferTooSmall { .. } => Ex::BufferTooSmall,
        Error::PublisherExists { .. } => Ex::PublisherExists,
        Error::RoleTaken { .. } => Ex::RoleTaken,
        Error::NotFound { .. } | Error::NoMaster { .. } => Ex::NotFound,
        Error::Disconnected { .. } => Ex::Disconnected,
        // No room now: in the queue, or among the samples a subscriber or a topic may hold in
        // place (`recv_view`).
        Error::Full | Error::HeldLimit { .. } | Error::HoldSlotsFull { .. } => Ex::Full,
        Error::Corrupt { .. } | Error::LayoutVersion { .. } => Ex::Corrupt,
        Error::Permission { .. } => Ex::Permission,
        Error::Io { .. } => Ex::Io,
        // A thread that holds a channel message in place and reads or writes again: Python
        // holds nothing in place, so this cannot happen; the base class, as for the unknown.
        Error::HeldInPlace { .. } => Ex::Error,
        Error::ServerExists { .. } => Ex::ServerExists,
        Error::TooManyClients { .. } => Ex::TooManyClients,
        Error::ServerGone { .. } => Ex::ServerGone,
        Error::NoServer { .. } => Ex::NoServer,
        Error::TooManyInFlight { .. } => Ex::TooManyCalls,
        Error::CallDropped { .. } => Ex::CallDropped,
        Error::UnknownGoal { .. } => Ex::UnknownGoal,
        _ => Ex::Error,
    }
}

/// The Python exception for an eshm error.
pub(crate) fn to_py(err: Error) -> PyErr {
    raise(kind(&err), err.to_string())
}

/// `eshm.ClosedError` with a message.
pub(crate) fn closed(message: &str) -> PyErr {
    raise(Ex::Closed, message)
}

/// `eshm.InvalidArgumentError` with a message.
pub(crate) fn invalid_argument(message: String) -> PyErr {
    raise(Ex::InvalidArgument, message)
}

/// `eshm.ArgumentTypeError` with a message.
pub(crate) fn argument_type(message: String) -> PyErr {
    raise(Ex::ArgumentType, message)
}

/// `eshm.InvalidMessageError` with a message.
pub(crate) fn invalid_message(message: String) -> PyErr {
    raise(Ex::InvalidMessage, message)
}

/// The module's exception for a built-in one raised while converting a Python value (by PyO3,
/// or by eshm's conversions of scalars): `TypeError` becomes `ArgumentTypeError`,
/// `OverflowError` `OutOfRangeError`, `ValueError` `InvalidArgumentError`, each with the same
/// message (and the original as its cause). Anything else, the module's own exceptions
/// included, is returned as it is.
pub(crate) fn ours(py: Python<'_>, err: PyErr) -> PyErr {
    let t = err.get_type(py);
    let ex = if t.is(py.get_type::<PyTypeError>()) {
        Ex::ArgumentType
    } else if t.is(py.get_type::<PyOverflowError>()) {
        Ex::OutOfRange
    } else if t.is(py.get_type::<PyValueError>()) {
        Ex::InvalidArgument
    } else {
        return err;
    };
    let ours = raise(ex, err.value(py).to_string());
    ours.set_cause(py, Some(err));
    ours
}

/// `eshm.TimeoutError`: `what` timed out.
pub(crate) fn timeout(what: &str) -> PyErr {
    raise(Ex::Timeout, format!("{what} timed out"))
}

/// `eshm.NoDataError`: nothing to read, without waiting.
pub(crate) fn no_data(what: &str) -> PyErr {
    raise(Ex::NoData, format!("{what}: no data available"))
}

/// Extension for eshm results: `.py()?` turns the error into its Python exception.
pub(crate) trait IntoPy<T> {
    fn py(self) -> PyResult<T>;
}

impl<T, E: Into<Error>> IntoPy<T> for Result<T, E> {
    fn py(self) -> PyResult<T> {
        self.map_err(|e| to_py(e.into()))
    }
}
