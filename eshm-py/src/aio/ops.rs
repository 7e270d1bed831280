//! One attempt of each awaited operation, as `eshm/_aio.py` calls it with a fresh future:
//! the result if the operation can be done now (after a short spin without the GIL), else
//! the future, registered to be resolved when trying again is worthwhile (see [`super`]).

use super::{Key, Owner, Registered, poll, register};
use crate::action_client::ActionClient;
use crate::channel::Eshm;
use crate::errors::IntoPy;
use crate::service_client::ServiceClient;
use crate::subscriber::Subscriber;
use eshm::service::CallTicket;
use pyo3::exceptions::PyTimeoutError;
use pyo3::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long an attempt that found nothing waits with the GIL released (spinning, or as the
/// object's wait strategy says) before it registers, in µs: a reply that comes back within
/// this is caught without waking the event loop through its waiter thread, at the cost of
/// blocking the loop this long when nothing comes. 50 µs unless changed with
/// `_aio_set_spin_us` (the benchmark measures the wake-up path with 0).
static SPIN_US: AtomicU64 = AtomicU64::new(50);

fn spin() -> Duration {
    Duration::from_micros(SPIN_US.load(Ordering::Relaxed))
}

/// Sets how long awaited calls spin before they register (µs; 0: not at all); returns the
/// previous value. For benchmarks.
#[pyfunction]
fn _aio_set_spin_us(us: u64) -> u64 {
    SPIN_US.swap(us, Ordering::Relaxed)
}
/// Attempts that find nothing although their registration says to try now, before an
/// attempt polls instead (a slave whose master is missing has room but cannot write).
const ROUNDS: usize = 3;

/// A short blocking wait's outcome: `Ok(None)` if it timed out.
fn quietly<T>(py: Python<'_>, r: PyResult<T>) -> PyResult<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_instance_of::<PyTimeoutError>(py) => Ok(None),
        Err(e) => Err(e),
    }
}

/// What one step of an attempt did.
pub(crate) enum Step {
    /// The operation was done: its result.
    Done(Py<PyAny>),
    /// Nothing to take: the future was registered, or (`TryNow`) should not wait.
    Registered(Registered),
}

impl From<Registered> for Step {
    fn from(r: Registered) -> Step {
        Step::Registered(r)
    }
}

/// Calls `step` (try the operation, else register the future on `key`) until it is done or
/// the future waits; after [`ROUNDS`] steps that said to try now, the future polls instead.
fn settle(
    py: Python<'_>,
    future: &Bound<'_, PyAny>,
    (key, owner): (Key, Owner),
    mut step: impl FnMut(Owner) -> PyResult<Step>,
) -> PyResult<Py<PyAny>> {
    for _ in 0..ROUNDS {
        match step(owner.clone())? {
            Step::Done(got) => return Ok(got),
            Step::Registered(Registered::Waiting) => return Ok(future.clone().unbind()),
            Step::Registered(Registered::TryNow) => {}
        }
    }
    poll(py, key, owner, future)?;
    Ok(future.clone().unbind())
}

/// An attempt of `Subscriber.recv_async`.
#[pyfunction]
fn _aio_recv(
    py: Python<'_>,
    sub: PyRef<'_, Subscriber>,
    future: &Bound<'_, PyAny>,
) -> PyResult<Py<PyAny>> {
    if let Some(v) = sub.try_recv(py)? {
        return Ok(v);
    }
    let spin = spin();
    if !spin.is_zero()
        && sub.wait_for(py, spin.as_micros() as u64)?
        && let Some(v) = sub.try_recv(py)?
    {
        return Ok(v);
    }
    let (key, owner) = sub.aio_key();
    settle(py, future, (key, owner), |owner| {
        if let Some(v) = sub.try_recv(py)? {
            return Ok(Step::Done(v));
        }
        sub.with_raw(py, |raw| Ok(register(py, key, owner, future, || raw.wakeup()).py()??.into()))
    })
}

/// An attempt of `ESHM.read_async`.
#[pyfunction]
fn _aio_read(
    py: Python<'_>,
    ch: PyRef<'_, Eshm>,
    buffer_size: usize,
    future: &Bound<'_, PyAny>,
) -> PyResult<Py<PyAny>> {
    let read = |wait| Ok(ch.read_bytes(py, buffer_size, wait)?.map(Py::into_any));
    if let Some(v) = read(None)? {
        return Ok(v);
    }
    let spin = spin();
    if !spin.is_zero()
        && let Some(Some(v)) = quietly(py, read(Some(spin)))?
    {
        return Ok(v);
    }
    let (key, owner) = ch.aio_key(super::Op::Read);
    settle(py, future, (key, owner), |owner| {
        if let Some(v) = read(None)? {
            return Ok(Step::Done(v));
        }
        ch.with_channel(py, |c| {
            Ok(register(py, key, owner, future, || c.read_wakeup()).py()??.into())
        })
    })
}

