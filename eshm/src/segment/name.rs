//! Topic and channel names, and the file names that hold them (see the [module docs](super)).

use crate::error::{Error, Result};
use crate::layout::{KIND_ACTION, KIND_CHANNEL, KIND_SERVICE, KIND_TOPIC};
use crate::os;
use crate::sync::{AtomicU64, Ordering};

/// File-name prefix shared by every eshm file.
pub const FILE_PREFIX: &str = "eshm.";
const TOPIC_PREFIX: &str = "eshm.topic.";
const CHANNEL_PREFIX: &str = "eshm.chan.";
const SERVICE_PREFIX: &str = "eshm.svc.";
const ACTION_PREFIX: &str = "eshm.action.";
const TMP_PREFIX: &str = "eshm.tmp.";
/// Longest file name Linux accepts.
const NAME_MAX: usize = 255;

/// What a segment carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SegmentKind {
    /// A publish/subscribe topic.
    Topic,
    /// A duplex byte channel.
    Channel,
    /// A request/response service.
    Service,
    /// An action: long-running goals with feedback.
    Action,
}

impl SegmentKind {
    fn prefix(self) -> &'static str {
        match self {
            SegmentKind::Topic => TOPIC_PREFIX,
            SegmentKind::Channel => CHANNEL_PREFIX,
            SegmentKind::Service => SERVICE_PREFIX,
            SegmentKind::Action => ACTION_PREFIX,
        }
    }

    pub(crate) fn code(self) -> u32 {
        match self {
            SegmentKind::Topic => KIND_TOPIC,
            SegmentKind::Channel => KIND_CHANNEL,
            SegmentKind::Service => KIND_SERVICE,
            SegmentKind::Action => KIND_ACTION,
        }
    }

    /// `"topic"`, `"channel"`, `"service"` or `"action"`.
    pub fn as_str(self) -> &'static str {
        match self {
            SegmentKind::Topic => "topic",
            SegmentKind::Channel => "channel",
            SegmentKind::Service => "service",
            SegmentKind::Action => "action",
        }
    }

    /// Every kind.
    pub const ALL: [SegmentKind; 4] =
        [SegmentKind::Topic, SegmentKind::Channel, SegmentKind::Service, SegmentKind::Action];
}

/// The bytes a file name holds percent-encoded: `/` (which a file name cannot hold) and `%`.
fn escape_byte(b: u8) -> bool {
    b == b'/' || b == b'%'
}

/// The file name that holds the topic or channel `name`.
///
/// # Errors
///
/// [`Error::InvalidName`] for an empty name, a name with a control character (NUL, escape,
/// newline, ...: names are printed on terminals), or one whose file name would be longer than
/// 255 bytes.
pub fn file_name(kind: SegmentKind, name: &str) -> Result<String> {
    let invalid = |reason: String| Error::InvalidName { name: name.to_owned(), reason };
    if name.is_empty() {
        return Err(invalid("names cannot be empty".into()));
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Err(invalid(format!(
            "names cannot contain control characters (found {:?})",
            c.escape_unicode().to_string()
        )));
    }
    let mut out = String::with_capacity(kind.prefix().len() + name.len());
    out.push_str(kind.prefix());
    for c in name.chars() {
        if c.is_ascii() && escape_byte(c as u8) {
            out.push_str(&format!("%{:02X}", c as u8));
        } else {
            out.push(c);
        }
    }
    if out.len() > NAME_MAX {
        return Err(invalid(format!(
            "its file name would be {} bytes, more than the {NAME_MAX} a file name can hold \
             (each '/' or '%' takes 3 bytes)",
            out.len()
        )));
    }
    Ok(out)
}

/// The kind and name held by the file `file_name`, if it is an eshm segment name.
pub fn parse_file_name(file_name: &str) -> Option<(SegmentKind, String)> {
    let (kind, rest) = SegmentKind::ALL
        .into_iter()
        .find_map(|kind| Some((kind, file_name.strip_prefix(kind.prefix())?)))?;
    let bytes = rest.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            let b = u8::from_str_radix(hex, 16).ok()?;
            if !escape_byte(b) {
                return None;
            }
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let name = String::from_utf8(out).ok()?;
    // Names with control characters are refused at creation: such a file is not eshm's.
    (!name.is_empty() && !name.chars().any(char::is_control)).then_some((kind, name))
}

