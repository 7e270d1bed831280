//! Whether the remote endpoint is there, and what operations do while it is not: outages,
//! the disconnect behaviour, a slave's re-attachment to a new master, and the heartbeat thread.

use super::link::{Link, claim_slave, release_endpoint};
use super::stats::endpoint_alive;
use super::{Channel, DisconnectBehavior, Role};
use crate::error::{Error, ReadError, Result, WriteError};
use crate::layout::STATE_LIVE;
use crate::os;
use crate::segment::{self, SegmentKind};
use crate::sync::Ordering;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Why an operation could not count on its remote.
#[derive(Debug)]
pub(super) enum Missing {
    /// It is missing, and the operation's deadline passed while waiting for it.
    Timeout,
    /// The disconnect behaviour gave up on it: the reason, in words.
    Disconnected(String),
    /// Re-attaching to a new master failed.
    Segment(Box<Error>),
}

/// A period during which the remote is missing, as far as operations have looked.
#[derive(Clone, Copy, Debug)]
pub(super) struct Outage {
    /// When an operation first found the remote missing.
    since: Instant,
    /// Reconnection attempts made since.
    attempts: u32,
    /// When the next attempt is due.
    next: Instant,
}

/// How long a cached liveness verdict is reused.
const LIVENESS_CACHE: Duration = Duration::from_millis(5);

impl Channel {
    /// Whether the remote endpoint is alive: attached, its heartbeat younger than the stale
    /// threshold, and its process running.
    pub fn is_remote_alive(&self) -> bool {
        endpoint_alive(self.link.endpoint(self.remote_role()), self.cfg.stale_threshold)
    }

    /// `is_remote_alive`, reusing a verdict for a few ms; counts stale events and, for a
    /// master, slaves that took the role over.
    fn remote_alive_cached(&mut self) -> bool {
        if let Some((at, alive)) = self.remote_cache
            && alive
            && at.elapsed() < LIVENESS_CACHE
        {
            return true;
        }
        let alive = self.is_remote_alive();
        self.remote_cache = Some((Instant::now(), alive));
        if self.remote_was_alive && !alive {
            self.stale_events += 1;
        }
        if self.role == Role::Master {
            let generation = self.link.header().slave.generation.load(Ordering::Acquire);
            if generation != self.slave_generation_seen {
                if self.slave_generation_seen != 0 {
                    self.reconnects += 1;
                }
                self.slave_generation_seen = generation;
            }
        }
        self.remote_was_alive = alive;
        alive
    }

    /// Makes sure the remote is alive, waiting for it (a slave looks for a new master
    /// meanwhile). While it is missing: [`Error::Disconnected`] once the disconnect behaviour
    /// gives up on the outage (at once, after `reconnect_wait`, or never) or the outage has
    /// spent the reconnection budget; else [`Error::Timeout`] at `deadline`, or `Ok(false)` at
    /// `slice_end`. An operation that is not `patient` (its deadline had passed when it
    /// started: the `try_` operations) does not wait: a missing remote is
    /// [`Error::Disconnected`] at once.
    pub(super) fn ensure_remote(
        &mut self,
        deadline: Instant,
        slice_end: Option<Instant>,
        patient: bool,
    ) -> Result<bool, Missing> {
        if (self.link.seg.state() == STATE_LIVE && self.remote_alive_cached())
            || (self.role == Role::Slave && self.try_reattach()? && self.remote_alive_cached())
        {
            self.outage = None;
            return Ok(true);
        }
        let interval = self.cfg.reconnect_interval;
        let start = Instant::now();
        let mut outage = *self.outage.get_or_insert(Outage {
            since: start,
            attempts: 0,
            next: start + interval,
        });
        let give_up = match self.cfg.disconnect_behavior {
            DisconnectBehavior::Immediately => Some(outage.since),
            DisconnectBehavior::OnTimeout => outage.since.checked_add(self.cfg.reconnect_wait),
            DisconnectBehavior::Never => None,
        };
        loop {
            self.outage = Some(outage);
            let now = Instant::now();
            let budget_spent =
                self.cfg.max_reconnect_attempts.is_some_and(|max| outage.attempts >= max);
            if !patient || budget_spent || give_up.is_some_and(|at| now >= at) {
                let what = if self.role == Role::Slave {
                    "the master is gone or stale"
                } else {
                    "no live slave is attached"
                };
                let spent = if budget_spent { ", all max_reconnect_attempts spent" } else { "" };
                return Err(Missing::Disconnected(format!(
                    "{what} (missing for {:.1?}, {} reconnection attempt(s){spent})",
                    now - outage.since,
                    outage.attempts
                )));
            }
            if now >= deadline {
                return Err(Missing::Timeout);
            }
            if slice_end.is_some_and(|end| now >= end) {
                return Ok(false);
            }
            if now < outage.next {
                let wake = [give_up, Some(deadline), slice_end]
                    .into_iter()
                    .flatten()
                    .fold(outage.next, Instant::min);
                std::thread::sleep(wake.saturating_duration_since(now));
                continue;
            }
            outage.attempts += 1;
            outage.next = now + interval;
            self.beat();
            self.remote_cache = None;
            if self.role == Role::Slave {
                self.try_reattach()?;
            }
            if self.link.seg.state() == STATE_LIVE && self.remote_alive_cached() {
                self.outage = None;
                return Ok(true);
            }
        }
    }

