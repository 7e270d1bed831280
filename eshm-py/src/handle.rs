//! What every Python object of this module holds: its Rust object behind a lock, so that any
//! number of threads can share it; closable from any thread (a call blocked in another thread
//! ends with `ClosedError` at the end of its slice); and closed in a child process after
//! `fork()`, where it never touches the parent's segments, not even when it is dropped.
//!
//! Locks are taken without ever waiting for one while holding the GIL (the holder may need
//! the GIL to finish): a contended lock is waited for with the GIL released, then taken with
//! `try_*` again.

// `clippy.toml` keeps atomics in eshm's sync shim, for memory shared between processes; these
// are process-local flags, which loom need not see.
#![allow(clippy::disallowed_types)]

use crate::errors::{closed, timeout, to_py};
use pyo3::prelude::*;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{RwLock, TryLockError};
use std::time::{Duration, Instant};

/// Longest stretch a blocking call spends without the GIL before looking for signals and for
/// `close()`.
const SLICE: Duration = Duration::from_millis(50);

/// Bumped in a child process right after `fork()` (by `os.register_at_fork`, see
/// [`register_fork_hook`]): a handle made before that belongs to the parent.
static FORK_GENERATION: AtomicU64 = AtomicU64::new(0);

/// Called by Python in a new child process.
#[pyfunction]
fn _after_fork_in_child() {
    FORK_GENERATION.fetch_add(1, Ordering::Relaxed);
}

/// Makes `os.fork()` (and `multiprocessing` with the fork start method) bump the fork
/// generation in the child.
pub(crate) fn register_fork_hook(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let hook = wrap_pyfunction!(_after_fork_in_child, m)?;
    let kwargs = pyo3::types::PyDict::new(m.py());
    kwargs.set_item("after_in_child", hook)?;
    m.py().import("os")?.getattr("register_at_fork")?.call((), Some(&kwargs))?;
    Ok(())
}

/// A number a Python object remembers outside its handle, so that it can be read without the
/// lock and after `close()` (a publisher's count, a subscriber's losses).
#[derive(Debug, Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    pub(crate) fn new(value: u64) -> Counter {
        Counter(AtomicU64::new(value))
    }

    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    pub(crate) fn set(&self, value: u64) {
        self.0.store(value, Ordering::Relaxed);
    }
}

/// A Rust object shared by the threads that use its Python object.
pub(crate) struct Handle<T> {
    slot: RwLock<Option<T>>,
    closed: AtomicBool,
    fork_generation: u64,
    /// The Python class, for messages (`"Subscriber"`).
    class: &'static str,
}

impl<T: Send + Sync> Handle<T> {
    pub(crate) fn new(value: T, class: &'static str) -> Handle<T> {
        Handle {
            slot: RwLock::new(Some(value)),
            closed: AtomicBool::new(false),
            fork_generation: FORK_GENERATION.load(Ordering::Relaxed),
            class,
        }
    }

    /// Whether the object can be used: not closed, not inherited through `fork()`.
    pub(crate) fn is_open(&self) -> bool {
        !self.closed.load(Ordering::Acquire) && !self.forked()
    }

    /// `ClosedError` unless the object can be used.
    pub(crate) fn check_open(&self) -> PyResult<()> {
        if self.forked() {
            return Err(closed(&format!(
                "this {} was created in the parent process before fork(): it is closed in the \
                 child; create a new one after fork",
                self.class
            )));
        }
        if self.closed.load(Ordering::Acquire) {
            return Err(closed(&format!("operation on a closed {}", self.class)));
        }
        Ok(())
    }

