//! `eshm.ESHM`: the duplex byte channel, with the signature and the semantics of the original
//! ESHM Python wrapper (`ESHM(shm_name, role=ESHMRole.AUTO, ...)`, `read`, `try_read`,
//! `write`, `read_data`, `write_data`, `get_stats`, `get_role`, `is_remote_alive`, `close`,
//! context manager), and `try_write`. One thread may read while another writes.

use crate::args;
use crate::data;
use crate::enums::{DISCONNECT_BEHAVIOR, ROLE};
use crate::errors::{no_data, to_py};
use crate::handle::{Closable, Handle};
use crate::wait::wait_strategy;
use eshm::channel::{Channel, DisconnectBehavior, Role, Sink, Stats};
use eshm::{ReadError, WriteError};
use pyo3::buffer::PyBuffer;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// "Forever" for timeouts given as 0 = forever (100 years).
const FOREVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
/// The original ESHM's default read timeout; also how long `write` waits for room, or for a
/// missing master.
const DEFAULT_TIMEOUT: Duration = Duration::from_millis(1000);

/// One endpoint of a duplex byte channel (see the module documentation).
#[pyclass(module = "eshm", name = "ESHM", extends = Closable, frozen)]
pub(crate) struct Eshm {
    handle: Arc<Handle<Channel>>,
    name: String,
    /// The heartbeat counters at the previous `get_stats`, for its `*_heartbeat_delta` keys.
    beats_seen: Mutex<(u64, u64)>,
}

impl Eshm {
    /// A message of at most `buffer_size` bytes, waiting up to `wait` (`None`: not at all);
    /// `Ok(None)` if none came.
    fn read_bytes(
        &self,
        py: Python<'_>,
        buffer_size: usize,
        wait: Option<Duration>,
    ) -> PyResult<Option<Py<PyBytes>>> {
        // No message is larger than the channel's maximum: a larger buffer is never allocated
        // (`read(buffer_size=2**62)` reads as `read()` does). A message larger than this buffer
        // but within `buffer_size` (a slave moved to a new master with a larger maximum) grows
        // it, and is read again.
        let max = self.handle.shared(py, |ch| Ok(ch.max_message()))?;
        let mut buf = vec![0u8; buffer_size.min(max)];
        let read =
            |ch: &Channel, buf: &mut Vec<u8>, deadline: Instant, end: Option<Instant>| match ch
                .read_until(deadline, end, Sink::Slice(buf))
            {
                Err(ReadError::BufferTooSmall { needed, .. }) if needed <= buffer_size => {
                    buf.resize(needed, 0);
                    ch.read_until(deadline, end, Sink::Slice(buf))
                }
                other => other,
            };
        // A message already queued needs no GIL round trip.
        let now = self.handle.shared(py, |ch| match read(ch, &mut buf, Instant::now(), None) {
            Ok(n) => Ok(n),
            Err(ReadError::Timeout) => Ok(None),
            Err(e) => Err(to_py(e.into())),
        })?;
        let n = match (now, wait) {
            (Some(n), _) => Some(n),
            (None, None) => None,
            (None, Some(wait)) => {
                let deadline = Instant::now().checked_add(wait);
                let buf = &mut buf;
                Some(self.handle.blocking_shared(py, "ESHM.read", deadline, |ch, end| {
                    read(ch, &mut *buf, end, Some(end))
                })?)
            }
        };
        Ok(n.map(|n| PyBytes::new(py, &buf[..n]).unbind()))
    }

