//! Serving: the untyped [`RawServer`] (bytes of two [`Schema`]s), the typed [`Server`] over
//! the same core, the requests they hand out, and a server running a handler on its own
//! thread ([`Server::spawn`]).

use super::intake::{CallId, Incoming, Intake, ServerCore};
use super::options::ServerOptions;
use super::protocol::{STATUS_DROPPED, STATUS_OK};
use crate::error::{Result, ServeError};
use crate::message::{self, Message};
use crate::schema::Schema;
use crate::segment::SegmentKind;
use crate::sync::{AtomicU32, Ordering, futex};
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The untyped server: requests and responses are bytes laid out as its two [`Schema`]s say.
#[derive(Debug)]
pub struct RawServer {
    core: Arc<ServerCore>,
    intake: Intake,
    request: Schema,
    response: Schema,
}

impl RawServer {
    /// Creates the service `name` with default options.
    ///
    /// # Errors
    ///
    /// As [`Server::create`].
    pub fn create(name: &str, request: &Schema, response: &Schema) -> Result<RawServer> {
        RawServer::create_with(name, request, response, &ServerOptions::default())
    }

    /// Creates the service `name` with explicit options.
    ///
    /// # Errors
    ///
    /// As [`Server::create`].
    pub fn create_with(
        name: &str,
        request: &Schema,
        response: &Schema,
        options: &ServerOptions,
    ) -> Result<RawServer> {
        let core = ServerCore::create(name, SegmentKind::Service, &[request, response], options)?;
        Ok(RawServer {
            intake: Intake::new(&core.mapped, request),
            core: Arc::new(core),
            request: request.clone(),
            response: response.clone(),
        })
    }

    /// The service's name.
    pub fn name(&self) -> &str {
        &self.core.name
    }

    /// The request type.
    pub fn request_schema(&self) -> &Schema {
        &self.request
    }

    /// The response type.
    pub fn response_schema(&self) -> &Schema {
        &self.response
    }

    /// This server's generation: 1, or one more than the dead server's it replaced.
    pub fn generation(&self) -> u64 {
        self.core.generation
    }

    /// The file that holds the service.
    pub fn path(&self) -> &std::path::Path {
        self.core.mapped.seg.path()
    }

    /// Responses written so far.
    pub fn served(&self) -> u64 {
        self.core.answered()
    }

    /// Clients attached now (reads `/proc`: for status displays).
    pub fn clients(&self) -> usize {
        self.core.clients()
    }

    /// The next request, waiting until `deadline` (`None`: forever) or, returning `Ok(None)`,
    /// until `slice_end` (so that a caller can look around, for Ctrl-C say, and call again).
    ///
    /// # Errors
    ///
    /// [`ServeError::Timeout`] at the deadline, [`ServeError::TakenOver`],
    /// [`ServeError::Segment`].
    pub fn recv_until(
        &mut self,
        deadline: Option<Instant>,
        slice_end: Option<Instant>,
    ) -> Result<Option<RawRequest>, ServeError> {
        let found = self.intake.recv_until(&self.core, deadline, slice_end)?;
        Ok(found.map(|inc| RawRequest {
            core: self.core.clone(),
            call: inc.call,
            payload: self.intake.payload.clone(),
            response_size: self.response.size(),
            validate: self.response.has_invalid_bit_patterns().then(|| self.response.clone()),
            answered: false,
        }))
    }

    /// The next request if one is waiting; never blocks.
    ///
    /// # Errors
    ///
    /// As [`recv_until`](Self::recv_until), without [`ServeError::Timeout`].
    pub fn try_recv(&mut self) -> Result<Option<RawRequest>, ServeError> {
        match self.recv_until(Some(Instant::now()), None) {
            Err(ServeError::Timeout) => Ok(None),
            other => other,
        }
    }

    /// The next request, waiting up to `timeout`.
    ///
    /// # Errors
    ///
    /// As [`recv_until`](Self::recv_until).
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<RawRequest, ServeError> {
        let found = self.recv_until(Some(Instant::now() + timeout), None)?;
        Ok(found.expect("no slice end"))
    }
}

