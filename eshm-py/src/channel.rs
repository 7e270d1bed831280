//! `eshm.ESHM`: the duplex byte channel, with the signature of the original ESHM Python
//! wrapper (`ESHM(shm_name, role=ESHMRole.AUTO, ...)`, `read`, `try_read`, `write`,
//! `get_stats`, `get_role`, `is_remote_alive`, `close`, context manager).

use crate::errors::{timeout, to_py};
use crate::wait::{run_sliced, wait_strategy};
use eshm::channel::{Channel, DisconnectBehavior, Role, Sink};
use eshm::{ReadError, WriteError};
use pyo3::buffer::PyBuffer;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyList};
use std::time::{Duration, Instant};

/// The `ESHMRole` IntEnum (which `get_role` returns), created at import.
static ROLE_ENUM: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// "Forever" for timeouts given as 0 = forever (100 years).
const FOREVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
/// The original ESHM's default read timeout.
const DEFAULT_READ_TIMEOUT: Duration = Duration::from_millis(1000);

fn int_enum<'py>(
    py: Python<'py>,
    name: &str,
    members: &[(&str, i64)],
    doc: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let members = PyList::new(py, members.iter().map(|(n, v)| (*n, *v)))?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("module", "eshm")?;
    let enum_ = py.import("enum")?.getattr("IntEnum")?.call((name, members), Some(&kwargs))?;
    enum_.setattr("__doc__", doc)?;
    Ok(enum_)
}

/// Adds `ESHMRole` (and its alias `Role`) and `ESHMDisconnectBehavior`, with the original
/// values.
pub(crate) fn register_enums(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let role = int_enum(
        py,
        "ESHMRole",
        &[("MASTER", 0), ("SLAVE", 1), ("AUTO", 2)],
        "The role of a channel endpoint.",
    )?;
    let behavior = int_enum(
        py,
        "ESHMDisconnectBehavior",
        &[("IMMEDIATELY", 0), ("ON_TIMEOUT", 1), ("NEVER", 2)],
        "What operations do when the other end is gone.",
    )?;
    m.add("ESHMRole", &role)?;
    m.add("Role", &role)?;
    m.add("ESHMDisconnectBehavior", &behavior)?;
    let _ = ROLE_ENUM.set(py, role.unbind());
    Ok(())
}

/// One endpoint of a duplex byte channel (see the module documentation).
#[pyclass(module = "eshm", name = "ESHM")]
pub(crate) struct Eshm {
    ch: Option<Channel>,
    name: String,
    /// Receive buffer reused across reads, so a read allocates only its result.
    buf: Vec<u8>,
    /// How long `write` waits for room or for a missing remote: the read timeout, or the
    /// reconnect wait if longer (so that, as in the original, a write to a missing remote
    /// waits as long as the disconnect behaviour may).
    write_timeout: Duration,
}

fn closed() -> PyErr {
    PyRuntimeError::new_err("operation on a closed ESHM channel")
}

impl Eshm {
    fn read_impl(
        &mut self,
        py: Python<'_>,
        buffer_size: usize,
        wait: Option<Duration>,
    ) -> PyResult<Option<Py<PyBytes>>> {
        let ch = self.ch.as_mut().ok_or_else(closed)?;
        if self.buf.len() < buffer_size {
            self.buf.resize(buffer_size, 0);
        }
        let buf = &mut self.buf[..buffer_size];
        // A message already queued needs no GIL round trip.
        let n = match (ch.try_read_into(buf), wait) {
            (Ok(Some(n)), _) => Some(n),
            (Ok(None), None) => None,
            (Err(e), None) => return Err(to_py(e.into())),
            // Nothing yet, or the remote is missing: wait as the disconnect behaviour says.
            (Ok(None) | Err(ReadError::Disconnected { .. }), Some(wait)) => {
                let deadline = Instant::now() + wait;
                Some(run_sliced(py, "ESHM.read", Some(deadline), |slice_end| {
                    ch.read_until(slice_end, Some(slice_end), Sink::Slice(&mut *buf))
                })?)
            }
            (Err(e), Some(_)) => return Err(to_py(e.into())),
        };
        Ok(n.map(|n| PyBytes::new(py, &buf[..n]).unbind()))
    }
}

fn role_from(value: Option<&Bound<'_, PyAny>>) -> PyResult<Role> {
    match value.map(|v| v.extract::<i64>()).transpose()? {
        None | Some(2) => Ok(Role::Auto),
        Some(0) => Ok(Role::Master),
        Some(1) => Ok(Role::Slave),
        Some(other) => Err(PyValueError::new_err(format!(
            "role must be ESHMRole.MASTER, SLAVE or AUTO, not {other}"
        ))),
    }
}

