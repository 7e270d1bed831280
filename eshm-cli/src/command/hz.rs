//! `eshm hz NAME`: a topic's rate, interval statistics and losses, once a second.

use super::{recv_through_trouble, seconds, subscribe};
use crate::{Failure, HzArgs, Outcome};
use std::collections::VecDeque;
use std::io::{self, Write as _};
use std::time::{Duration, Instant};

/// Statistics of the intervals between the arrival times in `times`.
fn interval_report(times: &VecDeque<Instant>) -> String {
    let intervals: Vec<f64> =
        times.iter().zip(times.iter().skip(1)).map(|(a, b)| (*b - *a).as_secs_f64()).collect();
    let n = intervals.len() as f64;
    let mean = intervals.iter().sum::<f64>() / n;
    let var = intervals.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    let min = intervals.iter().copied().fold(f64::INFINITY, f64::min);
    let max = intervals.iter().copied().fold(0.0, f64::max);
    let ms = |s: f64| s * 1e3;
    format!(
        "rate {:.2} Hz  interval min {:.3} ms  max {:.3} ms  mean {:.3} ms  jitter (std dev) {:.3} ms  window {}",
        if mean > 0.0 { 1.0 / mean } else { f64::INFINITY },
        ms(min),
        ms(max),
        ms(mean),
        ms(var.sqrt()),
        intervals.len()
    )
}

pub(crate) fn run(a: &HzArgs) -> Outcome {
    if a.window == 0 {
        return Err(Failure::usage("--window must be at least 1"));
    }
    let duration = seconds("--duration", a.duration)?;
    let mut sub = subscribe(&a.name, a.wait, 0)?;
    let start = Instant::now();
    let end = duration.map(|d| start + d);
    let mut times = VecDeque::with_capacity(a.window + 1);
    let (mut total, mut reported) = (0u64, 0u64);
    let mut next_report = start + Duration::from_secs(1);
    let mut out = io::stdout().lock();
    let mut trouble = None;
    loop {
        let wake = end.map_or(next_report, |e| e.min(next_report));
        match recv_through_trouble(&mut sub, Some(wake), &mut trouble) {
            Ok(_) => {
                times.push_back(Instant::now());
                if times.len() > a.window + 1 {
                    times.pop_front();
                }
                total += 1;
            }
            Err(eshm::RecvError::Timeout) => {}
            Err(e) => return Err(e.into()),
        }
        let now = Instant::now();
        let done = end.is_some_and(|e| now >= e) || a.count.is_some_and(|c| total >= c);
        if now >= next_report || done {
            let line = match (total - reported, times.len()) {
                (0, _) if total == 0 => "no messages yet".to_owned(),
                (0, _) => format!("no new messages ({total} in all)"),
                (_, n) if n < 2 => "1 message: not enough for a rate yet".to_owned(),
                _ => interval_report(&times),
            };
            writeln!(out, "{line}  lost {}", sub.lost())?;
            out.flush()?;
            reported = total;
            while next_report <= now {
                next_report += Duration::from_secs(1);
            }
        }
        if done {
            break;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    writeln!(out, "total: {total} messages in {secs:.1} s, {} lost", sub.lost())?;
    Ok(())
}
