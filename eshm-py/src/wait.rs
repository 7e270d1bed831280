//! Waiting without the GIL: blocking calls run in slices, looking for signals (Ctrl-C) between
//! them, and the `wait` keyword of the classes.

use crate::errors::{timeout, to_py};
use eshm::WaitStrategy;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use std::time::{Duration, Instant};

/// Longest stretch a blocking call spends without the GIL before looking for signals.
const SLICE: Duration = Duration::from_millis(50);

/// Parses the `wait` keyword shared by the classes.
pub(crate) fn wait_strategy(wait: &str) -> PyResult<WaitStrategy> {
    match wait {
        "default" => Ok(WaitStrategy::default()),
        "spin" => Ok(WaitStrategy::Spin),
        "park" => Ok(WaitStrategy::Park),
        other => Err(PyValueError::new_err(format!(
            "wait must be \"default\" (spin 20 µs, then sleep), \"spin\" (busy-poll) or \"park\" (sleep at once), not {other:?}"
        ))),
    }
}

/// Runs `op` with the GIL released, one slice at a time, until it returns a value. `op` gets
/// the end of its slice (never past `deadline`) and returns `Ok(None)` or `Err(Timeout)` when
/// it reaches it. Between slices, a pending signal raises its exception (`KeyboardInterrupt`);
/// once `deadline` (`None`: never) has passed, `TimeoutError` naming `what`.
pub(crate) fn run_sliced<T: Send, E: Into<eshm::Error> + Send>(
    py: Python<'_>,
    what: &str,
    deadline: Option<Instant>,
    mut op: impl FnMut(Instant) -> Result<Option<T>, E> + Send,
) -> PyResult<T> {
    loop {
        let now = Instant::now();
        let slice_end = deadline.map_or(now + SLICE, |d| d.min(now + SLICE));
        let outcome = py.detach(|| op(slice_end).map_err(Into::into));
        match outcome {
            Ok(Some(v)) => return Ok(v),
            Ok(None) | Err(eshm::Error::Timeout) => {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Err(timeout(what));
                }
                py.check_signals()?;
            }
            Err(e) => return Err(to_py(e)),
        }
    }
}