/// A request taken by a [`RawServer`]: its bytes, and the means to answer it, from any thread.
/// Dropping it unanswered answers "dropped" (the client's call fails with
/// [`CallError::Dropped`](crate::CallError::Dropped) at once).
#[derive(Debug)]
pub struct RawRequest {
    core: Arc<ServerCore>,
    call: CallId,
    payload: Vec<u8>,
    response_size: usize,
    validate: Option<Schema>,
    answered: bool,
}

impl RawRequest {
    /// Which call of which client it is.
    pub fn id(&self) -> CallId {
        self.call
    }

    /// The request's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.payload
    }

    /// Answers it with `response` (bytes of the response type). If its client has gone
    /// meanwhile, the answer goes nowhere (and is counted), which is not an error.
    ///
    /// # Errors
    ///
    /// [`ServeError::WrongSize`] or [`ServeError::InvalidMessage`] for bytes that are not a
    /// response (the request stays unanswered, and can be answered again);
    /// [`ServeError::TakenOver`], [`ServeError::Segment`].
    pub fn respond(&mut self, response: &[u8]) -> Result<(), ServeError> {
        let service = || self.core.name.clone();
        if response.len() != self.response_size {
            return Err(ServeError::WrongSize {
                service: service(),
                size: self.response_size,
                given: response.len(),
            });
        }
        if let Some(schema) = &self.validate {
            schema
                .validate(response)
                .map_err(|source| ServeError::InvalidMessage { service: service(), source })?;
        }
        self.core.check()?;
        self.answered = true;
        self.core.answer(self.call, STATUS_OK, Some(response));
        Ok(())
    }

    /// Whether it was answered.
    pub fn is_answered(&self) -> bool {
        self.answered
    }
}

impl Drop for RawRequest {
    fn drop(&mut self) {
        if !self.answered {
            self.core.drop_call(self.call, STATUS_DROPPED);
        }
    }
}

/// Builds a [`Server`]: `Server::<Req, Res>::builder(name).max_clients(8).create()`.
#[derive(Debug)]
#[must_use = "a builder does nothing until `create` is called"]
pub struct ServerBuilder<Req, Res> {
    name: String,
    options: ServerOptions,
    _types: PhantomData<fn(Req) -> Res>,
}

impl<Req: Message, Res: Message> ServerBuilder<Req, Res> {
    /// How many clients may be attached at once (default 64, at most 1024).
    pub fn max_clients(mut self, clients: usize) -> Self {
        self.options = self.options.max_clients(clients);
        self
    }

    /// How many calls each client may have in flight (default 16, at most 1024).
    pub fn max_in_flight(mut self, calls: usize) -> Self {
        self.options = self.options.max_in_flight(calls);
        self
    }

    /// Permission bits of the segment file (default `0o600`).
    pub fn mode(mut self, mode: u32) -> Self {
        self.options = self.options.mode(mode);
        self
    }

    /// Whether dropping the server removes the service's name (default `true`).
    pub fn unlink_on_drop(mut self, unlink: bool) -> Self {
        self.options = self.options.unlink_on_drop(unlink);
        self
    }

    /// How a blocking receive waits (default: spin 20 µs, then sleep).
    pub fn wait_strategy(mut self, wait: crate::WaitStrategy) -> Self {
        self.options = self.options.wait_strategy(wait);
        self
    }

    /// Creates the service (see [`Server::create`]).
    ///
    /// # Errors
    ///
    /// As [`Server::create`].
    pub fn create(self) -> Result<Server<Req, Res>> {
        let core = ServerCore::create(
            &self.name,
            SegmentKind::Service,
            &[Req::SCHEMA, Res::SCHEMA],
            &self.options,
        )?;
        Ok(Server {
            intake: Intake::new(&core.mapped, Req::SCHEMA),
            core: Arc::new(core),
            _types: PhantomData,
        })
    }
}

/// The server of a service: takes requests of type `Req` from any number of clients, in any
/// processes, and answers each with a `Res` that reaches exactly the client and the call that
/// asked. See the [module docs](super).
#[derive(Debug)]
pub struct Server<Req, Res> {
    core: Arc<ServerCore>,
    intake: Intake,
    _types: PhantomData<fn(Req) -> Res>,
}

