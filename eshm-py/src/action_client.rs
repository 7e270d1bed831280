//! `eshm.ActionClient`: sends goals to an action and follows them (status, feedback, cancel,
//! result), each by the integer id `send_goal` returns; SHM's methods work on the goal sent
//! last (`sendGoal`, `waitForResult`, `getResult`, `getFeedback`, `getStatus`, `cancelGoal`,
//! `isServerConnected`, `waitForServer`).

use crate::codec::Typed;
use crate::enums::GOAL_STATUS;
use crate::errors::{IntoPy, is_eshm_error};
use crate::handle::{Closable, Handle};
use crate::service_server::deadline_in;
use crate::wait::wait_strategy;
use eshm::action::{GoalId, GoalStatus, RawActionClient};
use eshm::service::ClientOptions;
use pyo3::prelude::*;
use pyo3::types::PyType;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a client changes.
struct State {
    raw: RawActionClient,
    buf: Vec<u8>,
    /// SHM's API: the goal sent last.
    current: Option<GoalId>,
}

/// Sends goals of one type; receives feedback and results of two others.
#[pyclass(module = "eshm", name = "ActionClient", extends = Closable, frozen)]
pub(crate) struct ActionClient {
    handle: Arc<Handle<State>>,
    goal: Typed,
    result: Typed,
    feedback: Typed,
    name: String,
}

impl ActionClient {
    fn decode_opt(
        &self,
        py: Python<'_>,
        typed: &Typed,
        bytes: Option<&[u8]>,
    ) -> PyResult<Py<PyAny>> {
        match bytes {
            Some(b) => typed.codec.decode(py, b),
            None => Ok(py.None()),
        }
    }

    /// `(status, result or None)` of a goal that ended.
    fn outcome(&self, py: Python<'_>, id: GoalId) -> PyResult<Option<(Py<PyAny>, Py<PyAny>)>> {
        let ended = self.handle.exclusive(py, |s| {
            Ok(s.raw.result(id).map(|(status, bytes)| (status, bytes.map(<[u8]>::to_vec))))
        })?;
        ended
            .map(|(status, bytes)| {
                Ok((
                    GOAL_STATUS.member(py, status)?,
                    self.decode_opt(py, &self.result, bytes.as_deref())?,
                ))
            })
            .transpose()
    }

    fn send(
        &self,
        py: Python<'_>,
        goal: &Bound<'_, PyAny>,
        deadline: Option<Instant>,
    ) -> PyResult<GoalId> {
        self.handle.exclusive(py, |s| self.goal.codec.encode(goal, &mut s.buf))?;
        let id =
            self.handle.blocking_exclusive(py, "ActionClient.send_goal", deadline, |s, end| {
                s.raw.send_goal_until(&s.buf, deadline, Some(end))
            })?;
        self.handle.exclusive(py, |s| {
            s.current = Some(id);
            Ok(id)
        })
    }

    fn wait_end(&self, py: Python<'_>, id: GoalId, deadline: Option<Instant>) -> PyResult<()> {
        self.handle.blocking_exclusive(py, "ActionClient.wait_for_result", deadline, |s, end| {
            s.raw.wait_result_until(id, deadline, Some(end)).map(|r| r.map(|_| ()))
        })
    }

    fn current(&self, py: Python<'_>) -> PyResult<Option<GoalId>> {
        self.handle.exclusive(py, |s| Ok(s.current))
    }
}

