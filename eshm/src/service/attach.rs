//! The client side of the protocol, shared by services and actions: attaching to the server's
//! segment (checking its types, claiming a client slot), sending requests into the slot's
//! entries, and waiting for answers while watching the server's liveness.

use super::mapped::Mapped;
use super::options::ClientOptions;
use super::protocol::{self, Entry, RequestHead};
use crate::error::{CallError, Error, Result};
use crate::layout::STATE_LIVE;
use crate::os::{self, Dir};
use crate::schema::Schema;
use crate::segment::{self, SegmentKind};
use crate::sync::Ordering;
use crate::wait::{self, Stand};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often a client waiting for a server to appear looks for it.
const SERVER_POLL: Duration = Duration::from_millis(5);
/// Looks for an answer that a call makes before it reads the clock (a few µs at most).
const QUICK_LOOKS: u32 = 128;

/// A call in flight: which attachment it was sent on, and its number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallTicket {
    pub(crate) epoch: u64,
    pub(crate) n: u64,
}

impl CallTicket {
    /// The call's number among this client's calls to its current server (from 1).
    pub fn number(&self) -> u64 {
        self.n
    }
}

/// A client's attachment to one server: its segment and its claimed slot.
pub(crate) struct Attached {
    /// Shared with the registrations of calls waiting to be woken (see `RawClient::wakeup`).
    pub(crate) mapped: Arc<Mapped>,
    pub(crate) slot: usize,
    /// The claim's generation (calls carry it in their tokens).
    pub(crate) generation: u64,
    /// The server's generation.
    pub(crate) server_gen: u64,
    /// For each entry, the number of the call that occupies it (0: free).
    pub(crate) busy: Vec<u64>,
    /// For each entry, whether its caller gave up on it (a wait that timed out, a dropped
    /// `Pending`, a cancelled `call_async`): its entry may be reused once its answer came,
    /// which is then discarded. An answer nobody gave up on is kept until it is taken.
    pub(crate) abandoned: Vec<bool>,
    /// The next call's number.
    next: u64,
    /// Which attachment this is (tickets of older ones are gone with their server).
    pub(crate) epoch: u64,
    /// When the server's process is to be checked next (`CLOCK_MONOTONIC_COARSE`, ns: a
    /// few ns to read, on every call).
    next_check_ns: u64,
    /// Whether responses must be checked (the response type has `bool` or enum fields).
    pub(crate) validate_response: bool,
}

impl Attached {
    /// The entry of call `n`.
    #[inline(always)]
    pub(crate) fn entry(&self, n: u64) -> Entry<'_> {
        self.mapped.entry(self.slot, (n % self.mapped.geo.entries as u64) as usize)
    }

    /// The token of call `n`.
    #[inline(always)]
    pub(crate) fn token(&self, n: u64) -> u64 {
        protocol::token(self.generation, n)
    }

    /// Frees the entry of call `n` (its answer was taken, or will never be needed).
    pub(crate) fn free(&mut self, n: u64) {
        let e = (n % self.busy.len() as u64) as usize;
        if self.busy[e] == n {
            self.busy[e] = 0;
            self.abandoned[e] = false;
        }
    }

    /// Marks call `n` as given up by its caller (see `abandoned`).
    pub(crate) fn abandon(&mut self, n: u64) {
        let e = (n % self.busy.len() as u64) as usize;
        if self.busy[e] == n {
            self.abandoned[e] = true;
        }
    }

    /// Whether the caller of call `n` gave it up.
    pub(crate) fn is_abandoned(&self, n: u64) -> bool {
        let e = (n % self.busy.len() as u64) as usize;
        self.busy[e] == n && self.abandoned[e]
    }
}

/// What every client holds: the service's name and types, its options, and its attachment.
pub(crate) struct ClientCore {
    pub(crate) name: Arc<str>,
    kind: SegmentKind,
    /// The types this client accepts (`None`: any, for tools).
    expected: Option<Vec<Schema>>,
    pub(crate) options: ClientOptions,
    dir: Dir,
    pub(crate) attached: Option<Attached>,
    /// Attachments made so far.
    epochs: u64,
    /// The process that opened it: in another one (a forked child), dropping it does nothing.
    creator: u32,
}

impl std::fmt::Debug for ClientCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCore")
            .field("name", &self.name)
            .field("attached", &self.attached.as_ref().map(|a| a.slot))
            .finish()
    }
}

