//! Blocking receives of a [`RawSubscriber`]: waiting for the next message (spinning, then
//! sleeping on the ring's futex, as the wait strategy says) or for the topic to appear.

use super::raw_subscriber::{RawSubscriber, as_uninit};
use crate::error::RecvError;
use crate::layout::STATE_LIVE;
use crate::os;
use crate::ring::mapped::MappedRing;
use crate::sync::{AtomicU32, Ordering};
use crate::wait::{self, Registered, Stand, WaitStrategy, Wakeup};
use std::mem::MaybeUninit;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A subscriber's registration with its topic's writer (see [`RawSubscriber::wakeup`]).
struct RingWakeup {
    ring: Arc<MappedRing>,
    slot: Option<usize>,
}

impl Registered for RingWakeup {
    fn word(&self) -> &AtomicU32 {
        &self.ring.header().writer.notify
    }
}

impl Drop for RingWakeup {
    fn drop(&mut self) {
        // The reader's entry is this process's still unless the subscriber went away
        // meanwhile; then its bit went with it (a new holder's claim resets it).
        let slot =
            self.slot.filter(|&i| self.ring.reader(i).pid.load(Ordering::Relaxed) == os::pid());
        self.ring.view().deregister(slot.map(|i| (self.ring.reader(i), i)));
    }
}

/// Longest sleep of a blocked subscriber between checks of its segment.
const PARK_SLICE: Duration = Duration::from_millis(200);

impl RawSubscriber {
    /// The next message as bytes, waiting until `deadline` (forever if `None`).
    ///
    /// # Errors
    ///
    /// [`RecvError::Timeout`], or as [`Subscriber::try_recv`](super::Subscriber::try_recv).
    pub fn recv_bytes_deadline(&mut self, deadline: Option<Instant>) -> Result<Vec<u8>, RecvError> {
        self.block(deadline, |sub| sub.try_recv_bytes())
    }

    /// While the topic does not exist: sleeps a little (`backoff`, doubling from 1 to 10 ms,
    /// never past `deadline`) and looks for it again. [`RecvError::Timeout`] once `deadline`
    /// has passed.
    fn wait_for_topic(
        &mut self,
        deadline: Option<Instant>,
        backoff: &mut Duration,
    ) -> Result<(), RecvError> {
        let remaining = time_left(deadline)?;
        *backoff = (*backoff * 2).clamp(Duration::from_millis(1), Duration::from_millis(10));
        std::thread::sleep(remaining.map_or(*backoff, |r| r.min(*backoff)));
        self.refresh(true)
    }

    /// Blocks until the next message is copied into `dst`, or the deadline passes.
    ///
    /// # Errors
    ///
    /// [`RecvError::Timeout`] when `deadline` passes first, otherwise as
    /// [`try_recv_into`](Self::try_recv_into).
    pub fn recv_into_deadline(
        &mut self,
        dst: &mut [u8],
        deadline: Option<Instant>,
    ) -> Result<(), RecvError> {
        self.recv_raw_deadline(as_uninit(dst), deadline)
    }

    /// [`recv_into_deadline`](Self::recv_into_deadline) into uninitialised memory: when it
    /// returns `Ok(())`, every byte of `dst` is initialised.
    pub(super) fn recv_raw_deadline(
        &mut self,
        dst: &mut [MaybeUninit<u8>],
        deadline: Option<Instant>,
    ) -> Result<(), RecvError> {
        self.block(deadline, |sub| Ok(sub.try_recv_raw(dst)?.then_some(())))
    }

    /// Blocks until a message this subscriber has not received is there (without receiving
    /// it), or the deadline passes.
    ///
    /// # Errors
    ///
    /// [`RecvError::Timeout`] when `deadline` passes first, or [`RecvError::Attach`].
    pub fn wait_unread(&mut self, deadline: Option<Instant>) -> Result<(), RecvError> {
        self.block(deadline, |sub| Ok(sub.has_unread()?.then_some(())))
    }

