//! `eshm.ServerGoal`: a goal an `ActionServer` took: accept or reject it, then publish
//! feedback, watch for a cancel request and end it. Usable from any thread. Garbage collected
//! undecided it is rejected; accepted and unfinished, aborted.

use crate::codec::Typed;
use crate::enums::GOAL_STATUS;
use crate::errors::{IntoPy, closed};
use eshm::action::{GoalStatus, RawActiveGoal, RawGoalRequest};
use pyo3::prelude::*;
use std::sync::{Arc, Mutex};

/// Where the goal stands on the server's side.
enum Stage {
    Requested(RawGoalRequest),
    Active(RawActiveGoal),
    Ended(GoalStatus),
}

/// The types a goal's results and feedback are encoded with.
pub(crate) struct GoalTypes {
    pub(crate) result: Typed,
    pub(crate) feedback: Typed,
}

/// A goal taken by an `ActionServer`.
#[pyclass(module = "eshm", name = "ServerGoal", frozen)]
pub(crate) struct ServerGoal {
    stage: Mutex<Stage>,
    value: Py<PyAny>,
    types: Arc<GoalTypes>,
    client: usize,
    number: u64,
    action: String,
}

impl ServerGoal {
    pub(crate) fn new(
        raw: RawGoalRequest,
        value: Py<PyAny>,
        types: Arc<GoalTypes>,
        action: &str,
    ) -> Self {
        let id = raw.id();
        ServerGoal {
            stage: Mutex::new(Stage::Requested(raw)),
            value,
            types,
            client: id.client(),
            number: id.number(),
            action: action.to_owned(),
        }
    }

    pub(crate) fn value(&self, py: Python<'_>) -> Py<PyAny> {
        self.value.clone_ref(py)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Stage> {
        self.stage.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Accepts it.
    pub(crate) fn accept_goal(&self) -> PyResult<()> {
        let mut stage = self.lock();
        match std::mem::replace(&mut *stage, Stage::Ended(GoalStatus::Aborted)) {
            Stage::Requested(raw) => {
                *stage = Stage::Active(raw.accept().py()?);
                Ok(())
            }
            other => {
                *stage = other;
                Err(closed("this goal was already accepted or rejected"))
            }
        }
    }

    /// Rejects it.
    pub(crate) fn reject_goal(&self) -> PyResult<()> {
        let mut stage = self.lock();
        match std::mem::replace(&mut *stage, Stage::Ended(GoalStatus::Rejected)) {
            Stage::Requested(raw) => raw.reject().py(),
            other => {
                *stage = other;
                Err(closed("this goal was already accepted or rejected"))
            }
        }
    }

    pub(crate) fn cancel_requested(&self) -> bool {
        match &*self.lock() {
            Stage::Requested(raw) => raw.is_cancel_requested(),
            Stage::Active(raw) => raw.is_cancel_requested(),
            Stage::Ended(_) => false,
        }
    }

    pub(crate) fn feedback(&self, feedback: &Bound<'_, PyAny>) -> PyResult<()> {
        let mut bytes = Vec::new();
        self.types.feedback.codec.encode(feedback, &mut bytes)?;
        match &mut *self.lock() {
            Stage::Active(raw) => raw.publish_feedback(&bytes).py(),
            _ => Err(closed("feedback is for an accepted goal that has not ended")),
        }
    }

    /// Ends it with `status` and `result` (`None`: without a result).
    pub(crate) fn end(
        &self,
        status: GoalStatus,
        result: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let bytes = match result {
            Some(r) if !r.is_none() => {
                let mut bytes = Vec::new();
                self.types.result.codec.encode(r, &mut bytes)?;
                Some(bytes)
            }
            _ => None,
        };
        let mut stage = self.lock();
        let Stage::Active(raw) = &mut *stage else {
            return Err(closed("only an accepted goal that has not ended can be ended"));
        };
        raw.finish(status, bytes.as_deref()).py()?;
        *stage = Stage::Ended(status);
        Ok(())
    }
}

#[pymethods]
impl ServerGoal {
    /// The goal's value.
    #[getter]
    fn goal(&self, py: Python<'_>) -> Py<PyAny> {
        self.value(py)
    }

    /// Accepts it: its client sees it `ACTIVE`.
    fn accept(&self) -> PyResult<()> {
        self.accept_goal()
    }

    /// Rejects it: its client's `wait_for_result` ends at once, `REJECTED`.
    fn reject(&self) -> PyResult<()> {
        self.reject_goal()
    }

    /// Whether its client asked to cancel it (or left).
    fn is_cancel_requested(&self) -> bool {
        self.cancel_requested()
    }

    /// Publishes feedback (a value of the feedback type); never waits for the client.
    fn publish_feedback(&self, feedback: &Bound<'_, PyAny>) -> PyResult<()> {
        self.feedback(feedback)
    }

    /// Ends it successfully with `result`.
    fn succeed(&self, result: &Bound<'_, PyAny>) -> PyResult<()> {
        self.end(GoalStatus::Succeeded, Some(result))
    }

    /// Ends it unsuccessfully, with `result` if given.
    #[pyo3(signature = (result = None))]
    fn abort(&self, result: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        self.end(GoalStatus::Aborted, result)
    }

    /// Ends it as canceled, with `result` if given: acknowledges its client's cancel request.
    #[pyo3(signature = (result = None))]
    fn canceled(&self, result: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        self.end(GoalStatus::Canceled, result)
    }

    /// Where it stands: `PENDING` (not decided yet), `ACTIVE`, or how it ended.
    #[getter]
    fn status(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let status = match &*self.lock() {
            Stage::Requested(_) => GoalStatus::Pending,
            Stage::Active(_) => GoalStatus::Active,
            Stage::Ended(s) => *s,
        };
        GOAL_STATUS.member(py, status)
    }

    /// The client's slot in the server (which client sent it).
    #[getter]
    fn client(&self) -> usize {
        self.client
    }

    /// The goal's number among its client's calls.
    #[getter]
    fn number(&self) -> u64 {
        self.number
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let value = self.value.bind(py).repr()?;
        Ok(format!(
            "eshm.ServerGoal({:?}, client={}, number={}, goal={value})",
            self.action, self.client, self.number
        ))
    }
}
