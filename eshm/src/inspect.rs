//! Looking at segments from the outside, without taking part: what `eshm list` and `eshm info`
//! show, and removing what dead processes left behind (`eshm clean`). Files are mapped read-only and every field is checked as when subscribing, so a
//! corrupt segment is reported (in [`SegmentInfo::problem`]), never trusted.
//!
//! ```
//! # let name = format!("doc/inspect/{}", std::process::id());
//! let publisher = eshm::Publisher::<f64>::create(&name)?;
//! let info = eshm::inspect::info(eshm::segment::SegmentKind::Topic, &name)?;
//! assert_eq!(info.owner_pid, std::process::id());
//! assert!(info.owner_alive);
//! assert_eq!(info.schema.unwrap().type_name(), "f64");
//! assert_eq!(info.published, 0);
//! # Ok::<(), eshm::Error>(())
//! ```

use crate::channel::{ChannelDetails, Link};
use crate::error::{Error, Result};
use crate::layout::{STATE_CLOSED, STATE_LIVE, STATE_SUPERSEDED};
use crate::os::{self, Dir, FileStat};
use crate::ring::mapped::MappedRing;
use crate::schema::Schema;
use crate::segment::{self, SegmentKind};
use crate::service::ServiceDetails;
use crate::service::mapped::{Mapped, wake_action, wake_service};
use crate::sync::Ordering;
use std::path::PathBuf;
use std::time::Duration;

/// The life-cycle state recorded in a segment's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SegmentState {
    /// Created and not closed (its owner may still have died: see `owner_alive`).
    Live,
    /// Its owner dropped it cleanly.
    Closed,
    /// A new owner replaced it under its name.
    Superseded,
    /// A value this version does not know.
    Unknown(u32),
}

impl SegmentState {
    fn from_code(code: u32) -> SegmentState {
        match code {
            STATE_LIVE => SegmentState::Live,
            STATE_CLOSED => SegmentState::Closed,
            STATE_SUPERSEDED => SegmentState::Superseded,
            other => SegmentState::Unknown(other),
        }
    }

    /// `"live"`, `"closed"`, `"superseded"` or `"unknown"`.
    pub fn as_str(self) -> &'static str {
        match self {
            SegmentState::Live => "live",
            SegmentState::Closed => "closed",
            SegmentState::Superseded => "superseded",
            SegmentState::Unknown(_) => "unknown",
        }
    }
}

/// What a segment file says about itself.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SegmentInfo {
    /// Topic, channel, service or action.
    pub kind: SegmentKind,
    /// The topic, channel, service or action name (from the file name; the header's copy is checked against it).
    pub name: String,
    /// The file.
    pub path: PathBuf,
    /// The file's length in bytes.
    pub file_len: u64,
    /// The file's owner.
    pub uid: u32,
    /// The file's permission bits.
    pub mode: u32,
    /// Why the header could not be read or trusted (the fields below are then defaults).
    pub problem: Option<String>,
    /// Process id of the creator (publisher, channel master, or server).
    pub owner_pid: u32,
    /// Whether that process (same pid *and* start time) is still running.
    pub owner_alive: bool,
    /// The header's state.
    pub state: SegmentState,
    /// Creation time, ns since the Unix epoch.
    pub created_unix_ns: u64,
    /// Time since creation.
    pub age: Option<Duration>,
    /// The message type's fingerprint (0 for channels).
    pub fingerprint: u64,
    /// The message type (topics).
    pub schema: Option<Schema>,
    /// Messages the ring keeps (topics), queue bytes per direction (channels), or client
    /// slots (services and actions).
    pub capacity: usize,
    /// Message size in bytes (topics), the largest message (channels), or the request's (or
    /// goal's) size (services and actions).
    pub message_size: usize,
    /// Messages published so far (topics), or answers written (services and actions).
    pub published: u64,
    /// Time since the last publish (topics), if any.
    pub last_publish_age: Option<Duration>,
    /// Subscriber processes attached now (topics; those beyond 64 are not counted), or live
    /// clients (services and actions).
    pub readers: usize,
    /// Their process ids.
    pub reader_pids: Vec<u32>,
    /// Process ids of the readers registered as asleep on the topic (a dead one among them is
    /// cleared by the publisher's next wake-up).
    pub sleeping_reader_pids: Vec<u32>,
    /// Sleeping readers without an entry in the reader table (beyond 64 readers).
    pub sleeping_unlisted: u32,
    /// The message pool of a topic whose messages live in one (large messages).
    pub pool: Option<PoolInfo>,
    /// The endpoints and queues of a channel.
    pub channel: Option<ChannelDetails>,
    /// The server, clients and counters of a service or action.
    pub service: Option<ServiceDetails>,
}

