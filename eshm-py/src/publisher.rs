//! `eshm.Publisher`: publishes Python values on a topic.

use crate::args;
use crate::codec::{Codec, Typed};
use crate::errors::{IntoPy, argument_type};
use crate::handle::{Closable, Counter, Handle};
use crate::loan::{Core, Loan, lock};
use eshm::RawPublisher;
use eshm::pubsub::PublisherOptions;
use pyo3::prelude::*;
use pyo3::types::PyType;
use std::sync::Arc;

/// What a publisher changes: the topic (shared with its open loan, see `crate::loan`), and a
/// buffer for encoding values.
struct State {
    core: Arc<std::sync::Mutex<Core>>,
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
    /// Shared with its loans, which publish too.
    published: Arc<Counter>,
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
        let state = State { core: Core::new(raw), buf: Vec::new() };
        let handle = Arc::new(Handle::new(state, "Publisher"));
        let base = PyClassInitializer::from(Closable::new(handle.clone()));
        let name = name.to_owned();
        Ok(base.add_subclass(Publisher {
            handle,
            typed,
            name,
            capacity,
            published: Arc::new(Counter::new(0)),
        }))
    }

    /// Publishes `value` (never blocks). On an array or slice topic, `value` is any array of
    /// the element type and shape (contiguous or not), copied once, into shared memory.
    fn publish(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.handle.exclusive(py, |s| {
            // Python runs (`to_bytes`, `numpy.asarray`, and any garbage collection) before the
            // core is locked: a loan the collector drops locks it too.
            let direct = match &self.typed.codec {
                // Types without invalid bit patterns: straight into a loan, unvalidated.
                Codec::Array(codec) if !self.typed.validate => Some(codec.source(value)?),
                codec => {
                    codec.encode(value, &mut s.buf)?;
                    None
                }
            };
            let mut core = lock(&s.core);
            core.check_no_loan()?;
            let published = match direct {
                Some(source) => {
                    let mut loan = core.raw.loan(source.len()).py()?;
                    let ptr = loan.as_mut_ptr();
                    // SAFETY: the loan's room is `source.len()` bytes (the length it was
                    // asked for), valid for writes while the loan lives, and readers do not
                    // see them before `publish` (`RawLoan::as_mut_ptr`); nothing else in
                    // this process writes them (the loan borrows the publisher mutably).
                    let room = unsafe { std::slice::from_raw_parts_mut(ptr, source.len()) };
                    source.copy_into(room);
                    loan.publish().py()
                }
                None => core.raw.publish_bytes(&s.buf).py(),
            };
            self.published.set(core.raw.published());
            published
        })
    }

    /// Room for the next message of an array topic (`loan()`) or of a slice topic of `n`
    /// elements (`loan(n)`), written in place: `with pub.loan() as frame: frame[...] = x`
    /// publishes at the end of the block. One loan at a time: while it is out, `publish` and
    /// `loan` raise `FullError`.
    #[pyo3(signature = (n = None))]
    fn loan(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = args::opt_int)] n: Option<usize>,
    ) -> PyResult<Loan> {
        let Codec::Array(codec) = &self.typed.codec else {
            return Err(argument_type(format!(
                "loan() is for array and slice topics (eshm.Array, eshm.Slice); this topic \
                 carries {}",
                self.typed.schema.type_name()
            )));
        };
        if self.typed.validate {
            return Err(argument_type(format!(
                "loan() is for types without invalid bit patterns; {} has bool or enum \
                 elements, which publish() checks",
                self.typed.schema.type_name()
            )));
        }
        let len = codec.len_of(n)?;
        let core = self.handle.exclusive(py, |s| Ok(s.core.clone()))?;
        Loan::take(self.handle.clone(), core, codec.clone(), len, self.published.clone())
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
