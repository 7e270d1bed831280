//! Registrations of a [`RawActionClient`] to be woken when a goal may have ended or sent
//! feedback, for callers that wait for many things at once (see [`Wakeup`]).

use super::{RawActionClient, Until};
use crate::action::GoalId;
use crate::error::CallError;
use crate::layout::STATE_LIVE;
use crate::service::slot_wakeup;
use crate::wait::Wakeup;

impl RawActionClient {
    /// A registration to be woken when goal `id` may have ended (see [`Wakeup`]): `None` if
    /// it has (or its server closed the action, or is gone), so that
    /// [`wait_result_until`](Self::wait_result_until) should be called now, with a
    /// `slice_end` of now. A server that dies without closing wakes nobody, hence the bounded
    /// waits of [`Wakeup`].
    ///
    /// # Errors
    ///
    /// [`CallError::UnknownGoal`].
    pub fn result_wakeup(&mut self, id: GoalId) -> Result<Option<Wakeup>, CallError> {
        self.wakeup(id, Until::End)
    }

    /// A registration to be woken when goal `id` may have sent feedback or ended: `None` if
    /// feedback is there to take (or the goal ended), so that
    /// [`next_feedback_until`](Self::next_feedback_until) should be called now.
    ///
    /// # Errors
    ///
    /// [`CallError::UnknownGoal`].
    pub fn feedback_wakeup(&mut self, id: GoalId) -> Result<Option<Wakeup>, CallError> {
        self.wakeup(id, Until::Feedback)
    }

    fn wakeup(&mut self, id: GoalId, what: Until) -> Result<Option<Wakeup>, CallError> {
        // What to watch is taken before looking, so that a change in between is seen (by the
        // look, or by the registration's own check).
        let g = self.goal(id)?;
        let (ticket, next) = (g.ticket, g.next_feedback);
        let Ok(a) = self.core.attachment(ticket) else { return Ok(None) };
        let e = a.entry(ticket.n);
        let watched = (e.response_version(), e.feedback_word(next));
        self.refresh(id.0);
        let g = self.goal(id)?;
        let done = match what {
            Until::End => g.status.is_terminal(),
            Until::Feedback => !g.feedback.is_empty() || g.status.is_terminal(),
            Until::Status(seen) => g.status != seen,
        };
        if done || g.released {
            return Ok(None);
        }
        let Ok(a) = self.core.attachment(ticket) else { return Ok(None) };
        if a.mapped.seg.state() != STATE_LIVE || a.mapped.seg.is_broken() {
            return Ok(None);
        }
        Ok(slot_wakeup(a, || {
            let e = a.entry(ticket.n);
            (e.response_version(), e.feedback_word(next)) != watched
        }))
    }
}
