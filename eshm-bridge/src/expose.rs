//! The exposing side: local topics that the selection matches, received from their rings and
//! put on their keys, with the attachment of `wire`.
//!
//! One thread does it all. It looks at the segment directory every 100 ms (a directory
//! listing, no mapping) and opens a subscriber for each new selected topic, which then follows
//! the topic's publishers as they come and go; between looks it takes what every subscriber
//! has (up to 1024 messages per topic in a row; those found waiting together go as batches of
//! up to 64 KiB, see `wire`), then sleeps on all their wake-ups at once
//! (`eshm::wait::wait_any`) until a publisher commits, the next look, or the bridge stops; or,
//! with `Config::busy_poll`, looks again at once.
//!
//! Loop avoidance, on this side: a topic that a live bridge publishes here (this one, which
//! imported it, or another one on the same host, known by its status file) is never exposed:
//! it came from the network, and sending it back would echo it. The topics this bridge imports
//! are checked on every look, the owners of the others every second.

use crate::event::Event;
use crate::select::Selection;
use crate::status::{self, Exposed};
use crate::wire::{self, Header};
use crate::{Shared, key};
use eshm::inspect;
use eshm::pubsub::SubscriberOptions;
use eshm::segment::SegmentKind;
use eshm::wait::{MAX_WAKEUP_WAIT, POLL_INTERVAL, Wakeup, wait_any};
use eshm::{RawSubscriber, RecvError};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use zenoh::Wait as _;
use zenoh::qos::CongestionControl;
use zenoh::sample::Locality;

/// How often the segment directory is listed.
const LOOK: Duration = Duration::from_millis(100);
/// How often the owners of exposed and skipped topics are checked.
const FULL_LOOK: Duration = Duration::from_secs(1);
/// Messages taken from one topic before the next topic's turn.
const BATCH: u32 = 1024;
/// Bytes of messages from which those received are put (as one batch, if several).
const BATCH_BYTES: usize = 64 * 1024;
/// How long a topic whose receive failed is left alone.
const RETRY: Duration = Duration::from_millis(100);
/// Wake-ups registered at once (`wait_any` takes at most 127); topics beyond are polled.
const MAX_REGISTERED: usize = 126;

/// One exposed topic.
struct Outbound {
    sub: RawSubscriber,
    publisher: zenoh::pubsub::Publisher<'static>,
    /// The fingerprint of the type last sent (0 before the first).
    fingerprint: u64,
    /// The number of the last message put (the topic's stream; kept in `Exposer::seqs` while
    /// the topic is not exposed, so that it goes on when its subscriber is re-created).
    seq: u64,
    stats: Exposed,
    /// After a failed receive: not before then.
    retry_at: Option<Instant>,
    /// The last trouble reported (not to repeat it).
    trouble: Option<String>,
    /// [`Shared::imported_count`] when this topic was last checked against the imported ones.
    seen_imported: usize,
    /// This bridge now imports the topic: nothing more is sent (the next look drops it).
    imported_here: bool,
}

pub(crate) struct Exposer {
    shared: Arc<Shared>,
    session: zenoh::Session,
    selection: Selection,
    topics: BTreeMap<String, Outbound>,
    /// Selected topics that are not exposed, and why (each reason reported once).
    not_exposed: HashMap<String, String>,
    /// Per topic not exposed now, the last sequence number put (see `Outbound::seq`).
    seqs: HashMap<String, u64>,
    /// Counters of every topic ever exposed.
    stats: BTreeMap<String, Exposed>,
    last_full_look: Option<Instant>,
    /// When the bridge started (ns since the Unix epoch).
    started_unix_ns: u64,
    /// Poll instead of sleeping (`Config::busy_poll`).
    busy_poll: bool,
}

impl Exposer {
    pub(crate) fn new(
        shared: Arc<Shared>,
        session: zenoh::Session,
        selection: Selection,
        busy_poll: bool,
    ) -> Self {
        Exposer {
            busy_poll,
            shared,
            session,
            selection,
            topics: BTreeMap::new(),
            not_exposed: HashMap::new(),
            seqs: HashMap::new(),
            stats: BTreeMap::new(),
            last_full_look: None,
            started_unix_ns: status::unix_ns(),
        }
    }

