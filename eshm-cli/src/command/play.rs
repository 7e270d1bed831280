//! `eshm play FILE.mcap`: publish a recording's topics again, with their recorded types, at
//! the recorded pace.
//!
//! Each channel's type comes from its `eshm.schema` metadata, decoded and checked against
//! its `eshm.fingerprint` (a mismatch refuses the file), never from the ros2msg text; so
//! typed subscribers in Rust and Python receive the messages as they were published. A
//! message is published when its log time, counted from the recording's first message and
//! divided by `--rate`, has passed since playing began. `--start` and `--end` are seconds
//! from the recording's first message. Channels without eshm metadata (from other tools)
//! are skipped with a warning.
//!
//! Topics stay after `play` exits (closed, as `eshm pub` leaves them), so a subscriber that
//! attaches late still finds the last messages; `eshm clean` removes them.

use super::seconds;
use crate::progress::{self, Tallies, Ticker, say};
use crate::recording::cdr::Cdr;
use crate::recording::file::{Recording, read_error};
use crate::recording::{FINGERPRINT_KEY, MESSAGE_ENCODING, SCHEMA_KEY, channel_schema};
use crate::select::Selection;
use crate::signals::{self, Stop};
use crate::{Exit, Failure, Outcome, PlayArgs, show};
use eshm::pubsub::PublisherOptions;
use eshm::{PublishError, RawPublisher, Schema};
use std::collections::HashMap;
use std::io::Write as _;
use std::time::{Duration, Instant};

/// Longest sleep between looks at the signal flag while waiting for a message's time.
const SLICE: Duration = Duration::from_millis(50);

/// What to do with the messages of one channel.
enum Plan {
    Play { topic: String, schema: Schema, cdr: Cdr, warned: bool },
    Skip,
}

struct Player {
    path: String,
    selection: Selection,
    plans: HashMap<u16, Plan>,
    /// Per topic: the channel whose type its publisher has, and the publisher.
    publishers: HashMap<String, (u16, RawPublisher)>,
    tallies: Tallies,
    types: HashMap<String, Vec<String>>,
    played: u64,
}

impl Player {
    /// Makes the plan for channel `ch` on first sight.
    fn plan(&mut self, ch: &mcap::Channel<'_>) -> Result<(), Failure> {
        if !self.plans.contains_key(&ch.id) {
            let plan = self.make_plan(ch)?;
            self.plans.insert(ch.id, plan);
        }
        Ok(())
    }

    fn make_plan(&mut self, ch: &mcap::Channel<'_>) -> Result<Plan, Failure> {
        if !self.selection.matches(&ch.topic) {
            return Ok(Plan::Skip);
        }
        let topic = show::safe(&format!("{:?}", ch.topic));
        if !ch.metadata.contains_key(SCHEMA_KEY) && !ch.metadata.contains_key(FINGERPRINT_KEY) {
            say!(
                "eshm: not playing channel {} ({topic}): it has no eshm schema (it was not \
                 recorded by eshm)",
                ch.id
            );
            return Ok(Plan::Skip);
        }
        let refuse = |why: String| {
            Failure::new(
                Exit::Corrupt,
                format!("{}: channel {} ({topic}): {why}; refusing to play it", self.path, ch.id),
            )
        };
        if ch.message_encoding != MESSAGE_ENCODING {
            return Err(refuse(format!(
                "its message encoding is {:?}, not {MESSAGE_ENCODING:?}",
                show::safe(&ch.message_encoding)
            )));
        }
        let schema = channel_schema(&ch.metadata).map_err(refuse)?;
        let cdr = Cdr::new(&schema).map_err(|e| refuse(e.to_string()))?;
        eshm::segment::file_name(eshm::segment::SegmentKind::Topic, &ch.topic)
            .map_err(|e| refuse(e.to_string()))?;
        self.tallies.entry(ch.topic.clone()).or_default();
        let types = self.types.entry(ch.topic.clone()).or_default();
        if !types.contains(&schema.type_name()) {
            types.push(schema.type_name());
        }
        Ok(Plan::Play { topic: ch.topic.clone(), schema, cdr, warned: false })
    }

