//! The typed action client: [`ActionClient`] over [`RawActionClient`], with its builder.

use super::RawActionClient;
use crate::action::{GoalId, GoalResult, GoalStatus};
use crate::error::{CallError, Result};
use crate::message::{self, Message};
use crate::service::ClientOptions;
use std::marker::PhantomData;
use std::time::{Duration, Instant};

/// Builds an [`ActionClient`].
#[derive(Debug)]
#[must_use = "a builder does nothing until `open` is called"]
pub struct ActionClientBuilder<G, R, F> {
    name: String,
    options: ClientOptions,
    _types: PhantomData<fn(G) -> (R, F)>,
}

impl<G: Message, R: Message, F: Message> ActionClientBuilder<G, R, F> {
    /// How waits wait (default: spin 20 µs, then sleep).
    pub fn wait_strategy(mut self, wait: crate::WaitStrategy) -> Self {
        self.options = self.options.wait_strategy(wait);
        self
    }

    /// How long a wait may take to notice that the server died (default 100 ms).
    pub fn stale_threshold(mut self, threshold: Duration) -> Self {
        self.options = self.options.stale_threshold(threshold);
        self
    }

    /// Accept actions of other users, or writable by them (refused by default).
    pub fn allow_other_owners(mut self, allow: bool) -> Self {
        self.options = self.options.allow_other_owners(allow);
        self
    }

    /// Whether sending a goal waits for a server to start (the default) or fails at once.
    pub fn wait_for_server(mut self, wait: bool) -> Self {
        self.options = self.options.wait_for_server(wait);
        self
    }

    /// Opens the client.
    ///
    /// # Errors
    ///
    /// As [`ActionClient::open`].
    pub fn open(self) -> Result<ActionClient<G, R, F>> {
        let raw = RawActionClient::open(
            &self.name,
            Some([G::SCHEMA, R::SCHEMA, F::SCHEMA]),
            self.options,
        )?;
        Ok(ActionClient { raw, _types: PhantomData })
    }
}

/// A client of an action: sends goals `G`, follows their feedback `F`, cancels them, and
/// waits for their results `R`. See the [module docs](crate::action).
#[derive(Debug)]
pub struct ActionClient<G, R, F> {
    raw: RawActionClient,
    _types: PhantomData<fn(G) -> (R, F)>,
}

fn decode<T: Message>(raw: &RawActionClient, bytes: &[u8]) -> Result<T, CallError> {
    message::from_bytes(bytes)
        .map_err(|source| CallError::InvalidResponse { service: raw.core.name.clone(), source })
}

impl<G: Message, R: Message, F: Message> ActionClient<G, R, F> {
    /// Opens a client of the action `name` with default options (its server need not exist
    /// yet).
    ///
    /// # Errors
    ///
    /// [`Error::TypeMismatch`](crate::Error::TypeMismatch) if the server's goal, result or
    /// feedback type differs; [`Error::TooManyClients`](crate::Error::TooManyClients);
    /// [`Error::InvalidName`](crate::Error::InvalidName), [`Error::Io`](crate::Error::Io), ...
    pub fn open(name: &str) -> Result<Self> {
        ActionClient::builder(name).open()
    }

    /// A builder, for other options.
    pub fn builder(name: &str) -> ActionClientBuilder<G, R, F> {
        ActionClientBuilder {
            name: name.to_owned(),
            options: ClientOptions::default(),
            _types: PhantomData,
        }
    }

    /// Sends a goal (waiting up to a second for a server if there is none); it is
    /// [`Pending`](GoalStatus::Pending) until the server accepts or rejects it.
    ///
    /// # Errors
    ///
    /// [`CallError::NoServer`], [`CallError::TooManyInFlight`] (as many goals going as the
    /// server allows per client), [`CallError::Attach`].
    pub fn send_goal(&mut self, goal: &G) -> Result<GoalId, CallError> {
        let deadline = Some(Instant::now() + Duration::from_secs(1));
        Ok(self
            .raw
            .send_goal_until(message::as_bytes(goal), deadline, None)?
            .expect("no slice end"))
    }

    /// The goal's status now.
    ///
    /// # Errors
    ///
    /// [`CallError::UnknownGoal`].
    pub fn status(&mut self, goal: GoalId) -> Result<GoalStatus, CallError> {
        self.raw.status(goal)
    }

    /// Asks the server to cancel the goal.
    ///
    /// # Errors
    ///
    /// [`CallError::UnknownGoal`].
    pub fn cancel(&mut self, goal: GoalId) -> Result<(), CallError> {
        self.raw.cancel(goal)
    }

    /// Waits up to `timeout` for the goal to end; how it ended, with its result. A rejected
    /// or aborted goal ends the wait at once.
    ///
    /// # Errors
    ///
    /// [`CallError::Timeout`], [`CallError::ServerGone`] (within the stale threshold of the
    /// server's death), [`CallError::UnknownGoal`], [`CallError::InvalidResponse`].
    pub fn wait_for_result(
        &mut self,
        goal: GoalId,
        timeout: Duration,
    ) -> Result<GoalResult<R>, CallError> {
        let status = self.raw.wait_result_until(goal, Some(Instant::now() + timeout), None)?;
        let status = status.expect("no slice end");
        self.result(goal)?.ok_or(CallError::Timeout).map(|r| GoalResult { status, ..r })
    }

    /// How the goal ended, with its result, if it ended.
    ///
    /// # Errors
    ///
    /// [`CallError::InvalidResponse`].
    pub fn result(&mut self, goal: GoalId) -> Result<Option<GoalResult<R>>, CallError> {
        let Some((status, bytes)) = self.raw.result(goal) else { return Ok(None) };
        let bytes = bytes.map(<[u8]>::to_vec);
        let result = bytes.map(|b| decode(&self.raw, &b)).transpose()?;
        Ok(Some(GoalResult { status, result }))
    }

    /// The goal's next feedback, in order, waiting up to `timeout`; `None` once the goal has
    /// ended and its feedback was all taken.
    ///
    /// # Errors
    ///
    /// As [`wait_for_result`](Self::wait_for_result).
    pub fn next_feedback(
        &mut self,
        goal: GoalId,
        timeout: Duration,
    ) -> Result<Option<F>, CallError> {
        let next = self.raw.next_feedback_until(goal, Some(Instant::now() + timeout), None)?;
        next.expect("no slice end").map(|b| decode(&self.raw, &b)).transpose()
    }

    /// The goal's newest feedback seen so far.
    ///
    /// # Errors
    ///
    /// [`CallError::InvalidResponse`].
    pub fn latest_feedback(&mut self, goal: GoalId) -> Result<Option<F>, CallError> {
        let bytes = self.raw.latest_feedback(goal).map(<[u8]>::to_vec);
        bytes.map(|b| decode(&self.raw, &b)).transpose()
    }

    /// The goal's feedback missed because this client fell behind.
    pub fn feedback_lost(&mut self, goal: GoalId) -> u64 {
        self.raw.feedback_lost(goal)
    }

    /// Forgets an ended goal.
    pub fn forget(&mut self, goal: GoalId) {
        self.raw.forget(goal);
    }

    /// Whether a live server serves the action: false within the stale threshold of its
    /// death. Reads `/proc`.
    pub fn is_server_connected(&mut self) -> bool {
        self.raw.is_server_connected()
    }

    /// Waits up to `timeout` for a live server; whether there is one.
    pub fn wait_for_server(&mut self, timeout: Duration) -> bool {
        self.raw.wait_for_server(timeout)
    }

    /// The action's name.
    pub fn name(&self) -> &str {
        self.raw.name()
    }
}
