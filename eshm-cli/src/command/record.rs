//! `eshm record -o FILE.mcap [TOPIC|PATTERN]...`: topics to an MCAP file, whatever their
//! types (each segment carries its schema).
//!
//! One thread polls a subscriber per topic and writes what arrives; when nothing does, it
//! waits a little on the topic that was last busy. The log time of a message is when the
//! recorder received it (`CLOCK_REALTIME`); eshm's ring carries no publish time, so the
//! publish time is the log time too (a stamp field in the message, such as
//! `eshm::msg::Imu::stamp_ns`, stays a field: its clock is its publisher's choice).
//!
//! Topics are found by looking at the segment directory every 50 ms (and listing the topics
//! when its names change, and every 2 s): a topic that appears while recording is picked up
//! with every message its ring still holds. A publisher that restarts continues in its
//! topic's channel (the subscriber follows it by itself); a topic re-created with another
//! message type continues in a new channel of the same name.
//!
//! Losses are counted per topic: messages overwritten in a ring before the recorder read
//! them, and, for a topic found while recording, those its ring no longer held when it was
//! found (a lower bound). They go to the summary, the progress line and the file's `eshm.lost`
//! metadata record.

use super::seconds;
use crate::progress::{self, Tallies, Ticker, say};
use crate::recording::cdr::HEADER;
use crate::recording::writer::{ChannelRef, Writer};
use crate::select::Selection;
use crate::{Exit, Failure, Outcome, RecordArgs, show, signals};
use eshm::inspect::{self, SegmentInfo};
use eshm::pubsub::SubscriberOptions;
use eshm::segment::SegmentKind;
use eshm::{RawSubscriber, RecvError};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::OsString;
use std::io::Write as _;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How often the segment directory's names are compared with the last look.
const LOOK: Duration = Duration::from_millis(50);
/// How often topics are listed even when the names did not change.
const FULL_LOOK: Duration = Duration::from_secs(2);
/// How often a chunk is closed and handed to the operating system.
const FLUSH: Duration = Duration::from_secs(1);
/// Longest wait for a message when none is there (then the loop looks at the clock, the
/// signal flag and the directory again).
const IDLE_WAIT: Duration = Duration::from_millis(2);
/// Messages taken from one topic before the next topic's turn.
const BATCH: u32 = 4096;

/// Nanoseconds since the Unix epoch.
fn unix_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

/// One topic being recorded, through a subscriber that accepts one message type.
struct Tap {
    topic: String,
    sub: RawSubscriber,
    channel: ChannelRef,
    size: usize,
    /// The payload being received: the CDR header, then the message.
    payload: Vec<u8>,
    /// For slice topics, whose CDR body is not their bytes: room for the longest message,
    /// received here, then transcoded into `payload`.
    message: Option<Vec<u8>>,
    /// Messages recorded through this subscriber.
    received: u64,
    /// The last trouble reported (attach errors repeat on every receive).
    trouble: Option<String>,
}

enum Polled {
    /// A message of this many bytes was recorded.
    Message(usize),
    Empty,
    /// Nothing, because of trouble with the topic's segment (reported once).
    Trouble,
    /// The topic was re-created with another type: this subscriber is done.
    Retired,
}

