//! What a channel looks like from the outside: its endpoints and its queues, read in one
//! snapshot, with one definition of an endpoint being alive. [`Channel::stats`] and
//! `eshm::inspect` both use it.

use super::link::Link;
use super::{Channel, Role};
use crate::layout::{Endpoint, REGISTERING};
use crate::os;
use crate::queue::QueueView;
use crate::sync::Ordering;
use std::time::Duration;

/// The stale threshold assumed for an endpoint that did not record its own (a segment made
/// by an eshm that did not store it).
pub(crate) const DEFAULT_STALE: Duration = Duration::from_millis(100);

/// The state of a channel: its two endpoints and two queues.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChannelDetails {
    /// The master endpoint.
    pub master: EndpointInfo,
    /// The slave endpoint.
    pub slave: EndpointInfo,
    /// The queue from master to slave.
    pub master_to_slave: QueueInfo,
    /// The queue from slave to master.
    pub slave_to_master: QueueInfo,
}

/// One endpoint of a channel.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EndpointInfo {
    /// Process id of the holder, 0 if none.
    pub pid: u32,
    /// Whether the holder is alive: attached, its process (pid and start time) running, and
    /// its heartbeat younger than the stale threshold.
    pub alive: bool,
    /// Time since its last heartbeat.
    pub heartbeat_age: Option<Duration>,
    /// Heartbeats so far (the original ESHM's heartbeat counter).
    pub heartbeats: u64,
    /// How many processes have held the role.
    pub generation: u64,
    /// The stale threshold the holder runs with.
    pub stale_threshold: Duration,
}

/// One direction of a channel.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueueInfo {
    /// Messages written.
    pub written: u64,
    /// Payload bytes written.
    pub bytes_written: u64,
    /// Messages read.
    pub read: u64,
    /// Payload bytes read.
    pub bytes_read: u64,
    /// Whether its reader is registered as asleep, waiting for a message (a reader killed
    /// asleep stays registered until the next reader takes its role).
    pub reader_asleep: bool,
    /// Whether its writer is registered as asleep, waiting for room.
    pub writer_asleep: bool,
}

impl QueueInfo {
    /// Messages written and not read yet.
    pub fn pending(&self) -> u64 {
        self.written.saturating_sub(self.read)
    }

    fn of(q: QueueView<'_>) -> QueueInfo {
        let (written, bytes_written, read, bytes_read) = q.counters();
        let asleep = |w: &crate::sync::AtomicU32| w.load(Ordering::Acquire) != 0;
        QueueInfo {
            written,
            bytes_written,
            read,
            bytes_read,
            reader_asleep: asleep(&q.header.data_waiters),
            writer_asleep: asleep(&q.header.space_waiters),
        }
    }
}

/// Counters and liveness of a channel, as [`Channel::stats`] reads them now: the shared
/// [`ChannelDetails`] plus what this endpoint counted. A superset of the original ESHM's
/// `ESHMStats`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// The endpoints and queues.
    pub channel: ChannelDetails,
    /// The stale threshold this endpoint judges its remote by.
    pub stale_threshold: Duration,
    /// Times this endpoint re-attached to a new master (slaves) or saw a new slave (masters).
    pub reconnects: u64,
    /// Times this endpoint found the remote not alive after it had been.
    pub stale_events: u64,
    /// Messages this endpoint wrote that a dead remote never read.
    pub lost: u64,
}

/// The stale threshold `ep`'s holder recorded.
fn recorded_stale(ep: &Endpoint) -> Duration {
    match ep.stale_ns.load(Ordering::Relaxed) {
        0 => DEFAULT_STALE,
        ns => Duration::from_nanos(ns),
    }
}

/// Whether `ep`'s holder is attached, has a heartbeat younger than `stale`, and runs: the one
/// definition of alive.
pub(crate) fn endpoint_alive(ep: &Endpoint, stale: Duration) -> bool {
    let pid = ep.pid.load(Ordering::Acquire);
    if pid == 0 || pid & REGISTERING != 0 || ep.attached.load(Ordering::Acquire) == 0 {
        return false;
    }
    let beat = ep.heartbeat_ns.load(Ordering::Acquire);
    let age = os::coarse_ns().saturating_sub(beat);
    // The coarse clock ticks every few ms: allow for one tick.
    if Duration::from_nanos(age) > stale + Duration::from_millis(4) {
        return false;
    }
    os::is_alive(pid, ep.start_time.load(Ordering::Acquire))
}

impl EndpointInfo {
    /// `ep` now; alive by `stale`, or by its holder's own threshold if `None`.
    fn read(ep: &Endpoint, stale: Option<Duration>) -> EndpointInfo {
        let own = recorded_stale(ep);
        let beat = ep.heartbeat_ns.load(Ordering::Acquire);
        let now = os::coarse_ns();
        EndpointInfo {
            pid: ep.pid.load(Ordering::Acquire) & !REGISTERING,
            alive: endpoint_alive(ep, stale.unwrap_or(own)),
            heartbeat_age: (beat != 0).then(|| Duration::from_nanos(now.saturating_sub(beat))),
            heartbeats: ep.heartbeats.load(Ordering::Relaxed),
            generation: ep.generation.load(Ordering::Relaxed),
            stale_threshold: own,
        }
    }
}

impl Link {
    /// The channel now. Endpoints are alive by `stale` (an endpoint's view of its remote), or
    /// by each holder's own threshold if `None` (an outside view).
    pub(crate) fn snapshot(&self, stale: Option<Duration>) -> ChannelDetails {
        ChannelDetails {
            master: EndpointInfo::read(self.endpoint(Role::Master), stale),
            slave: EndpointInfo::read(self.endpoint(Role::Slave), stale),
            master_to_slave: QueueInfo::of(self.outgoing(Role::Master)),
            slave_to_master: QueueInfo::of(self.outgoing(Role::Slave)),
        }
    }
}

impl Channel {
    /// Counters and liveness now.
    pub fn stats(&self) -> Stats {
        let live = self.liveness();
        Stats {
            channel: self.link().snapshot(Some(self.cfg.stale_threshold)),
            stale_threshold: self.cfg.stale_threshold,
            reconnects: live.reconnects,
            stale_events: live.stale_events,
            lost: live.lost,
        }
    }
}