    /// Slave: if the name now refers to a new segment with a live master, moves to it.
    /// Messages this slave wrote that the old master never read are counted as lost, and so
    /// are messages the old master wrote that this slave had not read (a reader only gets here
    /// once it has read them all).
    fn try_reattach(&mut self) -> Result<bool, Missing> {
        self.reattach().map_err(|e| Missing::Segment(Box::new(e)))
    }

    fn reattach(&mut self) -> Result<bool> {
        let Some((seg, info)) =
            segment::open(&self.dir, SegmentKind::Channel, &self.cfg.name, self.cfg.trust)?
        else {
            return Ok(false);
        };
        if seg.id() == self.link.seg.id() || !os::is_alive(info.owner_pid, info.owner_start_time) {
            return Ok(false);
        }
        let link = Link::new(seg, info)?;
        claim_slave(&link, &self.cfg.name, self.cfg.stale_threshold)?;
        let old = std::mem::replace(&mut self.link, Arc::new(link));
        self.lost += old.outgoing(Role::Slave).pending() + old.incoming(Role::Slave).pending();
        release_endpoint(&old, Role::Slave);
        *self.beat.link.lock().unwrap_or_else(|p| p.into_inner()) = Some(self.link.clone());
        self.reconnects += 1;
        self.remote_cache = None;
        Ok(true)
    }

}

/// What the heartbeat thread shares with its channel.
pub(super) struct Beat {
    pub(super) link: Mutex<Option<Arc<Link>>>,
    pub(super) stop: Mutex<bool>,
    pub(super) wake: Condvar,
}

pub(super) fn spawn_heartbeat(beat: Arc<Beat>, role: Role, stale: Duration) -> JoinHandle<()> {
    let period = (stale / 4).clamp(Duration::from_millis(1), Duration::from_secs(1));
    std::thread::Builder::new()
        .name("eshm-heartbeat".into())
        .spawn(move || {
            let mut stop = beat.stop.lock().unwrap_or_else(|p| p.into_inner());
            while !*stop {
                if let Some(link) = beat.link.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
                    link.beat(role);
                }
                stop = beat.wake.wait_timeout(stop, period).unwrap_or_else(|p| p.into_inner()).0;
            }
        })
        .expect("spawn the eshm heartbeat thread")
}

impl Missing {
    pub(super) fn into_write(self, channel: &Arc<str>) -> WriteError {
        match self {
            Missing::Timeout => WriteError::Timeout,
            Missing::Disconnected(reason) => WriteError::Disconnected { channel: channel.clone(), reason },
            Missing::Segment(e) => WriteError::Segment(e),
        }
    }

    pub(super) fn into_read(self, channel: &Arc<str>) -> ReadError {
        match self {
            Missing::Timeout => ReadError::Timeout,
            Missing::Disconnected(reason) => ReadError::Disconnected { channel: channel.clone(), reason },
            Missing::Segment(e) => ReadError::Segment(e),
        }
    }
}