impl Tap {
    fn poll(&mut self, writer: &mut Writer) -> Result<Polled, Failure> {
        let got = match &mut self.message {
            // Received straight behind the CDR header: the message is its own body.
            None => self
                .sub
                .try_recv_into(&mut self.payload[HEADER.len()..])
                .map(|got| got.then_some(self.size)),
            Some(message) => self.sub.try_recv_slice_into(message).inspect(|got| {
                if let Some(len) = *got {
                    writer.cdr(self.channel).encode(&message[..len], &mut self.payload);
                }
            }),
        };
        match got {
            Ok(Some(len)) => {
                self.received += 1;
                // The eshm sequence number within this subscription: gaps are losses.
                let sequence = (self.received + self.sub.lost()) as u32;
                writer.write(self.channel, sequence, unix_ns(), &self.payload)?;
                Ok(Polled::Message(len))
            }
            Ok(None) => Ok(Polled::Empty),
            Err(RecvError::Attach(e)) if matches!(*e, eshm::Error::TypeMismatch { .. }) => {
                say!(
                    "eshm: {} was re-created with another type: {}; recording it in a new channel",
                    show::safe(&format!("{:?}", self.topic)),
                    show::safe(&e.to_string())
                );
                Ok(Polled::Retired)
            }
            // A longer message than this type allows: the topic was re-created with a larger
            // maximum (a slice topic; of another type, attaching would have failed).
            Err(RecvError::WrongSize { .. }) => {
                say!(
                    "eshm: {} was re-created with longer messages; recording it in a new channel",
                    show::safe(&format!("{:?}", self.topic))
                );
                Ok(Polled::Retired)
            }
            Err(e) => {
                let text = e.to_string();
                if self.trouble.as_deref() != Some(text.as_str()) {
                    say!("eshm: {}; waiting for the topic's next publisher", show::safe(&text));
                    self.trouble = Some(text);
                }
                Ok(Polled::Trouble)
            }
        }
    }
}

struct Recorder {
    selection: Selection,
    writer: Writer,
    taps: Vec<Tap>,
    tallies: Tallies,
    /// Per topic: lost by retired subscribers, and missed before a topic was found.
    lost_done: HashMap<String, u64>,
    /// Topic types (name, fingerprint) not recorded, already reported.
    refused: HashSet<(String, u64)>,
    /// The segment directory's names at the last look.
    names: Vec<OsString>,
    last_full_look: Instant,
    next_look: Instant,
    /// Whether the first look (topics present at the start) is done.
    started: bool,
    recorded: u64,
    /// Which tap to wait on when nothing arrives.
    last_active: usize,
    /// Whether a topic was in trouble in the last pass (its next receive would fail at once,
    /// so waiting for it would spin).
    troubled: bool,
    list_trouble: Option<String>,
}

