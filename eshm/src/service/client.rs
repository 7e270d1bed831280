//! Calling: the untyped [`RawClient`] (bytes of the server's two [`Schema`]s) and the typed
//! [`Client`] over it, with [`Pending`] calls for several in flight.

use super::attach::{Attached, CallTicket, ClientCore};
use super::mapped::Mapped;
use super::options::ClientOptions;
use super::protocol::{self, OP_CALL, ResponseHead, STATUS_OK, as_uninit};
use crate::error::{CallError, Result};
use crate::layout::STATE_LIVE;
use crate::message::{self, Message};
use crate::os;
use crate::schema::Schema;
use crate::segment::SegmentKind;
use crate::sync::{AtomicU32, Ordering};
use crate::wait::{Registered, Wakeup};
use std::cell::RefCell;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The untyped client: requests and responses are bytes laid out as the server's
/// [`Schema`]s say.
#[derive(Debug)]
pub struct RawClient {
    core: ClientCore,
}

/// Whether the answer to call `n` is there.
fn answered(a: &Attached, n: u64) -> bool {
    a.entry(n).read_response(a.token(n), &mut []).is_some()
}

/// Whether the entry of call `n` may be reused: its caller gave it up and its answer came (an
/// answer nobody gave up on stays until it is taken, however many calls are sent meanwhile).
fn reusable(a: &Attached, n: u64) -> bool {
    a.is_abandoned(n) && answered(a, n)
}

impl RawClient {
    /// Opens a client of `name`. With `Some((request, response))`, only those types are
    /// accepted (a server of others is [`Error::TypeMismatch`](crate::Error::TypeMismatch));
    /// with `None`, any are, and [`schemas`](Self::schemas) tells which once attached.
    ///
    /// # Errors
    ///
    /// As [`Client::open`].
    pub fn open(
        name: &str,
        expected: Option<(&Schema, &Schema)>,
        options: ClientOptions,
    ) -> Result<RawClient> {
        let expected = expected.map(|(req, res)| vec![req.clone(), res.clone()]);
        Ok(RawClient { core: ClientCore::open(name, SegmentKind::Service, expected, options)? })
    }

    /// The service's name.
    pub fn name(&self) -> &str {
        &self.core.name
    }

    /// The request and response types: the attached server's, or those expected.
    pub fn schemas(&self) -> Option<(&Schema, &Schema)> {
        match self.core.schemas()? {
            [req, res, ..] => Some((req, res)),
            _ => None,
        }
    }

    /// Whether a live server serves the name (attaching to it if need be). Reads `/proc`.
    pub fn is_server_connected(&mut self) -> bool {
        self.core.is_server_connected()
    }

    /// Waits up to `timeout` for a live server; whether there is one.
    pub fn wait_for_server(&mut self, timeout: Duration) -> bool {
        matches!(self.wait_for_server_until(Some(Instant::now() + timeout), None), Ok(Some(true)))
    }

    /// Waits for a live server until `deadline` (`Ok(Some(false))` then), or returns
    /// `Ok(None)` at `slice_end`.
    ///
    /// # Errors
    ///
    /// [`CallError::Attach`] (another message type, no free client slot, ...).
    pub fn wait_for_server_until(
        &mut self,
        deadline: Option<Instant>,
        slice_end: Option<Instant>,
    ) -> Result<Option<bool>, CallError> {
        self.core.wait_for_server_until(deadline, slice_end)
    }

    /// Sends a request (bytes of the request type), waiting for a live server if there is
    /// none (as the options say) until `deadline`, or returning `Ok(None)` at `slice_end`.
    ///
    /// # Errors
    ///
    /// [`CallError::WrongSize`], [`CallError::NoServer`], [`CallError::TooManyInFlight`],
    /// [`CallError::Attach`].
    pub fn send_until(
        &mut self,
        request: &[u8],
        deadline: Option<Instant>,
        slice_end: Option<Instant>,
    ) -> Result<Option<CallTicket>, CallError> {
        let name = self.core.name.clone();
        let Some(a) = self.core.ensure_attached(deadline, slice_end)? else { return Ok(None) };
        let size = a.mapped.geo.request_size;
        if request.len() != size {
            return Err(CallError::WrongSize { service: name, size, given: request.len() });
        }
        self.core.send(OP_CALL, request, reusable).map(Some)
    }

