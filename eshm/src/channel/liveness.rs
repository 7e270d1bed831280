//! Whether the remote endpoint is there, and what operations do while it is not: outages, the
//! disconnect behaviour, a slave's re-attachment to a new master, and the heartbeat thread.
//!
//! The rules (those of the original ESHM, where its users' scripts depend on them):
//!
//! - An operation never fails because of the remote while it can proceed: a master writes into
//!   its queue whether or not a slave is there (the first slave receives what was queued), and
//!   a read returns what the remote wrote before it went.
//! - With nothing to read, a read waits for its timeout (`try_read`: returns nothing) while the
//!   remote is missing, and a slave looks for a new master meanwhile.
//! - [`Disconnected`](crate::ReadError::Disconnected) comes only where the disconnect behaviour
//!   says so: [`Immediately`](DisconnectBehavior::Immediately), once a remote that was there has
//!   gone; for a slave, once the outage has lasted `reconnect_wait`
//!   ([`OnTimeout`](DisconnectBehavior::OnTimeout)) or spent the reconnection budget (any
//!   behaviour). A master never gives up on its slaves otherwise.

use super::link::{Link, claim_slave, release_endpoint};
use super::stats::endpoint_alive;
use super::{Channel, DisconnectBehavior, Role};
use crate::error::{Error, ReadError, Result, WriteError};
use crate::layout::STATE_LIVE;
use crate::os;
use crate::segment::{self, SegmentKind};
use crate::sync::Ordering;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a verdict that the remote is alive is reused (the `/proc` check is not free).
const LIVENESS_CACHE: Duration = Duration::from_millis(5);

/// What an endpoint knows of its remote, shared by the threads that use the endpoint.
#[derive(Debug, Default)]
pub(super) struct Liveness {
    /// The last verdict, and when it was reached.
    cache: Option<(Instant, bool)>,
    /// Whether the remote has been there since this endpoint opened.
    seen: bool,
    was_alive: bool,
    pub(super) reconnects: u64,
    pub(super) stale_events: u64,
    pub(super) lost: u64,
    slave_generation_seen: u64,
    /// The current outage of the remote (`None` while it is alive).
    outage: Option<Outage>,
}

/// A period during which the remote is missing, as far as operations have looked.
#[derive(Clone, Copy, Debug)]
struct Outage {
    /// When an operation first found the remote missing.
    since: Instant,
    /// Reconnection attempts made since (slaves).
    attempts: u32,
    /// When the next attempt is due.
    next: Instant,
}

/// Where the remote stands, for an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Remote {
    /// Alive (possibly behind a new link: callers refresh theirs).
    Present,
    /// Missing, and the disconnect behaviour still waits for it; the next reconnection
    /// attempt is due then (slaves; `None` for a master).
    Missing(Option<Instant>),
}

/// Why an operation cannot count on its remote.
#[derive(Debug)]
pub(super) enum Gone {
    /// The disconnect behaviour gave up on it: the reason, in words.
    Disconnected(String),
    /// Re-attaching to a new master failed.
    Segment(Box<Error>),
}

impl Liveness {
    /// A slave opened on a live master: that master counts as seen, and as alive at the last
    /// look (so that a master that dies before the slave's first look is a stale event).
    pub(super) fn new(role: Role) -> Liveness {
        let slave = role == Role::Slave;
        Liveness { seen: slave, was_alive: slave, ..Liveness::default() }
    }
}

impl Gone {
    pub(super) fn into_write(self, channel: &Arc<str>) -> WriteError {
        match self {
            Gone::Disconnected(reason) => {
                WriteError::Disconnected { channel: channel.clone(), reason }
            }
            Gone::Segment(e) => WriteError::Segment(e),
        }
    }

    pub(super) fn into_read(self, channel: &Arc<str>) -> ReadError {
        match self {
            Gone::Disconnected(reason) => {
                ReadError::Disconnected { channel: channel.clone(), reason }
            }
            Gone::Segment(e) => ReadError::Segment(e),
        }
    }
}

impl Channel {
    /// Whether the remote endpoint is alive: attached, its heartbeat younger than the stale
    /// threshold, and its process running.
    pub fn is_remote_alive(&self) -> bool {
        endpoint_alive(self.link().endpoint(self.remote_role()), self.cfg.stale_threshold)
    }

