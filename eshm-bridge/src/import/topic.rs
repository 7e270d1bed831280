//! One imported topic's state, as the importer keeps it: where its publisher stands, the
//! messages waiting for it, its streams' numbering (losses and repeats), and what becomes of
//! a message from the network (republished, queued, or refused and counted).

use crate::event::Event;
use crate::status::Imported;
use crate::wire::{Header, id_text};
use eshm::{PublishError, RawPublisher};
use std::collections::{HashMap, VecDeque};
use std::time::Instant;

/// Messages of one topic kept while its publisher is being set up (the oldest are dropped
/// beyond, and counted as without schema).
const MAX_QUEUED: usize = 1024;

/// A message waiting for its topic's publisher.
pub(super) struct Queued {
    pub(super) fingerprint: u64,
    pub(super) payload: Vec<u8>,
}

/// Where one imported topic stands.
pub(super) enum State {
    /// No publisher yet: the resolver sets one up.
    Waiting,
    Ready {
        publisher: Box<RawPublisher>,
        fingerprint: u64,
    },
    /// Messages of `fingerprint` are dropped until `recheck`.
    Refused {
        fingerprint: u64,
        recheck: Instant,
        kind: Refusal,
    },
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    TypeConflict,
    PublisherConflict,
    NoSchema,
}

#[derive(Default)]
pub(super) struct Topic {
    /// The topic's name (the map holds topics by the key they arrive on).
    pub(super) name: String,
    pub(super) state: Option<State>,
    pub(super) queue: VecDeque<Queued>,
    /// Whether the topic is in the resolver's list.
    pub(super) listed: bool,
    /// Per origin bridge: the last sequence number and the origin's `lost_at_source`.
    pub(super) streams: HashMap<[u8; 16], (u64, u64)>,
    pub(super) stats: Imported,
    /// The last trouble reported: a message refused again for the same reason is only
    /// counted.
    pub(super) trouble: Option<String>,
}

impl Topic {
    /// The event reporting `what`, unless it was the last one reported.
    pub(super) fn trouble(&mut self, what: String) -> Option<Event> {
        if self.trouble.as_deref() == Some(&what) {
            return None;
        }
        self.trouble = Some(what.clone());
        Some(Event::Trouble { topic: self.name.clone(), what })
    }
}

/// Counts the `count` messages of `header` (numbered from its `seq`) in their stream: network
/// losses, duplicates. How many of them, from the first, are not to go on (duplicates: all of
/// them, or those up to the last number seen).
pub(super) fn account(t: &mut Topic, header: &Header, count: u64) -> u64 {
    let (last, lost_at_source) = t.streams.entry(header.origin).or_insert_with(|| {
        t.stats.origins.push(id_text(&header.origin));
        (0, 0)
    });
    // Messages `seq ..= seq + count - 1`; those up to `last` came already (or are older).
    let skip =
        if *last != 0 && header.seq <= *last { (*last - header.seq + 1).min(count) } else { 0 };
    t.stats.duplicates += skip;
    if skip == count {
        return count;
    }
    if *last != 0 && skip == 0 {
        t.stats.lost_network += header.seq - *last - 1;
    }
    *last = header.seq + count - 1;
    *lost_at_source = header.lost_at_source;
    t.stats.lost_at_source = t.streams.values().map(|(_, l)| l).sum();
    skip
}

/// One new message of topic `t` (of type `fingerprint`): republished, queued until the
/// topic's publisher is set up (`true`: the topic must be listed for the resolver), or
/// counted as refused; and the trouble to report, if any.
pub(super) fn deliver(t: &mut Topic, fingerprint: u64, payload: &[u8]) -> (Option<Event>, bool) {
    match &mut t.state {
        Some(State::Ready { publisher, fingerprint: fp })
            if *fp == fingerprint && t.queue.is_empty() =>
        {
            match publisher.publish_bytes(payload) {
                Ok(()) => {
                    t.stats.republished += 1;
                    t.trouble = None;
                    (None, false)
                }
                Err(e) => {
                    let lost_publisher = !matches!(
                        e,
                        PublishError::WrongSize { .. }
                            | PublishError::InvalidMessage { .. }
                            | PublishError::MessageTooLarge { .. }
                    );
                    let what = format!("a message from the network was not republished: {e}");
                    let event = t.trouble(what);
                    if lost_publisher {
                        // Taken over, or its file truncated: set up a new one, this message
                        // first.
                        t.state = Some(State::Waiting);
                        enqueue(t, fingerprint, payload.to_vec());
                        (event, true)
                    } else {
                        t.stats.dropped_invalid += 1;
                        (event, false)
                    }
                }
            }
        }
        Some(State::Refused { fingerprint: fp, recheck, kind })
            if *fp == fingerprint && Instant::now() < *recheck =>
        {
            count_refused(&mut t.stats, *kind, 1);
            (None, false)
        }
        _ => {
            enqueue(t, fingerprint, payload.to_vec());
            (None, true)
        }
    }
}

