//! What the benchmark measures and how it sends: message stamps, a receiver's tally (counts,
//! rates, latency percentiles), and the pace of a sender.

use crate::{MIB, THROUGHPUT_FOR};
use std::time::{Duration, Instant};

pub(crate) fn mono_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

/// A message of `size` bytes: number `seq` (0: a probe) and the time, then zeros.
pub(crate) fn stamp(buf: &mut [u8], seq: u64) {
    buf[..8].copy_from_slice(&seq.to_le_bytes());
    buf[8..16].copy_from_slice(&mono_ns().to_le_bytes());
}

pub(crate) fn read_stamp(buf: &[u8]) -> (u64, u64) {
    let word = |at: usize| u64::from_le_bytes(buf[at..at + 8].try_into().expect("8 bytes"));
    (word(0), word(8))
}

// ---------------------------------------------------------------------------------------------
// What is measured.

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Mode {
    Latency,
    Throughput,
}

impl Mode {
    pub(crate) fn parse(s: &str) -> Mode {
        if s == "latency" { Mode::Latency } else { Mode::Throughput }
    }
}

/// A receiver's tally.
pub(crate) struct Tally {
    pub(crate) mode: Mode,
    /// Messages numbered up to this are not counted (warm-up).
    pub(crate) skip: u64,
    pub(crate) last_seq: u64,
    pub(crate) primed: bool,
    pub(crate) received: u64,
    pub(crate) first_at: Option<u64>,
    pub(crate) last_at: u64,
    pub(crate) latencies: Vec<u64>,
    /// The last message's number (the run is over when it arrives).
    pub(crate) end: u64,
    pub(crate) done: bool,
}

impl Tally {
    pub(crate) fn new(mode: Mode, end: u64) -> Tally {
        let skip = if mode == Mode::Latency { end / 10 } else { 0 };
        Tally {
            mode,
            skip,
            last_seq: 0,
            primed: false,
            received: 0,
            first_at: None,
            last_at: 0,
            latencies: Vec::new(),
            end,
            done: false,
        }
    }

    pub(crate) fn take(&mut self, msg: &[u8]) {
        let now = mono_ns();
        let (seq, sent) = read_stamp(msg);
        if seq == 0 {
            if !self.primed {
                self.primed = true;
                println!("primed");
            }
            return;
        }
        self.last_seq = seq;
        if seq <= self.skip {
            return;
        }
        self.received += 1;
        self.first_at.get_or_insert(now);
        self.last_at = now;
        if self.mode == Mode::Latency {
            self.latencies.push(now.saturating_sub(sent));
        }
        if seq >= self.end {
            self.done = true;
        }
    }

    pub(crate) fn report(&mut self) {
        let span = self.last_at.saturating_sub(self.first_at.unwrap_or(self.last_at));
        let rate = if span > 0 { (self.received - 1) as f64 / (span as f64 / 1e9) } else { 0.0 };
        self.latencies.sort_unstable();
        let pct = |p: f64| {
            let l = &self.latencies;
            if l.is_empty() {
                0.0
            } else {
                l[((l.len() - 1) as f64 * p).round() as usize] as f64 / 1e3
            }
        };
        println!(
            "result received={} last_seq={} rate={rate:.0} p50_us={:.1} p99_us={:.1} p999_us={:.1} \
             max_us={:.1}",
            self.received,
            self.last_seq,
            pct(0.5),
            pct(0.99),
            pct(0.999),
            pct(1.0)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Senders.

/// When message `seq` goes: every `interval` (latency), or at `rate` per second (throughput;
/// 0: at once), in 1 ms batches.
pub(crate) struct Pace {
    pub(crate) start: Instant,
    pub(crate) interval: Option<Duration>,
    pub(crate) rate: f64,
}

impl Pace {
    pub(crate) fn wait(&self, seq: u64) {
        let due = match self.interval {
            Some(i) => self.start + i * seq as u32,
            None if self.rate > 0.0 => {
                // Messages due in each 100 µs go together.
                let slices = (seq as f64 / self.rate * 1e4).floor();
                self.start + Duration::from_micros((slices * 100.0) as u64)
            }
            None => return,
        };
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
    }
}

/// The arguments every sender takes: size, mode, count (latency) or rate (throughput).
pub(crate) struct SendPlan {
    pub(crate) size: usize,
    pub(crate) mode: Mode,
    /// Latency: messages to send. Throughput: 0.
    pub(crate) count: u64,
    pub(crate) rate: f64,
}

impl SendPlan {
    pub(crate) fn parse(args: &[String]) -> SendPlan {
        SendPlan {
            size: args[0].parse().expect("size"),
            mode: Mode::parse(&args[1]),
            count: args[2].parse().expect("count"),
            rate: args[3].parse().expect("rate"),
        }
    }

    pub(crate) fn interval(&self) -> Option<Duration> {
        (self.mode == Mode::Latency)
            .then(|| Duration::from_millis(if self.size >= MIB { 5 } else { 1 }))
    }

    /// Sends with `send` until the plan is done; the number of the last message.
    pub(crate) fn run(&self, mut send: impl FnMut(&[u8])) -> u64 {
        let mut buf = vec![0u8; self.size];
        let pace = Pace { start: Instant::now(), interval: self.interval(), rate: self.rate };
        let end = pace.start + THROUGHPUT_FOR;
        let mut seq = 0;
        loop {
            seq += 1;
            pace.wait(seq);
            stamp(&mut buf, seq);
            send(&buf);
            let over = match self.mode {
                Mode::Latency => seq == self.count,
                Mode::Throughput => seq % 64 == 0 && Instant::now() >= end,
            };
            if over {
                return seq;
            }
        }
    }
}