    /// Runs `f` on the object with shared access, the GIL held. Calls of other threads run
    /// at the same time, except exclusive ones and `close`.
    pub(crate) fn shared<R>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&T) -> PyResult<R>,
    ) -> PyResult<R> {
        self.check_open()?;
        let guard = acquire(py, || self.slot.try_read(), || drop(self.slot.read()));
        match guard.as_ref() {
            Some(value) => f(value),
            None => Err(closed(&format!("operation on a closed {}", self.class))),
        }
    }

    /// Runs `f` on the object with exclusive access, the GIL held.
    pub(crate) fn exclusive<R>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut T) -> PyResult<R>,
    ) -> PyResult<R> {
        self.check_open()?;
        let mut guard = acquire(py, || self.slot.try_write(), || drop(self.slot.write()));
        match guard.as_mut() {
            Some(value) => f(value),
            None => Err(closed(&format!("operation on a closed {}", self.class))),
        }
    }

    /// A blocking operation with exclusive access: `op` runs with the GIL released, one slice
    /// at a time (see [`slices`](Self::slices)).
    pub(crate) fn blocking_exclusive<R: Send, E: Into<eshm::Error>>(
        &self,
        py: Python<'_>,
        what: &str,
        deadline: Option<Instant>,
        mut op: impl FnMut(&mut T, Instant) -> Result<Option<R>, E> + Send,
    ) -> PyResult<R> {
        self.slices(py, what, deadline, |slice_end| {
            let mut slot = self.slot.write().unwrap_or_else(|p| p.into_inner());
            slot.as_mut().map(|value| op(value, slice_end).map_err(Into::into))
        })
    }

    /// A blocking operation with shared access (see [`slices`](Self::slices)).
    pub(crate) fn blocking_shared<R: Send, E: Into<eshm::Error>>(
        &self,
        py: Python<'_>,
        what: &str,
        deadline: Option<Instant>,
        mut op: impl FnMut(&T, Instant) -> Result<Option<R>, E> + Send,
    ) -> PyResult<R> {
        self.slices(py, what, deadline, |slice_end| {
            let slot = self.slot.read().unwrap_or_else(|p| p.into_inner());
            slot.as_ref().map(|value| op(value, slice_end).map_err(Into::into))
        })
    }

    /// Runs `slice` with the GIL released until it returns a value. It gets the end of its
    /// slice (never past `deadline`) and returns `Some(Ok(None))` or a timeout when it reaches
    /// it, or `None` if the object was closed meanwhile. Between slices: Ctrl-C raises
    /// `KeyboardInterrupt`, `close()` from another thread `ClosedError`, and a passed
    /// `deadline` `TimeoutError` naming `what`.
    fn slices<R: Send>(
        &self,
        py: Python<'_>,
        what: &str,
        deadline: Option<Instant>,
        mut slice: impl FnMut(Instant) -> Option<eshm::Result<Option<R>>> + Send,
    ) -> PyResult<R> {
        loop {
            self.check_open()?;
            let now = Instant::now();
            let slice_end = deadline.map_or(now + SLICE, |d| d.min(now + SLICE));
            match py.detach(|| slice(slice_end)) {
                Some(Ok(Some(v))) => return Ok(v),
                Some(Ok(None) | Err(eshm::Error::Timeout)) => {
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        return Err(timeout(what));
                    }
                    py.check_signals()?;
                }
                Some(Err(e)) => return Err(to_py(e)),
                None => self.check_open()?,
            }
        }
    }

    /// Closes the object: later calls raise `ClosedError`, a call blocked in another thread
    /// ends with it at the end of its slice, and the Rust object is dropped once no call uses
    /// it. In a forked child, the parent's object is forgotten, not dropped.
    pub(crate) fn close(&self, py: Python<'_>) {
        self.closed.store(true, Ordering::Release);
        let value = py.detach(|| self.slot.write().unwrap_or_else(|p| p.into_inner()).take());
        if let Some(value) = value {
            self.dispose(value);
        }
    }
}

impl<T> Handle<T> {
    /// Whether this process is a child forked after the handle was made.
    fn forked(&self) -> bool {
        FORK_GENERATION.load(Ordering::Relaxed) != self.fork_generation
    }

    /// Drops a value taken out of the handle, unless this is a forked child: the value belongs
    /// to the parent (dropping a publisher would unlink the parent's topic), so it is
    /// forgotten.
    fn dispose(&self, value: T) {
        if self.forked() {
            std::mem::forget(value);
        } else {
            drop(value);
        }
    }
}

impl<T> Drop for Handle<T> {
    fn drop(&mut self) {
        let slot = self.slot.get_mut().unwrap_or_else(|p| p.into_inner());
        if let Some(value) = slot.take() {
            self.dispose(value);
        }
    }
}

/// Takes a lock without waiting for it while holding the GIL: `try_lock` first; if another
/// thread holds it, waits for it with the GIL released (`wait` locks and unlocks), then tries
/// again. A poisoned lock (a panic while holding it) is used anyway: the objects stay valid.
fn acquire<G>(
    py: Python<'_>,
    mut try_lock: impl FnMut() -> Result<G, TryLockError<G>>,
    wait: impl Fn() + Send + Sync,
) -> G {
    loop {
        match try_lock() {
            Ok(guard) => return guard,
            Err(TryLockError::Poisoned(p)) => return p.into_inner(),
            Err(TryLockError::WouldBlock) => py.detach(&wait),
        }
    }
}

/// What the base class needs of its object's handle.
pub(crate) trait Close: Send + Sync {
    fn close(&self, py: Python<'_>);
    fn is_open(&self) -> bool;
}

impl<T: Send + Sync> Close for Handle<T> {
    fn close(&self, py: Python<'_>) {
        Handle::close(self, py);
    }

    fn is_open(&self) -> bool {
        Handle::is_open(self)
    }
}

/// The base class of `Publisher`, `Subscriber` and `ESHM`: `close()`, `closed`, and the
/// context-manager protocol (`with ... as x:` closes `x` at the end of the block).
#[pyclass(module = "eshm", name = "Closable", subclass, frozen)]
pub(crate) struct Closable {
    handle: std::sync::Arc<dyn Close>,
}

impl Closable {
    pub(crate) fn new(handle: std::sync::Arc<dyn Close>) -> Closable {
        Closable { handle }
    }
}

#[pymethods]
impl Closable {
    /// Releases the object's shared memory; later calls raise `ClosedError`, and a call
    /// blocked in another thread ends with it. Idempotent.
    fn close(&self, py: Python<'_>) {
        self.handle.close(py);
    }

    /// Whether the object is closed (or was inherited through `fork()`).
    #[getter]
    fn closed(&self) -> bool {
        !self.handle.is_open()
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(
        &self,
        py: Python<'_>,
        _exc_type: &Bound<'_, PyAny>,
        _exc: &Bound<'_, PyAny>,
        _tb: &Bound<'_, PyAny>,
    ) {
        self.close(py);
    }
}
