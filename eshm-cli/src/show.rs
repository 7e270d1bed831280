//! How segments look: the `list` table, `info` text, and their JSON.

use eshm::channel::{EndpointInfo, QueueInfo};
use eshm::inspect::{SegmentInfo, SegmentState};
use eshm::segment::SegmentKind;
use eshm::service::ServiceDetails;
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::time::Duration;

/// `text` made safe for a terminal: control characters (which could move the cursor, clear
/// the screen or set the window title of whoever runs `eshm`) are written as escapes.
pub(crate) fn safe(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() })
        .collect()
}

/// `12 ms`, `3.4 s`, `5 min`, `2.0 h`, `3 d`.
pub(crate) fn duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    match s {
        s if s < 1e-3 => format!("{} us", d.as_micros()),
        s if s < 1.0 => format!("{} ms", d.as_millis()),
        s if s < 60.0 => format!("{s:.1} s"),
        s if s < 3600.0 => format!("{:.0} min", s / 60.0),
        s if s < 86400.0 => format!("{:.1} h", s / 3600.0),
        s => format!("{:.0} d", s / 86400.0),
    }
}

/// `2026-11-29 13:05:02.123 UTC`: a time in nanoseconds since the Unix epoch.
pub(crate) fn utc(unix_ns: u64) -> String {
    let secs = unix_ns / 1_000_000_000;
    let millis = unix_ns % 1_000_000_000 / 1_000_000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // The proleptic Gregorian date of a day count (Howard Hinnant's `civil_from_days`).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{millis:03} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `56 B`, `4 KiB`, `1.5 MiB`.
pub(crate) fn bytes(n: u64) -> String {
    match n {
        n if n < 1024 => format!("{n} B"),
        n if n < 1 << 20 => format!("{} KiB", trim(n as f64 / 1024.0)),
        n => format!("{} MiB", trim(n as f64 / (1u64 << 20) as f64)),
    }
}

fn trim(x: f64) -> String {
    if x.fract() == 0.0 { format!("{x:.0}") } else { format!("{x:.1}") }
}

fn ms(d: Option<Duration>) -> Value {
    d.map_or(Value::Null, |d| json!((d.as_secs_f64() * 1e6).round() / 1e3))
}

/// `live`, `closed`, `superseded`, `dead` (live, owner gone) or `corrupt`.
pub(crate) fn state(info: &SegmentInfo) -> &'static str {
    match info.state {
        _ if info.problem.is_some() => "corrupt",
        SegmentState::Live if !info.owner_alive => "dead",
        other => other.as_str(),
    }
}

/// The message type's name: `Pose`, `f64`, `bytes` for channels, `Req -> Res` for services,
/// `Goal -> Result (Feedback)` for actions.
pub(crate) fn type_name(info: &SegmentInfo) -> String {
    if let Some(svc) = &info.service {
        let names: Vec<String> = svc.schemas.iter().map(|s| s.type_name()).collect();
        return match names.as_slice() {
            [g, r, f] => format!("{g} -> {r} ({f})"),
            [q, r] => format!("{q} -> {r}"),
            _ => "?".to_owned(),
        };
    }
    match (&info.schema, info.kind) {
        (Some(s), _) => s.type_name(),
        (None, SegmentKind::Channel) if info.problem.is_none() => "bytes".to_owned(),
        (None, _) => "?".to_owned(),
    }
}

fn service_json(svc: &ServiceDetails, kind: SegmentKind) -> Value {
    let roles: &[&str] = if kind == SegmentKind::Action {
        &["goal", "result", "feedback"]
    } else {
        &["request", "response"]
    };
    let types: serde_json::Map<String, Value> = roles
        .iter()
        .zip(&svc.schemas)
        .map(|(role, s)| ((*role).to_owned(), json!(s.type_name())))
        .collect();
    let schemas: serde_json::Map<String, Value> = roles
        .iter()
        .zip(&svc.schemas)
        .map(|(role, s)| ((*role).to_owned(), json!(s.definition())))
        .collect();
    json!({
        "generation": svc.generation,
        "types": types,
        "schemas": schemas,
        "max_clients": svc.max_clients,
        "max_in_flight": svc.max_in_flight,
        "feedback_depth": svc.feedback_depth,
        "clients": svc.live_clients(),
        "client_pids": svc.clients.iter().filter(|c| c.alive).map(|c| c.pid).collect::<Vec<_>>(),
        "dead_client_slots": svc.clients.iter().filter(|c| !c.alive).count(),
        "calls": svc.answered,
        "received": svc.received,
        "undelivered": svc.undelivered,
        "dropped": svc.dropped,
        "server_asleep": svc.server_asleep,
    })
}

