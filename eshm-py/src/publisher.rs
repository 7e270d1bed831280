//! `eshm.Publisher`: publishes Python values on a topic.

use crate::args;
use crate::codec::Typed;
use crate::errors::IntoPy;
use crate::handle::{Closable, Counter, Handle};
use eshm::RawPublisher;
use eshm::pubsub::PublisherOptions;
use pyo3::prelude::*;
use pyo3::types::PyType;
use std::sync::Arc;

/// What a publisher changes: the topic, and a buffer for encoding values.
struct State {
    raw: RawPublisher,
    buf: Vec<u8>,
}

/// Publishes values of one type on a topic. The type comes from `default_value`.
#[pyclass(module = "eshm", name = "Publisher", extends = Closable, frozen)]
pub(crate) struct Publisher {
    handle: Arc<Handle<State>>,
    typed: Typed,
    name: String,
    /// Readable after `close()`.
    capacity: usize,
    published: Counter,
}

#[pymethods]
impl Publisher {
    #[new]
    #[pyo3(signature = (name, default_value, buffer_num = 3, *, mode = 0o600))]
    fn new(
        #[pyo3(from_py_with = args::text)] name: String,
        default_value: &Bound<'_, PyAny>,
        #[pyo3(from_py_with = args::int)] buffer_num: usize,
        #[pyo3(from_py_with = args::int)] mode: u32,
    ) -> PyResult<PyClassInitializer<Self>> {
        let name = crate::topic_name(&name);
        let typed = Typed::from_default(default_value)?;
        // As in SHM, the topic's last value stays readable after this publisher is closed or
        // its process exits; the next publisher of the name, or `eshm clean`, reclaims it.
        let options =
            PublisherOptions::default().capacity(buffer_num).mode(mode).unlink_on_drop(false);
        let raw = RawPublisher::create_with(name, &typed.schema, &options).py()?;
        let capacity = raw.capacity();
        let handle = Arc::new(Handle::new(State { raw, buf: Vec::new() }, "Publisher"));
        let base = PyClassInitializer::from(Closable::new(handle.clone()));
        let name = name.to_owned();
        Ok(base.add_subclass(Publisher {
            handle,
            typed,
            name,
            capacity,
            published: Counter::new(0),
        }))
    }

    /// Publishes `value` (never blocks).
    fn publish(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.handle.exclusive(py, |s| {
            self.typed.codec.encode(value, &mut s.buf)?;
            let published = s.raw.publish_bytes(&s.buf).py();
            self.published.set(s.raw.published());
            published
        })
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
    fn capacity(&self) -> usize {
        self.capacity
    }

    /// Messages published so far.
    #[getter]
    fn published(&self) -> u64 {
        self.published.get()
    }

    #[classmethod]
    fn __class_getitem__(cls: &Bound<'_, PyType>, item: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        crate::generic_alias(cls, item)
    }

    fn __repr__(&self) -> String {
        let state = if self.handle.is_open() { "" } else { ", closed" };
        format!("eshm.Publisher({:?}, {}{state})", self.name, self.typed.schema.type_name())
    }
}
