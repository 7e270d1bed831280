//! `eshm.Subscriber`: receives Python values from a topic, with the queue semantics of eshm
//! (`recv`, `try_recv`, `latest`, iteration) and the latest-value semantics of SHM
//! (`subscribe`, `wait_for`, `is_updated`, data expiry).

use crate::args;
use crate::codec::{Codec, Typed};
use crate::errors::IntoPy;
use crate::handle::{Closable, Counter, Handle};
use crate::ndarray::{HeldSample, SampleView};
use crate::wait::wait_strategy;
use eshm::RawSubscriber;
use eshm::pubsub::RawSample;
use eshm::pubsub::SubscriberOptions;
use pyo3::exceptions::PyStopIteration;
use pyo3::prelude::*;
use pyo3::types::PyType;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// SHM's default data expiry: `subscribe()` reports a value older than this as not valid.
const DEFAULT_EXPIRY: Duration = Duration::from_secs(2);

/// What a subscriber changes.
struct State {
    raw: RawSubscriber,
    /// Receive buffer, one message long (initialised: it only ever holds whole messages).
    buf: Vec<u8>,
    /// The value `subscribe()` last returned.
    last: Option<Py<PyAny>>,
    /// `subscribe()`'s data expiry (`None`: values never expire).
    expiry: Option<Duration>,
    /// When `last` was published (as far as `CLOCK_MONOTONIC_COARSE` tells): it stays valid,
    /// until it expires, after its publisher is gone.
    last_at: Option<Instant>,
}

/// Receives values of one type from a topic. The type comes from `default_value`.
#[pyclass(module = "eshm", name = "Subscriber", extends = Closable, frozen)]
pub(crate) struct Subscriber {
    handle: Arc<Handle<State>>,
    typed: Typed,
    name: String,
    /// Losses so far, readable after `close()`.
    lost: Counter,
}

impl Subscriber {
    /// Runs `f` on the state (see `Handle::exclusive`), then notes the losses.
    fn state<R>(&self, py: Python<'_>, f: impl FnOnce(&mut State) -> PyResult<R>) -> PyResult<R> {
        self.handle.exclusive(py, |s| {
            let r = f(s);
            self.lost.set(s.raw.lost());
            r
        })
    }

    /// The value of `bytes`, just received: checked first if the type has invalid bit
    /// patterns (a `bool` or an enum), so that an invalid message raises
    /// `InvalidMessageError` naming the topic.
    fn decode(&self, py: Python<'_>, bytes: &[u8]) -> PyResult<Py<PyAny>> {
        if self.typed.validate {
            self.typed
                .schema
                .validate(bytes)
                .map_err(|source| eshm::Error::InvalidMessage { name: self.name.clone(), source })
                .py()?;
        }
        self.typed.codec.decode(py, bytes)
    }

    /// Whether this is a slice topic (messages of any number of elements up to a maximum).
    fn is_slice(&self) -> bool {
        self.typed.schema.slice_element().is_some()
    }

    /// Receives the next message into `s.buf` if one has arrived; its length.
    fn try_recv_buf(&self, s: &mut State) -> PyResult<Option<usize>> {
        if self.is_slice() {
            s.raw.try_recv_slice_into(&mut s.buf).py()
        } else {
            Ok(s.raw.try_recv_into(&mut s.buf).py()?.then_some(s.buf.len()))
        }
    }

    /// Receives the newest message into `s.buf`, skipping older unread ones; its length. (A
    /// slice topic's messages vary in length, which `latest_into` does not take: the unread
    /// ones are received in turn, and the last kept.)
    fn latest_buf(&self, s: &mut State) -> PyResult<Option<usize>> {
        if !self.is_slice() {
            return Ok(s.raw.latest_into(&mut s.buf).py()?.then_some(s.buf.len()));
        }
        let mut newest = None;
        while let Some(len) = s.raw.try_recv_slice_into(&mut s.buf).py()? {
            newest = Some(len);
        }
        Ok(newest)
    }

    fn recv_blocking(&self, py: Python<'_>, timeout_s: Option<f64>) -> PyResult<Py<PyAny>> {
        let now = self.state(py, |s| match self.try_recv_buf(s)? {
            Some(len) => self.decode(py, &s.buf[..len]).map(Some),
            None => Ok(None),
        })?;
        if let Some(value) = now {
            return Ok(value);
        }
        let deadline = deadline_in(timeout_s);
        // The bytes leave the lock with this call, so that threads sharing the subscriber
        // each get their own message.
        let slice = self.is_slice();
        let bytes = self.handle.blocking_exclusive(py, "Subscriber.recv", deadline, |s, end| {
            let got = if slice {
                s.raw.recv_bytes_deadline(Some(end))
            } else {
                s.raw.recv_into_deadline(&mut s.buf, Some(end)).map(|()| s.buf.clone())
            };
            self.lost.set(s.raw.lost());
            got.map(Some)
        })?;
        self.decode(py, &bytes)
    }

