//! The server side of the protocol, shared by services and actions: the segment a server owns
//! ([`ServerCore`], shared with the requests it hands out), and the look for requests
//! ([`Intake`]), which visits the claimed client slots in turn.

use super::layout::ClientSlot;
use super::mapped::{Mapped, Spec, wake_action, wake_service};
use super::options::ServerOptions;
use super::protocol::{self, RequestHead, STATUS_DROPPED, as_uninit, token};
use crate::error::{Error, Result, ServeError};
use crate::layout::{STATE_LIVE, STATE_SUPERSEDED};
use crate::os::{self, Dir};
use crate::schema::Schema;
use crate::segment::{self, SegmentKind};
use crate::sync::{AtomicU32, AtomicU64, Ordering};
use crate::wait::{self, Stand, WaitStrategy};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Longest sleep of a waiting server between checks that it still owns its segment.
const PARK_SLICE: Duration = Duration::from_millis(200);
/// Looks for a request that a receive makes before it reads the clock (a few µs at most).
const QUICK_LOOKS: u32 = 64;
/// Least time between two looks at `/proc` for a client slot whose wake-ups wake nobody.
const LIVENESS_EVERY_NS: u64 = 100_000_000;

/// Which call of which client: enough to answer it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CallId {
    pub(crate) slot: u32,
    pub(crate) generation: u64,
    pub(crate) n: u64,
}

impl CallId {
    /// The client slot it came from.
    pub fn client(&self) -> usize {
        self.slot as usize
    }

    /// The call's number among its client's calls (from 1).
    pub fn number(&self) -> u64 {
        self.n
    }

    pub(crate) fn token(&self) -> u64 {
        token(self.generation, self.n)
    }
}

/// A request found by [`Intake`]; its payload is in [`Intake::payload`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Incoming {
    pub(crate) call: CallId,
    pub(crate) head: RequestHead,
}

/// A server's segment, shared by the server and the requests (and goals) it hands out, which
/// answer from any thread.
pub(crate) struct ServerCore {
    pub(crate) mapped: Mapped,
    pub(crate) name: Arc<str>,
    pub(crate) generation: u64,
    /// The request operation this server takes (`OP_CALL` or `OP_GOAL`).
    pub(crate) op: u32,
    /// One spin lock per client slot (1 while held): answers to one slot are written one at
    /// a time (two threads may answer calls of one slot, of two successive holders of it, to
    /// one entry). Process-local; taking it is one atomic operation.
    locks: Box<[AtomicU32]>,
    /// Per client slot, when this process last looked whether its client is alive
    /// (`os::coarse_ns`; see [`wake`]). Process-local.
    liveness_looks: Box<[AtomicU64]>,
    dir: Dir,
    unlink_on_drop: bool,
    pub(crate) wait: WaitStrategy,
    /// The process that created it: in another one (a forked child), dropping it does nothing.
    creator: u32,
}

impl std::fmt::Debug for ServerCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerCore").field("name", &self.name).finish()
    }
}

impl ServerCore {
    /// Creates the service (or action) `name` carrying `schemas`.
    pub(crate) fn create(
        name: &str,
        kind: SegmentKind,
        schemas: &[&Schema],
        options: &ServerOptions,
    ) -> Result<ServerCore> {
        segment::file_name(kind, name)?;
        let dir = Dir::open()?;
        let spec = Spec {
            kind,
            name,
            schemas,
            max_clients: options.max_clients,
            max_in_flight: options.max_in_flight,
            feedback_depth: if kind == SegmentKind::Action { options.feedback_depth } else { 0 },
            mode: options.mode,
        };
        let mapped = match Mapped::create(&dir, &spec)? {
            Ok(mapped) => mapped,
            Err(pid) => return Err(Error::ServerExists { name: name.to_owned(), pid }),
        };
        let locks = (0..mapped.geo.max_clients).map(|_| AtomicU32::new(0)).collect();
        let liveness_looks = (0..mapped.geo.max_clients).map(|_| AtomicU64::new(0)).collect();
        Ok(ServerCore {
            generation: mapped.generation(),
            name: name.into(),
            op: if kind == SegmentKind::Action { protocol::OP_GOAL } else { protocol::OP_CALL },
            locks,
            liveness_looks,
            mapped,
            dir,
            unlink_on_drop: options.unlink_on_drop,
            wait: options.wait,
            creator: os::pid(),
        })
    }