/// The message pool of a topic whose messages live in one (of
/// [`POOLED_MIN`](crate::pubsub::POOLED_MIN) bytes or more).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct PoolInfo {
    /// Number of blocks (one message each).
    pub blocks: usize,
    /// Bytes per block.
    pub block_size: usize,
    /// How many samples the topic's subscribers may hold at once, together.
    pub hold_slots: usize,
    /// Who holds samples now, and how many.
    pub holders: Vec<Holding>,
}

/// Samples held by one process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Holding {
    /// The process.
    pub pid: u32,
    /// Samples it holds.
    pub samples: usize,
    /// Whether it runs (a dead holder's samples are given back by the publisher within
    /// 100 ms, or by the next subscriber to attach).
    pub alive: bool,
}

fn age(now: u64, then: u64) -> Option<Duration> {
    (then != 0).then(|| Duration::from_nanos(now.saturating_sub(then)))
}

fn read_info(
    dir: &Dir,
    kind: SegmentKind,
    name: String,
    file_name: &str,
) -> Result<Option<SegmentInfo>> {
    let mut info = SegmentInfo {
        kind,
        name,
        path: dir.file_path(file_name),
        file_len: 0,
        uid: 0,
        mode: 0,
        problem: None,
        owner_pid: 0,
        owner_alive: false,
        state: SegmentState::Unknown(u32::MAX),
        created_unix_ns: 0,
        age: None,
        fingerprint: 0,
        schema: None,
        capacity: 0,
        message_size: 0,
        published: 0,
        last_publish_age: None,
        readers: 0,
        reader_pids: Vec::new(),
        sleeping_reader_pids: Vec::new(),
        sleeping_unlisted: 0,
        pool: None,
        channel: None,
        service: None,
    };
    if let Some(st) = dir.stat(file_name)? {
        fill_stat(&mut info, &st);
    } else {
        return Ok(None);
    }
    let opened = match segment::open_for_inspection(dir, file_name) {
        Ok(Some(opened)) => opened,
        Ok(None) => return Ok(None),
        Err(e) => {
            info.problem = Some(e.to_string());
            return Ok(Some(info));
        }
    };
    let (seg, st) = opened;
    fill_stat(&mut info, &st);
    let header = match seg.read_header(kind) {
        Ok(h) => h,
        Err(e) => {
            info.problem = Some(e.to_string());
            return Ok(Some(info));
        }
    };
    if header.name != info.name {
        info.problem = Some(format!("the header names {:?}, not {:?}", header.name, info.name));
        return Ok(Some(info));
    }
    let mono = os::monotonic_ns();
    let coarse = os::coarse_ns();
    info.owner_pid = header.owner_pid;
    info.owner_alive = os::is_alive(header.owner_pid, header.owner_start_time);
    info.state = SegmentState::from_code(seg.state());
    info.created_unix_ns = header.created_unix_ns;
    info.age = age(mono, header.created_ns);
    info.fingerprint = header.fingerprint;
    if kind == SegmentKind::Topic {
        let schema = match Schema::decode(&header.schema) {
            Ok(s) => s,
            Err(e) => {
                info.problem = Some(format!("its schema does not decode: {e}"));
                return Ok(Some(info));
            }
        };
        match MappedRing::new(seg, header, &schema) {
            Ok(ring) => {
                info.capacity = ring.geo.slot_count;
                info.message_size = ring.geo.payload_size;
                let view = ring.view();
                info.published = view.newest();
                let last = view.writer.last_publish_ns.load(Ordering::Acquire);
                info.last_publish_age = if info.published == 0 { None } else { age(coarse, last) };
                info.reader_pids = ring.reader_pids();
                (info.sleeping_reader_pids, info.sleeping_unlisted) = ring.sleepers();
                if let (Some(geo), Some(pool)) = (ring.geo.pool, ring.pool()) {
                    let holders = pool
                        .holders()
                        .into_iter()
                        .map(|(h, samples)| Holding {
                            pid: h.pid,
                            samples,
                            alive: os::is_alive(h.pid, h.start_time),
                        })
                        .collect();
                    info.pool = Some(PoolInfo {
                        blocks: geo.block_count,
                        block_size: geo.block_size,
                        hold_slots: geo.hold_count,
                        holders,
                    });
                }
                if ring.seg.is_broken() {
                    info.problem = Some(ring.seg.broken_error().to_string());
                }
                info.readers = info.reader_pids.len();
            }
            Err(e) => info.problem = Some(e.to_string()),
        }
        info.schema = Some(schema);
    } else if matches!(kind, SegmentKind::Service | SegmentKind::Action) {
        match Mapped::new(seg, header, kind) {
            Ok(mapped) => {
                let details = mapped.details();
                info.capacity = details.max_clients;
                info.message_size = mapped.geo.request_size;
                info.published = details.answered;
                info.readers = details.live_clients();
                info.reader_pids =
                    details.clients.iter().filter(|c| c.alive).map(|c| c.pid).collect();
                if mapped.seg.is_broken() {
                    info.problem = Some(mapped.seg.broken_error().to_string());
                }
                info.service = Some(details);
            }
            Err(e) => info.problem = Some(e.to_string()),
        }
    } else {
        match Link::new(seg, header) {
            Ok(link) => {
                info.capacity = link.data_words * 8;
                info.message_size = link.max_message;
                info.channel = Some(link.snapshot(None));
                if link.seg.is_broken() {
                    info.problem = Some(link.seg.broken_error().to_string());
                }
            }
            Err(e) => info.problem = Some(e.to_string()),
        }
    }
    Ok(Some(info))
}

