//! The client side of actions: the untyped [`RawActionClient`] here, the typed
//! [`ActionClient`] in `typed`. A client keeps, for each of its goals, what it has learnt of it: its
//! status, its result, and the feedback not yet taken.

use super::{GoalId, GoalStatus};
use crate::error::{CallError, Result};
use crate::schema::Schema;
use crate::segment::SegmentKind;
use crate::service::protocol::{FeedbackRead, OP_GOAL, as_uninit, goal_tag};
use crate::service::{Attached, CallTicket, ClientCore, ClientOptions};
use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

mod typed;
mod wakeup;

pub use typed::{ActionClient, ActionClientBuilder};

/// Goals that ended kept for their results; older ones are forgotten.
const KEEP_ENDED: usize = 1024;

/// What a client knows of one of its goals.
#[derive(Debug)]
struct Goal {
    /// The call that carries it.
    ticket: CallTicket,
    status: GoalStatus,
    /// The result, once it ended with one.
    result: Option<Vec<u8>>,
    /// Whether its entry was let go (it ended, and what it holds was taken).
    released: bool,
    /// Whether its server died before it ended.
    server_gone: bool,
    /// The next feedback number to read (from 1).
    next_feedback: u64,
    /// Feedback read from shared memory and not yet taken.
    feedback: VecDeque<Vec<u8>>,
    /// The newest feedback seen.
    latest: Option<Vec<u8>>,
    /// Feedback missed.
    lost: u64,
}

/// The untyped action client: goals, results and feedback are bytes laid out as the
/// server's [`Schema`]s say.
#[derive(Debug)]
pub struct RawActionClient {
    core: ClientCore,
    goals: BTreeMap<u64, Goal>,
    ended: VecDeque<u64>,
    next_id: u64,
    buf: Vec<u8>,
}

/// What a waiting goal operation waits for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Until {
    /// The end of the goal.
    End,
    /// Its next feedback (or its end).
    Feedback,
    /// Any change of its status.
    Status(GoalStatus),
}

impl RawActionClient {
    /// Opens a client of the action `name`. With `Some([goal, result, feedback])`, only those
    /// types are accepted; with `None`, any are.
    ///
    /// # Errors
    ///
    /// As [`ActionClient::open`].
    pub fn open(
        name: &str,
        expected: Option<[&Schema; 3]>,
        options: ClientOptions,
    ) -> Result<RawActionClient> {
        let expected = expected.map(|s| s.iter().map(|s| (*s).clone()).collect());
        Ok(RawActionClient {
            core: ClientCore::open(name, SegmentKind::Action, expected, options)?,
            goals: BTreeMap::new(),
            ended: VecDeque::new(),
            next_id: 1,
            buf: Vec::new(),
        })
    }

    /// The action's name.
    pub fn name(&self) -> &str {
        &self.core.name
    }

    /// The goal, result and feedback types: the attached server's, or those expected.
    pub fn schemas(&self) -> Option<(&Schema, &Schema, &Schema)> {
        match self.core.schemas()? {
            [g, r, f, ..] => Some((g, r, f)),
            _ => None,
        }
    }

    /// Whether a live server serves the action (attaching to it if need be): false within
    /// the stale threshold of the server's death. Reads `/proc`.
    pub fn is_server_connected(&mut self) -> bool {
        self.core.is_server_connected()
    }

    /// Waits up to `timeout` for a live server; whether there is one.
    pub fn wait_for_server(&mut self, timeout: Duration) -> bool {
        self.wait_for_server_until(Some(Instant::now() + timeout), None).unwrap_or(Some(false))
            == Some(true)
    }

    /// Waits for a live server until `deadline` (`Ok(Some(false))` then), or returns
    /// `Ok(None)` at `slice_end`.
    ///
    /// # Errors
    ///
    /// [`CallError::Attach`].
    pub fn wait_for_server_until(
        &mut self,
        deadline: Option<Instant>,
        slice_end: Option<Instant>,
    ) -> Result<Option<bool>, CallError> {
        self.core.wait_for_server_until(deadline, slice_end)
    }

    /// Sends a goal (bytes of the goal type), waiting for a live server if there is none (as
    /// the options say) until `deadline`, or returning `Ok(None)` at `slice_end`.
    ///
    /// # Errors
    ///
    /// [`CallError::WrongSize`], [`CallError::NoServer`], [`CallError::TooManyInFlight`],
    /// [`CallError::Attach`].
    pub fn send_goal_until(
        &mut self,
        goal: &[u8],
        deadline: Option<Instant>,
        slice_end: Option<Instant>,
    ) -> Result<Option<GoalId>, CallError> {
        let name = self.core.name.clone();
        let Some(a) = self.core.ensure_attached(deadline, slice_end)? else { return Ok(None) };
        let size = a.mapped.geo.request_size;
        if goal.len() != size {
            return Err(CallError::WrongSize { service: name, size, given: goal.len() });
        }
        // Goals that ended let their entries go; one that has not is still in its entry.
        self.refresh_all();
        let ticket = self.core.send(OP_GOAL, goal, |_, _| false)?;
        let id = self.next_id;
        self.next_id += 1;
        self.goals.insert(
            id,
            Goal {
                ticket,
                status: GoalStatus::Pending,
                result: None,
                released: false,
                server_gone: false,
                next_feedback: 1,
                feedback: VecDeque::new(),
                latest: None,
                lost: 0,
            },
        );
        Ok(Some(GoalId(id)))
    }