fn endpoint_json(e: &EndpointInfo) -> Value {
    json!({
        "pid": e.pid,
        "alive": e.alive,
        "heartbeat_age_ms": ms(e.heartbeat_age),
        "heartbeats": e.heartbeats,
        "generation": e.generation,
    })
}

fn queue_json(q: &QueueInfo) -> Value {
    json!({
        "written": q.written,
        "bytes_written": q.bytes_written,
        "read": q.read,
        "bytes_read": q.bytes_read,
        "pending": q.pending(),
    })
}

/// Everything about a segment as a JSON object (the element of `list --json`, and `info
/// --json`). `name` is the name as its program wrote it; the fingerprint is a hex string
/// (JSON numbers lose precision past 2^53).
pub(crate) fn to_json(info: &SegmentInfo) -> Value {
    let mut v = json!({
        "name": info.name,
        "kind": info.kind.as_str(),
        "type": type_name(info),
        "state": state(info),
        "owner_pid": info.owner_pid,
        "alive": info.owner_alive,
        "message_size": info.message_size,
        "capacity": info.capacity,
        "fingerprint": format!("{:#018x}", info.fingerprint),
        "schema": info.schema.as_ref().map(|s| s.definition()),
        "published": info.published,
        "last_publish_age_ms": ms(info.last_publish_age),
        "readers": info.readers,
        "reader_pids": info.reader_pids,
        "sleeping_reader_pids": info.sleeping_reader_pids,
        "sleeping_unlisted": info.sleeping_unlisted,
        "created_unix_ns": info.created_unix_ns,
        "age_ms": ms(info.age),
        "path": info.path.display().to_string(),
        "file_len": info.file_len,
        "uid": info.uid,
        "mode": format!("{:o}", info.mode & 0o7777),
        "problem": info.problem,
    });
    if let Some(svc) = &info.service {
        v["service"] = service_json(svc, info.kind);
    }
    if let Some(pool) = &info.pool {
        v["pool"] = json!({
            "blocks": pool.blocks,
            "block_size": pool.block_size,
            "held_samples": pool.hold_slots,
            "holders": pool.holders.iter().map(|h| json!({
                "pid": h.pid,
                "samples": h.samples,
                "alive": h.alive,
            })).collect::<Vec<_>>(),
        });
    }
    if let Some(ch) = &info.channel {
        v["channel"] = json!({
            "master": endpoint_json(&ch.master),
            "slave": endpoint_json(&ch.slave),
            "master_to_slave": queue_json(&ch.master_to_slave),
            "slave_to_master": queue_json(&ch.slave_to_master),
        });
    }
    v
}