    pub(super) fn liveness(&self) -> MutexGuard<'_, Liveness> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `is_remote_alive`, reusing a verdict of "alive" for a few ms; counts stale events and,
    /// for a master, slaves that took the role over.
    fn remote_alive_cached(&self, live: &mut Liveness, link: &Link) -> bool {
        if let Some((at, true)) = live.cache
            && at.elapsed() < LIVENESS_CACHE
        {
            return true;
        }
        let alive = link.seg.state() == STATE_LIVE
            && endpoint_alive(link.endpoint(self.remote_role()), self.cfg.stale_threshold);
        live.cache = Some((Instant::now(), alive));
        // A slave that came (a new generation of the role) and went between two looks was
        // alive meanwhile, too.
        let mut came = false;
        if self.role == Role::Master {
            let generation = link.header().slave.generation.load(Ordering::Acquire);
            if generation != live.slave_generation_seen {
                if live.slave_generation_seen != 0 {
                    live.reconnects += 1;
                }
                live.slave_generation_seen = generation;
                came = true;
            }
        }
        if (live.was_alive || came) && !alive {
            live.stale_events += 1;
        }
        live.was_alive = alive;
        // A master has seen its remote once any slave has attached to its segment.
        live.seen |= alive || (self.role == Role::Master && live.slave_generation_seen != 0);
        alive
    }

    /// Where the remote stands now (see the [module docs](self) for the rules). A slave whose
    /// master is missing tries to re-attach when an attempt is due.
    pub(super) fn check_remote(&self) -> Result<Remote, Gone> {
        let mut live = self.liveness();
        if self.remote_alive_cached(&mut live, &self.link()) {
            live.outage = None;
            return Ok(Remote::Present);
        }
        let now = Instant::now();
        let interval = self.cfg.reconnect_interval;
        let outage = live.outage.get_or_insert(Outage { since: now, attempts: 0, next: now });
        if self.role == Role::Slave {
            // Every look for a new master counts as an attempt once per interval.
            if now >= outage.next {
                outage.attempts += 1;
                outage.next = now + interval;
            }
            drop(live);
            let reattached = self.reattach().map_err(|e| Gone::Segment(Box::new(e)))?;
            live = self.liveness();
            live.cache = None;
            if reattached && self.remote_alive_cached(&mut live, &self.link()) {
                live.outage = None;
                return Ok(Remote::Present);
            }
        }
        let outage = *live.outage.get_or_insert(Outage { since: now, attempts: 0, next: now });
        let missing_for = now.saturating_duration_since(outage.since);
        let gone = |what: &str| {
            Err(Gone::Disconnected(format!(
                "{what} (missing for {missing_for:.1?}, {} reconnection attempt(s))",
                outage.attempts
            )))
        };
        if self.cfg.disconnect_behavior == DisconnectBehavior::Immediately && live.seen {
            return gone(if self.role == Role::Slave {
                "the master is gone or stale"
            } else {
                "the slave is gone or stale"
            });
        }
        if self.role == Role::Slave {
            if self.cfg.max_reconnect_attempts.is_some_and(|max| outage.attempts >= max) {
                return gone("the master is gone; all max_reconnect_attempts spent");
            }
            if self.cfg.disconnect_behavior == DisconnectBehavior::OnTimeout
                && missing_for >= self.cfg.reconnect_wait
            {
                return gone("the master is gone; reconnect_wait passed");
            }
            return Ok(Remote::Missing(Some(outage.next)));
        }
        Ok(Remote::Missing(None))
    }

    /// Slave: if the name now refers to a new segment with a live master, moves to it.
    /// Messages this slave wrote that the old master never read are counted as lost, and so
    /// are messages the old master wrote that this slave had not read.
    fn reattach(&self) -> Result<bool> {
        let current = self.link();
        let Some((seg, info)) =
            segment::open(&self.dir, SegmentKind::Channel, &self.cfg.name, self.cfg.trust)?
        else {
            return Ok(false);
        };
        if seg.id() == current.seg.id() || !os::is_alive(info.owner_pid, info.owner_start_time) {
            return Ok(false);
        }
        let link = Link::new(seg, info)?;
        claim_slave(&link, &self.cfg.name, self.cfg.stale_threshold)?;
        let link = Arc::new(link);
        let old = std::mem::replace(
            &mut *self.links.lock().unwrap_or_else(|p| p.into_inner()),
            link.clone(),
        );
        self.link_generation.fetch_add(1, Ordering::Release);
        release_endpoint(&old, Role::Slave);
        *self.beat.link.lock().unwrap_or_else(|p| p.into_inner()) = Some(link);
        let mut live = self.liveness();
        live.lost += old.outgoing(Role::Slave).pending() + old.incoming(Role::Slave).pending();
        live.reconnects += 1;
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