    /// Waits for the response to `ticket` (into `response`, resized to the response type's
    /// size) until `deadline`, or returns `Ok(None)` at `slice_end`.
    ///
    /// # Errors
    ///
    /// [`CallError::Timeout`] (the call stays in flight), [`CallError::ServerGone`],
    /// [`CallError::Dropped`], [`CallError::InvalidResponse`], [`CallError::Attach`].
    pub fn wait_until(
        &mut self,
        ticket: CallTicket,
        deadline: Option<Instant>,
        slice_end: Option<Instant>,
        response: &mut Vec<u8>,
    ) -> Result<Option<()>, CallError> {
        let a = self.core.attachment(ticket)?;
        response.resize(a.mapped.geo.response_size, 0);
        let n = ticket.n;
        let found = self.core.wait(ticket, deadline, slice_end, |a| {
            Ok(a.entry(n).read_response(a.token(n), as_uninit(response)))
        });
        let found = match found {
            Err(CallError::Timeout) => {
                self.abandon(ticket);
                return Err(CallError::Timeout);
            }
            other => other?,
        };
        let Some(head) = found else { return Ok(None) };
        self.finish(ticket, head, response).map(Some)
    }

    /// Gives up on the call `ticket` (a caller that will not wait for it): its answer, when
    /// it comes, is discarded, and its entry goes to a later call. Until then it counts
    /// among the calls in flight. A call whose wait timed out is given up already; one that
    /// is neither waited for to the end nor given up keeps its entry, answered or not, and a
    /// client that does that to `max_in_flight` calls gets `TooManyInFlight`.
    pub fn abandon(&mut self, ticket: CallTicket) {
        if let Ok(a) = self.core.attachment(ticket) {
            a.abandon(ticket.n);
        }
    }

    /// Calls the service: sends `request` and waits for the response, for at most `timeout`
    /// in all.
    ///
    /// # Errors
    ///
    /// As [`send_until`](Self::send_until) and [`wait_until`](Self::wait_until).
    pub fn call(&mut self, request: &[u8], timeout: Duration) -> Result<Vec<u8>, CallError> {
        let mut response = Vec::new();
        self.call_into(request, timeout, &mut response)?;
        Ok(response)
    }

    /// [`call`](Self::call), with the response into `response`.
    ///
    /// # Errors
    ///
    /// As [`call`](Self::call).
    pub fn call_into(
        &mut self,
        request: &[u8],
        timeout: Duration,
        response: &mut Vec<u8>,
    ) -> Result<(), CallError> {
        // The fast path (attached to a server that is there, an answer within a few µs)
        // reads no clock: the deadline is taken only if the answer is slow to come, or if
        // there is no server yet.
        let fast =
            self.core.attached_now().is_some_and(|a| a.mapped.geo.request_size == request.len());
        let (ticket, start) = if fast {
            (self.core.send(OP_CALL, request, reusable)?, None)
        } else {
            let start = Instant::now();
            (
                self.send_until(request, Some(start + timeout), None)?.expect("no slice end"),
                Some(start),
            )
        };
        if self.poll_quick(ticket, response)? {
            return Ok(());
        }
        let deadline = start.unwrap_or_else(Instant::now) + timeout;
        self.wait_until(ticket, Some(deadline), None, response)?;
        Ok(())
    }

    /// Sends a request if the client is attached to a server that is there (never waits):
    /// `Ok(None)` if it is not (then [`send_until`](Self::send_until) waits for one).
    ///
    /// # Errors
    ///
    /// [`CallError::WrongSize`], [`CallError::TooManyInFlight`].
    pub fn try_send(&mut self, request: &[u8]) -> Result<Option<CallTicket>, CallError> {
        let Some(a) = self.core.attached_now() else { return Ok(None) };
        let size = a.mapped.geo.request_size;
        if request.len() != size {
            let service = self.core.name.clone();
            return Err(CallError::WrongSize { service, size, given: request.len() });
        }
        self.core.send(OP_CALL, request, reusable).map(Some)
    }