    /// Fails if another process took the segment over, or truncated it.
    #[inline(always)]
    pub(crate) fn check(&self) -> Result<(), ServeError> {
        if self.mapped.seg.state() == STATE_SUPERSEDED {
            return Err(ServeError::TakenOver { service: self.name.clone() });
        }
        if self.mapped.seg.is_broken() {
            return Err(ServeError::Segment(Box::new(self.mapped.seg.broken_error())));
        }
        Ok(())
    }

    /// Runs `write` on the entry of `call` if its client still holds the slot, one writer
    /// per slot at a time, then wakes the client if it sleeps. Returns whether it wrote.
    fn write(&self, call: CallId, write: impl FnOnce(protocol::Entry<'_>)) -> bool {
        let m = &self.mapped;
        let s = call.slot as usize;
        let slot = m.slot(s);
        let lock = &self.locks[s];
        let mut spins = 0u32;
        // Pairs with the Release store below: the previous holder's writes come first.
        while lock.compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed).is_err() {
            spins += 1;
            if spins.is_multiple_of(64) {
                std::thread::yield_now()
            } else {
                crate::sync::spin_loop()
            }
        }
        let present = slot.generation.load(Ordering::Acquire) == call.generation;
        if present {
            write(m.entry(s, (call.n % m.geo.entries as u64) as usize));
        }
        lock.store(0, Ordering::Release);
        if !present {
            // Its client left, and another holds the slot now: the answer would be discarded
            // (its token is another claim's), and must not disturb it.
            m.header().stats.undelivered.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        wake(slot, &self.liveness_looks[s], os::coarse_ns());
        true
    }

    /// Writes the answer to `call` (a response, or a goal's new state). Returns whether its
    /// client was still there.
    pub(crate) fn answer(&self, call: CallId, status: u32, payload: Option<&[u8]>) -> bool {
        let slot = self.mapped.slot(call.slot as usize);
        self.write(call, |entry| {
            entry.write_response(call.token(), status, 0, self.generation, payload);
            // Written under the slot's lock: a load and a store count exactly.
            let answered = slot.answered.load(Ordering::Relaxed);
            slot.answered.store(answered + 1, Ordering::Relaxed);
        })
    }

    /// Answers written so far (to every slot).
    pub(crate) fn answered(&self) -> u64 {
        (0..self.mapped.geo.max_clients)
            .map(|s| self.mapped.slot(s).answered.load(Ordering::Relaxed))
            .sum()
    }

    /// Answers `call` with "dropped without an answer", and counts it.
    pub(crate) fn drop_call(&self, call: CallId, status: u32) {
        self.mapped.header().stats.dropped.fetch_add(1, Ordering::Relaxed);
        self.answer(call, status, None);
    }

    /// Writes feedback number `i` of the goal `call`. Returns whether its client was there.
    pub(crate) fn feedback(&self, call: CallId, i: u64, payload: &[u8]) -> bool {
        let tag = protocol::goal_tag(call.token());
        self.write(call, |entry| entry.write_feedback(tag, i, payload))
    }

    /// Whether the client of goal `call` asked to cancel it, or left.
    pub(crate) fn cancel_requested(&self, call: CallId) -> bool {
        let m = &self.mapped;
        let s = call.slot as usize;
        m.slot(s).generation.load(Ordering::Acquire) != call.generation
            || m.entry(s, (call.n % m.geo.entries as u64) as usize).cancel_requested(call.token())
    }

    /// Clients attached now (slots held by running processes): reads `/proc`.
    pub(crate) fn clients(&self) -> usize {
        (0..self.mapped.geo.max_clients)
            .filter(|&s| {
                let slot = self.mapped.slot(s);
                os::pid_slot_alive(
                    slot.pid.load(Ordering::Acquire),
                    slot.start_time.load(Ordering::Acquire),
                )
            })
            .count()
    }
}

/// Wakes the client of `slot` if it sleeps (`now_ns`: `os::coarse_ns`). A wake-up that wakes
/// nobody although the client is registered asleep is most often one made while the client is
/// on its way back from the previous one (answers or feedback written back to back); it may be
/// a client that died asleep, which is deregistered (its process is gone) so that it costs no
/// more system calls. `looked_ns` (the slot's last look) keeps that look at `/proc` to one per
/// [`LIVENESS_EVERY_NS`]: a live client's way back costs no look per answer.
fn wake(slot: &ClientSlot, looked_ns: &AtomicU64, now_ns: u64) {
    if protocol::wake_client(slot) == Some(0)
        && now_ns.saturating_sub(looked_ns.load(Ordering::Relaxed)) >= LIVENESS_EVERY_NS
    {
        looked_ns.store(now_ns, Ordering::Relaxed);
        if !os::pid_slot_alive(
            slot.pid.load(Ordering::Acquire),
            slot.start_time.load(Ordering::Acquire),
        ) {
            slot.waiters.store(0, Ordering::Relaxed);
        }
    }
}

impl Drop for ServerCore {
    fn drop(&mut self) {
        if os::pid() != self.creator {
            return;
        }
        let seg = &self.mapped.seg;
        if self.unlink_on_drop && seg.is_current(&self.dir) {
            let _ = self.dir.unlink(seg.file_name());
        }
        if seg.state() == STATE_LIVE {
            let wake: fn(&segment::Segment) =
                if self.mapped.kind == SegmentKind::Action { wake_action } else { wake_service };
            segment::close(seg, wake);
        }
    }
}

/// Where the server stands with one client slot.
#[derive(Clone, Copy, Debug, Default)]
struct Cursor {
    /// The claim of the slot it last saw.
    generation: u64,
    /// The number of that claim's next call.
    next: u64,
}

/// The server's look for requests: which call it expects next from each client slot, and
/// whose turn it is.
#[derive(Debug)]
pub(crate) struct Intake {
    cursors: Vec<Cursor>,
    turn: usize,
    /// The payload of the last request found.
    pub(crate) payload: Vec<u8>,
    /// The request type.
    schema: Schema,
    /// Whether requests must be checked (the type has `bool` or enum fields).
    validate: bool,
}

impl Intake {
    pub(crate) fn new(m: &Mapped, schema: &Schema) -> Intake {
        Intake {
            cursors: vec![Cursor::default(); m.geo.max_clients],
            turn: 0,
            payload: vec![0; m.geo.request_size],
            validate: schema.has_invalid_bit_patterns(),
            schema: schema.clone(),
        }
    }