fn behavior_from(value: Option<&Bound<'_, PyAny>>) -> PyResult<DisconnectBehavior> {
    match value.map(|v| v.extract::<i64>()).transpose()? {
        None | Some(1) => Ok(DisconnectBehavior::OnTimeout),
        Some(0) => Ok(DisconnectBehavior::Immediately),
        Some(2) => Ok(DisconnectBehavior::Never),
        Some(other) => Err(PyValueError::new_err(format!(
            "disconnect_behavior must be ESHMDisconnectBehavior.IMMEDIATELY, ON_TIMEOUT or NEVER, not {other}"
        ))),
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
        wait = "default",
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        shm_name: &str,
        role: Option<&Bound<'_, PyAny>>,
        disconnect_behavior: Option<&Bound<'_, PyAny>>,
        stale_threshold_ms: u64,
        reconnect_wait_ms: u64,
        reconnect_retry_interval_ms: u64,
        max_reconnect_attempts: u32,
        auto_cleanup: bool,
        use_threads: bool,
        capacity: usize,
        max_message: usize,
        wait: &str,
    ) -> PyResult<Self> {
        let role = role_from(role)?;
        let reconnect_wait =
            if reconnect_wait_ms == 0 { FOREVER } else { Duration::from_millis(reconnect_wait_ms) };
        let interval = Duration::from_millis(reconnect_retry_interval_ms.max(1));
        let attempts = (max_reconnect_attempts != 0).then_some(max_reconnect_attempts);
        let builder = Channel::builder(shm_name)
            .role(role)
            .disconnect_behavior(behavior_from(disconnect_behavior)?)
            .stale_threshold(Duration::from_millis(stale_threshold_ms.max(1)))
            .reconnect_wait(reconnect_wait)
            .reconnect_interval(interval)
            .max_reconnect_attempts(attempts)
            .auto_cleanup(auto_cleanup)
            .heartbeat_thread(use_threads)
            .capacity(capacity)
            .max_message(max_message)
            .wait_strategy(wait_strategy(wait)?)
            .read_timeout(DEFAULT_READ_TIMEOUT);
        // A slave waits for its master one attempt at a time, so that Ctrl-C can stop it.
        let mut tries = 0u32;
        let ch = loop {
            let attempt = builder.clone();
            match py.detach(|| attempt.try_open()) {
                Ok(ch) => break ch,
                Err(eshm::Error::NotFound { .. } | eshm::Error::Disconnected { .. })
                    if role == Role::Slave && attempts.is_none_or(|max| tries < max) =>
                {
                    tries += 1;
                    py.detach(|| std::thread::sleep(interval));
                    py.check_signals()?;
                }
                Err(e) => return Err(to_py(e)),
            }
        };
        Ok(Eshm {
            ch: Some(ch),
            name: shm_name.to_owned(),
            buf: Vec::new(),
            write_timeout: reconnect_wait.max(DEFAULT_READ_TIMEOUT),
        })
    }

    /// Writes `data` (any bytes-like object), waiting up to 1 s, or the reconnect wait if
    /// longer, while the queue is full or the other end is missing: `DisconnectedError` when
    /// the disconnect behaviour gives up on the other end, `TimeoutError` at the end of that
    /// wait.
    fn write(&mut self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let ch = self.ch.as_mut().ok_or_else(closed)?;
        // Non-blocking first, from the caller's memory: the common case needs no copy other
        // than into the queue, and no GIL round trip.
        let attempt = |ch: &mut Channel, bytes: &[u8]| match ch.try_write(bytes) {
            Ok(()) => Ok(true),
            Err(WriteError::Full | WriteError::Disconnected { .. }) => Ok(false),
            Err(e) => Err(to_py(e.into())),
        };
        let owned;
        let bytes: &[u8] = if let Ok(b) = data.cast::<PyBytes>() {
            // Immutable: usable with the GIL released too.
            if attempt(ch, b.as_bytes())? {
                return Ok(());
            }
            b.as_bytes()
        } else {
            let view = PyBuffer::<u8>::get(data)?;
            if view.is_c_contiguous() {
                let slice: &[u8] = if view.len_bytes() == 0 {
                    &[]
                } else {
                    // Only Python code could write to the buffer meanwhile, and this thread
                    // holds the GIL until the slice's last use (`try_write` never releases it).
                    // SAFETY: `view` keeps the exporter's C-contiguous, non-empty buffer alive
                    // and fixed in size: `len_bytes()` readable bytes at non-null `buf_ptr()`.
                    unsafe {
                        std::slice::from_raw_parts(view.buf_ptr().cast::<u8>(), view.len_bytes())
                    }
                };
                if attempt(ch, slice)? {
                    return Ok(());
                }
            }
            // Waiting releases the GIL, during which Python code could change a mutable
            // buffer: wait with a copy.
            owned = view.to_vec(py)?;
            &owned
        };
        let deadline = Instant::now() + self.write_timeout;
        run_sliced(py, "ESHM.write", Some(deadline), |slice_end| {
            ch.write_until(bytes, slice_end, Some(slice_end))
        })
    }

    /// The next message, at most `buffer_size` bytes, waiting up to `timeout_ms` (1000 ms if
    /// `None`; 0 does not wait). Raises `TimeoutError` if none comes in time.
    #[pyo3(signature = (buffer_size = 4096, timeout_ms = None))]
    fn read(
        &mut self,
        py: Python<'_>,
        buffer_size: usize,
        timeout_ms: Option<u64>,
    ) -> PyResult<Py<PyBytes>> {
        let wait = timeout_ms.map_or(DEFAULT_READ_TIMEOUT, Duration::from_millis);
        let got = self.read_impl(py, buffer_size, (!wait.is_zero()).then_some(wait))?;
        got.ok_or_else(|| timeout("ESHM.read"))
    }

    /// The next message if one is queued, else `None` (never waits).
    #[pyo3(signature = (buffer_size = 4096))]
    fn try_read(&mut self, py: Python<'_>, buffer_size: usize) -> PyResult<Option<Py<PyBytes>>> {
        self.read_impl(py, buffer_size, None)
    }

    /// Liveness and counters, with the keys of the original ESHM (`master_heartbeat`, ...,
    /// `s2m_read_count`) plus eshm's.
    fn get_stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.ch.as_ref().ok_or_else(closed)?.stats();
        let d = PyDict::new(py);
        let ms = |age: Option<Duration>| age.map_or(-1.0, |a| a.as_secs_f64() * 1e3);
        d.set_item("master_heartbeat", s.channel.master.heartbeats)?;
        d.set_item("slave_heartbeat", s.channel.slave.heartbeats)?;
        d.set_item("master_pid", s.channel.master.pid)?;
        d.set_item("slave_pid", s.channel.slave.pid)?;
        d.set_item("master_alive", s.channel.master.alive)?;
        d.set_item("slave_alive", s.channel.slave.alive)?;
        d.set_item("stale_threshold", s.stale_threshold.as_millis() as u64)?;
        d.set_item("master_heartbeat_delta", ms(s.channel.master.heartbeat_age))?;
        d.set_item("slave_heartbeat_delta", ms(s.channel.slave.heartbeat_age))?;
        d.set_item("m2s_write_count", s.channel.master_to_slave.written)?;
        d.set_item("m2s_read_count", s.channel.master_to_slave.read)?;
        d.set_item("s2m_write_count", s.channel.slave_to_master.written)?;
        d.set_item("s2m_read_count", s.channel.slave_to_master.read)?;
        d.set_item("m2s_bytes_written", s.channel.master_to_slave.bytes_written)?;
        d.set_item("m2s_bytes_read", s.channel.master_to_slave.bytes_read)?;
        d.set_item("s2m_bytes_written", s.channel.slave_to_master.bytes_written)?;
        d.set_item("s2m_bytes_read", s.channel.slave_to_master.bytes_read)?;
        d.set_item("reconnects", s.reconnects)?;
        d.set_item("stale_events", s.stale_events)?;
        d.set_item("lost", s.lost)?;
        d.set_item("master_generation", s.channel.master.generation)?;
        d.set_item("slave_generation", s.channel.slave.generation)?;
        Ok(d)
    }

    /// `ESHMRole.MASTER` or `ESHMRole.SLAVE` (an AUTO endpoint has become one of them).
    fn get_role(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let value = match self.ch.as_ref().ok_or_else(closed)?.role() {
            Role::Master => 0,
            _ => 1,
        };
        let role = ROLE_ENUM.get(py).expect("created at import").bind(py);
        Ok(role.call1((value,))?.unbind())
    }

    /// Whether the other end is alive (attached, heartbeat fresh, process running).
    fn is_remote_alive(&self) -> PyResult<bool> {
        Ok(self.ch.as_ref().ok_or_else(closed)?.is_remote_alive())
    }

    /// The channel's name.
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// Leaves the channel (a master with `auto_cleanup` removes it). Idempotent.
    fn close(&mut self) {
        self.ch = None;
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
        match &self.ch {
            Some(ch) => format!("eshm.ESHM({:?}, role={})", self.name, ch.role().as_str()),
            None => format!("eshm.ESHM({:?}, closed)", self.name),
        }
    }
}
