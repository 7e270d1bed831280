//! The subcommands.

use crate::{EchoArgs, Failure, HzArgs, Outcome, PubArgs, show, suggest, value};
use eshm::inspect::{self, SegmentInfo};
use eshm::pubsub::{PublisherOptions, SubscriberOptions};
use eshm::schema::{Kind, Primitive, Schema};
use eshm::segment::SegmentKind;
use eshm::{Message, RawPublisher, RawSubscriber};
use serde_json::Value;
use std::collections::VecDeque;
use std::io::{self, Write as _};
use std::time::{Duration, Instant};

/// The topic or channel `name` (of `kind`, if given).
fn find(name: &str, kind: Option<SegmentKind>) -> Result<SegmentInfo, Failure> {
    let kinds = match kind {
        Some(k) => vec![k],
        None => vec![SegmentKind::Topic, SegmentKind::Channel],
    };
    let mut found = Vec::new();
    for k in kinds {
        match inspect::inspect(k, name) {
            Ok(info) => found.push(info),
            Err(eshm::Error::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    match found.len() {
        0 => Err(not_found(name, kind)),
        1 => Ok(found.remove(0)),
        _ => Err(Failure::usage(format!(
            "both a topic and a channel are named {name:?}: say which with --kind topic or \
             --kind channel"
        ))),
    }
}

fn not_found(name: &str, kind: Option<SegmentKind>) -> Failure {
    let all = inspect::list().unwrap_or_default();
    let same_kind = |i: &&SegmentInfo| kind.is_none_or(|k| i.kind == k);
    let mut message =
        format!("no {} named {name:?}", kind.map_or("topic or channel", |k| k.as_str()));
    if let Some(other) = all.iter().find(|i| i.name == name && !same_kind(i)) {
        message += &format!(" (there is a {} of that name)", other.kind.as_str());
    } else if let Some(close) = suggest(name, all.iter().filter(same_kind).map(|i| i.name.as_str()))
    {
        message += &format!("; did you mean {close:?}?");
    } else if all.iter().any(|i| same_kind(&i)) {
        message += "; `eshm list` shows what there is";
    } else {
        message += &format!(" (there is none in {})", eshm::segment::shm_dir().display());
    }
    Failure::new(3, message)
}

/// Fails for a topic that does not exist (or cannot be read).
fn existing_topic(name: &str) -> Result<SegmentInfo, Failure> {
    usable(find(name, Some(SegmentKind::Topic))?)
}

/// Fails for a topic whose header cannot be read.
fn usable(info: SegmentInfo) -> Result<SegmentInfo, Failure> {
    match &info.problem {
        Some(problem) => {
            Err(Failure::new(4, format!("topic {:?} is unusable: {problem}", info.name)))
        }
        None => Ok(info),
    }
}

pub(crate) fn list(json: bool, kind: Option<SegmentKind>) -> Outcome {
    let infos: Vec<SegmentInfo> =
        inspect::list()?.into_iter().filter(|i| kind.is_none_or(|k| i.kind == k)).collect();
    let mut out = io::stdout().lock();
    if json {
        let array = Value::Array(infos.iter().map(show::to_json).collect());
        writeln!(out, "{}", serde_json::to_string_pretty(&array).expect("JSON values print"))?;
    } else if infos.is_empty() {
        let what = kind.map_or("topics or channels".to_owned(), |k| format!("{}s", k.as_str()));
        writeln!(out, "no eshm {what} in {}", eshm::segment::shm_dir().display())?;
    } else {
        write!(out, "{}", show::table(&infos))?;
    }
    Ok(())
}

pub(crate) fn info(name: &str, kind: Option<SegmentKind>, json: bool) -> Outcome {
    let info = find(name, kind)?;
    let mut out = io::stdout().lock();
    if json {
        let text = serde_json::to_string_pretty(&show::to_json(&info)).expect("JSON values print");
        writeln!(out, "{text}")?;
    } else {
        write!(out, "{}", show::details(&info))?;
    }
    match info.problem {
        Some(problem) => {
            Err(Failure::new(4, format!("{} {name:?}: {problem}", info.kind.as_str())))
        }
        None => Ok(()),
    }
}

fn seconds(what: &str, s: Option<f64>) -> Result<Option<Duration>, Failure> {
    s.map(|s| {
        Duration::try_from_secs_f64(s)
            .map_err(|_| Failure::usage(format!("{what}: {s} is not a number of seconds")))
    })
    .transpose()
}

fn subscribe(name: &str, wait: bool, history: u64) -> Result<RawSubscriber, Failure> {
    if !wait {
        existing_topic(name)?;
    }
    Ok(RawSubscriber::open(name, None, SubscriberOptions::default().history(history))?)
}

pub(crate) fn echo(a: &EchoArgs) -> Outcome {
    let timeout = seconds("--timeout", a.timeout)?;
    let mut sub = subscribe(&a.name, a.wait, a.history)?;
    let limit = if a.once { Some(1) } else { a.count };
    let mut out = io::stdout().lock();
    let (mut printed, mut lost) = (0u64, 0u64);
    while limit.is_none_or(|l| printed < l) {
        let bytes = match sub.recv_bytes_deadline(timeout.map(|t| Instant::now() + t)) {
            Ok(bytes) => bytes,
            Err(eshm::Error::Timeout) => {
                return Err(Failure::new(
                    7,
                    format!("no message on {:?} within {:?}", a.name, timeout.unwrap_or_default()),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        let schema = sub.schema().expect("a subscriber that received is attached");
        if sub.lost() > lost {
            eprintln!("eshm: {} message(s) lost: this reader fell behind", sub.lost() - lost);
            lost = sub.lost();
        }
        if a.json {
            writeln!(out, "{}", value::to_json(schema, &bytes))?;
        } else {
            writeln!(out, "{}", value::to_text(schema, &bytes))?;
        }
        out.flush()?;
        printed += 1;
    }
    Ok(())
}

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

pub(crate) fn hz(a: &HzArgs) -> Outcome {
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
    loop {
        let wake = end.map_or(next_report, |e| e.min(next_report));
        match sub.recv_bytes_deadline(Some(wake)) {
            Ok(_) => {
                times.push_back(Instant::now());
                if times.len() > a.window + 1 {
                    times.pop_front();
                }
                total += 1;
            }
            Err(eshm::Error::Timeout) => {}
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

/// The message types `pub --type` knows: primitives and `eshm::msg`.
fn named_type(name: &str) -> Result<Schema, Failure> {
    use eshm::msg::{Imu, Pose, Quaternion, Twist, Vector3};
    let messages = [
        ("Vector3", Vector3::SCHEMA),
        ("Quaternion", Quaternion::SCHEMA),
        ("Pose", Pose::SCHEMA),
        ("Twist", Twist::SCHEMA),
        ("Imu", Imu::SCHEMA),
    ];
    if let Some(p) = Primitive::from_name(name) {
        return Ok(Schema::primitive(p));
    }
    if let Some((_, schema)) = messages.iter().find(|(n, _)| *n == name) {
        return Ok((*schema).clone());
    }
    let names: Vec<&str> =
        Primitive::ALL.iter().map(|p| p.name()).chain(messages.iter().map(|(n, _)| *n)).collect();
    let hint = suggest(name, names.iter().copied())
        .map(|s| format!("did you mean `{s}`? "))
        .unwrap_or_default();
    Err(Failure::usage(format!("unknown type `{name}`; {hint}known types: {}", names.join(", "))))
}

pub(crate) fn publish(a: &PubArgs) -> Outcome {
    let existing = match inspect::inspect(SegmentKind::Topic, &a.name) {
        Ok(info) => Some(usable(info)?),
        Err(eshm::Error::NotFound { .. }) if a.ty.is_some() => None,
        Err(eshm::Error::NotFound { .. }) => {
            let f = not_found(&a.name, Some(SegmentKind::Topic));
            return Err(Failure::new(
                f.code,
                format!(
                    "{}; to create it, give its type: --type f64 VALUE, or --type Pose --json '{{...}}'",
                    f.message
                ),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let existing_schema = existing.and_then(|i| i.schema);
    let schema = match (&a.ty, existing_schema) {
        (Some(ty), existing) => {
            let schema = named_type(ty)?;
            if let Some(e) = existing.filter(|e| e.fingerprint() != schema.fingerprint()) {
                return Err(Failure::new(
                    4,
                    format!(
                        "topic {:?} carries `{}`, not `{}`: leave out --type to publish its type",
                        a.name,
                        e.type_name(),
                        schema.type_name()
                    ),
                ));
            }
            schema
        }
        (None, Some(existing)) => existing,
        (None, None) => unreachable!("a topic without a type was refused above"),
    };
    let bytes = match (&a.json, &a.value, schema.kind()) {
        (Some(json), _, _) => {
            let v: Value = serde_json::from_str(json)
                .map_err(|e| Failure::usage(format!("--json is not valid JSON: {e}")))?;
            value::from_json(&schema, &v).map_err(|e| Failure::usage(format!("--json: {e}")))?
        }
        (None, Some(word), Kind::Primitive(p)) => {
            value::parse_primitive(*p, word).map_err(Failure::usage)?
        }
        (None, _, Kind::Primitive(_)) => {
            return Err(Failure::usage(format!(
                "give the {} value to publish (or --json)",
                schema.type_name()
            )));
        }
        (None, _, _) => {
            return Err(Failure::usage(format!(
                "`{}` is not a primitive type: give the message as --json '{{...}}'",
                schema.type_name()
            )));
        }
    };
    if !(a.rate.is_finite() && a.rate > 0.0) {
        return Err(Failure::usage(format!("--rate: {} is not a positive rate", a.rate)));
    }
    // The topic stays after this process exits (closed, with a dead owner), so subscribers
    // that attach late still find the messages; `eshm clean` removes it.
    let mut options = PublisherOptions::default().unlink_on_drop(false);
    if let Some(capacity) = a.capacity {
        options = options.capacity(capacity);
    }
    let mut publisher = RawPublisher::create_with(&a.name, &schema, &options)?;
    let start = Instant::now();
    for i in 0..a.count {
        if i > 0 {
            let due = start + Duration::from_secs_f64(i as f64 / a.rate);
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
        publisher.publish_bytes(&bytes)?;
    }
    println!("published {} message(s) of `{}` on {:?}", a.count, schema.type_name(), a.name);
    Ok(())
}

pub(crate) fn clean(dry_run: bool, include_corrupt: bool) -> Outcome {
    let report = inspect::clean(dry_run, include_corrupt)?;
    let verb = if dry_run { "would remove" } else { "removed" };
    let mut out = io::stdout().lock();
    for r in &report.removed {
        match &r.segment {
            Some((kind, name)) => {
                writeln!(out, "{verb} {} {name:?}: {}", kind.as_str(), r.reason)?;
            }
            None => writeln!(out, "{verb} {}: {}", r.path.display(), r.reason)?,
        }
    }
    for (path, pid) in &report.kept {
        writeln!(out, "kept {} (owner pid {pid} is alive)", path.display())?;
    }
    for (path, e) in &report.failed {
        eprintln!("eshm: {}: {e}", path.display());
    }
    writeln!(
        out,
        "{verb} {}, kept {}, failed {}",
        report.removed.len(),
        report.kept.len(),
        report.failed.len()
    )?;
    if report.failed.is_empty() {
        Ok(())
    } else {
        let hint = if include_corrupt {
            ""
        } else {
            " (segments with an unreadable header go only with --include-corrupt)"
        };
        Err(Failure::new(1, format!("{} file(s) not cleaned{hint}", report.failed.len())))
    }
}