/// The process id in a temporary file's name, if `file_name` is one.
pub(crate) fn tmp_file_pid(file_name: &str) -> Option<u32> {
    file_name.strip_prefix(TMP_PREFIX)?.split('.').next()?.parse().ok()
}

/// The part of a temporary file's name that says which segment it becomes (a hash of the
/// segment's file name: the name itself may not fit).
fn tmp_tag(final_name: &str) -> String {
    format!("{:016x}", crate::schema::fnv1a64(final_name.as_bytes()))
}

/// A fresh temporary name for creating the segment `final_name`:
/// `eshm.tmp.<pid>.<tag>.<counter>`.
pub(super) fn tmp_name(final_name: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        "{TMP_PREFIX}{}.{}.{}",
        os::pid(),
        tmp_tag(final_name),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Whether `file_name` is a temporary file for creating `final_name` whose creator is dead
/// (killed while creating it).
pub(super) fn is_dead_tmp_of(file_name: &str, final_name: &str) -> bool {
    let Some(rest) = file_name.strip_prefix(TMP_PREFIX) else { return false };
    let mut parts = rest.split('.');
    let (Some(pid), Some(tag)) = (parts.next(), parts.next()) else { return false };
    tag == tmp_tag(final_name) && pid.parse().is_ok_and(|pid| os::start_time(pid).is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names_map_injectively_and_back() {
        let names =
            ["robot/pose", "robot%2Fpose", "a", "/a", "a/", "ü/ñ", "space here", "100%", "."];
        let mut files = std::collections::HashSet::new();
        for name in names {
            for kind in SegmentKind::ALL {
                let f = file_name(kind, name).unwrap();
                assert!(f.starts_with(FILE_PREFIX));
                assert!(!f.contains('/'));
                assert!(files.insert(f.clone()), "{f} produced twice");
                assert_eq!(parse_file_name(&f), Some((kind, name.to_owned())));
            }
        }
        assert_eq!(file_name(SegmentKind::Topic, "robot/pose").unwrap(), "eshm.topic.robot%2Fpose");
    }

    #[test]
    fn segment_names_reject_unusable_names() {
        for bad in [
            "",
            "a\0b",
            "tab\there",
            "\u{1b}]0;title\u{7}",
            "del\u{7f}",
            "c1\u{9b}",
            &"x".repeat(250),
            &"/".repeat(90),
        ] {
            assert!(
                matches!(file_name(SegmentKind::Topic, bad), Err(Error::InvalidName { .. })),
                "{bad:?}"
            );
        }
        assert!(file_name(SegmentKind::Topic, &"x".repeat(255 - TOPIC_PREFIX.len())).is_ok());
        assert_eq!(parse_file_name("eshm.topic."), None);
        assert_eq!(parse_file_name("eshm.topic.%zz"), None);
        assert_eq!(parse_file_name("eshm.topic.%41"), None, "non-canonical escape");
        assert_eq!(parse_file_name("other"), None);
        assert_eq!(parse_file_name("eshm.topic.a%09b"), None, "an escaped control character");
        assert_eq!(parse_file_name("eshm.topic.a\u{1b}b"), None, "a raw control character");
        assert_eq!(tmp_file_pid("eshm.tmp.1234.0123456789abcdef.99"), Some(1234));
        let f = file_name(SegmentKind::Topic, "x").unwrap();
        let tmp = tmp_name(&f);
        assert_eq!(tmp_file_pid(&tmp), Some(std::process::id()));
        assert!(!is_dead_tmp_of(&tmp, &f), "its creator (this process) runs");
        let dead = tmp.replacen(&std::process::id().to_string(), "0", 1);
        assert!(is_dead_tmp_of(&dead, &f), "{dead}");
        assert!(!is_dead_tmp_of(&dead, &file_name(SegmentKind::Topic, "y").unwrap()));
    }
}