    /// Runs until the bridge stops.
    pub(crate) fn run(mut self) {
        let mut next_look = Instant::now();
        while !self.shared.stopping() {
            let now = Instant::now();
            if now >= next_look {
                self.look(now);
                next_look = now + LOOK;
            }
            if !self.forward_some() {
                if self.busy_poll {
                    std::hint::spin_loop();
                } else {
                    self.wait(next_look);
                }
            }
        }
        self.flush_stats();
    }

    /// Forwards what every topic has; whether anything was.
    fn forward_some(&mut self) -> bool {
        let mut any = false;
        let now = Instant::now();
        for (name, out) in &mut self.topics {
            if out.imported_here || out.retry_at.is_some_and(|t| now < t) {
                continue;
            }
            out.retry_at = None;
            let mut pending = Pending::default();
            for _ in 0..BATCH {
                match out.sub.try_recv_bytes() {
                    Ok(Some(bytes)) => {
                        // Checked after the receive: if this bridge's importer made the
                        // segment the message came from, it marked the topic first, and the
                        // receive's acquire of the message makes the mark visible here.
                        let count = self.shared.imported_count();
                        if count != out.seen_imported {
                            out.seen_imported = count;
                            if self.shared.is_imported(name) {
                                out.imported_here = true;
                                break;
                            }
                        }
                        take(&self.shared, name, out, &mut pending, bytes);
                        any = true;
                    }
                    Ok(None) => break,
                    Err(e) => {
                        trouble(&self.shared, name, out, &e);
                        out.retry_at = Some(now + RETRY);
                        break;
                    }
                }
            }
            send(&self.shared, name, out, &mut pending);
        }
        any
    }

    /// Sleeps until a publisher commits on one of the topics, `until`, or the bridge stops.
    fn wait(&mut self, until: Instant) {
        let ticket = self.shared.doorbell.ticket();
        if self.shared.stopping() {
            return;
        }
        let now = Instant::now();
        let mut timeout = until.saturating_duration_since(now).min(MAX_WAKEUP_WAIT);
        let mut wakeups: Vec<Wakeup> = Vec::new();
        for out in self.topics.values_mut() {
            if out.imported_here {
                continue;
            }
            if let Some(t) = out.retry_at {
                timeout = timeout.min(t.saturating_duration_since(now));
                continue;
            }
            if wakeups.len() == MAX_REGISTERED {
                timeout = timeout.min(POLL_INTERVAL);
                break;
            }
            match out.sub.wakeup() {
                Ok(Some(w)) => wakeups.push(w),
                // A message (or news) is there: no sleep. A failure: the receive reports it.
                Ok(None) | Err(_) => return,
            }
        }
        let refs: Vec<&Wakeup> = wakeups.iter().collect();
        wait_any(&refs, &self.shared.doorbell, ticket, timeout);
    }

