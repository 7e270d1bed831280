//! What a service or action segment says about its server and clients, for tools (`eshm list`
//! and `eshm info`, through `eshm::inspect`).

use super::mapped::Mapped;
use crate::os;
use crate::schema::Schema;
use crate::sync::Ordering;

/// A service's or action's server, clients and counters.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ServiceDetails {
    /// The server's generation (1, or one more than the dead server's it replaced).
    pub generation: u64,
    /// The message types: request and response, or goal, result and feedback.
    pub schemas: Vec<Schema>,
    /// Client slots.
    pub max_clients: usize,
    /// Calls (or goals) in flight allowed per client.
    pub max_in_flight: usize,
    /// Feedback messages kept per goal (actions).
    pub feedback_depth: usize,
    /// The claimed client slots (live clients, and dead ones whose slot nobody took yet).
    pub clients: Vec<ClientInfo>,
    /// Requests (or goals) the server took.
    pub received: u64,
    /// Answers the server wrote (for actions: goals accepted, rejected or finished).
    pub answered: u64,
    /// Answers that went nowhere: their client had gone.
    pub undelivered: u64,
    /// Requests dropped without an answer.
    pub dropped: u64,
    /// Whether the server is asleep waiting for requests.
    pub server_asleep: bool,
}

impl ServiceDetails {
    /// Clients whose process runs.
    pub fn live_clients(&self) -> usize {
        self.clients.iter().filter(|c| c.alive).count()
    }
}

/// One claimed client slot.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct ClientInfo {
    /// The slot's index.
    pub slot: usize,
    /// The client's process id.
    pub pid: u32,
    /// Whether that process (pid and start time) runs.
    pub alive: bool,
    /// Answers the server wrote to this slot (for all its holders).
    pub answered: u64,
    /// Whether the client is asleep waiting for an answer.
    pub asleep: bool,
}

impl Mapped {
    /// The details of the segment, read now (reads `/proc` for each client).
    pub(crate) fn details(&self) -> ServiceDetails {
        let h = self.header();
        let r = |a: &crate::sync::AtomicU64| a.load(Ordering::Relaxed);
        let mut answered = 0;
        let clients = (0..self.geo.max_clients)
            .filter_map(|s| {
                answered += r(&self.slot(s).answered);
                let slot = self.slot(s);
                let pid = slot.pid.load(Ordering::Acquire) & !crate::layout::REGISTERING;
                (pid != 0).then(|| ClientInfo {
                    slot: s,
                    pid,
                    alive: os::is_alive(pid, slot.start_time.load(Ordering::Acquire)),
                    answered: r(&slot.answered),
                    asleep: slot.waiters.load(Ordering::Relaxed) != 0,
                })
            })
            .collect();
        ServiceDetails {
            generation: self.generation(),
            schemas: self.schemas.clone(),
            max_clients: self.geo.max_clients,
            max_in_flight: self.geo.entries,
            feedback_depth: self.geo.feedback_depth,
            clients,
            received: r(&h.stats.received),
            answered,
            undelivered: r(&h.stats.undelivered),
            dropped: r(&h.stats.dropped),
            server_asleep: h.server.waiters.load(Ordering::Relaxed) != 0,
        }
    }
}