fn fill_stat(info: &mut SegmentInfo, st: &FileStat) {
    info.file_len = st.len;
    info.uid = st.uid;
    info.mode = st.mode;
}

/// Every eshm topic, channel, service and action in the segment directory, sorted by kind and
/// name.
///
/// # Errors
///
/// [`Error::Io`] if the directory cannot be read. Problems with single segments are reported
/// in their [`SegmentInfo::problem`].
pub fn list() -> Result<Vec<SegmentInfo>> {
    let dir = Dir::open()?;
    let mut out = Vec::new();
    for file_name in dir.entries()? {
        let Some((kind, name)) = segment::parse_file_name(&file_name) else { continue };
        if let Some(info) = read_info(&dir, kind, name, &file_name)? {
            out.push(info);
        }
    }
    out.sort_by(|a, b| (a.kind.as_str(), &a.name).cmp(&(b.kind.as_str(), &b.name)));
    Ok(out)
}

/// The topic, channel, service or action `name` (of `kind`).
///
/// # Errors
///
/// [`Error::NotFound`] if it does not exist, [`Error::InvalidName`] for an unusable name.
pub fn info(kind: SegmentKind, name: &str) -> Result<SegmentInfo> {
    let dir = Dir::open()?;
    let file_name = segment::file_name(kind, name)?;
    read_info(&dir, kind, name.to_owned(), &file_name)?
        .ok_or_else(|| Error::NotFound { name: name.to_owned() })
}