/// What each of the types of a service or action is, for messages.
fn roles(kind: SegmentKind) -> &'static [&'static str] {
    if kind == SegmentKind::Action {
        &["goal", "result", "feedback"]
    } else {
        &["request", "response"]
    }
}

impl ClientCore {
    /// A client of `name`, attached at once if a live server is there.
    pub(crate) fn open(
        name: &str,
        kind: SegmentKind,
        expected: Option<Vec<Schema>>,
        options: ClientOptions,
    ) -> Result<ClientCore> {
        segment::file_name(kind, name)?;
        let mut core = ClientCore {
            name: name.into(),
            kind,
            expected,
            options,
            dir: Dir::open()?,
            attached: None,
            epochs: 0,
            creator: os::pid(),
        };
        core.try_attach()?;
        Ok(core)
    }

    /// The types of the server attached now (or of the one this client expects).
    pub(crate) fn schemas(&self) -> Option<&[Schema]> {
        match &self.attached {
            Some(a) => Some(&a.mapped.schemas),
            None => self.expected.as_deref(),
        }
    }

    /// Attaches to the live server of the name, if there is one: `Ok(false)` if there is none.
    pub(crate) fn try_attach(&mut self) -> Result<bool> {
        if self.attached.is_some() {
            return Ok(true);
        }
        let Some((seg, info)) =
            segment::open(&self.dir, self.kind, &self.name, self.options.trust)?
        else {
            return Ok(false);
        };
        if seg.state() != STATE_LIVE || !os::is_alive(info.owner_pid, info.owner_start_time) {
            return Ok(false);
        }
        let mapped = Arc::new(Mapped::new(seg, info, self.kind)?);
        self.check_types(&mapped)?;
        let (slot, generation) = claim(&mapped, &self.name)?;
        let validate_response = mapped.schemas.get(1).is_some_and(|s| s.has_invalid_bit_patterns());
        self.epochs += 1;
        self.attached = Some(Attached {
            server_gen: mapped.generation(),
            busy: vec![0; mapped.geo.entries],
            abandoned: vec![false; mapped.geo.entries],
            mapped,
            slot,
            generation,
            validate_response,
            next: 1,
            epoch: self.epochs,
            next_check_ns: os::coarse_ns() + half_ns(self.options.stale_threshold),
        });
        Ok(true)
    }

    fn check_types(&self, mapped: &Mapped) -> Result<()> {
        let Some(expected) = &self.expected else { return Ok(()) };
        for ((want, found), role) in expected.iter().zip(&mapped.schemas).zip(roles(self.kind)) {
            if want.fingerprint() != found.fingerprint() {
                let diff = want.first_difference(found).unwrap_or_else(|| "none found".into());
                return Err(Error::TypeMismatch {
                    name: self.name.to_string(),
                    expected: format!("{} ({role})", want.type_name()),
                    found: format!("{} ({role})", found.type_name()),
                    expected_fingerprint: want.fingerprint(),
                    found_fingerprint: found.fingerprint(),
                    difference: diff,
                });
            }
        }
        Ok(())
    }

    /// Lets go of the server: its slot is given back, and calls in flight are gone with it.
    pub(crate) fn detach(&mut self) {
        if let Some(a) = self.attached.take() {
            release(&a);
        }
    }

    /// Whether the attached server is still there: its segment is live (cheap), and its
    /// process runs (checked at most every half stale threshold, or now with `force`). The
    /// caller detaches from a server that is gone (after a last look at what it wrote).
    fn server_there(&mut self, force: bool) -> Result<bool, CallError> {
        let stale = self.options.stale_threshold;
        let Some(a) = self.attached.as_mut() else { return Ok(false) };
        if a.mapped.seg.is_broken() {
            let e = a.mapped.seg.broken_error();
            self.detach();
            return Err(CallError::Attach(Box::new(e)));
        }
        let mut there = a.mapped.seg.state() == STATE_LIVE;
        if there && (force || os::coarse_ns() >= a.next_check_ns) {
            there = a.mapped.server_alive();
            a.next_check_ns = os::coarse_ns() + half_ns(stale);
        }
        Ok(there)
    }

    /// The attachment, if the client is attached and its segment does not say that the server
    /// is gone (two loads: no clock, no system call): the fast path of a call. A server that
    /// died without a word is noticed by the call's wait (within the stale threshold).
    #[inline]
    pub(crate) fn attached_now(&mut self) -> Option<&mut Attached> {
        let a = self.attached.as_mut()?;
        (a.mapped.seg.state() == STATE_LIVE && !a.mapped.seg.is_broken()).then_some(a)
    }