    /// Calls `visit` on every claimed slot, starting with the one whose turn it is, until it
    /// returns `Some`.
    fn visit_active<T>(&self, m: &Mapped, mut visit: impl FnMut(usize) -> Option<T>) -> Option<T> {
        let max = m.geo.max_clients;
        let active = &m.header().active;
        for (lo, hi) in [(self.turn, max), (0, self.turn)] {
            let mut s = lo;
            while s < hi {
                let bits = active[s / 64].load(Ordering::Acquire) >> (s % 64);
                if bits == 0 {
                    s = (s / 64 + 1) * 64;
                    continue;
                }
                s += bits.trailing_zeros() as usize;
                if s >= hi {
                    break;
                }
                if let Some(found) = visit(s) {
                    return Some(found);
                }
                s += 1;
            }
        }
        None
    }

    /// The token of the call slot `s` sends next, and where it goes.
    fn expected(&self, m: &Mapped, s: usize) -> (Cursor, u64, usize) {
        let generation = m.slot(s).generation.load(Ordering::Acquire);
        let c = self.cursors[s];
        let next = if c.generation == generation { c.next } else { 1 };
        (
            Cursor { generation, next },
            token(generation, next),
            (next % m.geo.entries as u64) as usize,
        )
    }

    /// Whether some client has a request waiting (without taking it).
    pub(crate) fn ready(&self, m: &Mapped) -> bool {
        self.visit_active(m, |s| {
            let (_, tok, e) = self.expected(m, s);
            (m.entry(s, e).request_token() == tok).then_some(())
        })
        .is_some()
    }

    /// Takes the next request, if a client has one, giving each client a turn.
    pub(crate) fn poll(&mut self, m: &Mapped) -> Option<Incoming> {
        let found = self.visit_active(m, |s| {
            let (c, tok, e) = self.expected(m, s);
            let entry = m.entry(s, e);
            (entry.request_token() == tok).then_some((s, c, tok, e))
        });
        let (s, c, tok, e) = found?;
        self.cursors[s] = c;
        let head = m.entry(s, e).read_request(tok, as_uninit(&mut self.payload))?;
        self.cursors[s].next = c.next + 1;
        self.turn = (s + 1) % m.geo.max_clients;
        Some(Incoming {
            call: CallId { slot: s as u32, generation: c.generation, n: c.next },
            head,
        })
    }