    /// The view of a sample just received (see `recv_view`).
    fn view_of(&self, py: Python<'_>, sample: RawSample) -> PyResult<SampleView> {
        let value = self.decode_view(py, sample)?;
        Ok(SampleView::new(value))
    }

    fn decode_view(&self, py: Python<'_>, sample: RawSample) -> PyResult<Py<PyAny>> {
        match &self.typed.codec {
            Codec::Array(codec) => {
                if self.typed.validate {
                    self.typed
                        .schema
                        .validate(&sample)
                        .map_err(|source| eshm::Error::InvalidMessage {
                            name: self.name.clone(),
                            source,
                        })
                        .py()?;
                }
                let len = sample.len();
                let held = Bound::new(py, HeldSample::new(sample))?;
                Ok(codec.wrap(held.as_any(), len)?.unbind())
            }
            // A message topic: the decoded message, a copy (message objects own their bytes);
            // the sample goes back at once.
            _ => self.decode(py, &sample),
        }
    }
}

/// The deadline of a timeout in seconds (checked by `args::seconds`: a number, 0 or more);
/// none past a billion seconds.
fn deadline_in(timeout_s: Option<f64>) -> Option<Instant> {
    timeout_s.filter(|&t| t < 1e9).map(|t| Instant::now() + Duration::from_secs_f64(t))
}

