//! The server side of actions: the untyped [`RawActionServer`] and the typed [`ActionServer`],
//! the goal requests they hand out (accept or reject), and the active goals (feedback, cancel
//! requests, the end), usable from any thread.

use super::GoalStatus;
use crate::error::{Result, ServeError};
use crate::message::{self, Message};
use crate::schema::Schema;
use crate::segment::SegmentKind;
use crate::service::{CallId, Intake, ServerCore, ServerOptions};
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What goals and active goals need of their server: its core, and the result and feedback
/// types (to check untyped bytes).
#[derive(Debug)]
struct Shared {
    core: Arc<ServerCore>,
    result: Schema,
    feedback: Schema,
}

impl Shared {
    fn check(&self, schema: &Schema, bytes: &[u8]) -> Result<(), ServeError> {
        let service = || self.core.name.clone();
        if bytes.len() != schema.size() {
            return Err(ServeError::WrongSize {
                service: service(),
                size: schema.size(),
                given: bytes.len(),
            });
        }
        if schema.has_invalid_bit_patterns() {
            schema
                .validate(bytes)
                .map_err(|source| ServeError::InvalidMessage { service: service(), source })?;
        }
        Ok(())
    }
}

/// The untyped action server: goals, results and feedback are bytes laid out as its three
/// [`Schema`]s say.
#[derive(Debug)]
pub struct RawActionServer {
    shared: Arc<Shared>,
    intake: Intake,
    goal: Schema,
}

impl RawActionServer {
    /// Creates the action `name` with default options.
    ///
    /// # Errors
    ///
    /// As [`ActionServer::create`].
    pub fn create(name: &str, goal: &Schema, result: &Schema, feedback: &Schema) -> Result<Self> {
        RawActionServer::create_with(name, goal, result, feedback, &ServerOptions::default())
    }

    /// Creates the action `name` with explicit options.
    ///
    /// # Errors
    ///
    /// As [`ActionServer::create`].
    pub fn create_with(
        name: &str,
        goal: &Schema,
        result: &Schema,
        feedback: &Schema,
        options: &ServerOptions,
    ) -> Result<Self> {
        let core =
            ServerCore::create(name, SegmentKind::Action, &[goal, result, feedback], options)?;
        Ok(RawActionServer {
            intake: Intake::new(&core.mapped, goal),
            shared: Arc::new(Shared {
                core: Arc::new(core),
                result: result.clone(),
                feedback: feedback.clone(),
            }),
            goal: goal.clone(),
        })
    }

    /// The action's name.
    pub fn name(&self) -> &str {
        &self.shared.core.name
    }

    /// The goal, result and feedback types.
    pub fn schemas(&self) -> (&Schema, &Schema, &Schema) {
        (&self.goal, &self.shared.result, &self.shared.feedback)
    }

    /// This server's generation.
    pub fn generation(&self) -> u64 {
        self.shared.core.generation
    }

    /// Clients attached now (reads `/proc`).
    pub fn clients(&self) -> usize {
        self.shared.core.clients()
    }

    /// The next goal, waiting until `deadline` (`None`: forever) or, returning `Ok(None)`,
    /// until `slice_end`.
    ///
    /// # Errors
    ///
    /// [`ServeError::Timeout`] at the deadline, [`ServeError::TakenOver`],
    /// [`ServeError::Segment`].
    pub fn recv_until(
        &mut self,
        deadline: Option<Instant>,
        slice_end: Option<Instant>,
    ) -> Result<Option<RawGoalRequest>, ServeError> {
        let found = self.intake.recv_until(&self.shared.core, deadline, slice_end)?;
        Ok(found.map(|inc| RawGoalRequest {
            goal: RawGoal {
                shared: self.shared.clone(),
                call: inc.call,
                bytes: self.intake.payload.clone(),
            },
            decided: false,
        }))
    }

    /// The next goal if one is waiting; never blocks.
    ///
    /// # Errors
    ///
    /// As [`recv_until`](Self::recv_until), without [`ServeError::Timeout`].
    pub fn try_recv(&mut self) -> Result<Option<RawGoalRequest>, ServeError> {
        match self.recv_until(Some(Instant::now()), None) {
            Err(ServeError::Timeout) => Ok(None),
            other => other,
        }
    }
}

/// A goal taken by the server, with what every handle on it needs.
#[derive(Debug)]
struct RawGoal {
    shared: Arc<Shared>,
    call: CallId,
    bytes: Vec<u8>,
}

