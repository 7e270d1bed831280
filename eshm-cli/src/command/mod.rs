//! The subcommands, one file each, and what they share: finding a topic by name (with a
//! suggestion when it is not there), durations in seconds, and subscribing to any type.

pub(crate) mod bridge;
pub(crate) mod call;
pub(crate) mod clean;
pub(crate) mod echo;
pub(crate) mod hz;
pub(crate) mod info;
pub(crate) mod list;
pub(crate) mod play;
pub(crate) mod publish;
pub(crate) mod record;

use crate::{Exit, Failure, suggest};
use eshm::RawSubscriber;
use eshm::inspect::{self, SegmentInfo};
use eshm::pubsub::SubscriberOptions;
use eshm::segment::SegmentKind;
use std::time::{Duration, Instant};

/// The topic or channel `name` (of `kind`, if given).
pub(crate) fn find(name: &str, kind: Option<SegmentKind>) -> Result<SegmentInfo, Failure> {
    let kinds = match kind {
        Some(k) => vec![k],
        None => SegmentKind::ALL.to_vec(),
    };
    let mut found = Vec::new();
    for k in kinds {
        match inspect::info(k, name) {
            Ok(info) => found.push(info),
            Err(eshm::Error::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    match found.len() {
        0 => Err(not_found(name, kind)),
        1 => Ok(found.remove(0)),
        _ => Err(Failure::usage(format!(
            "a {} and a {} are both named {name:?}: say which with --kind",
            found[0].kind.as_str(),
            found[1].kind.as_str()
        ))),
    }
}

pub(crate) fn not_found(name: &str, kind: Option<SegmentKind>) -> Failure {
    let all = inspect::list().unwrap_or_default();
    let same_kind = |i: &&SegmentInfo| kind.is_none_or(|k| i.kind == k);
    let mut message = format!(
        "no {} named {name:?}",
        kind.map_or("topic, channel, service or action", |k| k.as_str())
    );
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
    Failure::new(Exit::NotFound, message)
}

/// Fails for a topic that does not exist (or cannot be read).
pub(crate) fn existing_topic(name: &str) -> Result<SegmentInfo, Failure> {
    usable(find(name, Some(SegmentKind::Topic))?)
}

/// Fails for a topic whose header cannot be read.
pub(crate) fn usable(info: SegmentInfo) -> Result<SegmentInfo, Failure> {
    match &info.problem {
        Some(problem) => Err(Failure::new(
            Exit::Corrupt,
            format!("topic {:?} is unusable: {problem}", info.name),
        )),
        None => Ok(info),
    }
}

pub(crate) fn seconds(what: &str, s: Option<f64>) -> Result<Option<Duration>, Failure> {
    s.map(|s| {
        Duration::try_from_secs_f64(s)
            .map_err(|_| Failure::usage(format!("{what}: {s} is not a number of seconds")))
    })
    .transpose()
}

pub(crate) fn subscribe(name: &str, wait: bool, history: u64) -> Result<RawSubscriber, Failure> {
    if !wait {
        existing_topic(name)?;
    }
    let sub = RawSubscriber::open(name, None, SubscriberOptions::default().history(history))?;
    if sub.schema().is_none() {
        // Only with --wait: say so, so that a user (or a test) knows it waits.
        eprintln!("eshm: waiting for topic {name:?} to appear (Ctrl-C to stop)");
    }
    Ok(sub)
}

/// The next message of `sub`, whose segment may become unusable while it reads (another
/// process truncated the file, or re-created the topic as garbage): that is reported once on
/// stderr and waited out, as a publisher's restart is, until the topic's next publisher
/// appears or `deadline` passes.
pub(crate) fn recv_through_trouble(
    sub: &mut RawSubscriber,
    deadline: Option<Instant>,
    reported: &mut Option<String>,
) -> Result<Vec<u8>, eshm::RecvError> {
    const RETRY: Duration = Duration::from_millis(10);
    loop {
        match sub.recv_bytes_deadline(deadline) {
            Err(eshm::RecvError::Attach(e)) => {
                let text = e.to_string();
                if reported.as_deref() != Some(text.as_str()) {
                    eprintln!(
                        "eshm: {}; waiting for the topic's next publisher",
                        crate::show::safe(&text)
                    );
                    *reported = Some(text);
                }
                let now = Instant::now();
                match deadline {
                    Some(d) if now >= d => return Err(eshm::RecvError::Timeout),
                    Some(d) => std::thread::sleep(RETRY.min(d - now)),
                    None => std::thread::sleep(RETRY),
                }
            }
            other => return other,
        }
    }
}
