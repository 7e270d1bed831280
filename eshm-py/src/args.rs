//! The arguments of the module's classes and functions, converted so that a wrong one raises
//! the module's exceptions (see `errors`): each parameter names its converter with
//! `#[pyo3(from_py_with = ...)]`, and PyO3 adds a note naming the parameter to the exception
//! ("while processing 'buffer_num'").
//!
//! - A value of another type (`buffer_num="3"`, `name=5`, `allow_other_owners=1`) raises
//!   `ArgumentTypeError` (a `TypeError`).
//! - An integer out of the parameter's range (`history=-1`) raises `OutOfRangeError` (a
//!   `ValueError` and an `OverflowError`).
//! - A timeout in seconds that is negative or not a number raises `InvalidArgumentError`.

use crate::errors::{argument_type, invalid_argument, ours};
use pyo3::buffer::PyBuffer;
use pyo3::prelude::*;

/// An integer parameter (`buffer_num`, `timeout_ms`, ...) of the Rust integer type `T`.
pub(crate) fn int<'py, T>(ob: &Bound<'py, PyAny>) -> PyResult<T>
where
    T: for<'a> FromPyObject<'a, 'py, Error = PyErr>,
{
    ob.extract::<T>().map_err(|e| ours(ob.py(), e))
}

/// An integer parameter that may be `None`.
pub(crate) fn opt_int<'py, T>(ob: &Bound<'py, PyAny>) -> PyResult<Option<T>>
where
    T: for<'a> FromPyObject<'a, 'py, Error = PyErr>,
{
    if ob.is_none() { Ok(None) } else { int(ob).map(Some) }
}

/// A `bool` parameter (a `bool`, not any object with a truth value).
pub(crate) fn flag(ob: &Bound<'_, PyAny>) -> PyResult<bool> {
    ob.extract::<bool>().map_err(|e| ours(ob.py(), e))
}

/// A `str` parameter.
pub(crate) fn text(ob: &Bound<'_, PyAny>) -> PyResult<String> {
    ob.extract::<String>().map_err(|e| ours(ob.py(), e))
}

/// A bytes-like parameter (`bytes`, `bytearray`, `memoryview`, ...), copied.
pub(crate) fn bytes(ob: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    PyBuffer::<u8>::get(ob).and_then(|b| b.to_vec(ob.py())).map_err(|_| not_bytes(ob))
}

/// `ArgumentTypeError` for an object that is not bytes-like.
pub(crate) fn not_bytes(ob: &Bound<'_, PyAny>) -> PyErr {
    let kind = ob.get_type().name().map(|n| n.to_string()).unwrap_or_default();
    argument_type(format!(
        "a bytes-like object (bytes, bytearray, memoryview) is required, not {kind}"
    ))
}

/// A timeout in seconds, or `None` (no timeout): a number, 0 or more.
pub(crate) fn seconds(ob: &Bound<'_, PyAny>) -> PyResult<Option<f64>> {
    if ob.is_none() {
        return Ok(None);
    }
    let s = ob.extract::<f64>().map_err(|e| ours(ob.py(), e))?;
    if s.is_nan() || s < 0.0 {
        return Err(invalid_argument(format!(
            "a timeout is a number of seconds, 0 or more (or None: no timeout), not {s}"
        )));
    }
    Ok(Some(s))
}
