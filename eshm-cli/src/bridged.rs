//! What bridges say about a topic: the status files `eshm.bridge.<pid>.json` that running
//! bridges keep in the segment directory (written by the `eshm-bridge` crate's `status`
//! module, whose docs give the format). Read without Zenoh, so that every `eshm` shows them,
//! the Python package's included.

use serde_json::{Value, json};
use std::fmt::Write as _;

/// The format this reader understands (`eshm_bridge::status::STATUS_FORMAT`).
const FORMAT: &str = "eshm-bridge-status/1";

/// One bridge's view of a topic.
#[derive(Debug)]
pub(crate) struct Bridged {
    pid: u32,
    id: String,
    /// Whether the bridge still runs (its pid, with the start time its file records).
    alive: bool,
    /// `imported` or `exposed`.
    role: &'static str,
    /// The topic's counters, as the file has them.
    counters: Value,
}

/// Field 22 of `/proc/<pid>/stat`: the process's start time.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// What the bridges of this host say about topic `name` (files that cannot be read, or of
/// another format, are skipped; a file left by a bridge that no longer runs shows as such).
pub(crate) fn about(name: &str) -> Vec<Bridged> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(eshm::segment::shm_dir()) else { return out };
    let mut files: Vec<_> = entries.flatten().collect();
    files.sort_by_key(|e| e.file_name());
    for entry in files {
        let file_name = entry.file_name();
        let Some(pid) = file_name
            .to_str()
            .and_then(|f| f.strip_prefix("eshm.bridge.")?.strip_suffix(".json"))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(text) = std::fs::read_to_string(entry.path()) else { continue };
        let Ok(status) = serde_json::from_str::<Value>(&text) else { continue };
        if status["format"] != FORMAT || status["pid"] != pid {
            continue;
        }
        let alive = status["start_time"].as_u64().is_some_and(|t| Some(t) == start_time(pid));
        let id = status["id"].as_str().unwrap_or("?").to_owned();
        for role in ["imported", "exposed"] {
            if let Some(counters) = status[role].get(name) {
                let counters = counters.clone();
                out.push(Bridged { pid, id: id.clone(), alive, role, counters });
            }
        }
    }
    out
}

fn count(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or(0)
}

/// The `bridge` lines of `eshm info`.
pub(crate) fn text(bridged: &[Bridged]) -> String {
    let mut o = String::new();
    for b in bridged {
        let c = &b.counters;
        let running = if b.alive { "running" } else { "not running: its last status" };
        let _ = write!(
            o,
            "  bridge       {} by bridge pid {} ({running}), id {}",
            b.role,
            b.pid,
            crate::show::safe(&b.id)
        );
        if b.role == "imported" {
            let origins = c["origins"].as_array().map_or(0, Vec::len);
            let state = crate::show::safe(c["state"].as_str().unwrap_or("?"));
            let _ = writeln!(o, ", from {origins} remote bridge(s): {state}");
            let _ = writeln!(
                o,
                "               received {}, republished {}; lost on the network {}, lost on the \
                 source host {}",
                count(c, "received"),
                count(c, "republished"),
                count(c, "lost_network"),
                count(c, "lost_at_source"),
            );
            let _ = writeln!(
                o,
                "               dropped: type conflict {}, publisher conflict {}, invalid {}, \
                 no schema {}, own {}, duplicates {}",
                count(c, "dropped_type_conflict"),
                count(c, "dropped_publisher_conflict"),
                count(c, "dropped_invalid"),
                count(c, "dropped_no_schema"),
                count(c, "dropped_own"),
                count(c, "duplicates"),
            );
        } else {
            let _ = writeln!(
                o,
                "\n               sent {} (in {} puts), lost here before sending {}",
                count(c, "sent"),
                count(c, "puts"),
                count(c, "lost_at_source"),
            );
        }
    }
    o
}

/// The `bridges` array of `eshm info --json`.
pub(crate) fn json(bridged: &[Bridged]) -> Value {
    Value::Array(
        bridged
            .iter()
            .map(|b| {
                let mut v = json!({ "pid": b.pid, "id": b.id, "alive": b.alive, "role": b.role });
                if let (Some(obj), Some(counters)) = (v.as_object_mut(), b.counters.as_object()) {
                    for (k, val) in counters {
                        obj.entry(k.clone()).or_insert_with(|| val.clone());
                    }
                }
                v
            })
            .collect(),
    )
}