impl<Req: Message, Res: Message> Server<Req, Res> {
    /// Creates the service `name` with default options (64 clients, 16 calls in flight per
    /// client, mode 0600).
    ///
    /// # Errors
    ///
    /// - [`Error::ServerExists`](crate::Error::ServerExists) if a live process serves the
    ///   name (a dead server's segment is taken over);
    /// - [`Error::InvalidName`](crate::Error::InvalidName), [`Error::Io`](crate::Error::Io).
    pub fn create(name: &str) -> Result<Server<Req, Res>> {
        Server::builder(name).create()
    }

    /// A builder, for other options.
    pub fn builder(name: &str) -> ServerBuilder<Req, Res> {
        ServerBuilder {
            name: name.to_owned(),
            options: ServerOptions::default(),
            _types: PhantomData,
        }
    }

    fn take(&mut self, inc: Incoming) -> Request<'_, Req, Res> {
        // `recv_until` validated the bytes against `Req::SCHEMA`.
        let value = message::from_bytes(&self.intake.payload).expect("validated request");
        Request { core: &self.core, call: inc.call, value, answered: false, _res: PhantomData }
    }

    fn recv_deadline(
        &mut self,
        deadline: Option<Instant>,
    ) -> Result<Request<'_, Req, Res>, ServeError> {
        let inc = self.intake.recv_until(&self.core, deadline, None)?;
        Ok(self.take(inc.expect("no slice end")))
    }

    /// The next request, waiting as long as it takes.
    ///
    /// # Errors
    ///
    /// [`ServeError::TakenOver`] if another process took the service over (it saw this one
    /// as dead), [`ServeError::Segment`] if the segment file was truncated.
    pub fn recv(&mut self) -> Result<Request<'_, Req, Res>, ServeError> {
        self.recv_deadline(None)
    }

    /// The next request, waiting up to `timeout`.
    ///
    /// # Errors
    ///
    /// [`ServeError::Timeout`], or as [`recv`](Self::recv).
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<Request<'_, Req, Res>, ServeError> {
        self.recv_deadline(Some(Instant::now() + timeout))
    }

    /// The next request if one is waiting; never blocks.
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    pub fn try_recv(&mut self) -> Result<Option<Request<'_, Req, Res>>, ServeError> {
        match self.intake.recv_until(&self.core, Some(Instant::now()), None) {
            Ok(inc) => Ok(inc.map(|inc| self.take(inc))),
            Err(ServeError::Timeout) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Answers a request put aside with [`Request::defer`]. Returns whether its client was
    /// still there.
    ///
    /// # Errors
    ///
    /// [`ServeError::TakenOver`], [`ServeError::Segment`].
    pub fn respond(&self, id: CallId, response: &Res) -> Result<bool, ServeError> {
        self.core.check()?;
        Ok(self.core.answer(id, STATUS_OK, Some(message::as_bytes(response))))
    }

    /// The service's name.
    pub fn name(&self) -> &str {
        &self.core.name
    }

    /// This server's generation: 1, or one more than the dead server's it replaced.
    pub fn generation(&self) -> u64 {
        self.core.generation
    }

    /// Responses written so far.
    pub fn served(&self) -> u64 {
        self.core.answered()
    }

    /// Clients attached now (reads `/proc`: for status displays).
    pub fn clients(&self) -> usize {
        self.core.clients()
    }
}

