//! The importing side: remote topics that the selection matches, republished here by a local
//! publisher of the remote type.
//!
//! Messages arrive on Zenoh's receiving threads (a subscriber callback per import key
//! expression, declared with `allowed_origin(Locality::Remote)`: this bridge's own puts never
//! come back to it). A message of a topic whose local publisher is ready is published there and
//! then, on that thread (a copy into the ring; it never blocks). Anything else (the first
//! message of a topic, a new type) queues behind the topic's earlier messages for the
//! *resolver* thread, which may block: it fetches the schema from the bridges that know it
//! (`eshm/@schema/<fingerprint>`), checks the local topic, creates the publisher, and then
//! publishes the queue in order.
//!
//! The local topic decides: a live local publisher of another type is a *type conflict*, of the
//! same type a *publisher conflict* (eshm topics have one publisher); either is reported once
//! and its messages are dropped and counted, never republished, until that publisher is gone
//! (looked at again at most once a second). Every message is published with
//! `RawPublisher::publish_bytes`, which refuses a payload of the wrong length or with invalid
//! `bool` or enum values: what comes from the network is checked like any untyped publish.
//!
//! Losses: each stream (topic, origin bridge) numbers its messages (see `wire`); a gap is
//! counted as lost on the network, and the origin's own count of what it lost before sending
//! is kept beside it.

use crate::event::Event;
use crate::select::Selection;
use crate::status::Imported;
use crate::wire::{self, Header};
use crate::{Shared, key};
use eshm::pubsub::PublisherOptions;
use eshm::segment::SegmentKind;
use eshm::{Error as EshmError, RawPublisher, Schema};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use topic::{Refusal, State, Topic, account, count_refused, deliver};
use zenoh::Wait as _;
use zenoh::sample::{Locality, Sample};

mod topic;

/// How long a schema query waits for replies.
const SCHEMA_TIMEOUT: Duration = Duration::from_secs(2);
/// How often a topic in conflict, or without a schema, is looked at again.
const RECHECK: Duration = Duration::from_secs(1);

#[derive(Default)]
struct Inbound {
    /// Imported topics, by the key they arrive on (looked up as is: no decoding per message).
    topics: HashMap<String, Topic>,
    /// Keys that carry no selected topic (decoded once, then ignored).
    ignored: HashSet<String>,
    /// Keys of topics with work for the resolver.
    work: VecDeque<String>,
    stopping: bool,
}

/// The importing side (shared between Zenoh's callbacks and the resolver thread).
pub(crate) struct Importer {
    shared: Arc<Shared>,
    selection: Selection,
    options: PublisherOptions,
    inbound: Mutex<Inbound>,
    work_ready: Condvar,
}