    fn goal(&self, id: GoalId) -> Result<&Goal, CallError> {
        self.goals
            .get(&id.0)
            .ok_or_else(|| CallError::UnknownGoal { service: self.core.name.clone(), goal: id.0 })
    }

    /// Reads what shared memory holds of every goal still in its entry.
    fn refresh_all(&mut self) {
        let ids: Vec<u64> =
            self.goals.iter().filter(|(_, g)| !g.released).map(|(id, _)| *id).collect();
        for id in ids {
            self.refresh(id);
        }
    }

    /// Reads what shared memory holds of goal `id` (status, result, feedback); lets its
    /// entry go once it ended.
    fn refresh(&mut self, id: u64) {
        let Some(g) = self.goals.get_mut(&id) else { return };
        if g.released {
            return;
        }
        let Ok(a) = self.core.attachment(g.ticket) else {
            // Its server is gone, and with it what the goal was.
            g.released = true;
            if !g.status.is_terminal() {
                g.status = GoalStatus::Aborted;
                g.server_gone = true;
            }
            self.ended.push_back(id);
            return;
        };
        let n = g.ticket.n;
        let entry = a.entry(n);
        let result_size = a.mapped.geo.response_size;
        self.buf.resize(result_size.max(a.mapped.geo.feedback_size), 0);
        let mut result = vec![0u8; result_size];
        if let Some(head) = entry.read_response(a.token(n), as_uninit(&mut result))
            && let Some(status) = GoalStatus::from_code(head.status)
        {
            g.status = status;
            if status.is_terminal() && head.has_payload {
                g.result = Some(result);
            }
        }
        read_feedback(a, g, &mut self.buf);
        if g.status.is_terminal() {
            g.released = true;
            a.free(n);
            self.ended.push_back(id);
            while self.ended.len() > KEEP_ENDED {
                if let Some(old) = self.ended.pop_front() {
                    self.goals.remove(&old);
                }
            }
        }
    }

    /// The status of goal `id` now (reading what the server wrote).
    ///
    /// # Errors
    ///
    /// [`CallError::UnknownGoal`].
    pub fn status(&mut self, id: GoalId) -> Result<GoalStatus, CallError> {
        self.goal(id)?;
        self.refresh(id.0);
        Ok(self.goal(id)?.status)
    }

    /// Asks the server to cancel goal `id` (it acknowledges by ending it
    /// [`Canceled`](GoalStatus::Canceled)). Nothing happens for a goal that ended.
    ///
    /// # Errors
    ///
    /// [`CallError::UnknownGoal`].
    pub fn cancel(&mut self, id: GoalId) -> Result<(), CallError> {
        let ticket = self.goal(id)?.ticket;
        self.refresh(id.0);
        if !self.goal(id)?.released
            && let Ok(a) = self.core.attachment(ticket)
        {
            a.entry(ticket.n).request_cancel(a.token(ticket.n));
        }
        Ok(())
    }

    /// Waits for `what` on goal `id`, until `deadline` or (`Ok(None)`) `slice_end`.
    fn wait_goal(
        &mut self,
        id: GoalId,
        what: Until,
        deadline: Option<Instant>,
        slice_end: Option<Instant>,
    ) -> Result<Option<()>, CallError> {
        loop {
            // What to watch is taken before looking, so that a change in between is seen.
            let g = self.goal(id)?;
            let (ticket, next) = (g.ticket, g.next_feedback);
            let watched = self.core.attachment(ticket).ok().map(|a| {
                let e = a.entry(ticket.n);
                (e.response_version(), e.feedback_word(next))
            });
            self.refresh(id.0);
            let g = self.goal(id)?;
            let done = match what {
                Until::End => g.status.is_terminal(),
                Until::Feedback => !g.feedback.is_empty() || g.status.is_terminal(),
                Until::Status(seen) => g.status != seen,
            };
            if done || g.released {
                if g.server_gone && (what == Until::End || g.feedback.is_empty()) {
                    return Err(CallError::ServerGone { service: self.core.name.clone() });
                }
                return Ok(Some(()));
            }
            let Some((version, word)) = watched else { continue };
            let changed = self.core.wait(ticket, deadline, slice_end, |a| {
                let e = a.entry(ticket.n);
                Ok((e.response_version() != version || e.feedback_word(next) != word).then_some(()))
            });
            match changed {
                Ok(Some(())) => {}
                Ok(None) => return Ok(None),
                Err(CallError::ServerGone { .. }) => {} // the next look says what is left
                Err(e) => return Err(e),
            }
        }
    }

