//! Python exceptions, created once at import and mapped from [`eshm::Error`] in one place.
//!
//! Every exception derives from `eshm.Error` and from the built-in that describes it, so that
//! `except TimeoutError:` (or `ValueError`, `RuntimeError`) catches what a user expects:
//!
//! | exception | bases |
//! |---|---|
//! | `TimeoutError` | `Error`, `builtins.TimeoutError` |
//! | `InvalidNameError`, `InvalidArgumentError`, `TypeMismatchError`, `InvalidMessageError`, `MessageTooLargeError`, `BufferTooSmallError` | `Error`, `ValueError` |
//! | `PublisherExistsError`, `RoleTakenError`, `NotFoundError`, `DisconnectedError`, `FullError`, `CorruptSegmentError`, `SegmentPermissionError`, `SegmentIOError` | `Error`, `RuntimeError` |

use eshm::Error;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

struct Exceptions {
    error: Py<PyType>,
    timeout: Py<PyType>,
    invalid_name: Py<PyType>,
    type_mismatch: Py<PyType>,
    invalid_message: Py<PyType>,
    too_large: Py<PyType>,
    buffer_too_small: Py<PyType>,
    publisher_exists: Py<PyType>,
    role_taken: Py<PyType>,
    not_found: Py<PyType>,
    disconnected: Py<PyType>,
    full: Py<PyType>,
    corrupt: Py<PyType>,
    permission: Py<PyType>,
    io: Py<PyType>,
    invalid_argument: Py<PyType>,
}

static EXCEPTIONS: PyOnceLock<Exceptions> = PyOnceLock::new();

fn make<'py>(
    py: Python<'py>,
    name: &str,
    bases: &[Bound<'py, PyAny>],
    doc: &str,
) -> PyResult<Bound<'py, PyType>> {
    let dict = PyDict::new(py);
    dict.set_item("__doc__", doc)?;
    dict.set_item("__module__", "eshm")?;
    let ty = py.get_type::<PyType>();
    Ok(ty.call1((name, PyTuple::new(py, bases)?, dict))?.cast_into::<PyType>()?)
}

/// Creates the exception classes and adds them to `m`.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let builtins = py.import("builtins")?;
    let b = |name: &str| builtins.getattr(name);
    let error = make(py, "Error", &[b("Exception")?], "Base class of every eshm error.")?;
    let e = error.as_any();
    let value = |name: &str, doc: &str| make(py, name, &[e.clone(), b("ValueError")?], doc);
    let runtime = |name: &str, doc: &str| make(py, name, &[e.clone(), b("RuntimeError")?], doc);
    let ex = Exceptions {
        timeout: make(
            py,
            "TimeoutError",
            &[e.clone(), b("TimeoutError")?],
            "A blocking call reached its timeout.",
        )?
        .unbind(),
        invalid_name: value("InvalidNameError", "A topic or channel name cannot be used.")?
            .unbind(),
        type_mismatch: value("TypeMismatchError", "The topic carries another message type.")?
            .unbind(),
        invalid_message: value(
            "InvalidMessageError",
            "A message holds a value outside its field's range.",
        )?
        .unbind(),
        too_large: value(
            "MessageTooLargeError",
            "The message is larger than the channel's maximum.",
        )?
        .unbind(),
        buffer_too_small: value(
            "BufferTooSmallError",
            "The next message is larger than the buffer size given.",
        )?
        .unbind(),
        publisher_exists: runtime(
            "PublisherExistsError",
            "A live process already publishes on the topic.",
        )?
        .unbind(),
        role_taken: runtime(
            "RoleTakenError",
            "A live process already holds this role on the channel.",
        )?
        .unbind(),
        not_found: runtime("NotFoundError", "The topic or channel does not exist.")?.unbind(),
        disconnected: runtime("DisconnectedError", "The other end of the channel is gone.")?
            .unbind(),
        full: runtime("FullError", "The channel's queue has no room now.")?.unbind(),
        corrupt: runtime("CorruptSegmentError", "A shared-memory segment is not valid.")?.unbind(),
        permission: runtime(
            "SegmentPermissionError",
            "A segment belongs to another user or is writable by others.",
        )?
        .unbind(),
        io: runtime("SegmentIOError", "A system call on a segment failed.")?.unbind(),
        invalid_argument: value(
            "InvalidArgumentError",
            "An argument is out of range (a capacity, a size, a duration).",
        )?
        .unbind(),
        error: error.unbind(),
    };
    for ty in [
        &ex.error,
        &ex.timeout,
        &ex.invalid_name,
        &ex.type_mismatch,
        &ex.invalid_message,
        &ex.too_large,
        &ex.buffer_too_small,
        &ex.publisher_exists,
        &ex.role_taken,
        &ex.not_found,
        &ex.disconnected,
        &ex.full,
        &ex.corrupt,
        &ex.permission,
        &ex.io,
        &ex.invalid_argument,
    ] {
        let ty = ty.bind(py);
        m.add(ty.name()?, ty)?;
    }
    let _ = EXCEPTIONS.set(py, ex);
    Ok(())
}

/// The Python exception for an eshm error.
pub(crate) fn to_py(err: Error) -> PyErr {
    Python::attach(|py| {
        let ex = EXCEPTIONS.get(py).expect("exceptions are created when the module is imported");
        let ty = match &err {
            Error::Timeout => &ex.timeout,
            Error::InvalidName { .. } => &ex.invalid_name,
            Error::TypeMismatch { .. } => &ex.type_mismatch,
            Error::InvalidMessage { .. } => &ex.invalid_message,
            Error::MessageTooLarge { .. } => &ex.too_large,
            Error::BufferTooSmall { .. } => &ex.buffer_too_small,
            Error::PublisherExists { .. } => &ex.publisher_exists,
            Error::RoleTaken { .. } => &ex.role_taken,
            Error::NotFound { .. } => &ex.not_found,
            Error::Disconnected { .. } => &ex.disconnected,
            Error::Full => &ex.full,
            Error::Corrupt { .. } | Error::LayoutVersion { .. } => &ex.corrupt,
            Error::Permission { .. } => &ex.permission,
            Error::Io { .. } => &ex.io,
            Error::InvalidCapacity { .. }
            | Error::ChannelSizes { .. }
            | Error::ZeroDuration { .. }
            | Error::WrongSize { .. } => &ex.invalid_argument,
            _ => &ex.error,
        };
        PyErr::from_type(ty.bind(py).clone(), err.to_string())
    })
}

/// `eshm.TimeoutError` with a message.
pub(crate) fn timeout(what: &str) -> PyErr {
    Python::attach(|py| {
        let ex = EXCEPTIONS.get(py).expect("exceptions are created when the module is imported");
        PyErr::from_type(ex.timeout.bind(py).clone(), format!("{what} timed out"))
    })
}

/// Extension for `eshm::Result`: `.py()?` turns the error into its Python exception.
pub(crate) trait IntoPy<T> {
    fn py(self) -> PyResult<T>;
}

impl<T, E: Into<Error>> IntoPy<T> for Result<T, E> {
    fn py(self) -> PyResult<T> {
        self.map_err(|e| to_py(e.into()))
    }
}