    /// Looks for the answer to `ticket` a few times (a few µs at most, no clock read, no
    /// system call): `Ok(true)` if it came (into `response`).
    ///
    /// # Errors
    ///
    /// As [`wait_until`](Self::wait_until), without [`CallError::Timeout`].
    pub fn poll_quick(
        &mut self,
        ticket: CallTicket,
        response: &mut Vec<u8>,
    ) -> Result<bool, CallError> {
        response.resize(self.core.attachment(ticket)?.mapped.geo.response_size, 0);
        let n = ticket.n;
        let quick = self.core.quick_look(ticket, |a| {
            Ok(a.entry(n).read_response(a.token(n), as_uninit(response)))
        })?;
        match quick {
            Some(head) => self.finish(ticket, head, response).map(|()| true),
            None => Ok(false),
        }
    }

    /// A registration to be woken when the answer to `ticket` may have come, for callers that
    /// wait for many things at once (see [`Wakeup`]): `None` if it is there already (or the
    /// server closed the service), so that [`wait_until`](Self::wait_until) should be called
    /// now. Call it after the wake-up with a `slice_end` of now: it takes the answer, or
    /// reports the server gone. A server that dies without closing wakes nobody, hence the
    /// bounded waits of [`Wakeup`].
    ///
    /// # Errors
    ///
    /// [`CallError::ServerGone`] if the client has moved to another server since the call.
    pub fn wakeup(&mut self, ticket: CallTicket) -> Result<Option<Wakeup>, CallError> {
        let a: &Attached = self.core.attachment(ticket)?;
        if a.mapped.seg.state() != STATE_LIVE || a.mapped.seg.is_broken() {
            return Ok(None);
        }
        let n = ticket.n;
        Ok(slot_wakeup(a, || answered(a, n)))
    }

    /// Ends the call `ticket` whose answer `head` came (its payload in `response`).
    fn finish(
        &mut self,
        ticket: CallTicket,
        head: ResponseHead,
        response: &[u8],
    ) -> Result<(), CallError> {
        let a = self.core.attachment(ticket)?;
        a.free(ticket.n);
        if head.status != STATUS_OK || !head.has_payload {
            return Err(CallError::Dropped { service: self.core.name.clone() });
        }
        if a.validate_response {
            a.mapped.schemas[1].validate(response).map_err(|source| {
                CallError::InvalidResponse { service: self.core.name.clone(), source }
            })?;
        }
        Ok(())
    }
}

/// Registers the client of `a` to be woken by the server's next answer or feedback (see
/// [`RawClient::wakeup`]): `None` (nothing registered) if `ready`, called after registering,
/// finds what the caller waits for.
pub(crate) fn slot_wakeup(a: &Attached, ready: impl FnOnce() -> bool) -> Option<Wakeup> {
    let registered = protocol::client_register(a.mapped.slot(a.slot), ready);
    registered.map(|t| {
        let slot = SlotWakeup { mapped: a.mapped.clone(), slot: a.slot, generation: a.generation };
        Wakeup::registered(Box::new(slot), t)
    })
}

/// A client's registration with its slot's futex (see [`RawClient::wakeup`]).
struct SlotWakeup {
    mapped: Arc<Mapped>,
    slot: usize,
    /// The claim that registered: a slot given back and claimed again meanwhile (by this
    /// process or another) is not deregistered from.
    generation: u64,
}

impl Registered for SlotWakeup {
    fn word(&self) -> &AtomicU32 {
        &self.mapped.slot(self.slot).futex
    }
}

impl Drop for SlotWakeup {
    fn drop(&mut self) {
        let slot = self.mapped.slot(self.slot);
        if slot.pid.load(Ordering::Acquire) == os::pid()
            && slot.generation.load(Ordering::Acquire) == self.generation
        {
            protocol::client_deregister(slot);
        }
    }
}

