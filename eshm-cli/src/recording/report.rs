//! `eshm info FILE.mcap`: a recording's topics, types, message counts, duration and losses,
//! from its summary; for an unfinished file, from the messages still readable. Losses are
//! counted per topic (the `eshm.lost` record), so the channels of a topic re-created with
//! another type each show the topic's count.

use super::file::Recording;
use super::{FINGERPRINT_KEY, LOST, RECORDING, TYPE_KEY};
use crate::Failure;
use crate::show::{self, safe};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

/// One channel of a recording.
#[derive(Debug)]
pub(crate) struct ChannelRow {
    id: u16,
    topic: String,
    type_name: String,
    schema_name: String,
    schema_encoding: String,
    message_encoding: String,
    fingerprint: Option<String>,
    messages: u64,
}

/// What `info` says about a recording.
#[derive(Debug)]
pub(crate) struct Report {
    path: String,
    bytes: u64,
    library: String,
    /// Why the file is not finished, and how far it reads.
    pub(crate) unfinished: Option<String>,
    compression: Option<String>,
    start_ns: Option<u64>,
    end_ns: Option<u64>,
    messages: u64,
    channels: Vec<ChannelRow>,
    /// Lost messages per topic (`None` when the file does not say: not recorded by eshm, or
    /// not finished).
    lost: Option<BTreeMap<String, u64>>,
    metadata: Vec<(String, BTreeMap<String, String>)>,
}

fn row(ch: &mcap::Channel<'_>, messages: u64) -> ChannelRow {
    let (schema_name, schema_encoding) =
        ch.schema.as_ref().map_or_else(Default::default, |s| (s.name.clone(), s.encoding.clone()));
    ChannelRow {
        id: ch.id,
        topic: ch.topic.clone(),
        type_name: ch.metadata.get(TYPE_KEY).cloned().unwrap_or_else(|| schema_name.clone()),
        schema_name,
        schema_encoding,
        message_encoding: ch.message_encoding.clone(),
        fingerprint: ch.metadata.get(FINGERPRINT_KEY).cloned(),
        messages,
    }
}

impl Report {
    /// Reads what there is to say about `rec`.
    ///
    /// # Errors
    ///
    /// A [`Failure`] if the file cannot be read.
    pub(crate) fn new(rec: &Recording) -> Result<Report, Failure> {
        let mut report = Report {
            path: rec.path.display().to_string(),
            bytes: rec.len,
            library: rec.library.clone(),
            unfinished: rec.unfinished.clone(),
            compression: rec.compression().map(str::to_owned),
            start_ns: None,
            end_ns: None,
            messages: 0,
            channels: Vec::new(),
            lost: None,
            metadata: Vec::new(),
        };
        match &rec.summary {
            Some(summary) => {
                let counts = summary.stats.as_ref().map(|s| &s.channel_message_counts);
                for ch in summary.channels.values() {
                    let n = counts.and_then(|c| c.get(&ch.id)).copied().unwrap_or(0);
                    report.channels.push(row(ch, n));
                }
                if let Some(stats) = summary.stats.as_ref().filter(|s| s.message_count > 0) {
                    report.messages = stats.message_count;
                    report.start_ns = Some(stats.message_start_time);
                    report.end_ns = Some(stats.message_end_time);
                }
                for m in rec.metadata()? {
                    if m.name == LOST {
                        report.lost = Some(
                            m.metadata
                                .iter()
                                .map(|(k, v)| (k.clone(), v.parse().unwrap_or(0)))
                                .collect(),
                        );
                    }
                    report.metadata.push((m.name, m.metadata));
                }
            }
            None => report.scan(rec)?,
        }
        report.channels.sort_by_key(|c| c.id);
        Ok(report)
    }

    /// Counts the messages of an unfinished file, up to where it stops being readable.
    fn scan(&mut self, rec: &Recording) -> Result<(), Failure> {
        let mut counts: HashMap<u16, u64> = HashMap::new();
        let mut channels = Vec::new();
        let mut stopped = None;
        for m in rec.messages()? {
            let m = match m {
                Ok(m) => m,
                Err(e) => {
                    stopped = Some(e.to_string());
                    break;
                }
            };
            let n = counts.entry(m.channel.id).or_default();
            if *n == 0 {
                channels.push(m.channel.clone());
            }
            *n += 1;
            self.messages += 1;
            self.start_ns = Some(self.start_ns.map_or(m.log_time, |s| s.min(m.log_time)));
            self.end_ns = Some(self.end_ns.map_or(m.log_time, |e| e.max(m.log_time)));
        }
        for ch in channels {
            self.channels.push(row(&ch, counts[&ch.id]));
        }
        let why = self.unfinished.take().unwrap_or_default();
        self.unfinished = Some(match stopped {
            Some(e) => format!(
                "{why}; {} messages are readable, up to where the file ends ({e}); `eshm play` \
                 plays them",
                self.messages
            ),
            None => format!("{why}; all {} messages are readable", self.messages),
        });
        Ok(())
    }