    /// Takes the next request if it is valid; requests that break the protocol (another
    /// operation, another server generation, an invalid payload) are answered "dropped" (for
    /// actions: rejected) and skipped.
    fn take_valid(&mut self, core: &ServerCore) -> Option<Incoming> {
        let m = &core.mapped;
        while let Some(inc) = self.poll(m) {
            // Only this thread writes it: a load and a store count exactly.
            let received = &m.header().stats.received;
            received.store(received.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
            let valid = inc.head.op == core.op
                && inc.head.client == inc.call.slot
                && inc.head.server_gen == core.generation
                && (!self.validate || self.schema.validate(&self.payload).is_ok());
            if valid {
                return Some(inc);
            }
            let status =
                if core.op == protocol::OP_GOAL { protocol::GOAL_REJECTED } else { STATUS_DROPPED };
            core.drop_call(inc.call, status);
        }
        None
    }

    /// Takes the next valid request, waiting until `deadline` (`None`: forever) or, with
    /// `Ok(None)`, until `slice_end`.
    pub(crate) fn recv_until(
        &mut self,
        core: &ServerCore,
        deadline: Option<Instant>,
        slice_end: Option<Instant>,
    ) -> Result<Option<Incoming>, ServeError> {
        let m = &core.mapped;
        // A server that has just answered usually gets its next request within a round trip:
        // look for it a while before reading the clock.
        // Back to back, without a spin hint between them: a request is seen the moment it is
        // there (a `PAUSE` here made the default wait's round trip 1.5x-1.7x the pub/sub
        // ping-pong's instead of 1.2x-1.45x: bench-results/2026-11-29-service-quick-looks-ab.txt).
        let looks = if core.wait == WaitStrategy::Park { 0 } else { QUICK_LOOKS };
        for _ in 0..looks {
            if let Some(inc) = self.take_valid(core) {
                return Ok(Some(inc));
            }
        }
        loop {
            core.check()?;
            if let Some(inc) = self.take_valid(core) {
                return Ok(Some(inc));
            }
            let now = Instant::now();
            let until = match wait::check(now, deadline, slice_end) {
                Stand::Expired => return Err(ServeError::Timeout),
                Stand::SliceEnd => return Ok(None),
                Stand::Until(until) => until.map_or(now + PARK_SLICE, |u| u.min(now + PARK_SLICE)),
            };
            let strategy = core.wait;
            let mut found = None;
            wait::spin(strategy.spin_end(now, Some(until)), strategy.is_spin(), || {
                found = self.take_valid(core);
                found.map(|_| ())
            });
            if found.is_some() {
                return Ok(found);
            }
            if !strategy.is_spin() {
                let nap = until.saturating_duration_since(Instant::now());
                protocol::server_sleep(&m.header().server, Some(nap), || self.ready(m));
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// A client registered asleep whom a wake-up does not find (on its way back from the
    /// previous wake-up, or dead) has its liveness looked at once per `LIVENESS_EVERY_NS`, not
    /// at every answer; a dead one is deregistered at that look.
    #[test]
    fn intake_wake_looks_at_a_client_that_woke_nobody_once_a_while() {
        let slot = ClientSlot::new();
        // The holder: this pid with another start time, a process that is gone.
        slot.pid.store(os::pid(), Ordering::Relaxed);
        slot.start_time.store(os::self_start_time().wrapping_add(1), Ordering::Relaxed);
        let looked = AtomicU64::new(0);
        let t0 = 5_000_000_000;
        slot.waiters.store(1, Ordering::Relaxed);
        wake(&slot, &looked, t0);
        assert_eq!(slot.waiters.load(Ordering::Relaxed), 0, "looked at, and deregistered");
        slot.waiters.store(1, Ordering::Relaxed);
        wake(&slot, &looked, t0 + LIVENESS_EVERY_NS / 2);
        assert_eq!(slot.waiters.load(Ordering::Relaxed), 1, "not looked at again so soon");
        wake(&slot, &looked, t0 + LIVENESS_EVERY_NS);
        assert_eq!(slot.waiters.load(Ordering::Relaxed), 0, "looked at again");
        // A live holder (this process) stays registered.
        slot.start_time.store(os::self_start_time(), Ordering::Relaxed);
        slot.waiters.store(1, Ordering::Relaxed);
        wake(&slot, &looked, t0 + 3 * LIVENESS_EVERY_NS);
        assert_eq!(slot.waiters.load(Ordering::Relaxed), 1, "alive");
    }
}
