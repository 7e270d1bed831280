//! Actions: long-running goals with feedback, on the machinery of [`crate::service`]. An
//! [`ActionServer<G, R, F>`] accepts or rejects each goal `G` that [`ActionClient`]s send,
//! publishes feedback `F` while it works on it, sees cancel requests, and finishes it with a
//! result `R`; any number of clients, each with several goals at once.
//!
//! ```
//! use eshm::action::{ActionClient, ActionServer, GoalStatus};
//! use std::time::Duration;
//! # let name = format!("doc/move/{}", std::process::id());
//! let mut server = ActionServer::<f64, f64, f64>::create(&name)?;  // goal, result, feedback
//! let mut client = ActionClient::<f64, f64, f64>::open(&name)?;    // usually another process
//!
//! let goal = client.send_goal(&10.0)?;
//! let request = server.recv_goal_timeout(Duration::from_secs(1))?;
//! let mut active = request.accept()?;                   // or request.reject()
//! for step in 1..=3 {
//!     active.publish_feedback(&(step as f64))?;
//! }
//! if active.is_cancel_requested() {
//!     active.canceled(&3.0)?;                           // acknowledges the cancel
//! } else {
//!     active.succeed(&10.0)?;
//! }
//!
//! let outcome = client.wait_for_result(goal, Duration::from_secs(1))?;
//! assert_eq!((outcome.status, outcome.result), (GoalStatus::Succeeded, Some(10.0)));
//! assert_eq!(client.next_feedback(goal, Duration::ZERO)?, Some(1.0)); // in order
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Semantics
//!
//! - A goal is [`Pending`](GoalStatus::Pending) until the server takes it and accepts it
//!   ([`Active`](GoalStatus::Active)) or rejects it ([`Rejected`](GoalStatus::Rejected));
//!   an accepted goal ends [`Succeeded`](GoalStatus::Succeeded),
//!   [`Aborted`](GoalStatus::Aborted) or [`Canceled`](GoalStatus::Canceled) (SHM's
//!   `PREEMPTED`), with a result. A goal request or an active goal that the server drops
//!   without deciding is rejected or aborted (without a result).
//! - [`wait_for_result`](ActionClient::wait_for_result) returns as soon as the goal ends,
//!   whatever its end: a rejected or aborted goal ends it at once.
//! - **Feedback** is a stream per goal: [`next_feedback`](ActionClient::next_feedback)
//!   returns it in order, blocking until the next one; the server never waits for a client,
//!   so a client that falls more than `feedback_depth` messages behind (16 by default)
//!   loses the oldest ones ([`feedback_lost`](ActionClient::feedback_lost) counts them).
//! - **Cancel**: [`cancel`](ActionClient::cancel) sets a word the server reads with
//!   [`is_cancel_requested`](ActiveGoal::is_cancel_requested); the server acknowledges by
//!   ending the goal [`canceled`](ActiveGoal::canceled) (or finishes it otherwise). A goal
//!   whose client went away also reads as cancel-requested.
//! - **Server death**: [`is_server_connected`](ActionClient::is_server_connected) is false, and a
//!   waiting [`wait_for_result`](ActionClient::wait_for_result) fails with
//!   [`CallError::ServerGone`], within the client's stale threshold; the goal then reads as
//!   [`Aborted`](GoalStatus::Aborted).
//!
//! # Design
//!
//! An action is a service segment (kind `action`, its own namespace) whose entries carry
//! goals: a goal occupies the entry of its number until its client has seen it end. The
//! entry's response part is the goal's status word and result: the server writes it when it
//! accepts or rejects the goal and again when it ends it (under the part's seqlock, so a
//! client never reads a mix of the two). The request part carries the goal, and a cancel word
//! that the client sets and the server reads. Each entry has `feedback_depth` feedback slots,
//! a small seqlock ring per goal whose words carry the goal's tag and the feedback's number,
//! so a client never takes the feedback of another goal of the entry and counts what it
//! missed. Every write to an entry wakes its client if it sleeps, as service answers do; the
//! arguments of [`crate::service`] (tokens, claim generations, one segment per server) carry
//! over unchanged.

mod client;
mod server;

pub use client::{ActionClient, ActionClientBuilder, RawActionClient};
pub use server::{
    ActionServer, ActionServerBuilder, ActiveGoal, GoalRequest, RawActionServer, RawActiveGoal,
    RawGoalRequest,
};

pub use crate::error::{CallError, ServeError};
pub use crate::service::{CallId, ClientOptions, ServerOptions};

use crate::service::protocol::{
    GOAL_ABORTED, GOAL_ACCEPTED, GOAL_CANCELED, GOAL_REJECTED, GOAL_SUCCEEDED,
};

/// Where a goal stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GoalStatus {
    /// Sent; the server has not accepted or rejected it yet.
    Pending,
    /// Accepted: the server works on it.
    Active,
    /// The server rejected it.
    Rejected,
    /// The server finished it successfully.
    Succeeded,
    /// The server gave up on it (or dropped it, or died).
    Aborted,
    /// The server ended it after its client asked to cancel it (SHM's `PREEMPTED`).
    Canceled,
}

impl GoalStatus {
    /// Whether the goal has ended (rejected, succeeded, aborted or canceled).
    pub fn is_terminal(self) -> bool {
        !matches!(self, GoalStatus::Pending | GoalStatus::Active)
    }

    /// `"pending"`, `"active"`, `"rejected"`, `"succeeded"`, `"aborted"` or `"canceled"`.
    pub fn as_str(self) -> &'static str {
        match self {
            GoalStatus::Pending => "pending",
            GoalStatus::Active => "active",
            GoalStatus::Rejected => "rejected",
            GoalStatus::Succeeded => "succeeded",
            GoalStatus::Aborted => "aborted",
            GoalStatus::Canceled => "canceled",
        }
    }

    /// The status an entry's response part gives (`None`: none, or not a goal's).
    pub(crate) fn from_code(code: u32) -> Option<GoalStatus> {
        Some(match code {
            GOAL_ACCEPTED => GoalStatus::Active,
            GOAL_REJECTED => GoalStatus::Rejected,
            GOAL_SUCCEEDED => GoalStatus::Succeeded,
            GOAL_ABORTED => GoalStatus::Aborted,
            GOAL_CANCELED => GoalStatus::Canceled,
            _ => return None,
        })
    }

    pub(crate) fn code(self) -> u32 {
        match self {
            GoalStatus::Pending => 0,
            GoalStatus::Active => GOAL_ACCEPTED,
            GoalStatus::Rejected => GOAL_REJECTED,
            GoalStatus::Succeeded => GOAL_SUCCEEDED,
            GoalStatus::Aborted => GOAL_ABORTED,
            GoalStatus::Canceled => GOAL_CANCELED,
        }
    }
}

impl std::fmt::Display for GoalStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A goal of an action client: a number, unique among the client's goals (from 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GoalId(pub(crate) u64);

impl GoalId {
    /// The goal with this number (as [`number`](Self::number) gave it).
    pub fn from_number(number: u64) -> GoalId {
        GoalId(number)
    }

    /// The goal's number.
    pub fn number(self) -> u64 {
        self.0
    }
}

impl std::fmt::Display for GoalId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// How a goal ended, and its result (none for a rejected goal, or one the server dropped).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GoalResult<R> {
    /// Rejected, succeeded, aborted or canceled.
    pub status: GoalStatus,
    /// The result the server gave.
    pub result: Option<R>,
}