    /// Waits for goal `id` to end, until `deadline` or (`Ok(None)`) `slice_end`; returns how
    /// it ended (its result is then [`result`](Self::result)). A rejected or aborted goal ends
    /// the wait at once.
    ///
    /// # Errors
    ///
    /// [`CallError::Timeout`], [`CallError::ServerGone`] (the server died before the goal
    /// ended; within the stale threshold), [`CallError::UnknownGoal`], [`CallError::Attach`].
    pub fn wait_result_until(
        &mut self,
        id: GoalId,
        deadline: Option<Instant>,
        slice_end: Option<Instant>,
    ) -> Result<Option<GoalStatus>, CallError> {
        match self.wait_goal(id, Until::End, deadline, slice_end)? {
            Some(()) => Ok(Some(self.goal(id)?.status)),
            None => Ok(None),
        }
    }

    /// Waits for the status of goal `id` to differ from `seen`; returns the new one.
    ///
    /// # Errors
    ///
    /// As [`wait_result_until`](Self::wait_result_until).
    pub fn wait_status_until(
        &mut self,
        id: GoalId,
        seen: GoalStatus,
        deadline: Option<Instant>,
        slice_end: Option<Instant>,
    ) -> Result<Option<GoalStatus>, CallError> {
        match self.wait_goal(id, Until::Status(seen), deadline, slice_end)? {
            Some(()) => Ok(Some(self.goal(id)?.status)),
            None => Ok(None),
        }
    }

    /// How goal `id` ended and its result bytes, if it ended.
    pub fn result(&mut self, id: GoalId) -> Option<(GoalStatus, Option<&[u8]>)> {
        self.refresh(id.0);
        let g = self.goals.get(&id.0)?;
        g.status.is_terminal().then_some((g.status, g.result.as_deref()))
    }

    /// The next feedback of goal `id`, in order, waiting until `deadline` or (`Ok(None)`)
    /// `slice_end`: `Ok(Some(Some(bytes)))`, or `Ok(Some(None))` once the goal has ended and
    /// all its feedback was taken.
    ///
    /// # Errors
    ///
    /// As [`wait_result_until`](Self::wait_result_until).
    pub fn next_feedback_until(
        &mut self,
        id: GoalId,
        deadline: Option<Instant>,
        slice_end: Option<Instant>,
    ) -> Result<Option<Option<Vec<u8>>>, CallError> {
        match self.wait_goal(id, Until::Feedback, deadline, slice_end)? {
            None => Ok(None),
            Some(()) => Ok(Some(self.goals.get_mut(&id.0).and_then(|g| g.feedback.pop_front()))),
        }
    }

    /// The newest feedback of goal `id` seen so far (without taking anything from the
    /// stream).
    pub fn latest_feedback(&mut self, id: GoalId) -> Option<&[u8]> {
        self.refresh(id.0);
        self.goals.get(&id.0)?.latest.as_deref()
    }

    /// Feedback of goal `id` missed because this client fell behind.
    pub fn feedback_lost(&mut self, id: GoalId) -> u64 {
        self.refresh(id.0);
        self.goals.get(&id.0).map_or(0, |g| g.lost)
    }

    /// Forgets goal `id` (what it knows of an ended goal; a goal still going keeps its entry
    /// until it ends, and its end is then not kept).
    pub fn forget(&mut self, id: GoalId) {
        self.refresh(id.0);
        if self.goals.get(&id.0).is_some_and(|g| g.released) {
            self.goals.remove(&id.0);
        }
    }
}

/// Moves the feedback shared memory holds for goal `g` into its stream.
fn read_feedback(a: &Attached, g: &mut Goal, buf: &mut Vec<u8>) {
    let n = g.ticket.n;
    let entry = a.entry(n);
    if !entry.has_feedback() {
        return;
    }
    let depth = a.mapped.geo.feedback_depth;
    let tag = goal_tag(a.token(n));
    buf.resize(a.mapped.geo.feedback_size, 0);
    // At most one lap of the slots per look: the server may be writing meanwhile.
    for _ in 0..depth * 2 {
        match entry.read_feedback(tag, g.next_feedback, as_uninit(buf)) {
            FeedbackRead::NotYet => break,
            FeedbackRead::Lost(next) => {
                g.lost += next.saturating_sub(g.next_feedback);
                g.next_feedback = next;
            }
            FeedbackRead::Got => {
                g.next_feedback += 1;
                if g.feedback.len() >= depth {
                    g.feedback.pop_front();
                    g.lost += 1;
                }
                g.feedback.push_back(buf.clone());
                g.latest = Some(buf.clone());
            }
        }
    }
}