impl RawGoal {
    fn end(&self, status: GoalStatus, result: Option<&[u8]>) -> Result<(), ServeError> {
        if let Some(r) = result {
            self.shared.check(&self.shared.result, r)?;
        }
        self.shared.core.check()?;
        self.shared.core.answer(self.call, status.code(), result);
        Ok(())
    }

    fn is_cancel_requested(&self) -> bool {
        self.shared.core.cancel_requested(self.call)
    }
}

/// A goal the server has taken but not yet accepted or rejected. Dropping it rejects it.
#[derive(Debug)]
pub struct RawGoalRequest {
    goal: RawGoal,
    decided: bool,
}

impl RawGoalRequest {
    /// Which goal of which client it is.
    pub fn id(&self) -> CallId {
        self.goal.call
    }

    /// The goal's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.goal.bytes
    }

    /// Whether its client already asked to cancel it (or left).
    pub fn is_cancel_requested(&self) -> bool {
        self.goal.is_cancel_requested()
    }

    /// Accepts it: its client sees it [`Active`](GoalStatus::Active).
    ///
    /// # Errors
    ///
    /// [`ServeError::TakenOver`], [`ServeError::Segment`].
    pub fn accept(mut self) -> Result<RawActiveGoal, ServeError> {
        self.decided = true;
        self.goal.end(GoalStatus::Active, None)?;
        let goal = RawGoal {
            shared: self.goal.shared.clone(),
            call: self.goal.call,
            bytes: std::mem::take(&mut self.goal.bytes),
        };
        Ok(RawActiveGoal { goal, feedback: 0, finished: false })
    }

    /// Rejects it: its client's wait for the result ends at once with
    /// [`Rejected`](GoalStatus::Rejected).
    ///
    /// # Errors
    ///
    /// [`ServeError::TakenOver`], [`ServeError::Segment`].
    pub fn reject(mut self) -> Result<(), ServeError> {
        self.decided = true;
        self.goal.end(GoalStatus::Rejected, None)
    }
}

impl Drop for RawGoalRequest {
    fn drop(&mut self) {
        if !self.decided {
            let _ = self.goal.end(GoalStatus::Rejected, None);
        }
    }
}

/// An accepted goal: publish feedback, watch for a cancel request, and end it. Usable from
/// any thread. Dropping it unfinished aborts it (without a result).
#[derive(Debug)]
pub struct RawActiveGoal {
    goal: RawGoal,
    /// Feedback published so far.
    feedback: u64,
    finished: bool,
}

impl RawActiveGoal {
    /// Which goal of which client it is.
    pub fn id(&self) -> CallId {
        self.goal.call
    }

    /// The goal's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.goal.bytes
    }

    /// Whether its client asked to cancel it (or left). One load from shared memory.
    pub fn is_cancel_requested(&self) -> bool {
        self.goal.is_cancel_requested()
    }

    /// Publishes feedback (bytes of the feedback type); never waits for the client.
    ///
    /// # Errors
    ///
    /// [`ServeError::WrongSize`], [`ServeError::InvalidMessage`], [`ServeError::TakenOver`],
    /// [`ServeError::Segment`].
    pub fn publish_feedback(&mut self, feedback: &[u8]) -> Result<(), ServeError> {
        let shared = &self.goal.shared;
        shared.check(&shared.feedback, feedback)?;
        shared.core.check()?;
        self.feedback += 1;
        shared.core.feedback(self.goal.call, self.feedback, feedback);
        Ok(())
    }

    /// Ends the goal with `status` ([`Succeeded`](GoalStatus::Succeeded),
    /// [`Aborted`](GoalStatus::Aborted) or [`Canceled`](GoalStatus::Canceled)) and a result
    /// (bytes of the result type), if any.
    ///
    /// # Errors
    ///
    /// [`ServeError::WrongSize`] or [`ServeError::InvalidMessage`] for a result that is not
    /// one (the goal stays active), [`ServeError::TakenOver`], [`ServeError::Segment`].
    ///
    /// # Panics
    ///
    /// If `status` does not end a goal.
    pub fn finish(&mut self, status: GoalStatus, result: Option<&[u8]>) -> Result<(), ServeError> {
        assert!(
            matches!(status, GoalStatus::Succeeded | GoalStatus::Aborted | GoalStatus::Canceled),
            "a goal ends succeeded, aborted or canceled, not {status}"
        );
        self.goal.end(status, result)?;
        self.finished = true;
        Ok(())
    }

    /// Whether it has been ended.
    pub fn is_finished(&self) -> bool {
        self.finished
    }
}

impl Drop for RawActiveGoal {
    fn drop(&mut self) {
        if !self.finished {
            let _ = self.goal.end(GoalStatus::Aborted, None);
        }
    }
}

