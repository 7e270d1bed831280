//! `eshm.ActionServer`: the server of an action. `recv_goal` hands out `ServerGoal`s (accept
//! or reject, feedback, cancel requests, the end); SHM's methods work on "the new goal" and
//! "the current goal" (`waitNewGoalAvailable`, `acceptNewGoal`, `rejectNewGoal`,
//! `isPreemptRequested`, `setPreempted`, `publishResult`, `publishFeedback`).

use crate::codec::Typed;
use crate::errors::{IntoPy, closed};
use crate::handle::{Closable, Handle};
use crate::server_goal::{GoalTypes, ServerGoal};
use crate::service_server::deadline_in;
use crate::wait::wait_strategy;
use eshm::action::{GoalStatus, RawActionServer, RawGoalRequest};
use eshm::service::ServerOptions;
use pyo3::prelude::*;
use pyo3::types::PyType;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The goals of SHM's API: the one found by `waitNewGoalAvailable`, and the accepted one.
#[derive(Default)]
struct Shm {
    new: Option<Py<ServerGoal>>,
    current: Option<Py<ServerGoal>>,
}

/// Takes goals of one type, and answers with feedback and results of two others.
#[pyclass(module = "eshm", name = "ActionServer", extends = Closable, frozen)]
pub(crate) struct ActionServer {
    handle: Arc<Handle<RawActionServer>>,
    goal: Typed,
    types: Arc<GoalTypes>,
    shm: Mutex<Shm>,
    name: String,
}

impl ActionServer {
    fn wrap(&self, py: Python<'_>, raw: RawGoalRequest) -> PyResult<Py<ServerGoal>> {
        let value = self.goal.codec.decode(py, raw.bytes())?;
        Py::new(py, ServerGoal::new(raw, value, self.types.clone(), &self.name))
    }

    fn next(&self, py: Python<'_>, deadline: Option<Instant>) -> PyResult<Py<ServerGoal>> {
        if let Some(raw) = self.handle.exclusive(py, |s| s.try_recv().py())? {
            return self.wrap(py, raw);
        }
        let raw =
            self.handle.blocking_exclusive(py, "ActionServer.recv_goal", deadline, |s, end| {
                s.recv_until(deadline, Some(end))
            })?;
        self.wrap(py, raw)
    }

    fn shm(&self) -> std::sync::MutexGuard<'_, Shm> {
        self.shm.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// SHM's current goal.
    fn current(&self, py: Python<'_>) -> PyResult<Py<ServerGoal>> {
        self.shm()
            .current
            .as_ref()
            .map(|g| g.clone_ref(py))
            .ok_or_else(|| closed("no goal was accepted (acceptNewGoal)"))
    }
}

