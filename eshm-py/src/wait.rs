//! The `wait` keyword of the classes. (Blocking calls run in slices without the GIL: see
//! `handle`.)

use crate::errors::invalid_argument;
use eshm::WaitStrategy;
use pyo3::prelude::*;

/// Parses the `wait` keyword shared by the classes.
pub(crate) fn wait_strategy(wait: &str) -> PyResult<WaitStrategy> {
    match wait {
        "default" => Ok(WaitStrategy::default()),
        "spin" => Ok(WaitStrategy::Spin),
        "park" => Ok(WaitStrategy::Park),
        other => Err(invalid_argument(format!(
            "wait must be \"default\" (spin 20 µs, then sleep), \"spin\" (busy-poll) or \"park\" (sleep at once), not {other:?}"
        ))),
    }
}