/// Builds an [`ActionServer`]: `ActionServer::<G, R, F>::builder(name).feedback_depth(64).create()`.
#[derive(Debug)]
#[must_use = "a builder does nothing until `create` is called"]
pub struct ActionServerBuilder<G, R, F> {
    name: String,
    options: ServerOptions,
    _types: PhantomData<fn(G) -> (R, F)>,
}

impl<G: Message, R: Message, F: Message> ActionServerBuilder<G, R, F> {
    /// How many clients may be attached at once (default 64).
    pub fn max_clients(mut self, clients: usize) -> Self {
        self.options = self.options.max_clients(clients);
        self
    }

    /// How many goals each client may have going at once (default 16).
    pub fn max_in_flight(mut self, goals: usize) -> Self {
        self.options = self.options.max_in_flight(goals);
        self
    }

    /// How many feedback messages of a goal are kept for a client (default 16).
    pub fn feedback_depth(mut self, messages: usize) -> Self {
        self.options = self.options.feedback_depth(messages);
        self
    }

    /// Permission bits of the segment file (default `0o600`).
    pub fn mode(mut self, mode: u32) -> Self {
        self.options = self.options.mode(mode);
        self
    }

    /// Whether dropping the server removes the action's name (default `true`).
    pub fn unlink_on_drop(mut self, unlink: bool) -> Self {
        self.options = self.options.unlink_on_drop(unlink);
        self
    }

    /// How a blocking receive waits (default: spin 20 µs, then sleep).
    pub fn wait_strategy(mut self, wait: crate::WaitStrategy) -> Self {
        self.options = self.options.wait_strategy(wait);
        self
    }

    /// Creates the action (see [`ActionServer::create`]).
    ///
    /// # Errors
    ///
    /// As [`ActionServer::create`].
    pub fn create(self) -> Result<ActionServer<G, R, F>> {
        let raw = RawActionServer::create_with(
            &self.name,
            G::SCHEMA,
            R::SCHEMA,
            F::SCHEMA,
            &self.options,
        )?;
        Ok(ActionServer { raw, _types: PhantomData })
    }
}

/// The server of an action: takes goals `G` from any number of clients, accepts or rejects
/// each, and works on accepted ones (feedback `F`, result `R`). See the [module docs](super).
#[derive(Debug)]
pub struct ActionServer<G, R, F> {
    raw: RawActionServer,
    _types: PhantomData<fn(G) -> (R, F)>,
}

impl<G: Message, R: Message, F: Message> ActionServer<G, R, F> {
    /// Creates the action `name` with default options.
    ///
    /// # Errors
    ///
    /// [`Error::ServerExists`](crate::Error::ServerExists) if a live process serves the name,
    /// [`Error::InvalidName`](crate::Error::InvalidName), [`Error::Io`](crate::Error::Io).
    pub fn create(name: &str) -> Result<Self> {
        ActionServer::builder(name).create()
    }

    /// A builder, for other options.
    pub fn builder(name: &str) -> ActionServerBuilder<G, R, F> {
        ActionServerBuilder {
            name: name.to_owned(),
            options: ServerOptions::default(),
            _types: PhantomData,
        }
    }

    fn typed(raw: RawGoalRequest) -> GoalRequest<G, R, F> {
        // `recv_until` validated the bytes against `G::SCHEMA`.
        let goal = message::from_bytes(raw.bytes()).expect("validated goal");
        GoalRequest { raw, goal, _types: PhantomData }
    }

    /// The next goal, waiting as long as it takes.
    ///
    /// # Errors
    ///
    /// [`ServeError::TakenOver`], [`ServeError::Segment`].
    pub fn recv_goal(&mut self) -> Result<GoalRequest<G, R, F>, ServeError> {
        let raw = self.raw.recv_until(None, None)?.expect("no slice end");
        Ok(Self::typed(raw))
    }

    /// The next goal, waiting up to `timeout`.
    ///
    /// # Errors
    ///
    /// [`ServeError::Timeout`], or as [`recv_goal`](Self::recv_goal).
    pub fn recv_goal_timeout(
        &mut self,
        timeout: Duration,
    ) -> Result<GoalRequest<G, R, F>, ServeError> {
        let raw = self.raw.recv_until(Some(Instant::now() + timeout), None)?.expect("no slice end");
        Ok(Self::typed(raw))
    }

    /// The next goal if one is waiting; never blocks.
    ///
    /// # Errors
    ///
    /// As [`recv_goal`](Self::recv_goal).
    pub fn try_recv_goal(&mut self) -> Result<Option<GoalRequest<G, R, F>>, ServeError> {
        Ok(self.raw.try_recv()?.map(Self::typed))
    }