/// An attempt of `ESHM.write_async`: `None` once written.
#[pyfunction]
fn _aio_write(
    py: Python<'_>,
    ch: PyRef<'_, Eshm>,
    data: &Bound<'_, PyAny>,
    future: &Bound<'_, PyAny>,
) -> PyResult<Py<PyAny>> {
    let len = data.len().unwrap_or(0);
    let (key, owner) = ch.aio_key(super::Op::Write);
    settle(py, future, (key, owner), |owner| {
        if ch.try_write_now(py, data)? {
            return Ok(Step::Done(py.None()));
        }
        ch.with_channel(py, |c| {
            Ok(register(py, key, owner, future, || c.write_wakeup(len)).py()??.into())
        })
    })
}

/// A call of `ServiceClient.call_async` in flight.
#[pyclass(module = "eshm", name = "_CallTicket", frozen)]
pub(crate) struct Ticket(pub(crate) CallTicket);

/// An attempt to send a call of `ServiceClient.call_async`: its [`Ticket`] once sent; while
/// there is no server, a poll (servers that appear wake nobody).
#[pyfunction]
fn _aio_send(
    py: Python<'_>,
    client: PyRef<'_, ServiceClient>,
    request: &Bound<'_, PyAny>,
    future: &Bound<'_, PyAny>,
) -> PyResult<Py<PyAny>> {
    match client.send_now(py, request)? {
        Some(ticket) => Ok(Py::new(py, Ticket(ticket))?.into_any()),
        None => {
            let (key, owner) = client.aio_key();
            poll(py, key, owner, future)?;
            Ok(future.clone().unbind())
        }
    }
}

/// An attempt to take the response of a call of `ServiceClient.call_async`.
#[pyfunction]
fn _aio_response(
    py: Python<'_>,
    client: PyRef<'_, ServiceClient>,
    ticket: PyRef<'_, Ticket>,
    future: &Bound<'_, PyAny>,
) -> PyResult<Py<PyAny>> {
    let t = ticket.0;
    if let Some(v) = client.response_now(py, t, None)? {
        return Ok(v);
    }
    let spin = spin();
    if !spin.is_zero()
        && let Some(Some(v)) = quietly(py, client.response_now(py, t, Some(Instant::now() + spin)))?
    {
        return Ok(v);
    }
    let (key, owner) = client.aio_key();
    // The look and the registration under one lock: a registration made by a call of another
    // task looked for that call's answer only.
    settle(py, future, (key, owner), |owner| {
        client.response_or_register(py, t, |raw| {
            register(py, key, owner, future, || raw.wakeup(t)).py()?
        })
    })
}

/// Gives up on a call of `ServiceClient.call_async` whose task was cancelled or timed out
/// (without it, its answer would keep its entry: the client's calls in flight are bounded).
#[pyfunction]
fn _aio_abandon(py: Python<'_>, client: PyRef<'_, ServiceClient>, ticket: PyRef<'_, Ticket>) {
    // A closed client has nothing to give up.
    let _ = client.abandon(py, ticket.0);
}

/// An attempt of `ActionClient.wait_for_result_async`.
#[pyfunction]
fn _aio_goal_result(
    py: Python<'_>,
    client: PyRef<'_, ActionClient>,
    goal_id: u64,
    future: &Bound<'_, PyAny>,
) -> PyResult<Py<PyAny>> {
    let (key, owner) = client.aio_key();
    settle(py, future, (key, owner), |owner| {
        client.result_or_register(py, goal_id, |raw, id| {
            register(py, key, owner, future, || raw.result_wakeup(id)).py()?
        })
    })
}

/// An attempt of `ActionClient.next_feedback_async`.
#[pyfunction]
fn _aio_goal_feedback(
    py: Python<'_>,
    client: PyRef<'_, ActionClient>,
    goal_id: u64,
    future: &Bound<'_, PyAny>,
) -> PyResult<Py<PyAny>> {
    let (key, owner) = client.aio_key();
    settle(py, future, (key, owner), |owner| {
        client.feedback_or_register(py, goal_id, |raw, id| {
            register(py, key, owner, future, || raw.feedback_wakeup(id)).py()?
        })
    })
}

pub(crate) fn register_functions(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Ticket>()?;
    m.add_function(wrap_pyfunction!(_aio_set_spin_us, m)?)?;
    m.add_function(wrap_pyfunction!(_aio_recv, m)?)?;
    m.add_function(wrap_pyfunction!(_aio_read, m)?)?;
    m.add_function(wrap_pyfunction!(_aio_write, m)?)?;
    m.add_function(wrap_pyfunction!(_aio_send, m)?)?;
    m.add_function(wrap_pyfunction!(_aio_response, m)?)?;
    m.add_function(wrap_pyfunction!(_aio_abandon, m)?)?;
    m.add_function(wrap_pyfunction!(_aio_goal_result, m)?)?;
    m.add_function(wrap_pyfunction!(_aio_goal_feedback, m)?)?;
    Ok(())
}