#[pymethods]
impl Subscriber {
    #[new]
    #[pyo3(
        signature = (name, default_value, *, wait = "default".to_owned(), history = 1, allow_other_owners = false, max_held = eshm::pubsub::DEFAULT_MAX_HELD),
        text_signature = "(name, default_value, *, wait='default', history=1, allow_other_owners=False, max_held=2)"
    )]
    fn new(
        #[pyo3(from_py_with = args::text)] name: String,
        default_value: &Bound<'_, PyAny>,
        #[pyo3(from_py_with = args::text)] wait: String,
        #[pyo3(from_py_with = args::int)] history: u64,
        #[pyo3(from_py_with = args::flag)] allow_other_owners: bool,
        #[pyo3(from_py_with = args::int)] max_held: usize,
    ) -> PyResult<PyClassInitializer<Self>> {
        let name = crate::topic_name(&name);
        let typed = Typed::from_default(default_value)?;
        let options = SubscriberOptions::default()
            .wait_strategy(wait_strategy(&wait)?)
            .history(history)
            .allow_other_owners(allow_other_owners)
            .max_held(max_held);
        let raw = RawSubscriber::open(name, Some(&typed.schema), options).py()?;
        let buf = vec![0; typed.schema.size()];
        let state = State { raw, buf, last: None, expiry: Some(DEFAULT_EXPIRY), last_at: None };
        let handle = Arc::new(Handle::new(state, "Subscriber"));
        let base = PyClassInitializer::from(Closable::new(handle.clone()));
        let name = name.to_owned();
        Ok(base.add_subclass(Subscriber { handle, typed, name, lost: Counter::new(0) }))
    }

    /// `(value, ok)`, as SHM's `subscribe()`: the newest value, and whether it is valid, that
    /// is younger than the data expiry (2 s unless changed with
    /// `set_data_expiry_time_us`). Before any value arrives: the default value and `False`.
    /// Calling it again returns the same newest value (it does not consume messages; `recv`
    /// does).
    fn subscribe(&self, py: Python<'_>) -> PyResult<(Py<PyAny>, bool)> {
        self.state(py, |s| {
            if let Some(len) = self.latest_buf(s)? {
                s.last = Some(self.decode(py, &s.buf[..len])?);
                let age = s.raw.last_publish_age().unwrap_or_default();
                s.last_at = Some(Instant::now().checked_sub(age).unwrap_or_else(Instant::now));
            }
            let fresh = s.last.is_some()
                && s.last_at.is_some_and(|at| s.expiry.is_none_or(|e| at.elapsed() < e));
            let value = s.last.as_ref().unwrap_or(&self.typed.default).clone_ref(py);
            Ok((value, fresh))
        })
    }

    /// Sets `subscribe()`'s data expiry, in µs (0: values never expire).
    fn set_data_expiry_time_us(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = args::int)] expiry_us: u64,
    ) -> PyResult<()> {
        let expiry = (expiry_us != 0).then(|| Duration::from_micros(expiry_us));
        self.handle.exclusive(py, |s| {
            s.expiry = expiry;
            Ok(())
        })
    }

    /// SHM's name for `set_data_expiry_time_us`.
    #[allow(non_snake_case)]
    fn setDataExpiryTime_us(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = args::int)] expiry_us: u64,
    ) -> PyResult<()> {
        self.set_data_expiry_time_us(py, expiry_us)
    }

    /// Whether a value this subscriber has not read yet is there (never blocks).
    fn is_updated(&self, py: Python<'_>) -> PyResult<bool> {
        self.handle.exclusive(py, |s| s.raw.has_unread().py())
    }

    /// SHM's name for `is_updated`.
    #[allow(non_snake_case)]
    fn isUpdated(&self, py: Python<'_>) -> PyResult<bool> {
        self.is_updated(py)
    }

    /// Waits up to `timeout_us` µs for a value this subscriber has not read yet; whether one
    /// came. `wait_for(0)` does not wait. Releases the GIL while it waits.
    #[pyo3(signature = (timeout_us = 0))]
    fn wait_for(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = args::int)] timeout_us: u64,
    ) -> PyResult<bool> {
        if self.is_updated(py)? || timeout_us == 0 {
            return self.is_updated(py);
        }
        let deadline = Instant::now().checked_add(Duration::from_micros(timeout_us));
        let waited = self.handle.blocking_exclusive(py, "wait_for", deadline, |s, end| {
            s.raw.wait_unread(Some(end)).map(|()| Some(true))
        });
        match waited {
            Err(e) if e.is_instance_of::<pyo3::exceptions::PyTimeoutError>(py) => Ok(false),
            other => other,
        }
    }

    /// SHM's name for `wait_for`.
    #[allow(non_snake_case)]
    #[pyo3(signature = (timeout_us = 0))]
    fn waitFor(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = args::int)] timeout_us: u64,
    ) -> PyResult<bool> {
        self.wait_for(py, timeout_us)
    }

    /// The next value in order, waiting at most `timeout` seconds (forever if `None`).
    /// Releases the GIL while it waits; Ctrl-C interrupts it.
    #[pyo3(signature = (timeout = None))]
    fn recv(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = args::seconds)] timeout: Option<f64>,
    ) -> PyResult<Py<PyAny>> {
        self.recv_blocking(py, timeout)
    }

    /// The next value in order, or `None` if none has arrived (never blocks).
    fn try_recv(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.state(py, |s| match self.try_recv_buf(s)? {
            Some(len) => self.decode(py, &s.buf[..len]).map(Some),
            None => Ok(None),
        })
    }

    /// The next message in order, held where it lies in shared memory (on a topic of
    /// messages of 4 KiB or more; a copy for smaller ones), waiting at most `timeout`
    /// seconds: `with sub.recv_view(timeout=1.0) as frame:` gives a read-only array over it
    /// on an array or slice topic (on a message topic, the decoded message, a copy). The
    /// sample stays held until the block ends and no array over it is left. `FullError` if
    /// this subscriber holds `max_held` samples, or the topic's subscribers all its hold
    /// slots. Releases the GIL while it waits.
    #[pyo3(signature = (timeout = None))]
    fn recv_view(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = args::seconds)] timeout: Option<f64>,
    ) -> PyResult<SampleView> {
        if let Some(sample) = self.state(py, |s| s.raw.try_recv_sample().py())? {
            return self.view_of(py, sample);
        }
        let deadline = deadline_in(timeout);
        let sample =
            self.handle.blocking_exclusive(py, "Subscriber.recv_view", deadline, |s, end| {
                let got = s.raw.recv_sample_deadline(Some(end));
                self.lost.set(s.raw.lost());
                got.map(Some)
            })?;
        self.view_of(py, sample)
    }

    /// `recv_view` without waiting: `None` if no message has arrived.
    fn try_recv_view(&self, py: Python<'_>) -> PyResult<Option<SampleView>> {
        match self.state(py, |s| s.raw.try_recv_sample().py())? {
            Some(sample) => self.view_of(py, sample).map(Some),
            None => Ok(None),
        }
    }

    /// Samples this subscriber holds (views not yet given back).
    #[getter]
    fn held(&self, py: Python<'_>) -> PyResult<usize> {
        self.handle.exclusive(py, |s| Ok(s.raw.held()))
    }

    /// The newest value if one arrived since the last receive, skipping older ones; else `None`.
    fn latest(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.state(py, |s| match self.latest_buf(s)? {
            Some(len) => self.decode(py, &s.buf[..len]).map(Some),
            None => Ok(None),
        })
    }

    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// The next value, waiting as long as it takes; the iteration ends when the subscriber is
    /// closed.
    fn __next__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        if !self.handle.is_open() {
            return Err(PyStopIteration::new_err(()));
        }
        self.recv_blocking(py, None)
            .map_err(|e| if self.handle.is_open() { e } else { PyStopIteration::new_err(()) })
    }

    /// Messages overwritten before this subscriber read them.
    #[getter]
    fn lost(&self) -> u64 {
        self.lost.get()
    }

    /// Whether it is attached to a topic whose publisher runs.
    #[getter]
    fn is_connected(&self, py: Python<'_>) -> bool {
        self.handle.exclusive(py, |s| Ok(s.raw.is_connected())).unwrap_or(false)
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

    #[classmethod]
    fn __class_getitem__(cls: &Bound<'_, PyType>, item: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        crate::generic_alias(cls, item)
    }

    fn __repr__(&self) -> String {
        let state = if self.handle.is_open() { "" } else { ", closed" };
        format!("eshm.Subscriber({:?}, {}{state})", self.name, self.typed.schema.type_name())
    }
}