impl Importer {
    pub(crate) fn new(
        shared: Arc<Shared>,
        selection: Selection,
        options: PublisherOptions,
    ) -> Self {
        Importer {
            shared,
            selection,
            options,
            inbound: Mutex::new(Inbound::default()),
            work_ready: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inbound> {
        self.inbound.lock().expect("import state")
    }

    /// The counters of every imported topic, for the status file.
    pub(crate) fn stats(&self) -> BTreeMap<String, Imported> {
        self.lock().topics.values().map(|t| (t.name.clone(), t.stats.clone())).collect()
    }

    /// Declares a subscriber per import key expression, delivering to this importer.
    ///
    /// # Errors
    ///
    /// Zenoh's, as text.
    pub(crate) fn subscribe(
        self: &Arc<Self>,
        session: &zenoh::Session,
    ) -> Result<Vec<zenoh::pubsub::Subscriber<()>>, String> {
        let mut subscribers = Vec::new();
        for ke in self.selection.key_exprs() {
            let me = Arc::clone(self);
            let sub = session
                .declare_subscriber(ke)
                .allowed_origin(Locality::Remote)
                .callback(move |sample| me.on_sample(&sample))
                .wait()
                .map_err(|e| e.to_string())?;
            subscribers.push(sub);
        }
        Ok(subscribers)
    }

    /// Closes the local publishers of imported topics (their subscribers wait for the next).
    pub(crate) fn close(&self) {
        self.lock().topics.clear();
    }

    /// Stops the resolver.
    pub(crate) fn stop(&self) {
        self.lock().stopping = true;
        self.work_ready.notify_all();
    }

    /// One sample from the network: a message, or a batch of them (on a Zenoh thread: never
    /// blocks for long).
    fn on_sample(&self, sample: &Sample) {
        let key = sample.key_expr().as_str();
        let header = sample.attachment().map(|a| Header::decode_any(&a.to_bytes()));
        let mut guard = self.lock();
        let inbound = &mut *guard;
        if !inbound.topics.contains_key(key) {
            if inbound.ignored.contains(key) {
                return;
            }
            match key::topic(key).filter(|name| self.selection.matches(name)) {
                Some(name) => {
                    inbound.topics.insert(key.to_owned(), Topic { name, ..Topic::default() });
                }
                None => {
                    inbound.ignored.insert(key.to_owned());
                    return;
                }
            }
        }
        let payload = sample.payload().to_bytes();
        let single = [&payload[..]];
        let refused = |e: wire::WireError| format!("messages from the network are refused: {e}");
        let parsed = match header {
            Some(Ok((h, 1))) => Ok((h, Cow::Borrowed(&single[..]))),
            Some(Ok((h, count))) => wire::records(&payload, count)
                .map(|messages| (h, Cow::Owned(messages)))
                .map_err(refused),
            Some(Err(e)) => Err(refused(e)),
            None => Err("messages from the network without eshm's attachment are refused".into()),
        };
        let (header, messages) = match parsed {
            Ok(found) => found,
            Err(what) => {
                let t = inbound.topics.get_mut(key).expect("just looked");
                t.stats.received += 1;
                t.stats.dropped_invalid += 1;
                let event = t.trouble(what);
                drop(guard);
                if let Some(e) = event {
                    (self.shared.events)(&e);
                }
                return;
            }
        };
        let t = inbound.topics.get_mut(key).expect("just looked");
        let count = messages.len() as u64;
        t.stats.received += count;
        if header.origin == self.shared.id {
            t.stats.dropped_own += count;
            return;
        }
        let skip = account(t, &header, count) as usize;
        let mut events = Vec::new();
        let mut queued = false;
        for message in &messages[skip..] {
            let (event, queue) = deliver(t, header.fingerprint, message);
            events.extend(event);
            queued |= queue;
        }
        if queued {
            list(inbound, key);
            self.work_ready.notify_one();
        }
        drop(guard);
        for e in &events {
            (self.shared.events)(e);
        }
    }

    /// The resolver: sets up publishers for topics with queued messages, until stopped.
    pub(crate) fn resolve(&self, session: &zenoh::Session) {
        let mut schemas: HashMap<u64, Schema> = HashMap::new();
        loop {
            let (key, name, fingerprint) = {
                let mut inbound = self.lock();
                let key = loop {
                    if inbound.stopping {
                        return;
                    }
                    if let Some(key) = inbound.work.pop_front() {
                        break key;
                    }
                    inbound = self.work_ready.wait(inbound).expect("import state");
                };
                let t = inbound.topics.get_mut(&key).expect("listed topics exist");
                t.listed = false;
                let Some(first) = t.queue.front() else { continue };
                let fingerprint = first.fingerprint;
                // A publisher of another type that this bridge owns goes: the type changed at
                // the source (local subscribers of the old type then get a type mismatch).
                if matches!(&t.state, Some(State::Ready { fingerprint: old, .. }) if *old != fingerprint)
                {
                    t.state = Some(State::Waiting);
                }
                (key, t.name.clone(), fingerprint)
            };
            let outcome = self.set_up(session, &mut schemas, &key, &name, fingerprint);
            self.install(&key, fingerprint, outcome);
        }
    }

    /// Makes the publisher of topic `name` (arriving on `key`) for type `fingerprint`
    /// (blocking: queries, system calls).
    fn set_up(
        &self,
        session: &zenoh::Session,
        schemas: &mut HashMap<u64, Schema>,
        key: &str,
        name: &str,
        fingerprint: u64,
    ) -> Outcome {
        if let Some(State::Ready { fingerprint: fp, .. }) = &self.lock().topics[key].state
            && *fp == fingerprint
        {
            return Outcome::AlreadyReady;
        }
        let schema = match schemas.get(&fingerprint) {
            Some(s) => s.clone(),
            None => match fetch_schema(session, fingerprint) {
                Ok(s) => {
                    self.shared.schemas.lock().expect("schemas").insert(fingerprint, s.encode());
                    schemas.insert(fingerprint, s.clone());
                    s
                }
                Err(reason) => {
                    return Outcome::Refused(
                        Refusal::NoSchema,
                        Event::SchemaUnavailable { topic: name.to_owned(), fingerprint, reason },
                    );
                }
            },
        };
        if let Some(refusal) = local_conflict(name, &schema) {
            return refusal;
        }
        // A topic this bridge publishes is never exposed: mark it before it exists.
        self.shared.mark_imported(name);
        match RawPublisher::create_with(name, &schema, &self.options) {
            Ok(publisher) => Outcome::Ready(Box::new(publisher), schema),
            Err(EshmError::PublisherExists { pid, .. }) => {
                // Appeared meanwhile.
                local_conflict(name, &schema).unwrap_or(Outcome::Refused(
                    Refusal::PublisherConflict,
                    Event::PublisherConflict { topic: name.to_owned(), pid },
                ))
            }
            Err(e) => Outcome::Refused(
                Refusal::NoSchema,
                Event::Trouble {
                    topic: name.to_owned(),
                    what: format!("the local topic cannot be created: {e}"),
                },
            ),
        }
    }

    /// Installs the outcome of [`set_up`](Self::set_up) for the topic arriving on `key`, and
    /// publishes (or drops) its queue.
    fn install(&self, key: &str, fingerprint: u64, outcome: Outcome) {
        let mut event = None;
        {
            let mut guard = self.lock();
            let inbound = &mut *guard;
            let t = inbound.topics.get_mut(key).expect("imported topics stay");
            match outcome {
                Outcome::AlreadyReady => {}
                Outcome::Ready(publisher, schema) => {
                    t.stats.type_name = schema.type_name();
                    t.stats.fingerprint = fingerprint;
                    t.stats.state = "republishing";
                    t.state = Some(State::Ready { publisher, fingerprint });
                    event = Some(Event::Importing {
                        topic: t.name.clone(),
                        type_name: schema.type_name(),
                        fingerprint,
                    });
                }
                Outcome::Refused(kind, e) => {
                    let again = matches!(
                        &t.state,
                        Some(State::Refused { fingerprint: fp, kind: k, .. })
                            if *fp == fingerprint && *k == kind
                    );
                    t.stats.state = match kind {
                        Refusal::TypeConflict => "type conflict",
                        Refusal::PublisherConflict => "publisher conflict",
                        Refusal::NoSchema => "no schema",
                    };
                    t.state = Some(State::Refused {
                        fingerprint,
                        recheck: Instant::now() + RECHECK,
                        kind,
                    });
                    if !again {
                        event = Some(e);
                    }
                }
            }
            // Publish (or drop) the queue in order, up to a message of another type.
            while t.queue.front().is_some_and(|q| q.fingerprint == fingerprint) {
                let q = t.queue.pop_front().expect("a front");
                match &mut t.state {
                    Some(State::Ready { publisher, .. }) => {
                        match publisher.publish_bytes(&q.payload) {
                            Ok(()) => t.stats.republished += 1,
                            Err(_) => t.stats.dropped_invalid += 1,
                        }
                    }
                    Some(State::Refused { kind, .. }) => count_refused(&mut t.stats, *kind, 1),
                    _ => {}
                }
            }
            if !t.queue.is_empty() {
                list(inbound, key);
            }
        }
        if let Some(e) = event {
            (self.shared.events)(&e);
        }
    }
}

/// What setting a topic up came to.
enum Outcome {
    AlreadyReady,
    Ready(Box<RawPublisher>, Schema),
    Refused(Refusal, Event),
}

/// Whether a live local process other than this one publishes `name`: the refusal it causes.
fn local_conflict(name: &str, remote: &Schema) -> Option<Outcome> {
    let info = eshm::inspect::info(SegmentKind::Topic, name).ok()?;
    if !info.owner_alive
        || info.owner_pid == std::process::id()
        || info.state != eshm::inspect::SegmentState::Live
    {
        return None;
    }
    let topic = name.to_owned();
    if info.fingerprint == remote.fingerprint() {
        let e = Event::PublisherConflict { topic, pid: info.owner_pid };
        return Some(Outcome::Refused(Refusal::PublisherConflict, e));
    }
    let local_type = info.schema.as_ref().map_or_else(|| "?".to_owned(), Schema::type_name);
    let difference = info
        .schema
        .as_ref()
        .and_then(|local| local.first_difference(remote))
        .unwrap_or_else(|| "their layouts differ".to_owned());
    let e = Event::TypeConflict {
        topic,
        local_type,
        local_fingerprint: info.fingerprint,
        remote_type: remote.type_name(),
        remote_fingerprint: remote.fingerprint(),
        difference,
    };
    Some(Outcome::Refused(Refusal::TypeConflict, e))
}

/// Puts the topic of `key` in the resolver's list (once).
fn list(inbound: &mut Inbound, key: &str) {
    let t = inbound.topics.get_mut(key).expect("the topic exists");
    if !t.listed {
        t.listed = true;
        inbound.work.push_back(key.to_owned());
    }
}

/// Asks the other bridges for the schema of `fingerprint`; checks that it has that
/// fingerprint.
fn fetch_schema(session: &zenoh::Session, fingerprint: u64) -> Result<Schema, String> {
    let replies = session
        .get(key::schema_key(fingerprint))
        .allowed_destination(Locality::Remote)
        .timeout(SCHEMA_TIMEOUT)
        .wait()
        .map_err(|e| format!("the query failed: {e}"))?;
    let mut last = "no bridge answered".to_owned();
    while let Ok(reply) = replies.recv() {
        match reply.result() {
            Ok(sample) => match Schema::decode(&sample.payload().to_bytes()) {
                Ok(s) if s.fingerprint() == fingerprint => return Ok(s),
                Ok(s) => {
                    last = format!(
                        "a bridge answered a schema of fingerprint {:#018x}",
                        s.fingerprint()
                    )
                }
                Err(e) => last = format!("a bridge answered a schema that does not decode: {e}"),
            },
            Err(e) => last = format!("a bridge answered an error: {e:?}"),
        }
    }
    Err(last)
}