pub(super) fn enqueue(t: &mut Topic, fingerprint: u64, payload: Vec<u8>) {
    if t.queue.len() == MAX_QUEUED {
        t.queue.pop_front();
        t.stats.dropped_no_schema += 1;
    }
    t.queue.push_back(Queued { fingerprint, payload });
    if t.state.is_none() {
        t.state = Some(State::Waiting);
        t.stats.state = "waiting";
    }
}

pub(super) fn count_refused(stats: &mut Imported, kind: Refusal, n: u64) {
    match kind {
        Refusal::TypeConflict => stats.dropped_type_conflict += n,
        Refusal::PublisherConflict => stats.dropped_publisher_conflict += n,
        Refusal::NoSchema => stats.dropped_no_schema += n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(origin: u8, seq: u64, lost_at_source: u64) -> Header {
        Header { fingerprint: 7, seq, stamp_unix_ns: 0, lost_at_source, origin: [origin; 16] }
    }

    #[test]
    fn import_account_counts_gaps_per_stream_and_refuses_repeats() {
        let mut t = Topic::default();
        // A stream may start anywhere (a bridge restarted on either side): no loss.
        assert_eq!(account(&mut t, &header(1, 41, 0), 1), 0);
        assert_eq!(account(&mut t, &header(1, 42, 0), 1), 0);
        assert_eq!(t.stats.lost_network, 0);
        // 43 and 44 went missing.
        assert_eq!(account(&mut t, &header(1, 45, 2), 1), 0);
        assert_eq!((t.stats.lost_network, t.stats.lost_at_source), (2, 2));
        // A repeat, or an older message, is not republished.
        assert_eq!(account(&mut t, &header(1, 45, 2), 1), 1);
        assert_eq!(account(&mut t, &header(1, 3, 2), 1), 1);
        assert_eq!(t.stats.duplicates, 2);
        // A second origin is a stream of its own; source losses add up over origins.
        assert_eq!(account(&mut t, &header(2, 1, 5), 1), 0);
        assert_eq!(account(&mut t, &header(2, 3, 6), 1), 0);
        assert_eq!(account(&mut t, &header(1, 46, 2), 1), 0);
        assert_eq!((t.stats.lost_network, t.stats.lost_at_source), (3, 8));
        assert_eq!(t.stats.origins.len(), 2);
    }

    #[test]
    fn import_account_takes_batches_whole_with_their_gaps_and_repeats() {
        let mut t = Topic::default();
        assert_eq!(account(&mut t, &header(1, 10, 0), 5), 0, "10 to 14");
        assert_eq!(account(&mut t, &header(1, 15, 0), 3), 0, "15 to 17: no gap");
        assert_eq!(t.stats.lost_network, 0);
        assert_eq!(account(&mut t, &header(1, 20, 0), 2), 0, "20, 21: 18 and 19 lost");
        assert_eq!(t.stats.lost_network, 2);
        assert_eq!(account(&mut t, &header(1, 20, 0), 4), 2, "20 and 21 again, then 22 and 23");
        assert_eq!(account(&mut t, &header(1, 5, 0), 3), 3, "all older");
        assert_eq!((t.stats.duplicates, t.stats.lost_network), (5, 2));
        assert_eq!(account(&mut t, &header(1, 24, 0), 1), 0, "the stream goes on from 23");
        assert_eq!(t.stats.lost_network, 2);
    }

    #[test]
    fn import_enqueue_keeps_the_newest_and_counts_the_dropped() {
        let mut t = Topic::default();
        for i in 0..MAX_QUEUED + 3 {
            enqueue(&mut t, 7, vec![i as u8]);
        }
        assert_eq!(t.queue.len(), MAX_QUEUED);
        assert_eq!(t.queue.front().map(|q| q.payload[0]), Some(3));
        assert_eq!(t.stats.dropped_no_schema, 3);
        assert_eq!(t.stats.state, "waiting");
    }
}