/// The `list` table.
pub(crate) fn table(infos: &[SegmentInfo]) -> String {
    let header =
        ["KIND", "NAME", "TYPE", "SIZE", "CAPACITY", "OWNER", "STATE", "PEERS", "MESSAGES", "LAST"];
    let rows: Vec<[String; 10]> = infos.iter().map(row).collect();
    let mut widths = header.map(str::len);
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[&str]| {
        let mut l = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            // Numbers right-aligned, the rest left-aligned.
            if matches!(i, 3 | 4 | 8) {
                let _ = write!(l, "{cell:>w$}  ");
            } else {
                let _ = write!(l, "{cell:<w$}  ");
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(&header);
    for r in &rows {
        line(&r.each_ref().map(String::as_str));
    }
    out
}

fn row(info: &SegmentInfo) -> [String; 10] {
    let owner = if info.owner_pid == 0 { "-".to_owned() } else { info.owner_pid.to_string() };
    let (size, capacity, peers, messages, last) = match (&info.channel, info.kind) {
        (None, SegmentKind::Service | SegmentKind::Action) if info.service.is_some() => {
            let svc = info.service.as_ref().expect("checked");
            let n = svc.live_clients();
            let sizes: Vec<String> = svc.schemas.iter().map(|s| bytes(s.size() as u64)).collect();
            (
                sizes.join("/"),
                format!("{} clients", svc.max_clients),
                format!("{n} client{}", if n == 1 { "" } else { "s" }),
                svc.answered.to_string(),
                if svc.server_asleep { "server idle".to_owned() } else { "-".to_owned() },
            )
        }
        (Some(ch), _) => (
            bytes(info.message_size as u64),
            bytes(info.capacity as u64),
            if ch.slave.alive { format!("slave {}", ch.slave.pid) } else { "no slave".to_owned() },
            (ch.master_to_slave.written + ch.slave_to_master.written).to_string(),
            ch.master.heartbeat_age.map_or("-".to_owned(), |d| format!("beat {} ago", duration(d))),
        ),
        (None, SegmentKind::Topic) if info.problem.is_none() => (
            bytes(info.message_size as u64),
            info.capacity.to_string(),
            format!("{} reader{}", info.readers, if info.readers == 1 { "" } else { "s" }),
            info.published.to_string(),
            info.last_publish_age.map_or("never".to_owned(), |d| format!("{} ago", duration(d))),
        ),
        _ => Default::default(),
    };
    [
        info.kind.as_str().to_owned(),
        safe(&info.name),
        safe(&type_name(info)),
        size,
        capacity,
        owner,
        state(info).to_owned(),
        peers,
        messages,
        last,
    ]
}

/// The `info` text; `bridges` (lines about what bridges carry, for a topic) go before the
/// schema.
pub(crate) fn details(info: &SegmentInfo, bridges: &str) -> String {
    let mut o = String::new();
    let age = |d: Option<Duration>| d.map_or("-".to_owned(), |d| format!("{} ago", duration(d)));
    let _ = writeln!(o, "{} {:?}", info.kind.as_str(), info.name);
    let _ = writeln!(o, "  file         {}", safe(&info.path.display().to_string()));
    let _ = writeln!(
        o,
        "               {} ({}), uid {}, mode {:o}",
        bytes(info.file_len),
        info.file_len,
        info.uid,
        info.mode & 0o7777
    );
    if let Some(problem) = &info.problem {
        let _ = writeln!(o, "  problem      {}", safe(problem));
        return o;
    }
    let alive = if info.owner_alive { "alive" } else { "not running" };
    let _ = writeln!(o, "  owner        pid {} ({alive})", info.owner_pid);
    let _ = writeln!(o, "  state        {}", state(info));
    let _ = writeln!(
        o,
        "  created      {} (unix time {:.3} s)",
        age(info.age),
        info.created_unix_ns as f64 / 1e9
    );
    if let Some(svc) = &info.service {
        service_details(&mut o, info, svc);
        return o;
    }
    match &info.channel {
        Some(ch) => {
            let _ = writeln!(o, "  queues       {} per direction", bytes(info.capacity as u64));
            let _ = writeln!(o, "  max message  {}", bytes(info.message_size as u64));
            for (role, e) in [("master", &ch.master), ("slave", &ch.slave)] {
                let pid = if e.pid == 0 { "-".to_owned() } else { e.pid.to_string() };
                let _ = writeln!(
                    o,
                    "  {role:<12} pid {pid} ({}), heartbeat {}, {} heartbeats, generation {}",
                    if e.alive { "alive" } else { "not alive" },
                    age(e.heartbeat_age),
                    e.heartbeats,
                    e.generation
                );
            }
            for (dir, q) in
                [("master->slave", &ch.master_to_slave), ("slave->master", &ch.slave_to_master)]
            {
                let _ = writeln!(
                    o,
                    "  {dir}  written {} ({}), read {} ({}), pending {}",
                    q.written,
                    bytes(q.bytes_written),
                    q.read,
                    bytes(q.bytes_read),
                    q.pending()
                );
            }
        }
        None => {
            let _ = writeln!(o, "  type         {}", safe(&type_name(info)));
            let _ = writeln!(o, "  fingerprint  {:#018x}", info.fingerprint);
            let slice = info.schema.as_ref().and_then(|s| s.slice_element());
            let _ = writeln!(
                o,
                "  ring         {} messages of {}{}",
                info.capacity,
                if slice.is_some() { "up to " } else { "" },
                bytes(info.message_size as u64)
            );
            if let Some(pool) = &info.pool {
                let _ = writeln!(
                    o,
                    "  pool         {} blocks of {}; samples held {} of {}",
                    pool.blocks,
                    bytes(pool.block_size as u64),
                    pool.holders.iter().map(|h| h.samples).sum::<usize>(),
                    pool.hold_slots
                );
                for h in &pool.holders {
                    let state = if h.alive { "" } else { " (dead: given back soon)" };
                    let _ =
                        writeln!(o, "    held by    pid {}: {} sample(s){state}", h.pid, h.samples);
                }
            }
            let _ = writeln!(o, "  published    {}", info.published);
            let _ = writeln!(o, "  last publish {}", age(info.last_publish_age));
            let pids: Vec<String> = info.reader_pids.iter().map(u32::to_string).collect();
            let _ = writeln!(o, "  readers      {} {}", info.readers, pids.join(" "));
            let asleep: Vec<String> =
                info.sleeping_reader_pids.iter().map(u32::to_string).collect();
            let unlisted = match info.sleeping_unlisted {
                0 => String::new(),
                n => format!(" (and {n} reader(s) beyond the reader table)"),
            };
            let _ = writeln!(o, "  asleep       {} {}{unlisted}", asleep.len(), asleep.join(" "));
            o.push_str(bridges);
            if let Some(schema) = &info.schema {
                let _ = writeln!(o, "  schema");
                for line in schema.definition().lines() {
                    let _ = writeln!(o, "    {line}");
                }
            }
        }
    }
    o
}

/// The `info` text of a service or action.
fn service_details(o: &mut String, info: &SegmentInfo, svc: &ServiceDetails) {
    let roles: &[&str] = if info.kind == SegmentKind::Action {
        &["goal", "result", "feedback"]
    } else {
        &["request", "response"]
    };
    let _ = writeln!(o, "  type         {}", safe(&type_name(info)));
    let _ = writeln!(o, "  generation   {}", svc.generation);
    let _ = writeln!(
        o,
        "  limits       {} clients, {} calls in flight each{}",
        svc.max_clients,
        svc.max_in_flight,
        if info.kind == SegmentKind::Action {
            format!(", {} feedback messages kept per goal", svc.feedback_depth)
        } else {
            String::new()
        }
    );
    let _ = writeln!(
        o,
        "  calls        {} answered, {} received, {} undelivered (client gone), {} dropped",
        svc.answered, svc.received, svc.undelivered, svc.dropped
    );
    let _ = writeln!(o, "  server       {}", if svc.server_asleep { "asleep" } else { "awake" });
    let _ = writeln!(o, "  clients      {} live", svc.live_clients());
    for c in &svc.clients {
        let _ = writeln!(
            o,
            "    slot {:<4} pid {} ({}), {} answered{}",
            c.slot,
            c.pid,
            if c.alive { "alive" } else { "dead: its slot goes to the next client" },
            c.answered,
            if c.asleep { ", asleep" } else { "" }
        );
    }
    for (role, schema) in roles.iter().zip(&svc.schemas) {
        let _ = writeln!(o, "  {role}");
        for line in schema.definition().lines() {
            let _ = writeln!(o, "    {}", safe(line));
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_dates() {
        assert_eq!(super::utc(0), "1970-01-01 00:00:00.000 UTC");
        assert_eq!(super::utc(951_782_400_000_000_000), "2000-02-29 00:00:00.000 UTC");
        assert_eq!(super::utc(1_795_000_000_123_456_789), "2026-11-18 11:06:40.123 UTC");
    }
}
