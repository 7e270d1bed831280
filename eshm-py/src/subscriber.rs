//! `eshm.Subscriber`: receives Python values from a topic.

use crate::codec::{Codec, Typed};
use crate::errors::IntoPy;
use crate::wait::{run_sliced, wait_strategy};
use eshm::RawSubscriber;
use eshm::pubsub::SubscriberOptions;
use pyo3::exceptions::{PyRuntimeError, PyStopIteration};
use pyo3::prelude::*;
use std::time::{Duration, Instant};

/// Receives values of one type from a topic. The type comes from `default_value`.
#[pyclass(module = "eshm", name = "Subscriber")]
pub(crate) struct Subscriber {
    raw: Option<RawSubscriber>,
    typed: Typed,
    name: String,
    /// Receive buffer, one message long (initialised: it only ever holds whole messages).
    buf: Vec<u8>,
    /// The last value `subscribe()` returned.
    last: Option<Py<PyAny>>,
}

fn closed() -> PyErr {
    PyRuntimeError::new_err("operation on a closed Subscriber")
}

/// The value of `bytes`, just received on `name`.
fn decode(py: Python<'_>, typed: &Typed, name: &str, bytes: &[u8]) -> PyResult<Py<PyAny>> {
    if let Codec::Scalar(_) = typed.codec {
        // Message classes validate in `from_bytes`; a scalar `bool` is checked here.
        typed
            .schema
            .validate(bytes)
            .map_err(|source| eshm::Error::InvalidMessage { name: name.to_owned(), source })
            .py()?;
    }
    typed.codec.decode(py, bytes)
}

impl Subscriber {
    fn recv_blocking(&mut self, py: Python<'_>, timeout_s: Option<f64>) -> PyResult<Py<PyAny>> {
        let raw = self.raw.as_mut().ok_or_else(closed)?;
        if !raw.try_recv_into(&mut self.buf).py()? {
            let deadline =
                timeout_s.map(|t| Instant::now() + Duration::from_secs_f64(t.clamp(0.0, 1e9)));
            let buf = &mut self.buf;
            run_sliced(py, "Subscriber.recv", deadline, |slice_end| {
                raw.recv_into_deadline(buf, Some(slice_end)).map(Some)
            })?;
        }
        decode(py, &self.typed, &self.name, &self.buf)
    }
}

#[pymethods]
impl Subscriber {
    #[new]
    #[pyo3(signature = (name, default_value, *, wait = "default", history = 1, allow_other_owners = false))]
    fn new(
        name: &str,
        default_value: &Bound<'_, PyAny>,
        wait: &str,
        history: u64,
        allow_other_owners: bool,
    ) -> PyResult<Self> {
        let typed = Typed::from_default(default_value)?;
        let options = SubscriberOptions::default()
            .wait_strategy(wait_strategy(wait)?)
            .history(history)
            .allow_other_owners(allow_other_owners);
        let raw = RawSubscriber::open(name, Some(&typed.schema), options).py()?;
        let buf = vec![0; typed.schema.size()];
        Ok(Subscriber { raw: Some(raw), typed, name: name.to_owned(), buf, last: None })
    }

    /// `(value, is_new)`: the newest value and `True` if one arrived since the last call;
    /// otherwise the previous value (or the default, before anything arrived) and `False`.
    fn subscribe(&mut self, py: Python<'_>) -> PyResult<(Py<PyAny>, bool)> {
        let raw = self.raw.as_mut().ok_or_else(closed)?;
        if raw.latest_into(&mut self.buf).py()? {
            let value = decode(py, &self.typed, &self.name, &self.buf)?;
            self.last = Some(value.clone_ref(py));
            return Ok((value, true));
        }
        let value = self.last.as_ref().unwrap_or(&self.typed.default).clone_ref(py);
        Ok((value, false))
    }

    /// The next value in order, waiting at most `timeout` seconds (forever if `None`).
    /// Releases the GIL while it waits; Ctrl-C interrupts it.
    #[pyo3(signature = (timeout = None))]
    fn recv(&mut self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Py<PyAny>> {
        self.recv_blocking(py, timeout)
    }

    /// The next value in order, or `None` if none has arrived (never blocks).
    fn try_recv(&mut self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let raw = self.raw.as_mut().ok_or_else(closed)?;
        if raw.try_recv_into(&mut self.buf).py()? {
            decode(py, &self.typed, &self.name, &self.buf).map(Some)
        } else {
            Ok(None)
        }
    }

    /// The newest value if one arrived since the last receive, skipping older ones; else `None`.
    fn latest(&mut self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let raw = self.raw.as_mut().ok_or_else(closed)?;
        if raw.latest_into(&mut self.buf).py()? {
            decode(py, &self.typed, &self.name, &self.buf).map(Some)
        } else {
            Ok(None)
        }
    }

    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        if self.raw.is_none() {
            return Err(PyStopIteration::new_err(()));
        }
        self.recv_blocking(py, None)
    }

    /// Messages overwritten before this subscriber read them.
    #[getter]
    fn lost(&self) -> PyResult<u64> {
        Ok(self.raw.as_ref().ok_or_else(closed)?.lost())
    }

    /// Whether it is attached to a topic whose publisher runs.
    #[getter]
    fn is_connected(&self) -> bool {
        self.raw.as_ref().is_some_and(RawSubscriber::is_connected)
    }

    /// The topic's name.
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// The message type's name.
    #[getter]
    fn type_name(&self) -> String {
        self.typed.schema.type_name()
    }

    /// Detaches from the topic. Idempotent.
    fn close(&mut self) {
        self.raw = None;
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(
        &mut self,
        _exc_type: &Bound<'_, PyAny>,
        _exc: &Bound<'_, PyAny>,
        _tb: &Bound<'_, PyAny>,
    ) -> bool {
        self.close();
        false
    }

    fn __repr__(&self) -> String {
        let state = if self.raw.is_some() { "" } else { ", closed" };
        format!("eshm.Subscriber({:?}, {}{state})", self.name, self.typed.schema.type_name())
    }
}