    /// Polls `poll` a few times on the attachment of `ticket` (no clock read): an answer that
    /// comes within a round trip or two is caught here.
    #[inline]
    pub(crate) fn quick_look<T>(
        &mut self,
        ticket: CallTicket,
        mut poll: impl FnMut(&Attached) -> Result<Option<T>, CallError>,
    ) -> Result<Option<T>, CallError> {
        let wait = self.options.wait;
        let a = self.attachment(ticket)?;
        let looks = if wait == crate::WaitStrategy::Park { 1 } else { QUICK_LOOKS };
        // With a spin hint (`PAUSE`) between looks unless busy-polling: a client that reads
        // the response's cache line less often lets the server finish writing it sooner (the
        // server's looks go back to back instead; measured in
        // bench-results/2026-11-29-service-quick-looks-ab.txt).
        for _ in 0..looks {
            if let Some(found) = poll(a)? {
                return Ok(Some(found));
            }
            if !wait.is_spin() {
                crate::sync::spin_loop();
            }
        }
        Ok(None)
    }

    /// Makes sure the client is attached to a live server, waiting for one (if the options
    /// say so) until `deadline`, or with `Ok(None)` until `slice_end`.
    pub(crate) fn ensure_attached(
        &mut self,
        deadline: Option<Instant>,
        slice_end: Option<Instant>,
    ) -> Result<Option<&mut Attached>, CallError> {
        loop {
            if self.server_there(false)? {
                return Ok(self.attached.as_mut());
            }
            self.detach();
            if self.try_attach().map_err(|e| CallError::Attach(Box::new(e)))? {
                return Ok(self.attached.as_mut());
            }
            let no_server = || CallError::NoServer { service: self.name.clone() };
            if !self.options.wait_for_server {
                return Err(no_server());
            }
            let now = Instant::now();
            let until = match wait::check(now, deadline, slice_end) {
                Stand::Expired => return Err(no_server()),
                Stand::SliceEnd => return Ok(None),
                Stand::Until(until) => {
                    until.map_or(now + SERVER_POLL, |u| u.min(now + SERVER_POLL))
                }
            };
            std::thread::sleep(until.saturating_duration_since(now));
        }
    }

    /// Waits for a live server (whatever the options say about calls) until `deadline`
    /// (`Ok(Some(false))` then), or returns `Ok(None)` at `slice_end`.
    pub(crate) fn wait_for_server_until(
        &mut self,
        deadline: Option<Instant>,
        slice_end: Option<Instant>,
    ) -> Result<Option<bool>, CallError> {
        let saved = self.options.wait_for_server;
        self.options.wait_for_server = true;
        let outcome = self.ensure_attached(deadline, slice_end).map(|a| a.is_some());
        self.options.wait_for_server = saved;
        match outcome {
            Ok(true) => Ok(Some(true)),
            Ok(false) => Ok(None),
            Err(CallError::NoServer { .. }) => Ok(Some(false)),
            Err(e) => Err(e),
        }
    }

    /// Whether a live server is there (attaching to it if need be). Reads `/proc`.
    pub(crate) fn is_server_connected(&mut self) -> bool {
        if matches!(self.server_there(true), Ok(true)) {
            return true;
        }
        self.detach();
        matches!(self.try_attach(), Ok(true))
    }

    /// Sends a request on the attachment: `may_free(attached, n)` says whether the entry held
    /// by call `n` may be reused (its answer came).
    pub(crate) fn send(
        &mut self,
        op: u32,
        payload: &[u8],
        may_free: impl FnOnce(&Attached, u64) -> bool,
    ) -> Result<CallTicket, CallError> {
        let name = self.name.clone();
        let a = self.attached.as_mut().expect("send is called on an attached client");
        let n = a.next;
        let e = (n % a.busy.len() as u64) as usize;
        if a.busy[e] != 0 {
            if !may_free(a, a.busy[e]) {
                return Err(CallError::TooManyInFlight { service: name, max: a.busy.len() });
            }
            a.busy[e] = 0;
        }
        let head = RequestHead { op, client: a.slot as u32, arg: 0, server_gen: a.server_gen };
        a.entry(n).write_request(a.token(n), &head, payload);
        protocol::wake_server(&a.mapped.header().server);
        a.busy[e] = n;
        a.abandoned[e] = false;
        a.next = n + 1;
        Ok(CallTicket { epoch: a.epoch, n })
    }