    /// Looks at the segment directory: opens newly selected topics, drops those gone or now
    /// republished by a bridge.
    fn look(&mut self, now: Instant) {
        self.flush_stats();
        let full = self.last_full_look.is_none_or(|t| now.duration_since(t) >= FULL_LOOK);
        if full {
            self.last_full_look = Some(now);
        }
        let names = topic_names();
        let imported = self.shared.imported_topics();
        let mut bridges: Option<HashSet<u32>> = None;

        let mut stopped = Vec::new();
        for (name, out) in &self.topics {
            let why = if out.imported_here || imported.contains(name) {
                Some(IMPORTED_HERE.to_owned())
            } else if !names.contains(name) && out.sub.schema().is_none() {
                Some("the topic is gone".to_owned())
            } else if full {
                // Another bridge on this host may have taken the topic over (this one's own
                // imports are marked): only then is the topic's owner looked at.
                let bridges = bridges.get_or_insert_with(status::live_bridges);
                let others = bridges.iter().any(|&pid| pid != std::process::id());
                others
                    .then(|| inspect::info(SegmentKind::Topic, name).ok())
                    .flatten()
                    .and_then(|info| republished_by(&info, bridges))
            } else {
                None
            };
            if let Some(why) = why {
                stopped.push((name.clone(), why));
            }
        }
        for (name, why) in stopped {
            if let Some(out) = self.topics.remove(&name) {
                self.stats.insert(name.clone(), out.stats);
                self.seqs.insert(name.clone(), out.seq);
            }
            (self.shared.events)(&Event::ExposeStopped {
                topic: name.clone(),
                reason: why.clone(),
            });
            if why != "the topic is gone" {
                self.not_exposed.insert(name, why);
            }
        }

        for name in names {
            if self.topics.contains_key(&name) || !self.selection.matches(&name) {
                continue;
            }
            let imported_here = imported.contains(&name);
            if !imported_here && self.not_exposed.contains_key(&name) && !full {
                continue; // re-examined every second
            }
            let info =
                if imported_here { None } else { inspect::info(SegmentKind::Topic, &name).ok() };
            let why = if imported_here {
                Some(IMPORTED_HERE.to_owned())
            } else {
                let bridges = bridges.get_or_insert_with(status::live_bridges);
                info.as_ref().and_then(|info| republished_by(info, bridges))
            };
            match why {
                Some(why) => {
                    if self.not_exposed.get(&name) != Some(&why) {
                        let e = Event::NotExposed { topic: name.clone(), reason: why.clone() };
                        (self.shared.events)(&e);
                        self.not_exposed.insert(name, why);
                    }
                }
                None => {
                    self.not_exposed.remove(&name);
                    // A topic that appeared after the bridge started is sent from its first
                    // message (as far as its ring still holds them); an older one from the
                    // next.
                    let new = info.is_some_and(|i| i.created_unix_ns >= self.started_unix_ns);
                    self.open(name, if new { u64::MAX } else { 0 });
                }
            }
        }
    }

    /// Starts exposing topic `name`, with up to `history` messages already in its ring.
    fn open(&mut self, name: String, history: u64) {
        let options = SubscriberOptions::default().history(history);
        let sub = match RawSubscriber::open(&name, None, options) {
            Ok(sub) => sub,
            Err(e) => {
                let why = format!("it cannot be subscribed to: {e}");
                if self.not_exposed.get(&name) != Some(&why) {
                    let e = Event::NotExposed { topic: name.clone(), reason: why.clone() };
                    (self.shared.events)(&e);
                    self.not_exposed.insert(name, why);
                }
                return;
            }
        };
        let publisher = match self
            .session
            .declare_publisher(key::key(&name))
            .congestion_control(CongestionControl::Block)
            .allowed_destination(Locality::Remote)
            .wait()
        {
            Ok(p) => p,
            Err(e) => {
                let what = format!("zenoh cannot declare its publisher: {e}");
                (self.shared.events)(&Event::Trouble { topic: name, what });
                return;
            }
        };
        let stats = self.stats.remove(&name).unwrap_or_default();
        let mut out = Outbound {
            sub,
            publisher,
            fingerprint: 0,
            seq: self.seqs.remove(&name).unwrap_or(0),
            stats,
            retry_at: None,
            trouble: None,
            seen_imported: 0,
            imported_here: false,
        };
        if let Some(schema) = out.sub.schema() {
            let schema = schema.clone();
            announce(&self.shared, &name, &mut out, &schema);
        }
        self.topics.insert(name, out);
    }

    /// Copies the counters where the status file is written from.
    fn flush_stats(&mut self) {
        let mut shared = self.shared.exposed.lock().expect("exposed counters");
        for (name, stats) in &self.stats {
            shared.insert(name.clone(), stats.clone());
        }
        for (name, out) in &mut self.topics {
            out.stats.lost_at_source = out.sub.lost();
            shared.insert(name.clone(), out.stats.clone());
        }
    }
}

const IMPORTED_HERE: &str =
    "this bridge imports it from the network (sending it back would echo it)";

/// Why a topic is not exposed, if a live bridge (this one, or one of `bridges`) publishes it.
fn republished_by(info: &inspect::SegmentInfo, bridges: &HashSet<u32>) -> Option<String> {
    let owner = info.owner_pid;
    (info.owner_alive && (owner == std::process::id() || bridges.contains(&owner))).then(|| {
        format!(
            "bridge process {owner} republishes it from the network (sending it back would echo it)"
        )
    })
}