    /// The report as text.
    pub(crate) fn text(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(o, "recording    {}", safe(&self.path));
        let library = if self.library.is_empty() { "?" } else { &self.library };
        let _ = writeln!(
            o,
            "file         {} ({} bytes), written by {}",
            show::bytes(self.bytes),
            self.bytes,
            safe(library)
        );
        let state = match &self.unfinished {
            Some(why) => format!("NOT FINISHED: {}", safe(why)),
            None => "finished".to_owned(),
        };
        let _ = writeln!(o, "state        {state}");
        if let Some(c) = &self.compression {
            let _ = writeln!(
                o,
                "compression  {} (eshm play cannot read it: `mcap decompress` it first)",
                safe(c)
            );
        }
        if let (Some(start), Some(end)) = (self.start_ns, self.end_ns) {
            let _ = writeln!(o, "start        {}", show::utc(start));
            let _ = writeln!(o, "end          {}", show::utc(end));
            let _ = writeln!(o, "duration     {:.3} s", end.saturating_sub(start) as f64 / 1e9);
        }
        let lost = match &self.lost {
            Some(l) => format!(", {} lost", l.values().sum::<u64>()),
            None => String::new(),
        };
        let _ = writeln!(
            o,
            "messages     {} in {} channel(s){lost}",
            self.messages,
            self.channels.len()
        );
        for (name, m) in &self.metadata {
            if name == RECORDING {
                let get = |k: &str| m.get(k).map_or("?".to_owned(), |v| safe(v));
                let _ = writeln!(
                    o,
                    "recorded     on {:?} by eshm {}, topics {}, stopped by {}",
                    get("hostname"),
                    get("eshm_version"),
                    match m.get("topics").map(String::as_str) {
                        Some("[]") => "all".to_owned(),
                        _ => get("topics"),
                    },
                    get("stopped_by"),
                );
            }
        }
        let header = ["ID", "TOPIC", "TYPE", "MESSAGES", "LOST", "FINGERPRINT", "SCHEMA"];
        let rows: Vec<[String; 7]> = self
            .channels
            .iter()
            .map(|c| {
                let lost = self
                    .lost
                    .as_ref()
                    .and_then(|l| l.get(&c.topic))
                    .map_or("-".to_owned(), u64::to_string);
                [
                    c.id.to_string(),
                    safe(&c.topic),
                    safe(&c.type_name),
                    c.messages.to_string(),
                    lost,
                    c.fingerprint.as_deref().map_or("-".to_owned(), safe),
                    format!(
                        "{} ({}/{})",
                        safe(&c.schema_name),
                        safe(&c.schema_encoding),
                        safe(&c.message_encoding)
                    ),
                ]
            })
            .collect();
        let mut widths = header.map(str::len);
        for r in &rows {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let mut line = |cells: [&str; 7]| {
            let mut l = String::from("  ");
            for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
                if matches!(i, 0 | 3 | 4) {
                    let _ = write!(l, "{c:>w$}  ");
                } else {
                    let _ = write!(l, "{c:<w$}  ");
                }
            }
            o.push_str(l.trim_end());
            o.push('\n');
        };
        line(header);
        for r in &rows {
            line(r.each_ref().map(String::as_str));
        }
        o
    }

    /// The report as JSON (what `info --json` prints).
    pub(crate) fn json(&self) -> Value {
        let channels: Vec<Value> = self
            .channels
            .iter()
            .map(|c| {
                json!({
                    "id": c.id,
                    "topic": c.topic,
                    "type": c.type_name,
                    "messages": c.messages,
                    "lost": self.lost.as_ref().and_then(|l| l.get(&c.topic)),
                    "fingerprint": c.fingerprint,
                    "schema_name": c.schema_name,
                    "schema_encoding": c.schema_encoding,
                    "message_encoding": c.message_encoding,
                })
            })
            .collect();
        let metadata: serde_json::Map<String, Value> =
            self.metadata.iter().map(|(n, m)| (n.clone(), json!(m))).collect();
        json!({
            "path": self.path,
            "bytes": self.bytes,
            "library": self.library,
            "finished": self.unfinished.is_none(),
            "problem": self.unfinished,
            "compression": self.compression,
            "start_unix_ns": self.start_ns,
            "end_unix_ns": self.end_ns,
            "duration_s": self.start_ns.zip(self.end_ns).map(|(s, e)| e.saturating_sub(s) as f64 / 1e9),
            "messages": self.messages,
            "lost": self.lost.as_ref().map(|l| l.values().sum::<u64>()),
            "lost_per_topic": self.lost,
            "channels": channels,
            "metadata": metadata,
        })
    }
}