/// A file that [`clean`] removed (or would remove, in a dry run).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Removal {
    /// The file.
    pub path: PathBuf,
    /// The topic or channel it held, if it was a segment (not a temporary file).
    pub segment: Option<(SegmentKind, String)>,
    /// Why it is removed.
    pub reason: String,
}

/// What [`clean`] did.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct CleanReport {
    /// Files removed (or, in a dry run, that would be).
    pub removed: Vec<Removal>,
    /// Segments left alone because their owner runs, with its pid.
    pub kept: Vec<(PathBuf, u32)>,
    /// Files that could not be examined or removed, and why.
    pub failed: Vec<(PathBuf, String)>,
    /// Files under a segment's name that are not segments (symbolic links, FIFOs), left
    /// alone because `include_corrupt` was not given, and what they are.
    pub skipped: Vec<(PathBuf, String)>,
}

/// Removes segments whose owner process is dead, and temporary files of dead processes. A
/// segment whose owner is alive is never touched. Segments with an unreadable header, and
/// files under a segment's name that are not segments (symbolic links, FIFOs: only the name
/// goes), are removed only with `include_corrupt`. Subscribers still
/// attached to a removed segment are woken and look for a new one.
///
/// # Errors
///
/// [`Error::Io`] if the directory cannot be read; problems with single files are in
/// [`CleanReport::failed`].
pub fn clean(dry_run: bool, include_corrupt: bool) -> Result<CleanReport> {
    let dir = Dir::open()?;
    let mut report = CleanReport::default();
    let mut entries = dir.entries()?;
    entries.sort();
    for file_name in entries {
        let path = dir.file_path(&file_name);
        if let Some(pid) = segment::tmp_file_pid(&file_name) {
            if os::start_time(pid).is_none() {
                if !dry_run && let Err(e) = dir.unlink(&file_name) {
                    report.failed.push((path, e.to_string()));
                    continue;
                }
                report.removed.push(Removal {
                    path,
                    segment: None,
                    reason: format!("temporary file of dead process {pid}"),
                });
            }
            continue;
        }
        let Some((kind, name)) = segment::parse_file_name(&file_name) else { continue };
        // Something planted under a segment's name (a symbolic link, a FIFO): not a segment;
        // only removed on request, and then the name itself (a link's target is left alone).
        if let Ok(Some(FileStat { odd_type: Some(what), .. })) = dir.stat(&file_name) {
            if !include_corrupt {
                report.skipped.push((path, format!("{what}, not a segment")));
                continue;
            }
            if !dry_run && let Err(e) = dir.unlink(&file_name) {
                report.failed.push((path, e.to_string()));
                continue;
            }
            report.removed.push(Removal {
                path,
                segment: Some((kind, name)),
                reason: format!("{what}, not a segment (only the name is removed)"),
            });
            continue;
        }
        let wake: fn(&segment::Segment) = match kind {
            SegmentKind::Topic => MappedRing::wake_segment,
            SegmentKind::Channel => crate::channel::wake_segment,
            SegmentKind::Service => wake_service,
            SegmentKind::Action => wake_action,
        };
        match segment::remove_unowned(&dir, kind, &file_name, include_corrupt, dry_run, wake) {
            Ok(segment::Removed::Yes { owner }) => report.removed.push(Removal {
                path,
                segment: Some((kind, name)),
                reason: match owner {
                    Some(pid) => format!("owner process {pid} is dead"),
                    None => "its header is unreadable".to_owned(),
                },
            }),
            Ok(segment::Removed::OwnerAlive { pid }) => report.kept.push((path, pid)),
            Ok(segment::Removed::Vanished) => {}
            Err(e) => report.failed.push((path, e.to_string())),
        }
    }
    Ok(report)
}