/// The names of the topics in the segment directory.
fn topic_names() -> BTreeSet<String> {
    let Ok(entries) = std::fs::read_dir(eshm::segment::shm_dir()) else { return BTreeSet::new() };
    entries
        .flatten()
        .filter_map(|e| {
            let file = e.file_name();
            match eshm::segment::parse_file_name(file.to_str()?)? {
                (SegmentKind::Topic, name) => Some(name),
                _ => None,
            }
        })
        .collect()
}

/// Makes the type of `schema` known (answered to schema queries) and reports the topic.
fn announce(shared: &Shared, name: &str, out: &mut Outbound, schema: &eshm::Schema) {
    let fingerprint = schema.fingerprint();
    shared.schemas.lock().expect("schemas").insert(fingerprint, schema.encode());
    out.fingerprint = fingerprint;
    out.stats.type_name = schema.type_name();
    out.stats.fingerprint = fingerprint;
    let type_name = out.stats.type_name.clone();
    (shared.events)(&Event::Exposing { topic: name.to_owned(), type_name, fingerprint });
}

/// Messages of one topic received and not put yet, all of one type (see `wire`: several go
/// as one batch).
#[derive(Default)]
struct Pending {
    messages: Vec<Vec<u8>>,
    /// Their bytes.
    bytes: usize,
    /// When the first was received (ns since the Unix epoch).
    stamp_unix_ns: u64,
}

/// Adds a message just received to `pending`, after putting what `pending` holds if the
/// message's type is another one, or if it is full.
fn take(shared: &Shared, name: &str, out: &mut Outbound, pending: &mut Pending, bytes: Vec<u8>) {
    // Just received: attached, and to the segment the message came from (whose fingerprint
    // the subscriber computed once, when it attached).
    let Some(fingerprint) = out.sub.fingerprint() else { return };
    if fingerprint != out.fingerprint {
        let schema = out.sub.schema().expect("attached").clone();
        send(shared, name, out, pending); // the previous type's messages first
        announce(shared, name, out, &schema);
    }
    if pending.messages.is_empty() {
        pending.stamp_unix_ns = status::unix_ns();
    }
    pending.bytes += bytes.len();
    pending.messages.push(bytes);
    if pending.bytes >= BATCH_BYTES {
        send(shared, name, out, pending);
    }
}

/// Puts the pending messages on the topic's key: one alone (a version-1 attachment), several
/// as a batch (version 2).
fn send(shared: &Shared, name: &str, out: &mut Outbound, pending: &mut Pending) {
    let count = pending.messages.len();
    if count == 0 {
        return;
    }
    let header = Header {
        fingerprint: out.fingerprint,
        seq: out.seq + 1,
        stamp_unix_ns: pending.stamp_unix_ns,
        lost_at_source: out.sub.lost(),
        origin: shared.id,
    };
    out.seq += count as u64;
    let put = if count == 1 {
        let message = pending.messages.pop().expect("one message");
        out.publisher.put(message).attachment(header.encode()).wait()
    } else {
        let mut payload = Vec::with_capacity(pending.bytes + 4 * count);
        for message in pending.messages.drain(..) {
            wire::push_record(&mut payload, &message);
        }
        let count = u32::try_from(count).expect("at most BATCH messages");
        out.publisher.put(payload).attachment(header.encode_batch(count)).wait()
    };
    pending.bytes = 0;
    match put {
        Ok(()) => {
            out.stats.sent += count as u64;
            out.stats.puts += 1;
            out.trouble = None;
        }
        Err(e) => {
            let what = format!("zenoh put failed: {e}");
            if out.trouble.as_deref() != Some(&what) {
                (shared.events)(&Event::Trouble { topic: name.to_owned(), what: what.clone() });
                out.trouble = Some(what);
            }
        }
    }
}

/// Reports a failed receive once.
fn trouble(shared: &Shared, name: &str, out: &mut Outbound, e: &RecvError) {
    let what = format!("receive failed: {e}");
    if out.trouble.as_deref() != Some(&what) {
        (shared.events)(&Event::Trouble { topic: name.to_owned(), what: what.clone() });
        out.trouble = Some(what);
    }
}