#[pymethods]
impl ActionClient {
    #[new]
    #[pyo3(signature = (
        name, goal_type, result_type, feedback_type, *,
        wait = "default", stale_threshold_ms = 100, wait_for_server = true, allow_other_owners = false,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        name: &str,
        goal_type: &Bound<'_, PyAny>,
        result_type: &Bound<'_, PyAny>,
        feedback_type: &Bound<'_, PyAny>,
        wait: &str,
        stale_threshold_ms: u64,
        wait_for_server: bool,
        allow_other_owners: bool,
    ) -> PyResult<PyClassInitializer<Self>> {
        let name = crate::topic_name(name);
        let goal = Typed::from_type(goal_type)?;
        let result = Typed::from_type(result_type)?;
        let feedback = Typed::from_type(feedback_type)?;
        let options = ClientOptions::default()
            .wait_strategy(wait_strategy(wait)?)
            .stale_threshold(Duration::from_millis(stale_threshold_ms.max(1)))
            .wait_for_server(wait_for_server)
            .allow_other_owners(allow_other_owners);
        let expected = Some([&goal.schema, &result.schema, &feedback.schema]);
        let raw = py.detach(|| RawActionClient::open(name, expected, options)).py()?;
        let handle =
            Arc::new(Handle::new(State { raw, buf: Vec::new(), current: None }, "ActionClient"));
        let base = PyClassInitializer::from(Closable::new(handle.clone()));
        Ok(base.add_subclass(ActionClient {
            handle,
            goal,
            result,
            feedback,
            name: name.to_owned(),
        }))
    }

    /// Sends a goal and returns its id (an `int`), waiting at most `timeout` seconds for a
    /// server if there is none. The goal is `PENDING` until the server accepts or rejects it.
    #[pyo3(signature = (goal, timeout = 1.0))]
    fn send_goal(
        &self,
        py: Python<'_>,
        goal: &Bound<'_, PyAny>,
        timeout: Option<f64>,
    ) -> PyResult<u64> {
        Ok(self.send(py, goal, deadline_in(timeout))?.number())
    }

    /// The goal's status now (a `GoalStatus`).
    fn status(&self, py: Python<'_>, goal_id: u64) -> PyResult<Py<PyAny>> {
        let status =
            self.handle.exclusive(py, |s| s.raw.status(GoalId::from_number(goal_id)).py())?;
        GOAL_STATUS.member(py, status)
    }

    /// Asks the server to cancel the goal (it acknowledges by ending it `CANCELED`).
    fn cancel(&self, py: Python<'_>, goal_id: u64) -> PyResult<()> {
        self.handle.exclusive(py, |s| s.raw.cancel(GoalId::from_number(goal_id)).py())
    }

    /// Waits at most `timeout` seconds (forever if `None`) for the goal to end; returns
    /// `(status, result)` (`result` is `None` for a rejected goal). A rejected or aborted goal
    /// ends the wait at once. Raises `TimeoutError`, or `ServerGoneError` if the server died
    /// first (noticed within the stale threshold). Releases the GIL; Ctrl-C interrupts it.
    #[pyo3(signature = (goal_id, timeout = None))]
    fn wait_for_result(
        &self,
        py: Python<'_>,
        goal_id: u64,
        timeout: Option<f64>,
    ) -> PyResult<(Py<PyAny>, Py<PyAny>)> {
        let id = GoalId::from_number(goal_id);
        self.wait_end(py, id, deadline_in(timeout))?;
        Ok(self.outcome(py, id)?.expect("the goal ended"))
    }

    /// `(status, result)` if the goal ended, else `None` (never waits).
    fn result(&self, py: Python<'_>, goal_id: u64) -> PyResult<Option<(Py<PyAny>, Py<PyAny>)>> {
        self.outcome(py, GoalId::from_number(goal_id))
    }

    /// The goal's next feedback, in order, waiting at most `timeout` seconds (forever if
    /// `None`); `None` once the goal has ended and all its feedback was taken.
    #[pyo3(signature = (goal_id, timeout = None))]
    fn next_feedback(
        &self,
        py: Python<'_>,
        goal_id: u64,
        timeout: Option<f64>,
    ) -> PyResult<Py<PyAny>> {
        let id = GoalId::from_number(goal_id);
        let deadline = deadline_in(timeout);
        let next = self.handle.blocking_exclusive(
            py,
            "ActionClient.next_feedback",
            deadline,
            |s, end| s.raw.next_feedback_until(id, deadline, Some(end)),
        )?;
        self.decode_opt(py, &self.feedback, next.as_deref())
    }

    /// The goal's newest feedback seen so far, or `None`.
    fn latest_feedback(&self, py: Python<'_>, goal_id: u64) -> PyResult<Py<PyAny>> {
        let id = GoalId::from_number(goal_id);
        let bytes =
            self.handle.exclusive(py, |s| Ok(s.raw.latest_feedback(id).map(<[u8]>::to_vec)))?;
        self.decode_opt(py, &self.feedback, bytes.as_deref())
    }

    /// Feedback of the goal missed because this client fell behind.
    fn feedback_lost(&self, py: Python<'_>, goal_id: u64) -> PyResult<u64> {
        self.handle.exclusive(py, |s| Ok(s.raw.feedback_lost(GoalId::from_number(goal_id))))
    }

    /// Whether a live server serves the action: false within the stale threshold of its
    /// death.
    fn is_server_connected(&self, py: Python<'_>) -> PyResult<bool> {
        self.handle.exclusive(py, |s| Ok(py.detach(|| s.raw.is_server_connected())))
    }

    /// Waits at most `timeout` seconds (forever if `None`) for a live server; whether there is
    /// one.
    #[pyo3(signature = (timeout = None))]
    fn wait_for_server(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<bool> {
        let deadline = deadline_in(timeout);
        let found = self.handle.blocking_exclusive(py, "wait_for_server", deadline, |s, end| {
            s.raw.wait_for_server_until(deadline, Some(end))
        });
        match found {
            Ok(found) => Ok(found),
            Err(e) if e.is_instance_of::<pyo3::exceptions::PyTimeoutError>(py) => Ok(false),
            Err(e) => Err(e),
        }
    }

    // SHM's API, on the goal sent last.

    /// SHM: sends a goal; whether it was sent (a server was there within a second).
    #[allow(non_snake_case)]
    fn sendGoal(&self, py: Python<'_>, goal: &Bound<'_, PyAny>) -> PyResult<bool> {
        match self.send(py, goal, deadline_in(Some(1.0))) {
            Ok(_) => Ok(true),
            Err(e) if is_eshm_error(py, &e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// SHM: waits at most `timeout_us` µs for the goal sent last to end; whether it ended
    /// (rejected, succeeded, aborted or canceled: `getStatus` says which). A rejected goal ends
    /// the wait at once.
    #[allow(non_snake_case)]
    fn waitForResult(&self, py: Python<'_>, timeout_us: u64) -> PyResult<bool> {
        let Some(id) = self.current(py)? else { return Ok(false) };
        let deadline = Some(Instant::now() + Duration::from_micros(timeout_us));
        match self.wait_end(py, id, deadline) {
            Ok(()) => Ok(true),
            Err(e) if is_eshm_error(py, &e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// SHM: the result of the goal sent last (the result type's default value if it has none).
    #[allow(non_snake_case)]
    fn getResult(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let Some(id) = self.current(py)? else { return Ok(self.result.default.clone_ref(py)) };
        match self.outcome(py, id)? {
            Some((_, result)) if !result.is_none(py) => Ok(result),
            _ => Ok(self.result.default.clone_ref(py)),
        }
    }

    /// SHM: the newest feedback of the goal sent last (the feedback type's default value if
    /// none came).
    #[allow(non_snake_case)]
    fn getFeedback(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let latest = match self.current(py)? {
            Some(id) => self.latest_feedback(py, id.number())?,
            None => py.None(),
        };
        Ok(if latest.is_none(py) { self.feedback.default.clone_ref(py) } else { latest })
    }

    /// SHM: the status of the goal sent last (`SUCCEEDED` before any goal, as in SHM).
    #[allow(non_snake_case)]
    fn getStatus(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        match self.current(py)? {
            Some(id) => self.status(py, id.number()),
            None => GOAL_STATUS.member(py, GoalStatus::Succeeded),
        }
    }

    /// SHM: asks the server to cancel the goal sent last.
    #[allow(non_snake_case)]
    fn cancelGoal(&self, py: Python<'_>) -> PyResult<()> {
        match self.current(py)? {
            Some(id) => self.cancel(py, id.number()),
            None => Ok(()),
        }
    }

    /// SHM's name for `is_server_connected`.
    #[allow(non_snake_case)]
    fn isServerConnected(&self, py: Python<'_>) -> PyResult<bool> {
        self.is_server_connected(py)
    }

    /// SHM: waits at most `timeout_us` µs for a live server; whether there is one.
    #[allow(non_snake_case)]
    fn waitForServer(&self, py: Python<'_>, timeout_us: u64) -> PyResult<bool> {
        self.wait_for_server(py, Some(timeout_us as f64 / 1e6))
    }

    /// The action's name.
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    #[classmethod]
    fn __class_getitem__(cls: &Bound<'_, PyType>, item: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        crate::generic_alias(cls, item)
    }

    fn __repr__(&self) -> String {
        let state = if self.handle.is_open() { "" } else { ", closed" };
        format!("eshm.ActionClient({:?}, {}{state})", self.name, self.goal.schema.type_name())
    }
}
