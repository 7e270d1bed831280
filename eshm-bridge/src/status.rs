//! The status file: what a running bridge tells the other processes of its host.
//!
//! A bridge writes `eshm.bridge.<pid>.json` in the segment directory (`$ESHM_SHM_DIR` or
//! `/dev/shm`), mode 0600, replaced whole (written aside, then renamed) a few times a second
//! while anything changes, and removed when the bridge stops. Two readers use it:
//!
//! - `eshm info TOPIC` shows, for a topic a bridge imports (or refuses to), what arrived, what
//!   the network lost (gaps in the stream's sequence numbers, see `wire`), what was lost on
//!   the source host and what was dropped here and why; for a topic a bridge exposes, what it
//!   sent and what its subscriber lost;
//! - other bridges on the host, which never expose a topic that a live bridge publishes (it
//!   came from the network: sending it back would echo it).
//!
//! The file is JSON (`"format": "eshm-bridge-status/1"`); a process counts as the writer only
//! while its pid runs with the start time the file records, so a file left by a killed bridge
//! is ignored (and removed by the next bridge that starts).
//!
//! ```text
//! { "format": "eshm-bridge-status/1", "pid": 4242, "start_time": 123456, "id": "<zenoh id>",
//!   "updated_unix_ns": ..., "expose": ["robot/**"], "import": ["base/**"], "peers": ["<id>"],
//!   "exposed": { "robot/imu": { "type": "Imu", "fingerprint": "0x...", "sent": 10000,
//!                               "puts": 120, "lost_at_source": 0 } },
//!   "imported": { "base/cmd": { "type": "Twist", "fingerprint": "0x...", "state": "republishing",
//!                               "received": 500, "republished": 500, "lost_network": 0,
//!                               "lost_at_source": 0, "dropped_type_conflict": 0,
//!                               "dropped_publisher_conflict": 0, "dropped_invalid": 0,
//!                               "dropped_no_schema": 0, "dropped_own": 0, "duplicates": 0,
//!                               "origins": ["<zenoh id>"] } } }
//! ```

use crate::error::Error;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// The value of the file's `format` key.
pub const STATUS_FORMAT: &str = "eshm-bridge-status/1";
const FILE_PREFIX: &str = "eshm.bridge.";
const FILE_SUFFIX: &str = ".json";

/// The status file of the bridge running as process `pid`, in the segment directory.
pub fn status_path(pid: u32) -> PathBuf {
    eshm::segment::shm_dir().join(format!("{FILE_PREFIX}{pid}{FILE_SUFFIX}"))
}

/// The pid in a status file's name.
fn file_pid(file_name: &str) -> Option<u32> {
    file_name.strip_prefix(FILE_PREFIX)?.strip_suffix(FILE_SUFFIX)?.parse().ok()
}

/// The start time of process `pid` (field 22 of `/proc/<pid>/stat`, in clock ticks since boot),
/// which tells it from a later process that reuses the pid.
pub(crate) fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may contain anything: count from after
    // the last ')'. Field 3 is the first one after it, so field 22 is the 20th.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Nanoseconds since the Unix epoch.
pub(crate) fn unix_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

/// The bridges running on this host (with this segment directory), by their status files:
/// pids that run with the start time their file records.
pub(crate) fn live_bridges() -> HashSet<u32> {
    let mut out = HashSet::new();
    let Ok(entries) = std::fs::read_dir(eshm::segment::shm_dir()) else { return out };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(file_pid) else { continue };
        if recorded_start_time(&entry.path()).is_some_and(|t| Some(t) == start_time(pid)) {
            out.insert(pid);
        }
    }
    out
}