/// Builds a [`Client`]: `Client::<Req, Res>::builder(name).stale_threshold(d).open()`.
#[derive(Debug)]
#[must_use = "a builder does nothing until `open` is called"]
pub struct ClientBuilder<Req, Res> {
    name: String,
    options: ClientOptions,
    _types: PhantomData<fn(Req) -> Res>,
}

impl<Req: Message, Res: Message> ClientBuilder<Req, Res> {
    /// How a call waits for its answer (default: spin 20 µs, then sleep).
    pub fn wait_strategy(mut self, wait: crate::WaitStrategy) -> Self {
        self.options = self.options.wait_strategy(wait);
        self
    }

    /// How long a waiting call may take to notice that the server died (default 100 ms).
    pub fn stale_threshold(mut self, threshold: Duration) -> Self {
        self.options = self.options.stale_threshold(threshold);
        self
    }

    /// Accept services of other users, or writable by them (refused by default).
    pub fn allow_other_owners(mut self, allow: bool) -> Self {
        self.options = self.options.allow_other_owners(allow);
        self
    }

    /// Whether a call waits for a server to start (the default) or fails at once without one.
    pub fn wait_for_server(mut self, wait: bool) -> Self {
        self.options = self.options.wait_for_server(wait);
        self
    }

    /// Opens the client (see [`Client::open`]).
    ///
    /// # Errors
    ///
    /// As [`Client::open`].
    pub fn open(self) -> Result<Client<Req, Res>> {
        let raw = RawClient::open(&self.name, Some((Req::SCHEMA, Res::SCHEMA)), self.options)?;
        Ok(Client { inner: RefCell::new(Inner { raw, buf: Vec::new() }), _types: PhantomData })
    }
}

#[derive(Debug)]
struct Inner {
    raw: RawClient,
    /// The last response's bytes.
    buf: Vec<u8>,
}

/// A client of a service: calls it with a `Req` and gets the `Res` its server answers, never
/// another client's or another call's. Any number of clients, in any processes, may call one
/// server. See the [module docs](super).
#[derive(Debug)]
pub struct Client<Req, Res> {
    inner: RefCell<Inner>,
    _types: PhantomData<fn(Req) -> Res>,
}

impl<Req: Message, Res: Message> Client<Req, Res> {
    /// Opens a client of `name`, with default options. The server need not exist yet: a call
    /// waits for it (up to its timeout). A client attaches to the next server by itself when
    /// its server dies.
    ///
    /// # Errors
    ///
    /// - [`Error::TypeMismatch`](crate::Error::TypeMismatch) if the server's request or
    ///   response type is not `Req` or `Res`;
    /// - [`Error::TooManyClients`](crate::Error::TooManyClients) if every client slot is held;
    /// - [`Error::InvalidName`](crate::Error::InvalidName), [`Error::Corrupt`](crate::Error::Corrupt),
    ///   [`Error::Permission`](crate::Error::Permission), [`Error::Io`](crate::Error::Io).
    pub fn open(name: &str) -> Result<Client<Req, Res>> {
        Client::builder(name).open()
    }

    /// A builder, for other options.
    pub fn builder(name: &str) -> ClientBuilder<Req, Res> {
        ClientBuilder {
            name: name.to_owned(),
            options: ClientOptions::default(),
            _types: PhantomData,
        }
    }

    /// Calls the service and waits for its answer, for at most `timeout` in all (waiting for
    /// a server first if there is none).
    ///
    /// # Errors
    ///
    /// - [`CallError::Timeout`]: no answer in time (the call stays in flight until its answer
    ///   comes, which is then discarded);
    /// - [`CallError::ServerGone`]: the server died or closed the service before answering
    ///   (noticed within the stale threshold); the next call waits for a new server;
    /// - [`CallError::NoServer`]: no server came in time (or the client does not wait);
    /// - [`CallError::TooManyInFlight`], [`CallError::Dropped`], [`CallError::InvalidResponse`],
    ///   [`CallError::Attach`].
    pub fn call(&self, request: &Req, timeout: Duration) -> Result<Res, CallError> {
        let inner = &mut *self.inner.borrow_mut();
        inner.raw.call_into(message::as_bytes(request), timeout, &mut inner.buf)?;
        message::from_bytes(&inner.buf).map_err(|source| CallError::InvalidResponse {
            service: inner.raw.core.name.clone(),
            source,
        })
    }