    /// Writes `data` (a bytes-like object) now, without copying it: `Ok(false)` if the queue
    /// has no room now.
    fn try_write_now(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<bool> {
        let attempt = |bytes: &[u8]| {
            self.handle.shared(py, |ch| match ch.try_write(bytes) {
                Ok(()) => Ok(true),
                Err(WriteError::Full) => Ok(false),
                Err(e) => Err(to_py(e.into())),
            })
        };
        if let Ok(b) = data.cast::<PyBytes>() {
            return attempt(b.as_bytes());
        }
        let view = PyBuffer::<u8>::get(data).map_err(|_| args::not_bytes(data))?;
        if !view.is_c_contiguous() {
            return attempt(&view.to_vec(py)?);
        }
        let slice: &[u8] = if view.len_bytes() == 0 {
            &[]
        } else {
            // Only Python code could write to the buffer meanwhile, and this thread holds the
            // GIL until the slice's last use (`try_write` never releases it).
            // SAFETY: `view` keeps the exporter's C-contiguous, non-empty buffer alive and
            // fixed in size: `len_bytes()` readable bytes at non-null `buf_ptr()`.
            unsafe { std::slice::from_raw_parts(view.buf_ptr().cast::<u8>(), view.len_bytes()) }
        };
        attempt(slice)
    }

    fn write_bytes(&self, py: Python<'_>, bytes: &[u8]) -> PyResult<()> {
        let deadline = Instant::now() + DEFAULT_TIMEOUT;
        self.handle.blocking_shared(py, "ESHM.write", Some(deadline), |ch, end| {
            ch.write_until(bytes, end, Some(end))
        })
    }
}

#[pymethods]
impl Eshm {
    #[new]
    #[pyo3(signature = (
        shm_name,
        role = None,
        disconnect_behavior = None,
        stale_threshold_ms = 100,
        reconnect_wait_ms = 5000,
        reconnect_retry_interval_ms = 100,
        max_reconnect_attempts = 50,
        auto_cleanup = true,
        use_threads = true,
        *,
        capacity = 1048576,
        max_message = 65536,
        wait = "default".to_owned(),
    ),
    text_signature = "(shm_name, role=None, disconnect_behavior=None, stale_threshold_ms=100, \
                      reconnect_wait_ms=5000, reconnect_retry_interval_ms=100, \
                      max_reconnect_attempts=50, auto_cleanup=True, use_threads=True, *, \
                      capacity=1048576, max_message=65536, wait='default')"
    )]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        #[pyo3(from_py_with = args::text)] shm_name: String,
        role: Option<&Bound<'_, PyAny>>,
        disconnect_behavior: Option<&Bound<'_, PyAny>>,
        #[pyo3(from_py_with = args::int)] stale_threshold_ms: u64,
        #[pyo3(from_py_with = args::int)] reconnect_wait_ms: u64,
        #[pyo3(from_py_with = args::int)] reconnect_retry_interval_ms: u64,
        #[pyo3(from_py_with = args::int)] max_reconnect_attempts: u32,
        #[pyo3(from_py_with = args::flag)] auto_cleanup: bool,
        #[pyo3(from_py_with = args::flag)] use_threads: bool,
        #[pyo3(from_py_with = args::int)] capacity: usize,
        #[pyo3(from_py_with = args::int)] max_message: usize,
        #[pyo3(from_py_with = args::text)] wait: String,
    ) -> PyResult<PyClassInitializer<Self>> {
        let role = ROLE.parse(role, Role::Auto)?;
        let reconnect_wait =
            if reconnect_wait_ms == 0 { FOREVER } else { Duration::from_millis(reconnect_wait_ms) };
        let interval = Duration::from_millis(reconnect_retry_interval_ms.max(1));
        let attempts = (max_reconnect_attempts != 0).then_some(max_reconnect_attempts);
        let builder = Channel::builder(&shm_name)
            .role(role)
            .disconnect_behavior(
                DISCONNECT_BEHAVIOR.parse(disconnect_behavior, DisconnectBehavior::OnTimeout)?,
            )
            .stale_threshold(Duration::from_millis(stale_threshold_ms.max(1)))
            .reconnect_wait(reconnect_wait)
            .reconnect_interval(interval)
            .max_reconnect_attempts(attempts)
            .auto_cleanup(auto_cleanup)
            .heartbeat_thread(use_threads)
            .capacity(capacity)
            .max_message(max_message)
            .wait_strategy(wait_strategy(&wait)?)
            .read_timeout(DEFAULT_TIMEOUT)
            .write_timeout(DEFAULT_TIMEOUT);
        // A slave waits for its master one attempt at a time, so that Ctrl-C can stop it.
        let mut tries = 0u32;
        let ch = loop {
            let attempt = builder.clone();
            match py.detach(|| attempt.try_open()) {
                Ok(ch) => break ch,
                Err(eshm::Error::NotFound { .. } | eshm::Error::NoMaster { .. })
                    if role == Role::Slave && attempts.is_none_or(|max| tries < max) =>
                {
                    tries += 1;
                    py.detach(|| std::thread::sleep(interval));
                    py.check_signals()?;
                }
                Err(e) => return Err(to_py(e)),
            }
        };
        let handle = Arc::new(Handle::new(ch, "ESHM channel"));
        let base = PyClassInitializer::from(Closable::new(handle.clone()));
        Ok(base.add_subclass(Eshm { handle, name: shm_name, beats_seen: Mutex::new((0, 0)) }))
    }

    /// Writes `data` (any bytes-like object). A master writes whether or not a slave is
    /// there (the slave receives what was queued); a write waits up to 1 s while the queue is
    /// full or, for a slave, while its master is missing (`TimeoutError` then).
    fn write(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        // Non-blocking first, from the caller's memory: the common case needs no copy other
        // than into the queue, and no GIL round trip.
        if self.try_write_now(py, data)? {
            return Ok(());
        }
        // Waiting releases the GIL, during which Python code could change a mutable buffer:
        // wait with a copy.
        if let Ok(b) = data.cast::<PyBytes>() {
            // Immutable: usable with the GIL released too.
            return self.write_bytes(py, b.as_bytes());
        }
        self.write_bytes(py, &args::bytes(data)?)
    }

    /// Writes `data` (any bytes-like object) if the queue has room for it now, else raises
    /// `FullError` (as does a slave whose master is missing now); never waits.
    fn try_write(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        if self.try_write_now(py, data)? { Ok(()) } else { Err(to_py(eshm::Error::Full)) }
    }

    /// The next message, at most `buffer_size` bytes, waiting up to `timeout_ms` (1000 ms if
    /// `None`). Raises `TimeoutError` if none comes in time; with `timeout_ms=0`, which does
    /// not wait, `NoDataError` (a `TimeoutError` and a `RuntimeError`, as the original's
    /// "No data available").
    #[pyo3(signature = (buffer_size = 4096, timeout_ms = None))]
    fn read(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = args::int)] buffer_size: usize,
        #[pyo3(from_py_with = args::opt_int)] timeout_ms: Option<u64>,
    ) -> PyResult<Py<PyBytes>> {
        let wait = timeout_ms.map_or(DEFAULT_TIMEOUT, Duration::from_millis);
        match self.read_bytes(py, buffer_size, (!wait.is_zero()).then_some(wait))? {
            Some(bytes) => Ok(bytes),
            None => Err(no_data("ESHM.read")),
        }
    }

    /// The next message if one is queued, else `None` (never waits, whatever the other end
    /// is doing).
    #[pyo3(signature = (buffer_size = 4096))]
    fn try_read(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = args::int)] buffer_size: usize,
    ) -> PyResult<Option<Py<PyBytes>>> {
        self.read_bytes(py, buffer_size, None)
    }

    /// Writes `mapping` (`str` keys; `bool`, `int`, `float`, `str` or bytes-like values) as
    /// one message, for `read_data` at the other end.
    fn write_data(&self, py: Python<'_>, mapping: &Bound<'_, PyAny>) -> PyResult<()> {
        let message = data::encode(mapping)?;
        self.write_bytes(py, &message)
    }

    /// The next `write_data` message as a `dict` (its first `max_items` items), waiting up to
    /// `timeout_ms` (as `read`).
    #[pyo3(signature = (timeout_ms = 10, max_items = 32))]
    fn read_data<'py>(
        &self,
        py: Python<'py>,
        #[pyo3(from_py_with = args::int)] timeout_ms: u64,
        #[pyo3(from_py_with = args::int)] max_items: usize,
    ) -> PyResult<Bound<'py, PyDict>> {
        let max = self.handle.shared(py, |ch| Ok(ch.max_message()))?;
        let bytes = self.read(py, max.max(1), Some(timeout_ms))?;
        data::decode(py, bytes.as_bytes(py), max_items)
    }

    /// Liveness and counters: the keys of the original ESHM, in its order
    /// (`master_heartbeat`, ..., `s2m_read_count`), then eshm's own. `*_heartbeat_delta` is
    /// the change of that heartbeat counter since the previous call.
    fn get_stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s: Stats = self.handle.shared(py, |ch| Ok(ch.stats()))?;
        let (m, sl) = (&s.channel.master, &s.channel.slave);
        let (m_delta, s_delta) = {
            let mut seen = self.beats_seen.lock().unwrap_or_else(|p| p.into_inner());
            let deltas =
                (m.heartbeats.saturating_sub(seen.0), sl.heartbeats.saturating_sub(seen.1));
            *seen = (m.heartbeats, sl.heartbeats);
            deltas
        };
        let (m2s, s2m) = (&s.channel.master_to_slave, &s.channel.slave_to_master);
        let d = PyDict::new(py);
        d.set_item("master_heartbeat", m.heartbeats)?;
        d.set_item("slave_heartbeat", sl.heartbeats)?;
        d.set_item("master_pid", m.pid)?;
        d.set_item("slave_pid", sl.pid)?;
        d.set_item("master_alive", m.alive)?;
        d.set_item("slave_alive", sl.alive)?;
        d.set_item("stale_threshold", s.stale_threshold.as_millis() as u64)?;
        d.set_item("master_heartbeat_delta", m_delta)?;
        d.set_item("slave_heartbeat_delta", s_delta)?;
        d.set_item("m2s_write_count", m2s.written)?;
        d.set_item("m2s_read_count", m2s.read)?;
        d.set_item("s2m_write_count", s2m.written)?;
        d.set_item("s2m_read_count", s2m.read)?;
        d.set_item("m2s_bytes_written", m2s.bytes_written)?;
        d.set_item("m2s_bytes_read", m2s.bytes_read)?;
        d.set_item("s2m_bytes_written", s2m.bytes_written)?;
        d.set_item("s2m_bytes_read", s2m.bytes_read)?;
        d.set_item("reconnects", s.reconnects)?;
        d.set_item("stale_events", s.stale_events)?;
        d.set_item("lost", s.lost)?;
        d.set_item("master_generation", m.generation)?;
        d.set_item("slave_generation", sl.generation)?;
        Ok(d)
    }

    /// `ESHMRole.MASTER` or `ESHMRole.SLAVE` (an AUTO endpoint has become one of them).
    fn get_role(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let role = self.handle.shared(py, |ch| Ok(ch.role()))?;
        ROLE.member(py, role)
    }

    /// Whether the other end is alive (attached, heartbeat fresh, process running).
    fn is_remote_alive(&self, py: Python<'_>) -> PyResult<bool> {
        self.handle.shared(py, |ch| Ok(ch.is_remote_alive()))
    }

    /// The channel's name.
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// `ESHM(name='control', role=MASTER)`, as the original wrapper prints it.
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let name = pyo3::types::PyString::new(py, &self.name).repr()?;
        Ok(match self.handle.shared(py, |ch| Ok(ch.role())) {
            Ok(Role::Master) => format!("ESHM(name={name}, role=MASTER)"),
            Ok(_) => format!("ESHM(name={name}, role=SLAVE)"),
            Err(_) => format!("ESHM(name={name}, closed)"),
        })
    }
}