#[pymethods]
impl ActionServer {
    #[new]
    #[pyo3(signature = (
        name, goal_type, result_type, feedback_type, *,
        max_clients = 64, max_in_flight = 16, feedback_depth = 16, wait = "default", mode = 0o600,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        name: &str,
        goal_type: &Bound<'_, PyAny>,
        result_type: &Bound<'_, PyAny>,
        feedback_type: &Bound<'_, PyAny>,
        max_clients: usize,
        max_in_flight: usize,
        feedback_depth: usize,
        wait: &str,
        mode: u32,
    ) -> PyResult<PyClassInitializer<Self>> {
        let name = crate::topic_name(name);
        let goal = Typed::from_type(goal_type)?;
        let types = GoalTypes {
            result: Typed::from_type(result_type)?,
            feedback: Typed::from_type(feedback_type)?,
        };
        let options = ServerOptions::default()
            .max_clients(max_clients)
            .max_in_flight(max_in_flight)
            .feedback_depth(feedback_depth)
            .wait_strategy(wait_strategy(wait)?)
            .mode(mode);
        let (g, r, f) = (&goal.schema, &types.result.schema, &types.feedback.schema);
        let raw = py.detach(|| RawActionServer::create_with(name, g, r, f, &options)).py()?;
        let handle = Arc::new(Handle::new(raw, "ActionServer"));
        let base = PyClassInitializer::from(Closable::new(handle.clone()));
        Ok(base.add_subclass(ActionServer {
            handle,
            goal,
            types: Arc::new(types),
            shm: Mutex::new(Shm::default()),
            name: name.to_owned(),
        }))
    }

    /// The next goal (a `ServerGoal`), waiting at most `timeout` seconds (forever if `None`).
    /// Releases the GIL while it waits; Ctrl-C interrupts it.
    #[pyo3(signature = (timeout = None))]
    fn recv_goal(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Py<ServerGoal>> {
        self.next(py, deadline_in(timeout))
    }

    /// The next goal if one is waiting, else `None`.
    fn try_recv_goal(&self, py: Python<'_>) -> PyResult<Option<Py<ServerGoal>>> {
        match self.handle.exclusive(py, |s| s.try_recv().py())? {
            Some(raw) => self.wrap(py, raw).map(Some),
            None => Ok(None),
        }
    }

    /// SHM: waits for a new goal (at most `timeout_us` µs; forever if `None`); whether one
    /// came. `accept_new_goal` or `reject_new_goal` decides it.
    #[pyo3(signature = (timeout_us = None))]
    fn wait_new_goal_available(&self, py: Python<'_>, timeout_us: Option<u64>) -> PyResult<bool> {
        if self.shm().new.is_some() {
            return Ok(true);
        }
        let deadline = timeout_us.map(|us| Instant::now() + Duration::from_micros(us));
        match self.next(py, deadline) {
            Ok(goal) => {
                self.shm().new = Some(goal);
                Ok(true)
            }
            Err(e) if e.is_instance_of::<pyo3::exceptions::PyTimeoutError>(py) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// SHM's name for `wait_new_goal_available`.
    #[allow(non_snake_case)]
    #[pyo3(signature = (timeout_us = None))]
    fn waitNewGoalAvailable(&self, py: Python<'_>, timeout_us: Option<u64>) -> PyResult<bool> {
        self.wait_new_goal_available(py, timeout_us)
    }

    /// SHM: accepts the new goal (waiting for one if there is none) and returns its value; it
    /// becomes the current goal.
    fn accept_new_goal(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.wait_new_goal_available(py, None)?;
        let goal = self.shm().new.take().ok_or_else(|| closed("no new goal"))?;
        goal.get().accept_goal()?;
        let value = goal.get().value(py);
        self.shm().current = Some(goal);
        Ok(value)
    }

    /// SHM's name for `accept_new_goal`.
    #[allow(non_snake_case)]
    fn acceptNewGoal(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.accept_new_goal(py)
    }

    /// SHM: rejects the new goal (nothing happens if there is none): its client's wait for
    /// the result ends at once.
    fn reject_new_goal(&self) -> PyResult<()> {
        match self.shm().new.take() {
            Some(goal) => goal.get().reject_goal(),
            None => Ok(()),
        }
    }

    /// SHM's name for `reject_new_goal`.
    #[allow(non_snake_case)]
    fn rejectNewGoal(&self) -> PyResult<()> {
        self.reject_new_goal()
    }

    /// SHM: whether the client of the current goal asked to cancel it.
    fn is_preempt_requested(&self, py: Python<'_>) -> bool {
        self.current(py).is_ok_and(|g| g.get().cancel_requested())
    }

    /// SHM's name for `is_preempt_requested`.
    #[allow(non_snake_case)]
    fn isPreemptRequested(&self, py: Python<'_>) -> bool {
        self.is_preempt_requested(py)
    }

    /// SHM: ends the current goal as canceled (`PREEMPTED`), with `result` if given.
    #[pyo3(signature = (result = None))]
    fn set_preempted(&self, py: Python<'_>, result: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        self.current(py)?.get().end(GoalStatus::Canceled, result)?;
        self.shm().current = None;
        Ok(())
    }

    /// SHM's name for `set_preempted`.
    #[allow(non_snake_case)]
    #[pyo3(signature = (result = None))]
    fn setPreempted(&self, py: Python<'_>, result: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        self.set_preempted(py, result)
    }

    /// Ends the current goal as aborted, with `result` if given.
    #[pyo3(signature = (result = None))]
    fn set_aborted(&self, py: Python<'_>, result: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        self.current(py)?.get().end(GoalStatus::Aborted, result)?;
        self.shm().current = None;
        Ok(())
    }

    /// SHM: ends the current goal successfully with `result`.
    fn publish_result(&self, py: Python<'_>, result: &Bound<'_, PyAny>) -> PyResult<()> {
        self.current(py)?.get().end(GoalStatus::Succeeded, Some(result))?;
        self.shm().current = None;
        Ok(())
    }

    /// SHM's name for `publish_result`.
    #[allow(non_snake_case)]
    fn publishResult(&self, py: Python<'_>, result: &Bound<'_, PyAny>) -> PyResult<()> {
        self.publish_result(py, result)
    }

    /// SHM: publishes feedback on the current goal.
    fn publish_feedback(&self, py: Python<'_>, feedback: &Bound<'_, PyAny>) -> PyResult<()> {
        self.current(py)?.get().feedback(feedback)
    }

    /// SHM's name for `publish_feedback`.
    #[allow(non_snake_case)]
    fn publishFeedback(&self, py: Python<'_>, feedback: &Bound<'_, PyAny>) -> PyResult<()> {
        self.publish_feedback(py, feedback)
    }

    /// The action's name.
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// Clients attached now.
    #[getter]
    fn clients(&self, py: Python<'_>) -> PyResult<usize> {
        self.handle.shared(py, |s| Ok(s.clients()))
    }

    #[classmethod]
    fn __class_getitem__(cls: &Bound<'_, PyType>, item: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        crate::generic_alias(cls, item)
    }

    fn __repr__(&self) -> String {
        let state = if self.handle.is_open() { "" } else { ", closed" };
        format!("eshm.ActionServer({:?}, {}{state})", self.name, self.goal.schema.type_name())
    }
}