    /// The attachment `ticket` was sent on, if it is the current one.
    pub(crate) fn attachment(&mut self, ticket: CallTicket) -> Result<&mut Attached, CallError> {
        match self.attached.as_mut() {
            Some(a) if a.epoch == ticket.epoch => Ok(a),
            _ => Err(CallError::ServerGone { service: self.name.clone() }),
        }
    }

    /// Waits for `poll` to find what it looks for on the attachment of `ticket`: until
    /// `deadline` ([`CallError::Timeout`]), or until `slice_end` (`Ok(None)`), or until the
    /// server is gone ([`CallError::ServerGone`], within half the stale threshold of its
    /// death). Spins, then sleeps on the slot's futex, as the wait strategy says.
    pub(crate) fn wait<T>(
        &mut self,
        ticket: CallTicket,
        deadline: Option<Instant>,
        slice_end: Option<Instant>,
        mut poll: impl FnMut(&Attached) -> Result<Option<T>, CallError>,
    ) -> Result<Option<T>, CallError> {
        let strategy = self.options.wait;
        let stale = self.options.stale_threshold;
        loop {
            if let Some(found) = poll(self.attachment(ticket)?)? {
                return Ok(Some(found));
            }
            if !self.server_there(false)? {
                // Gone: a last look at what it wrote before it went.
                if let Some(found) = poll(self.attachment(ticket)?)? {
                    return Ok(Some(found));
                }
                self.detach();
                return Err(CallError::ServerGone { service: self.name.clone() });
            }
            let a = self.attachment(ticket)?;
            let now = Instant::now();
            let until = match wait::check(now, deadline, slice_end) {
                Stand::Expired => return Err(CallError::Timeout),
                Stand::SliceEnd => return Ok(None),
                Stand::Until(until) => {
                    let look = now + stale / 2;
                    until.map_or(look, |u| u.min(look))
                }
            };
            let mut found = None;
            let spin_end = strategy.spin_end(now, Some(until));
            wait::spin(spin_end, strategy.is_spin(), || match poll(a) {
                Ok(None) => None,
                other => {
                    found = Some(other);
                    Some(())
                }
            });
            if found.is_none() && !strategy.is_spin() {
                let nap = until.saturating_duration_since(Instant::now()).min(stale / 2);
                let slot = a.mapped.slot(a.slot);
                protocol::client_sleep(slot, Some(nap), || match poll(a) {
                    Ok(None) => false,
                    other => {
                        found = Some(other);
                        true
                    }
                });
            }
            match found {
                Some(Ok(Some(v))) => return Ok(Some(v)),
                Some(Err(e)) => return Err(e),
                _ => {}
            }
        }
    }
}

impl Drop for ClientCore {
    fn drop(&mut self) {
        if os::pid() == self.creator {
            self.detach();
        }
    }
}

/// Half of `d`, in ns.
fn half_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos() / 2).unwrap_or(u64::MAX)
}

/// Claims a free client slot of `mapped`, or one whose holder died; bumps its generation.
fn claim(mapped: &Mapped, name: &str) -> Result<(usize, u64)> {
    let max = mapped.geo.max_clients;
    // Free slots first (no `/proc` reads), then those of holders that may have died.
    for any in [false, true] {
        for s in 0..max {
            let slot = mapped.slot(s);
            if !any && slot.pid.load(Ordering::Acquire) != 0 {
                continue;
            }
            let mut generation = 0;
            let claimed = os::claim_pid_slot(&slot.pid, &slot.start_time, || {
                generation = slot.generation.fetch_add(1, Ordering::AcqRel).wrapping_add(1);
                // The previous holder may have died asleep: its registration must not cost the
                // server a wake-up per answer.
                slot.waiters.store(0, Ordering::Relaxed);
            });
            if claimed.is_ok() {
                mapped.header().active[s / 64].fetch_or(1 << (s % 64), Ordering::AcqRel);
                return Ok((s, generation));
            }
        }
    }
    Err(Error::TooManyClients { name: name.to_owned(), max })
}

/// Gives the slot of `a` back.
fn release(a: &Attached) {
    let slot = a.mapped.slot(a.slot);
    if slot.pid.load(Ordering::Acquire) == os::pid()
        && slot.generation.load(Ordering::Acquire) == a.generation
    {
        a.mapped.header().active[a.slot / 64].fetch_and(!(1 << (a.slot % 64)), Ordering::AcqRel);
        os::release_pid_slot(&slot.pid, &slot.start_time);
    }
}