    /// Publishes one message of channel `id`.
    fn publish(&mut self, ch: &mcap::Channel<'_>, data: &[u8]) -> Result<(), Failure> {
        let id = ch.id;
        let path = self.path.clone();
        self.plan(ch)?;
        let Some(Plan::Play { topic, schema, cdr, warned }) = self.plans.get_mut(&id) else {
            return Ok(());
        };
        let skip = |warned: &mut bool, why: String| {
            if !*warned {
                say!(
                    "eshm: {path}: skipping a message of channel {id} ({}): {why} (said once \
                     per channel; the summary counts them)",
                    show::safe(&format!("{topic:?}"))
                );
                *warned = true;
            }
        };
        let bytes = match cdr.decode(data) {
            Ok(bytes) => bytes,
            Err(e) => {
                skip(warned, e.to_string());
                self.tallies.entry(topic.clone()).or_default().lost += 1;
                return Ok(());
            }
        };
        let publisher = match self.publishers.get_mut(topic.as_str()) {
            Some((channel, publisher)) if *channel == id => publisher,
            _ => {
                // First message of the topic, or of another type of it: (re-)create the topic
                // with this channel's type. The old publisher goes first (a topic has one).
                self.publishers.remove(topic.as_str());
                let options = PublisherOptions::default().unlink_on_drop(false);
                let publisher = RawPublisher::create_with(topic, schema, &options)?;
                &mut self.publishers.entry(topic.clone()).insert_entry((id, publisher)).into_mut().1
            }
        };
        match publisher.publish_bytes(&bytes) {
            Ok(()) => {}
            Err(PublishError::InvalidMessage { source, .. }) => {
                skip(warned, source.to_string());
                self.tallies.entry(topic.clone()).or_default().lost += 1;
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        }
        let t = self.tallies.entry(topic.clone()).or_default();
        t.messages += 1;
        t.bytes += bytes.len() as u64;
        self.played += 1;
        Ok(())
    }
}

/// Sleeps until `due`, looking at the stop flag meanwhile; `false` if asked to stop.
fn wait_until(due: Instant, stop: Stop) -> bool {
    loop {
        if stop.requested() {
            return false;
        }
        let now = Instant::now();
        if now >= due {
            return true;
        }
        std::thread::sleep((due - now).min(SLICE));
    }
}

fn ns(d: Option<Duration>) -> Option<u64> {
    d.map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

pub(crate) fn run(a: &PlayArgs) -> Outcome {
    if !(a.rate.is_finite() && a.rate > 0.0) {
        return Err(Failure::usage(format!("--rate: {} is not a positive factor", a.rate)));
    }
    let start = ns(seconds("--start", a.start)?).unwrap_or(0);
    let end = ns(seconds("--end", a.end)?);
    if end.is_some_and(|e| e < start) {
        return Err(Failure::usage("--end comes before --start"));
    }
    let selection = Selection::new(&a.topics)?;
    let rec = Recording::open(&a.file)?;
    rec.check_readable()?;
    let path = show::safe(&a.file.display().to_string());
    let mut player = Player {
        path: path.clone(),
        selection,
        plans: HashMap::new(),
        publishers: HashMap::new(),
        tallies: Tallies::new(),
        types: HashMap::new(),
        played: 0,
    };
    // With a summary, every channel is checked before anything is published.
    let mut t0 = None;
    if let Some(summary) = &rec.summary {
        let mut channels: Vec<_> = summary.channels.values().collect();
        channels.sort_by_key(|c| c.id);
        let topics: Vec<&str> = channels.iter().map(|c| c.topic.as_str()).collect();
        let unmatched = player.selection.unmatched(&topics);
        if !unmatched.is_empty() {
            let mut known = topics.clone();
            known.dedup();
            return Err(Failure::new(
                Exit::NotFound,
                format!(
                    "{path} has no topic matching {}; it has: {}",
                    show::safe(&unmatched.join(" ")),
                    show::safe(&known.join(" "))
                ),
            ));
        }
        for ch in channels {
            player.plan(ch)?;
        }
        t0 = summary.stats.as_ref().filter(|s| s.message_count > 0).map(|s| s.message_start_time);
    }
    if let Some(why) = &rec.unfinished {
        say!("eshm: {path}: {why}: playing the messages it holds up to where it ends");
    }
    let stop = signals::install()
        .map_err(|e| Failure::new(Exit::Failure, format!("cannot handle signals: {e}")))?;
    say!("eshm: playing {path} at --rate {} (Ctrl-C to stop)", a.rate);
    let mut ticker = Ticker::new("playing", "skipped");
    let mut interrupted = false;
    let mut rounds = 0u64;
    'rounds: loop {
        rounds += 1;
        let round_start = Instant::now();
        let played_before = player.played;
        let mut read = 0u64;
        let mut stopped = None;
        for message in rec.messages()? {
            let m = match message {
                Ok(m) => m,
                Err(e) if rec.unfinished.is_some() => {
                    stopped = Some(e.to_string());
                    break;
                }
                Err(e) => return Err(read_error(&a.file, e)),
            };
            read += 1;
            let first = *t0.get_or_insert(m.log_time);
            let offset = m.log_time.saturating_sub(first);
            if offset < start || end.is_some_and(|e| offset > e) {
                continue;
            }
            let due = round_start + Duration::from_secs_f64((offset - start) as f64 / 1e9 / a.rate);
            if !wait_until(due, stop) {
                interrupted = true;
                break 'rounds;
            }
            player.publish(&m.channel, &m.data)?;
            ticker.tick(Instant::now(), &player.tallies);
        }
        if rounds == 1 && rec.unfinished.is_some() {
            let why = stopped.map_or_else(String::new, |e| format!(" ({})", show::safe(&e)));
            say!("eshm: {path}: reading stopped after {read} messages, where the file ends{why}");
        }
        // (A round that played nothing would only spin.)
        if !a.repeat || stop.requested() || player.played == played_before {
            interrupted |= stop.requested();
            break;
        }
    }
    let skipped: u64 = player.tallies.values().map(|t| t.lost).sum();
    let bytes: u64 = player.tallies.values().map(|t| t.bytes).sum();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "played {} messages ({}) on {} topic(s) in {:.1} s at --rate {}{}{}{}",
        player.played,
        progress::mb(bytes),
        player.tallies.len(),
        ticker.start().elapsed().as_secs_f64(),
        a.rate,
        if rounds > 1 { format!(", {rounds} rounds") } else { String::new() },
        if skipped > 0 { format!(", {skipped} skipped") } else { String::new() },
        if interrupted { "; interrupted" } else { "" },
    )?;
    let rows: Vec<_> = player
        .tallies
        .iter()
        .map(|(topic, t)| {
            let ty = player.types.get(topic).map_or_else(|| "-".to_owned(), |v| v.join(", "));
            (topic.clone(), ty, *t)
        })
        .collect();
    if !rows.is_empty() {
        write!(out, "{}", progress::table(&rows, "skipped"))?;
    }
    Ok(())
}
