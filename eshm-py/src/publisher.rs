//! `eshm.Publisher`: publishes Python values on a topic.

use crate::codec::Typed;
use crate::errors::IntoPy;
use eshm::RawPublisher;
use eshm::pubsub::PublisherOptions;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

/// Publishes values of one type on a topic. The type comes from `default_value`.
#[pyclass(module = "eshm", name = "Publisher")]
pub(crate) struct Publisher {
    raw: Option<RawPublisher>,
    typed: Typed,
    name: String,
    buf: Vec<u8>,
}

fn closed() -> PyErr {
    PyRuntimeError::new_err("operation on a closed Publisher")
}

#[pymethods]
impl Publisher {
    #[new]
    #[pyo3(signature = (name, default_value, buffer_num = 3, *, mode = 0o600))]
    fn new(
        name: &str,
        default_value: &Bound<'_, PyAny>,
        buffer_num: usize,
        mode: u32,
    ) -> PyResult<Self> {
        let typed = Typed::from_default(default_value)?;
        let options = PublisherOptions::default().capacity(buffer_num).mode(mode);
        let raw = RawPublisher::create_with(name, &typed.schema, &options).py()?;
        Ok(Publisher { raw: Some(raw), typed, name: name.to_owned(), buf: Vec::new() })
    }

    /// Publishes `value` (never blocks).
    fn publish(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let raw = self.raw.as_mut().ok_or_else(closed)?;
        self.typed.codec.encode(value, &mut self.buf)?;
        raw.publish_bytes(&self.buf).py()
    }

    /// The topic's name.
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// The message type's name (`"f64"`, `"Pose"`).
    #[getter]
    fn type_name(&self) -> String {
        self.typed.schema.type_name()
    }

    /// The message type's fingerprint.
    #[getter]
    fn fingerprint(&self) -> u64 {
        self.typed.schema.fingerprint()
    }

    /// Messages the ring keeps (`buffer_num` rounded up to a power of two).
    #[getter]
    fn capacity(&self) -> PyResult<usize> {
        Ok(self.raw.as_ref().ok_or_else(closed)?.capacity())
    }

    /// Messages published so far.
    #[getter]
    fn published(&self) -> PyResult<u64> {
        Ok(self.raw.as_ref().ok_or_else(closed)?.published())
    }

    /// Closes the topic (subscribers keep what they received). Idempotent.
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
        format!("eshm.Publisher({:?}, {}{state})", self.name, self.typed.schema.type_name())
    }
}