    fn send_deadline(
        &self,
        request: &Req,
        deadline: Option<Instant>,
    ) -> Result<CallTicket, CallError> {
        let inner = &mut *self.inner.borrow_mut();
        let ticket = inner.raw.send_until(message::as_bytes(request), deadline, None)?;
        Ok(ticket.expect("no slice end"))
    }

    fn wait(&self, ticket: CallTicket, deadline: Option<Instant>) -> Result<Res, CallError> {
        let inner = &mut *self.inner.borrow_mut();
        inner.raw.wait_until(ticket, deadline, None, &mut inner.buf)?;
        message::from_bytes(&inner.buf).map_err(|source| CallError::InvalidResponse {
            service: inner.raw.core.name.clone(),
            source,
        })
    }

    /// Sends a request without waiting for its answer (waiting for a server, up to
    /// `timeout`, if there is none). Several calls may be in flight (as many as the server
    /// allows per client); each [`Pending`] waits for its own answer.
    ///
    /// # Errors
    ///
    /// As [`call`](Self::call), except `Timeout` and `ServerGone`.
    pub fn send_timeout(
        &self,
        request: &Req,
        timeout: Duration,
    ) -> Result<Pending<'_, Req, Res>, CallError> {
        let ticket = self.send_deadline(request, Some(Instant::now() + timeout))?;
        Ok(Pending { client: self, ticket })
    }

    /// [`send_timeout`](Self::send_timeout) with a timeout of one second.
    ///
    /// # Errors
    ///
    /// As [`send_timeout`](Self::send_timeout).
    pub fn send(&self, request: &Req) -> Result<Pending<'_, Req, Res>, CallError> {
        self.send_timeout(request, Duration::from_secs(1))
    }

    /// Whether a live server serves the name (attaching to it if need be). Reads `/proc`.
    pub fn is_server_connected(&self) -> bool {
        self.inner.borrow_mut().raw.is_server_connected()
    }

    /// Waits up to `timeout` for a live server; whether there is one.
    pub fn wait_for_server(&self, timeout: Duration) -> bool {
        self.inner.borrow_mut().raw.wait_for_server(timeout)
    }

    /// The service's name.
    pub fn name(&self) -> String {
        self.inner.borrow().raw.name().to_owned()
    }
}

/// A call in flight ([`Client::send`]): wait for its answer with [`wait`](Self::wait).
/// Dropping it gives the call up ([`RawClient::abandon`]): it stays in flight until its answer
/// comes, which is then discarded.
#[derive(Debug)]
#[must_use = "the answer is only received by `wait`"]
pub struct Pending<'a, Req, Res> {
    client: &'a Client<Req, Res>,
    ticket: CallTicket,
}

impl<Req: Message, Res: Message> Pending<'_, Req, Res> {
    /// Waits up to `timeout` for the answer.
    ///
    /// # Errors
    ///
    /// As [`Client::call`] (after a `Timeout`, the call stays in flight, and its `Pending`
    /// is gone: its answer is discarded when it comes).
    pub fn wait(self, timeout: Duration) -> Result<Res, CallError> {
        // Waited for, not given up (a wait that times out gives the call up itself).
        let me = std::mem::ManuallyDrop::new(self);
        me.client.wait(me.ticket, Some(Instant::now() + timeout))
    }

    /// The call's number among the client's calls to its current server.
    pub fn number(&self) -> u64 {
        self.ticket.number()
    }
}

impl<Req, Res> Drop for Pending<'_, Req, Res> {
    fn drop(&mut self) {
        if let Ok(mut inner) = self.client.inner.try_borrow_mut() {
            inner.raw.abandon(self.ticket);
        }
    }
}