impl<Req: Message, Res: Message> Server<Req, Res> {
    /// Serves `name` on a new thread, answering every request with `handler`, until the
    /// returned [`ServerThread`] is stopped or dropped.
    ///
    /// ```
    /// # let name = format!("doc/spawn/{}", std::process::id());
    /// let server = eshm::service::Server::spawn(&name, |x: &u64| x * 2)?;
    /// let client = eshm::service::Client::<u64, u64>::open(&name)?;
    /// assert_eq!(client.call(&21, std::time::Duration::from_secs(5))?, 42);
    /// server.stop()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`create`](Self::create) (the service is created before this returns).
    pub fn spawn(
        name: &str,
        mut handler: impl FnMut(&Req) -> Res + Send + 'static,
    ) -> Result<ServerThread> {
        let mut server = Server::<Req, Res>::create(name)?;
        let stop = Arc::new(AtomicU32::new(0));
        let core = server.core.clone();
        let thread = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name(format!("eshm-server {name}"))
                .spawn(move || {
                    while stop.load(Ordering::Acquire) == 0 {
                        let slice = Some(Instant::now() + Duration::from_millis(100));
                        let inc = server.intake.recv_until(&server.core, None, slice)?;
                        if let Some(inc) = inc {
                            let request = server.take(inc);
                            let response = handler(&request);
                            request.respond(&response)?;
                        }
                    }
                    Ok(())
                })
                .map_err(|e| crate::Error::io("spawn a thread for", core.mapped.seg.path(), e))?
        };
        Ok(ServerThread { stop, core, thread: Some(thread) })
    }
}

/// A server running on its own thread ([`Server::spawn`]); dropping it stops the thread.
#[derive(Debug)]
pub struct ServerThread {
    stop: Arc<AtomicU32>,
    core: Arc<ServerCore>,
    thread: Option<JoinHandle<Result<(), ServeError>>>,
}

impl ServerThread {
    /// Stops the thread (after the request it is answering, if any) and closes the service.
    ///
    /// # Errors
    ///
    /// What stopped the thread early ([`ServeError::TakenOver`], say); a panic of the
    /// handler is resumed here.
    pub fn stop(mut self) -> Result<(), ServeError> {
        self.halt()
    }

    fn halt(&mut self) -> Result<(), ServeError> {
        self.stop.store(1, Ordering::Release);
        futex::bump_and_wake(&self.core.mapped.header().server.futex);
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => Ok(()),
        }
    }

    /// The service's name.
    pub fn name(&self) -> &str {
        &self.core.name
    }

    /// Responses written so far.
    pub fn served(&self) -> u64 {
        self.core.answered()
    }
}

impl Drop for ServerThread {
    fn drop(&mut self) {
        if self.thread.is_some() && !std::thread::panicking() {
            let _ = self.halt();
        }
    }
}

/// A request taken by a [`Server`]: the request's value (it derefs to it), and the means to
/// answer it. It borrows the server (no reference count on the hot path): to take more
/// requests before answering this one, [`defer`](Self::defer) it and answer it later with
/// [`Server::respond`]. Dropping it unanswered answers "dropped" (the client's call fails with
/// [`CallError::Dropped`](crate::CallError::Dropped) at once).
#[derive(Debug)]
pub struct Request<'a, Req, Res> {
    core: &'a ServerCore,
    call: CallId,
    value: Req,
    answered: bool,
    _res: PhantomData<fn(Res)>,
}

impl<Req: Message, Res: Message> Request<'_, Req, Res> {
    /// Which call of which client it is.
    pub fn id(&self) -> CallId {
        self.call
    }

    /// The request.
    pub fn value(&self) -> &Req {
        &self.value
    }

    /// Answers it. If its client has gone meanwhile, the answer goes nowhere (and is
    /// counted), which is not an error.
    ///
    /// # Errors
    ///
    /// [`ServeError::TakenOver`] (another process took the service over), or
    /// [`ServeError::Segment`].
    pub fn respond(mut self, response: &Res) -> Result<(), ServeError> {
        self.answered = true;
        self.core.check()?;
        self.core.answer(self.call, STATUS_OK, Some(message::as_bytes(response)));
        Ok(())
    }

    /// Puts it aside, to be answered later with [`Server::respond`] (its client's call stays
    /// in flight meanwhile; a deferred request that is never answered leaves its call in
    /// flight until the client gives up on it).
    pub fn defer(mut self) -> CallId {
        self.answered = true;
        self.call
    }
}

impl<Req, Res> Deref for Request<'_, Req, Res> {
    type Target = Req;
    fn deref(&self) -> &Req {
        &self.value
    }
}

impl<Req, Res> Drop for Request<'_, Req, Res> {
    fn drop(&mut self) {
        if !self.answered {
            self.core.drop_call(self.call, STATUS_DROPPED);
        }
    }
}