/// Removes the status files of bridges that no longer run.
pub(crate) fn remove_stale() {
    let Ok(entries) = std::fs::read_dir(eshm::segment::shm_dir()) else { return };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(file_pid) else { continue };
        let path = entry.path();
        match (recorded_start_time(&path), start_time(pid)) {
            (Some(recorded), Some(now)) if recorded == now => {}
            // A file being replaced right now reads as nothing: only a dead pid is proof.
            (None, Some(_)) => {}
            _ => {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
}

fn recorded_start_time(path: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    (v.get("format")?.as_str()? == STATUS_FORMAT).then_some(())?;
    v.get("start_time")?.as_u64()
}

/// Counters of one exposed topic.
#[derive(Clone, Debug, Default)]
pub(crate) struct Exposed {
    pub(crate) type_name: String,
    pub(crate) fingerprint: u64,
    /// Messages put on the topic's key.
    pub(crate) sent: u64,
    /// Zenoh puts that carried them (fewer: messages waiting together go as one batch).
    pub(crate) puts: u64,
    /// Messages the bridge's subscriber lost.
    pub(crate) lost_at_source: u64,
}

/// Counters of one imported topic.
#[derive(Clone, Debug, Default)]
pub(crate) struct Imported {
    pub(crate) type_name: String,
    pub(crate) fingerprint: u64,
    /// `republishing`, `type conflict`, `publisher conflict`, `no schema`, `waiting`.
    pub(crate) state: &'static str,
    /// Messages that arrived from the network (before any check).
    pub(crate) received: u64,
    /// Messages published on the local topic.
    pub(crate) republished: u64,
    /// Gaps in the streams' sequence numbers.
    pub(crate) lost_network: u64,
    /// The streams' `lost_at_source`, summed over origins.
    pub(crate) lost_at_source: u64,
    pub(crate) dropped_type_conflict: u64,
    pub(crate) dropped_publisher_conflict: u64,
    /// Refused by the local publisher: wrong length, invalid `bool` or enum values.
    pub(crate) dropped_invalid: u64,
    pub(crate) dropped_no_schema: u64,
    /// Messages that came from this very bridge (never, unless loop avoidance failed).
    pub(crate) dropped_own: u64,
    /// Messages whose sequence number was not above the stream's last (never over TCP).
    pub(crate) duplicates: u64,
    /// The bridges the topic came from.
    pub(crate) origins: Vec<String>,
}

fn fingerprint_json(fp: u64) -> Value {
    Value::String(format!("{fp:#018x}"))
}

impl Exposed {
    fn to_json(&self) -> Value {
        json!({
            "type": self.type_name,
            "fingerprint": fingerprint_json(self.fingerprint),
            "sent": self.sent,
            "puts": self.puts,
            "lost_at_source": self.lost_at_source,
        })
    }
}

impl Imported {
    fn to_json(&self) -> Value {
        json!({
            "type": self.type_name,
            "fingerprint": fingerprint_json(self.fingerprint),
            "state": self.state,
            "received": self.received,
            "republished": self.republished,
            "lost_network": self.lost_network,
            "lost_at_source": self.lost_at_source,
            "dropped_type_conflict": self.dropped_type_conflict,
            "dropped_publisher_conflict": self.dropped_publisher_conflict,
            "dropped_invalid": self.dropped_invalid,
            "dropped_no_schema": self.dropped_no_schema,
            "dropped_own": self.dropped_own,
            "duplicates": self.duplicates,
            "origins": self.origins,
        })
    }
}

/// What the file says, gathered from the bridge's parts.
#[derive(Debug)]
pub(crate) struct Snapshot<'a> {
    pub(crate) id: &'a str,
    pub(crate) expose: &'a [String],
    pub(crate) import: &'a [String],
    pub(crate) peers: &'a [String],
    pub(crate) exposed: &'a BTreeMap<String, Exposed>,
    pub(crate) imported: &'a BTreeMap<String, Imported>,
}

/// This bridge's status file (removed on drop).
#[derive(Debug)]
pub(crate) struct StatusFile {
    path: PathBuf,
    tmp: PathBuf,
    pid: u32,
    start_time: u64,
    /// The last text written, not to write it again.
    last: String,
}

impl StatusFile {
    /// The status file of this process (not written yet).
    pub(crate) fn new() -> StatusFile {
        let pid = std::process::id();
        let path = status_path(pid);
        let mut tmp = path.clone().into_os_string();
        tmp.push(".tmp");
        StatusFile {
            path,
            tmp: tmp.into(),
            pid,
            start_time: start_time(pid).unwrap_or(0),
            last: String::new(),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the snapshot if it says something new (besides the time).
    ///
    /// # Errors
    ///
    /// [`Error::Status`] if the file cannot be written.
    pub(crate) fn write(&mut self, s: &Snapshot<'_>) -> Result<(), Error> {
        let mut v = json!({
            "format": STATUS_FORMAT,
            "pid": self.pid,
            "start_time": self.start_time,
            "id": s.id,
            "expose": s.expose,
            "import": s.import,
            "peers": s.peers,
            "exposed": s.exposed.iter().map(|(t, e)| (t.clone(), e.to_json())).collect::<serde_json::Map<_, _>>(),
            "imported": s.imported.iter().map(|(t, i)| (t.clone(), i.to_json())).collect::<serde_json::Map<_, _>>(),
        });
        let text = v.to_string();
        if text == self.last {
            return Ok(());
        }
        v["updated_unix_ns"] = json!(unix_ns());
        let io = |source| Error::Status { path: self.path.clone(), source };
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&self.tmp)
            .map_err(io)?;
        file.write_all(v.to_string().as_bytes()).map_err(io)?;
        drop(file);
        std::fs::rename(&self.tmp, &self.path).map_err(io)?;
        self.last = text;
        Ok(())
    }
}

impl Drop for StatusFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        let _ = std::fs::remove_file(&self.tmp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_start_time_tells_processes_apart() {
        let me = start_time(std::process::id()).expect("our own start time");
        assert_eq!(start_time(std::process::id()), Some(me), "stable");
        // Clock ticks (100 a second on Linux) since boot: no later than now.
        let uptime = std::fs::read_to_string("/proc/uptime").unwrap();
        let uptime: f64 = uptime.split_whitespace().next().unwrap().parse().unwrap();
        assert!(me <= (uptime * 100.0) as u64 + 100, "{me} ticks, up {uptime} s");
        // A process started after this one did not start before it.
        let mut child = std::process::Command::new("sleep").arg("10").spawn().unwrap();
        let later = start_time(child.id());
        let _ = child.kill();
        let _ = child.wait();
        assert!(later.is_some_and(|t| t >= me), "{later:?} < {me}");
        assert_eq!(start_time(u32::MAX), None);
        assert_eq!(file_pid("eshm.bridge.123.json"), Some(123));
        assert_eq!(file_pid("eshm.bridge.x.json"), None);
        assert_eq!(file_pid("eshm.topic.a"), None);
    }
}