    /// Whether a message this subscriber has not received is there (never blocks; attaches to
    /// the topic if it appeared).
    ///
    /// # Errors
    ///
    /// [`RecvError::Attach`] if attaching to a re-created topic fails.
    pub fn has_unread(&mut self) -> Result<bool, RecvError> {
        for _ in 0..2 {
            if let Some(att) = &self.attached
                && !att.ring.view().is_pending(self.next)
            {
                return Ok(true);
            }
            // Nothing new here: attach, or move on from a closed or replaced segment.
            self.refresh(false)?;
        }
        Ok(false)
    }

    /// Time since the newest publish on the topic (`None` before the first, or while not
    /// attached). Its resolution is that of `CLOCK_MONOTONIC_COARSE`, a few ms.
    pub fn last_publish_age(&self) -> Option<Duration> {
        let view = self.attached.as_ref()?.ring.view();
        if view.newest() == 0 {
            return None;
        }
        let at = view.writer.last_publish_ns.load(Ordering::Acquire);
        Some(Duration::from_nanos(os::coarse_ns().saturating_sub(at)))
    }

    /// A registration to be woken when the next message may have arrived, for callers that
    /// wait for many things at once (see [`Wakeup`]): `None` if a message (or news: the topic
    /// closed or replaced) is there already, so that a receive should be tried now. Receive
    /// with the non-blocking calls after the wake-up.
    ///
    /// # Errors
    ///
    /// [`RecvError::Attach`] if attaching to a re-created topic fails.
    pub fn wakeup(&mut self) -> Result<Option<Wakeup>, RecvError> {
        self.check_broken()?;
        if self.has_unread()? {
            return Ok(None);
        }
        let Some(att) = &self.attached else { return Ok(Some(Wakeup::poll())) };
        if att.ring.seg.state() != STATE_LIVE || att.ring.seg.is_broken() {
            return Ok(None);
        }
        let slot = att.reader_slot;
        let registered = att.ring.view().register(self.next, slot.map(|i| (att.ring.reader(i), i)));
        Ok(registered.map(|ticket| {
            Wakeup::registered(Box::new(RingWakeup { ring: att.ring.clone(), slot }), ticket)
        }))
    }

    /// Calls `attempt` until it returns something, waiting in between for the next message
    /// (spinning, then sleeping on the ring's futex, as the wait strategy says) or for the
    /// topic to appear, until `deadline` passes.
    pub(super) fn block<R>(
        &mut self,
        deadline: Option<Instant>,
        mut attempt: impl FnMut(&mut Self) -> Result<Option<R>, RecvError>,
    ) -> Result<R, RecvError> {
        let mut backoff = Duration::ZERO;
        loop {
            if let Some(got) = attempt(self)? {
                return Ok(got);
            }
            let Some(att) = &self.attached else {
                // Not attached: the topic does not exist yet.
                self.wait_for_topic(deadline, &mut backoff)?;
                continue;
            };
            backoff = Duration::ZERO;
            let remaining = time_left(deadline)?;
            let ring = att.ring.view();
            let n = self.next;
            let wait = self.options.wait;
            let busy = wait.is_spin();
            let arrived = match wait {
                // No spinning: the attempt above just looked.
                WaitStrategy::Park => false,
                _ => {
                    let until = wait.spin_end(Instant::now(), deadline);
                    wait::spin(until, busy, || (!ring.is_pending(n)).then_some(())).is_some()
                }
            };
            if arrived {
                continue; // the attempt takes it (or counts the loss)
            }
            if busy {
                // A while without news: look around (closed or replaced segments).
                self.refresh(false)?;
                continue;
            }
            let slice = remaining.map_or(PARK_SLICE, |r| r.min(PARK_SLICE));
            if att.ring.seg.is_broken() {
                continue; // the attempt reports it
            }
            if att.ring.seg.state() == STATE_LIVE {
                ring.park(n, Some(slice), att.reader_slot.map(|i| (att.ring.reader(i), i)));
            }
            if ring.is_pending(n) {
                self.refresh(false)?;
            }
        }
    }
}

/// Time left until `deadline` (`None`: forever); [`RecvError::Timeout`] once it has passed.
fn time_left(deadline: Option<Instant>) -> Result<Option<Duration>, RecvError> {
    let now = Instant::now();
    match wait::check(now, deadline, None) {
        Stand::Expired => Err(RecvError::Timeout),
        stand => Ok(stand.sleep_from(now)),
    }
}
