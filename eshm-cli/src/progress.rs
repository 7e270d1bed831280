//! What `record` and `play` say while they run (a line on stderr once a second: messages and
//! MB per topic) and when they end (a table on stdout).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// Prints a line on stderr, ignoring failure: a recorder whose stderr was closed (`eshm
/// record ... 2>&1 | head`) goes on recording, and finishes its file.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}
pub(crate) use say;

/// Counts for one topic.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tally {
    /// Messages recorded or played.
    pub(crate) messages: u64,
    /// Their bytes (eshm message bytes, without the CDR header).
    pub(crate) bytes: u64,
    /// Messages lost (recording: overwritten before the recorder read them; playing: skipped
    /// as not valid for their schema).
    pub(crate) lost: u64,
}

/// Per-topic tallies, by topic name.
pub(crate) type Tallies = BTreeMap<String, Tally>;

/// `0.07 MB` (decimal megabytes, as throughput figures are given).
pub(crate) fn mb(bytes: u64) -> String {
    format!("{:.2} MB", bytes as f64 / 1e6)
}

fn total(tallies: &Tallies) -> Tally {
    tallies.values().fold(Tally::default(), |a, t| Tally {
        messages: a.messages + t.messages,
        bytes: a.bytes + t.bytes,
        lost: a.lost + t.lost,
    })
}

/// The progress line: `recording 3.0 s | robot/imu 1200 msgs 0.07 MB | speed 30 msgs 0.00 MB
/// (2 lost) | total 1230 msgs 0.07 MB, 2 lost`. `lost_word` names the lost column
/// (`lost`, `skipped`).
pub(crate) fn line(verb: &str, elapsed: Duration, tallies: &Tallies, lost_word: &str) -> String {
    let mut s = format!("{verb} {:.1} s", elapsed.as_secs_f64());
    if tallies.is_empty() {
        s += " | no topics yet";
        return s;
    }
    for (topic, t) in tallies {
        let _ = write!(s, " | {} {} msgs {}", crate::show::safe(topic), t.messages, mb(t.bytes));
        if t.lost > 0 {
            let _ = write!(s, " ({} {lost_word})", t.lost);
        }
    }
    let all = total(tallies);
    let _ = write!(s, " | total {} msgs {}, {} {lost_word}", all.messages, mb(all.bytes), all.lost);
    s
}

/// Prints [`line()`] on stderr once a second.
#[derive(Debug)]
pub(crate) struct Ticker {
    verb: &'static str,
    lost_word: &'static str,
    start: Instant,
    next: Instant,
}

impl Ticker {
    pub(crate) fn new(verb: &'static str, lost_word: &'static str) -> Ticker {
        let start = Instant::now();
        Ticker { verb, lost_word, start, next: start + Duration::from_secs(1) }
    }

    /// When the run started.
    pub(crate) fn start(&self) -> Instant {
        self.start
    }

    /// Prints the line if its second has come.
    pub(crate) fn tick(&mut self, now: Instant, tallies: &Tallies) {
        if now < self.next {
            return;
        }
        say!("{}", line(self.verb, now - self.start, tallies, self.lost_word));
        while self.next <= now {
            self.next += Duration::from_secs(1);
        }
    }
}

/// The end-of-run table: one row per topic (with its type), then the total.
pub(crate) fn table(rows: &[(String, String, Tally)], lost_word: &str) -> String {
    let header = ["TOPIC", "TYPE", "MESSAGES", "MB", &lost_word.to_uppercase()];
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|(topic, ty, t)| {
            [
                crate::show::safe(topic),
                crate::show::safe(ty),
                t.messages.to_string(),
                format!("{:.2}", t.bytes as f64 / 1e6),
                t.lost.to_string(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for r in &cells {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let mut put = |r: [&str; 5]| {
        let mut l = String::from("  ");
        for (i, (c, w)) in r.iter().zip(widths).enumerate() {
            if i >= 2 {
                let _ = write!(l, "{c:>w$}  ");
            } else {
                let _ = write!(l, "{c:<w$}  ");
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    put(header);
    for r in &cells {
        put(r.each_ref().map(String::as_str));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_progress_line_counts_per_topic() {
        let mut t = Tallies::new();
        assert_eq!(
            line("recording", Duration::from_millis(1500), &t, "lost"),
            "recording 1.5 s | no topics yet"
        );
        t.insert("robot/imu".into(), Tally { messages: 1200, bytes: 70_000, lost: 0 });
        t.insert("speed".into(), Tally { messages: 30, bytes: 240, lost: 2 });
        assert_eq!(
            line("recording", Duration::from_secs(3), &t, "lost"),
            "recording 3.0 s | robot/imu 1200 msgs 0.07 MB | speed 30 msgs 0.00 MB (2 lost) \
             | total 1230 msgs 0.07 MB, 2 lost"
        );
        let rows =
            vec![("a".to_owned(), "f64".to_owned(), Tally { messages: 3, bytes: 24, lost: 1 })];
        assert_eq!(
            table(&rows, "lost"),
            "  TOPIC  TYPE  MESSAGES    MB  LOST\n  a      f64          3  0.00     1\n"
        );
    }
}