    /// The action's name.
    pub fn name(&self) -> &str {
        self.raw.name()
    }

    /// This server's generation.
    pub fn generation(&self) -> u64 {
        self.raw.generation()
    }

    /// Clients attached now (reads `/proc`).
    pub fn clients(&self) -> usize {
        self.raw.clients()
    }

    /// Goals accepted, rejected or ended so far (each counts once per answer).
    pub fn answered(&self) -> u64 {
        self.raw.shared.core.answered()
    }
}

/// A goal the server has taken ([`ActionServer::recv_goal`]): accept or reject it. It
/// derefs to the goal. Dropping it rejects it.
#[derive(Debug)]
pub struct GoalRequest<G, R, F> {
    raw: RawGoalRequest,
    goal: G,
    _types: PhantomData<fn(G) -> (R, F)>,
}

impl<G: Message, R: Message, F: Message> GoalRequest<G, R, F> {
    /// The goal.
    pub fn goal(&self) -> &G {
        &self.goal
    }

    /// Which goal of which client it is.
    pub fn id(&self) -> CallId {
        self.raw.id()
    }

    /// Whether its client already asked to cancel it (or left).
    pub fn is_cancel_requested(&self) -> bool {
        self.raw.is_cancel_requested()
    }

    /// Accepts it.
    ///
    /// # Errors
    ///
    /// [`ServeError::TakenOver`], [`ServeError::Segment`].
    pub fn accept(self) -> Result<ActiveGoal<G, R, F>, ServeError> {
        let goal = self.goal;
        Ok(ActiveGoal { raw: self.raw.accept()?, goal, _types: PhantomData })
    }

    /// Rejects it: its client's wait for the result ends at once.
    ///
    /// # Errors
    ///
    /// [`ServeError::TakenOver`], [`ServeError::Segment`].
    pub fn reject(self) -> Result<(), ServeError> {
        self.raw.reject()
    }
}

impl<G, R, F> Deref for GoalRequest<G, R, F> {
    type Target = G;
    fn deref(&self) -> &G {
        &self.goal
    }
}

/// An accepted goal ([`GoalRequest::accept`]): publish feedback, watch for a cancel request,
/// and end it with a result. Usable from any thread; it derefs to the goal. Dropping it
/// unfinished aborts it (without a result).
#[derive(Debug)]
pub struct ActiveGoal<G, R, F> {
    raw: RawActiveGoal,
    goal: G,
    _types: PhantomData<fn(G) -> (R, F)>,
}

impl<G: Message, R: Message, F: Message> ActiveGoal<G, R, F> {
    /// The goal.
    pub fn goal(&self) -> &G {
        &self.goal
    }

    /// Which goal of which client it is.
    pub fn id(&self) -> CallId {
        self.raw.id()
    }

    /// Whether its client asked to cancel it (or left). One load from shared memory.
    pub fn is_cancel_requested(&self) -> bool {
        self.raw.is_cancel_requested()
    }

    /// Publishes feedback; never waits for the client.
    ///
    /// # Errors
    ///
    /// [`ServeError::TakenOver`], [`ServeError::Segment`].
    pub fn publish_feedback(&mut self, feedback: &F) -> Result<(), ServeError> {
        self.raw.publish_feedback(message::as_bytes(feedback))
    }

    /// Ends it successfully with `result`.
    ///
    /// # Errors
    ///
    /// [`ServeError::TakenOver`], [`ServeError::Segment`].
    pub fn succeed(mut self, result: &R) -> Result<(), ServeError> {
        self.raw.finish(GoalStatus::Succeeded, Some(message::as_bytes(result)))
    }

    /// Ends it unsuccessfully with `result`.
    ///
    /// # Errors
    ///
    /// As [`succeed`](Self::succeed).
    pub fn abort(mut self, result: &R) -> Result<(), ServeError> {
        self.raw.finish(GoalStatus::Aborted, Some(message::as_bytes(result)))
    }

    /// Ends it as canceled with `result`: acknowledges its client's cancel request.
    ///
    /// # Errors
    ///
    /// As [`succeed`](Self::succeed).
    pub fn canceled(mut self, result: &R) -> Result<(), ServeError> {
        self.raw.finish(GoalStatus::Canceled, Some(message::as_bytes(result)))
    }
}

impl<G, R, F> Deref for ActiveGoal<G, R, F> {
    type Target = G;
    fn deref(&self) -> &G {
        &self.goal
    }
}
