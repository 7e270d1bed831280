//! Request/response services: a [`Server<Req, Res>`] answers the calls of any number of
//! [`Client<Req, Res>`]s, in any processes; each answer reaches exactly the client and the
//! call that asked. The untyped core ([`RawServer`], [`RawClient`]) works on two [`Schema`]s
//! and bytes; the Python module and the command line use it. Actions
//! (`eshm::action`) are built on the same parts.
//!
//! ```
//! use eshm::service::{Client, Server};
//! use std::time::Duration;
//!
//! #[derive(Clone, Copy, Debug, eshm::Message)]
//! #[repr(C)]
//! struct AddRequest { a: i64, b: i64 }
//!
//! #[derive(Clone, Copy, Debug, eshm::Message)]
//! #[repr(C)]
//! struct AddResponse { sum: i64 }
//!
//! # let name = format!("doc/calc/add/{}", std::process::id());
//! let mut server = Server::<AddRequest, AddResponse>::create(&name)?;
//! let client = Client::<AddRequest, AddResponse>::open(&name)?;      // usually another process
//!
//! let pending = client.send(&AddRequest { a: 1, b: 2 })?;           // a call in flight
//! let req = server.recv_timeout(Duration::from_secs(1))?;            // or recv / try_recv
//! let res = AddResponse { sum: req.a + req.b };
//! req.respond(&res)?;                                                 // to that client and call
//! assert_eq!(pending.wait(Duration::from_secs(1))?.sum, 3);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A server can also run a handler on its own thread: `Server::spawn(name, |req: &AddRequest|
//! AddResponse { sum: req.a + req.b })`, and a client calls with
//! `client.call(&req, timeout)`.
//!
//! # Semantics
//!
//! - **One live server per name**; a second gets [`Error::ServerExists`]. The segment of a
//!   dead server is taken over by the next one, whose generation is one more.
//! - **Clients** may be opened before their server exists. A call made while there is no live
//!   server waits for one up to its timeout ([`CallError::NoServer`] then), or fails at once
//!   with `wait_for_server(false)`. Each client holds one of the server's `max_clients` slots
//!   (one more client gets [`Error::TooManyClients`]); the slot of a client that dies goes to
//!   the next client that needs one.
//! - **Calls in flight**: a client may send up to `max_in_flight` calls before their answers
//!   come ([`Client::send`] returns a [`Pending`] per call; one more is
//!   [`CallError::TooManyInFlight`]). A call that timed out stays in flight until its answer
//!   comes (then discarded) or its server goes.
//! - **Server death**: a call in flight when its server dies fails with
//!   [`CallError::ServerGone`] within the client's stale threshold (100 ms by default; it
//!   checks the server's process, pid and start time, every half of it), not at its timeout;
//!   if the server closes the service, at once. The next call attaches to the next server.
//!   An answer never survives a server restart: each server has its own segment.
//! - **Dropped requests**: a request dropped without an answer (a handler that panicked, say)
//!   fails its call with [`CallError::Dropped`] at once.
//! - **Waiting**: a client spins briefly, then sleeps on a futex of its own that the server
//!   wakes only when the client sleeps; the server sleeps on one futex word for all clients,
//!   which a client wakes only when the server sleeps ([`WaitStrategy`] as for topics).
//!
//! # Design
//!
//! The server creates one segment per service (see [`crate::segment`]: complete or invisible,
//! owner-only, a dead owner's reclaimed). After its header come the service header (geometry,
//! the encoded schemas of both types with their fingerprints, the server's generation, and a
//! bitmap of claimed client slots), then `max_clients` **client slots**. A slot holds who
//! claimed it (pid, start time, and a claim *generation* bumped by each claim) and the
//! client's futex, then `max_in_flight` **entries**, one per call in flight. An entry is a
//! request part, written only by the client, and a response part, written only by the server
//! (and for actions, feedback slots, written by the server), each starting on its own cache
//! line, with the message after a few header words: a call moves one cache line each way,
//! as a topic's message does.
//!
//! A client numbers its calls from 1 for each claim; call `n` goes to entry `n % entries`
//! under the *token* `(claim generation, n)`. The server keeps, for each claimed slot, the
//! number of the call it expects next (starting again at 1 when the slot's generation
//! changes), and visits the claimed slots in turn, taking one call from each.
//!
//! ## Why an answer reaches exactly its call
//!
//! - *Its entry is its own.* Call `n` may be sent only once the answer of call `n - entries`,
//!   which used the same entry, was taken (or its server is gone): the client then has no
//!   other call in that entry, and the server no other call to answer there, except calls of
//!   the slot's previous holders (below).
//! - *Tokens tell calls apart.* The server writes the request's token with the answer; a
//!   client takes an answer only if its token is the one of the call it waits for, and reads
//!   it under the response part's seqlock (a version that is odd while the server writes), so
//!   it never takes a torn answer or the answer of an earlier call in the entry.
//! - *Claims are generations.* A client that dies leaves its slot to the next client, whose
//!   claim bumps the slot's generation: the previous holder's calls carry another token, so
//!   their answers are never taken by the new holder, and the server stops answering them
//!   (it checks the slot's generation, under a per-slot lock that also keeps two threads from
//!   writing one entry). A request of the previous holder that the server had not taken yet
//!   is never taken: the server now expects the new holder's calls.
//! - *Servers are segments.* A new server creates a new segment (renamed over the old name),
//!   and a client re-attaches to it with a new claim: nothing the old server wrote is ever
//!   read as an answer of the new one. Requests carry the generation of the server they are
//!   for, and the server drops any that is not for it.
//!
//! ## Why no wake-up is lost
//!
//! The client publishes its request (the token stored last, Release), issues a `SeqCst`
//! fence, and wakes the server only if the server's `waiters` word is set; the server, before
//! sleeping, sets `waiters`, issues a `SeqCst` fence and looks for requests once more. Of the
//! two fenced sequences one comes first, so either the client sees the server registered, or
//! the server sees the request (Dekker's store-load pattern, as the topic ring uses). Answers
//! wake clients the same way on the slot's futex. A loom model checks this handshake
//! (`src/tests/loom_service.rs`). Sleeps are bounded (the server's to 200 ms, a client's to
//! half its stale threshold), so a client also notices a server that died without waking it.
//!
//! ## What is trusted
//!
//! Nothing read from the segment: the geometry is checked against the file's length before
//! any slot or entry is used, schemas against their fingerprints, requests and answers
//! against their types (`bool` and enum fields), and tokens and versions decide what is
//! taken. A peer that breaks the protocol can make its own calls fail, never make this
//! process read out of bounds or take another client's answer.

// The protocol and its layout are model-checked under loom; the rest does I/O.
#[cfg(not(loom))]
mod attach;
#[cfg(not(loom))]
mod client;
#[cfg(not(loom))]
mod details;
#[cfg(not(loom))]
mod intake;
pub(crate) mod layout;
#[cfg(not(loom))]
pub(crate) mod mapped;
#[cfg(not(loom))]
mod options;
pub(crate) mod protocol;
#[cfg(not(loom))]
mod server;
not_under_loom! {
    pub use attach::CallTicket;
    pub(crate) use attach::{Attached, ClientCore};
    pub use client::{Client, ClientBuilder, Pending, RawClient};
    pub(crate) use client::slot_wakeup;
    pub use details::{ClientInfo, ServiceDetails};
    pub use intake::CallId;
    pub(crate) use intake::{Intake, ServerCore};
    pub use options::{ClientOptions, DEFAULT_STALE_THRESHOLD, ServerOptions};
    pub use server::{RawRequest, RawServer, Request, Server, ServerBuilder, ServerThread};
    pub use crate::error::{CallError, ServeError};
    pub use crate::wait::WaitStrategy;
}

#[cfg(doc)]
use crate::{error::Error, schema::Schema};