impl Recorder {
    /// Looks for new topics if it is time to (or `force`).
    fn look(&mut self, now: Instant, force: bool) -> Result<(), Failure> {
        if !force && now < self.next_look {
            return Ok(());
        }
        self.next_look = now + LOOK;
        let mut names: Vec<OsString> = std::fs::read_dir(eshm::segment::shm_dir())
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.file_name())).collect())
            .unwrap_or_default();
        names.sort_unstable();
        if !force && names == self.names && now - self.last_full_look < FULL_LOOK {
            return Ok(());
        }
        self.names = names;
        self.last_full_look = now;
        let infos = match inspect::list() {
            Ok(infos) => infos,
            Err(e) => {
                let text = e.to_string();
                if self.list_trouble.as_deref() != Some(text.as_str()) {
                    say!("eshm: cannot list topics: {}", show::safe(&text));
                    self.list_trouble = Some(text);
                }
                return Ok(());
            }
        };
        for info in infos {
            if info.kind == SegmentKind::Topic
                && info.problem.is_none()
                && self.selection.matches(&info.name)
                && !self.taps.iter().any(|t| t.topic == info.name)
            {
                self.open(&info)?;
            }
        }
        self.started = true;
        Ok(())
    }

    /// Starts recording topic `info`.
    fn open(&mut self, info: &SegmentInfo) -> Result<(), Failure> {
        let Some(schema) = &info.schema else { return Ok(()) };
        let key = (info.name.clone(), schema.fingerprint());
        if self.refused.contains(&key) {
            return Ok(());
        }
        let quoted = show::safe(&format!("{:?}", info.name));
        let channel = match self.writer.channel(&info.name, schema) {
            Ok(c) => c,
            Err(Ok(unsupported)) => {
                say!("eshm: not recording {quoted}: {unsupported}");
                self.refused.insert(key);
                return Ok(());
            }
            Err(Err(failure)) => return Err(failure),
        };
        // Topics there at the start: from now on. Topics found later: everything their ring
        // still holds (they appeared while recording).
        let history = if self.started { u64::MAX } else { 0 };
        let sub = match RawSubscriber::open(
            &info.name,
            Some(schema),
            SubscriberOptions::default().history(history),
        ) {
            Ok(sub) => sub,
            // Re-created with another type since the listing: the next look finds it.
            Err(eshm::Error::TypeMismatch { .. } | eshm::Error::NotFound { .. }) => return Ok(()),
            Err(e) => {
                say!("eshm: not recording {quoted}: {}", show::safe(&e.to_string()));
                self.refused.insert(key);
                return Ok(());
            }
        };
        if self.started {
            let missed = info.published.saturating_sub(info.capacity as u64);
            *self.lost_done.entry(info.name.clone()).or_default() += missed;
        }
        let cdr = self.writer.cdr(channel);
        let size = schema.size();
        let mut payload = HEADER.to_vec();
        payload.resize(HEADER.len() + size, 0);
        let message = (!cdr.is_identity()).then(|| vec![0u8; size]);
        self.tallies.entry(info.name.clone()).or_default();
        if self.started {
            let (_, ty) = self.writer.describe(channel);
            say!("eshm: recording {quoted} ({})", show::safe(ty));
        }
        self.taps.push(Tap {
            topic: info.name.clone(),
            sub,
            channel,
            size,
            payload,
            message,
            received: 0,
            trouble: None,
        });
        Ok(())
    }

    /// Takes what has arrived on every topic, up to `limit` messages in all. Returns how many.
    fn drain(&mut self, limit: u64) -> Result<u64, Failure> {
        let mut got = 0u64;
        self.troubled = false;
        let mut i = 0;
        while i < self.taps.len() {
            let tap = &mut self.taps[i];
            let mut n = 0u32;
            let mut bytes = 0u64;
            let mut retired = false;
            while n < BATCH && got < limit {
                match tap.poll(&mut self.writer)? {
                    Polled::Message(len) => {
                        n += 1;
                        got += 1;
                        bytes += len as u64;
                    }
                    Polled::Empty => break,
                    Polled::Trouble => {
                        self.troubled = true;
                        break;
                    }
                    Polled::Retired => {
                        retired = true;
                        break;
                    }
                }
            }
            if n > 0 {
                let t = self.tallies.entry(tap.topic.clone()).or_default();
                t.messages += u64::from(n);
                t.bytes += bytes;
                self.last_active = i;
            }
            if retired {
                let tap = self.taps.swap_remove(i);
                *self.lost_done.entry(tap.topic).or_default() += tap.sub.lost();
                // Find the topic's new type now rather than at the next look.
                self.next_look = Instant::now();
                self.names.clear();
                continue;
            }
            i += 1;
        }
        self.recorded += got;
        Ok(got)
    }

    /// Brings the loss counts of the tallies up to date.
    fn count_losses(&mut self) {
        for (topic, t) in &mut self.tallies {
            let current: u64 =
                self.taps.iter().filter(|x| &x.topic == topic).map(|x| x.sub.lost()).sum();
            t.lost = self.lost_done.get(topic).copied().unwrap_or(0) + current;
        }
    }

    /// Waits a little for a message (on the topic last busy), or sleeps if there is none.
    fn idle(&mut self, until: Instant) {
        let deadline = (Instant::now() + IDLE_WAIT).min(until);
        match self.taps.get_mut(self.last_active) {
            Some(tap) if !self.troubled => {
                if !matches!(tap.sub.wait_unread(Some(deadline)), Ok(()) | Err(RecvError::Timeout))
                {
                    std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
                }
            }
            _ => std::thread::sleep(deadline.saturating_duration_since(Instant::now())),
        }
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

pub(crate) fn run(a: &RecordArgs) -> Outcome {
    let duration = seconds("--duration", a.duration)?;
    let selection = Selection::new(&a.topics)?;
    let stop = signals::install()
        .map_err(|e| Failure::new(Exit::Failure, format!("cannot handle signals: {e}")))?;
    let writer = Writer::create(&a.output, a.overwrite)?;
    let start_ns = unix_ns();
    let now = Instant::now();
    let mut rec = Recorder {
        selection,
        writer,
        taps: Vec::new(),
        tallies: Tallies::new(),
        lost_done: HashMap::new(),
        refused: HashSet::new(),
        names: Vec::new(),
        last_full_look: now,
        next_look: now,
        started: false,
        recorded: 0,
        last_active: 0,
        troubled: false,
        list_trouble: None,
    };
    rec.look(now, true)?;
    let path = show::safe(&a.output.display().to_string());
    let what = if rec.selection.is_all() {
        "every topic".to_owned()
    } else {
        show::safe(&rec.selection.arguments().join(" "))
    };
    say!(
        "eshm: recording {what} to {path}: {} topic(s) now, more as they appear (Ctrl-C to stop)",
        rec.taps.len()
    );
    let mut ticker = Ticker::new("recording", "lost");
    let end = duration.map(|d| ticker.start() + d);
    let mut next_flush = ticker.start() + FLUSH;
    let stopped_by = loop {
        let now = Instant::now();
        if stop.requested() {
            break "signal";
        }
        if end.is_some_and(|e| now >= e) {
            break "duration";
        }
        let left = a.count.map_or(u64::MAX, |c| c.saturating_sub(rec.recorded));
        if left == 0 {
            break "count";
        }
        rec.look(now, false)?;
        let got = rec.drain(left)?;
        if now >= next_flush {
            rec.writer.flush()?;
            while next_flush <= now {
                next_flush += FLUSH;
            }
        }
        rec.count_losses();
        ticker.tick(now, &rec.tallies);
        if got == 0 {
            rec.idle(end.unwrap_or(now + IDLE_WAIT));
        }
    };
    if stopped_by != "count" {
        // What was published before the stop is recorded too (one more pass over the rings).
        let left = a.count.map_or(u64::MAX, |c| c.saturating_sub(rec.recorded));
        rec.drain(left)?;
    }
    rec.count_losses();
    let elapsed = ticker.start().elapsed();
    let end_ns = unix_ns();
    let lost_total: u64 = rec.tallies.values().map(|t| t.lost).sum();
    let bytes_total: u64 = rec.tallies.values().map(|t| t.bytes).sum();
    let topics_json = serde_json::to_string(&rec.selection.arguments()).expect("strings print");
    let recording = BTreeMap::from([
        ("eshm_version".to_owned(), env!("CARGO_PKG_VERSION").to_owned()),
        ("hostname".to_owned(), hostname()),
        ("topics".to_owned(), topics_json),
        ("start_unix_ns".to_owned(), start_ns.to_string()),
        ("end_unix_ns".to_owned(), end_ns.to_string()),
        ("stopped_by".to_owned(), stopped_by.to_owned()),
        ("messages".to_owned(), rec.recorded.to_string()),
        ("lost".to_owned(), lost_total.to_string()),
    ]);
    let lost = rec.tallies.iter().map(|(topic, t)| (topic.clone(), t.lost.to_string())).collect();
    let types = rec.writer.types();
    rec.writer.finish(recording, lost)?;
    let size = std::fs::metadata(&a.output).map_or(0, |m| m.len());
    let how = match stopped_by {
        "signal" => "interrupted",
        "duration" => "--duration reached",
        _ => "--count reached",
    };
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "recorded {} messages ({}) from {} topic(s) in {:.1} s to {path} ({}), {lost_total} lost; {how}",
        rec.recorded,
        progress::mb(bytes_total),
        rec.tallies.len(),
        elapsed.as_secs_f64(),
        show::bytes(size),
    )?;
    let rows: Vec<_> = rec
        .tallies
        .iter()
        .map(|(topic, t)| {
            (topic.clone(), types.get(topic).cloned().unwrap_or_else(|| "-".into()), *t)
        })
        .collect();
    if !rows.is_empty() {
        write!(out, "{}", progress::table(&rows, "lost"))?;
    }
    Ok(())
}
