//! A mapped channel segment: its validated header and queues, and the endpoints' claim and
//! release; creating it (a master) and attaching to it (a slave).

use super::{ChannelBuilder, Role};
use crate::error::{Error, Result};
use crate::layout::{ChannelHeader, Endpoint, QueueHeader, STATE_LIVE};
use crate::os::{self, Dir};
use crate::queue::{QueueView, record_size};
use crate::segment::{self, Created, HeaderInfo, NewSegment, Segment, SegmentKind};
use crate::sync::{AtomicU64, Ordering};
use std::ptr::NonNull;
use std::time::Duration;

/// A mapped channel segment, with pointers to its (checked) header and queues.
pub(crate) struct Link {
    pub(crate) seg: Segment,
    header: NonNull<ChannelHeader>,
    queues: [(NonNull<QueueHeader>, NonNull<AtomicU64>); 2],
    pub(crate) data_words: usize,
    pub(crate) max_message: usize,
}

// SAFETY: the pointers point into `seg`'s mapping, which moves with the struct, and reach only
// atomics; using them from another thread (the heartbeat thread) is as sound as from this one.
unsafe impl Send for Link {}
// SAFETY: `&Link` gives out only shared references to atomics.
unsafe impl Sync for Link {}

impl Link {
    /// Checks the channel header of a segment and keeps pointers to it.
    pub(crate) fn new(seg: Segment, info: HeaderInfo) -> Result<Link> {
        let bad = |reason: String| Error::corrupt(seg.path(), reason);
        let body = info.body_offset;
        if body.checked_add(size_of::<ChannelHeader>()).is_none_or(|end| end > seg.len()) {
            return Err(bad("the channel header runs past the end of the file".into()));
        }
        let header: &ChannelHeader = seg.at(body);
        let rd = |a: &AtomicU64| usize::try_from(a.load(Ordering::Acquire)).unwrap_or(usize::MAX);
        let capacity = rd(&header.capacity);
        let max_message = rd(&header.max_message);
        if capacity == 0 || !capacity.is_multiple_of(8) || capacity > MAX_CAPACITY {
            return Err(bad(format!(
                "queue capacity {capacity} is not a positive multiple of 8 up to {MAX_CAPACITY}"
            )));
        }
        if record_size(max_message).saturating_mul(2) > capacity as u64 {
            return Err(bad(format!(
                "largest message {max_message} does not fit twice in {capacity} bytes"
            )));
        }
        let mut queues = [(NonNull::dangling(), NonNull::dangling()); 2];
        for (i, q) in queues.iter_mut().enumerate() {
            let at = rd(&header.queue_offset[i]);
            let data = at.checked_add(size_of::<QueueHeader>());
            if !at.is_multiple_of(64)
                || data.and_then(|d| d.checked_add(capacity)).is_none_or(|end| end > seg.len())
            {
                return Err(bad(format!("queue {i} at offset {at} runs past the end of the file")));
            }
            let qh: &QueueHeader = seg.at(at);
            let words = seg.words(at + size_of::<QueueHeader>(), capacity / 8);
            *q = (NonNull::from(qh), NonNull::from(words).cast::<AtomicU64>());
        }
        Ok(Link {
            header: NonNull::from(header),
            seg,
            queues,
            data_words: capacity / 8,
            max_message,
        })
    }

    pub(crate) fn header(&self) -> &ChannelHeader {
        // SAFETY: derived in `new` from a checked reference into `self.seg`'s mapping, which
        // lives as long as `self`; all atomics.
        unsafe { self.header.as_ref() }
    }

    /// Queue 0 carries master to slave, queue 1 slave to master.
    pub(crate) fn queue(&self, i: usize) -> QueueView<'_> {
        let (header, data) = self.queues[i];
        // SAFETY: as in `header`: checked in `new` (`at` and `words`), same mapping.
        let header = unsafe { header.as_ref() };
        // SAFETY: as above; `data_words` words were checked to lie inside the mapping.
        let data = unsafe { std::slice::from_raw_parts(data.as_ptr(), self.data_words) };
        QueueView { header, data, max_message: self.max_message }
    }

    pub(crate) fn endpoint(&self, role: Role) -> &Endpoint {
        match role {
            Role::Slave => &self.header().slave,
            _ => &self.header().master,
        }
    }

    pub(crate) fn outgoing(&self, role: Role) -> QueueView<'_> {
        self.queue(if role == Role::Master { 0 } else { 1 })
    }

    pub(crate) fn incoming(&self, role: Role) -> QueueView<'_> {
        self.queue(if role == Role::Master { 1 } else { 0 })
    }

    pub(crate) fn beat(&self, role: Role) {
        let ep = self.endpoint(role);
        ep.heartbeat_ns.store(os::coarse_ns(), Ordering::Release);
        // A statistic: load and store, not a locked add on every message. The heartbeat thread
        // beating at the same moment can make one beat go uncounted, nothing more.
        ep.heartbeats.store(ep.heartbeats.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }
}

/// Wakes everyone asleep on a channel segment (used when it is closed or superseded). Reads
/// only offsets it checks, so a corrupt segment wakes nobody rather than panicking.
pub(crate) fn wake_segment(seg: &Segment) {
    let Ok(info) = seg.read_header(SegmentKind::Channel) else { return };
    let body = info.body_offset;
    if body.checked_add(size_of::<ChannelHeader>()).is_none_or(|end| end > seg.len()) {
        return;
    }
    let header: &ChannelHeader = seg.at(body);
    for offset in &header.queue_offset {
        let at = usize::try_from(offset.load(Ordering::Acquire)).unwrap_or(usize::MAX);
        if at.is_multiple_of(64)
            && at.checked_add(size_of::<QueueHeader>()).is_some_and(|end| end <= seg.len())
        {
            let q: &QueueHeader = seg.at(at);
            for word in [&q.data_futex, &q.space_futex] {
                crate::sync::futex::bump_and_wake(word);
            }
        }
    }
}

/// The largest queue accepted, in bytes per direction.
pub const MAX_CAPACITY: usize = 1 << 30;

/// Fills in an endpoint for this process, once its pid slot is claimed (see
/// [`os::claim_pid_slot`], which stores the pid last).
fn take_endpoint(ep: &Endpoint, stale: Duration) {
    ep.heartbeat_ns.store(os::coarse_ns(), Ordering::Release);
    ep.stale_ns.store(u64::try_from(stale.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
    ep.generation.fetch_add(1, Ordering::AcqRel);
    ep.attached.store(1, Ordering::Release);
}

/// Gives up this process's endpoint on `link` (if it still holds it).
pub(crate) fn release_endpoint(link: &Link, role: Role) {
    let ep = link.endpoint(role);
    if ep.pid.load(Ordering::Acquire) == os::pid() {
        ep.attached.store(0, Ordering::Release);
        if role == Role::Slave {
            ep.pid.store(0, Ordering::Release);
        }
    }
}

/// Creates the channel (or takes over a dead master's), with the sizes of `cfg`: only the
/// master's sizes count, so only a master checks them.
pub(crate) fn create_master(dir: &Dir, cfg: &ChannelBuilder) -> Result<Link> {
    if cfg.max_message > MAX_CAPACITY / 2 - 8 {
        return Err(Error::InvalidCapacity {
            what: "a channel's largest message (bytes)",
            requested: cfg.max_message as u64,
            min: 0,
            max: (MAX_CAPACITY / 2 - 8) as u64,
        });
    }
    let capacity = cfg.capacity.saturating_add(7) / 8 * 8;
    if capacity > MAX_CAPACITY {
        return Err(Error::InvalidCapacity {
            what: "a channel's queue (bytes per direction)",
            requested: cfg.capacity as u64,
            min: 16,
            max: MAX_CAPACITY as u64,
        });
    }
    let needed = record_size(cfg.max_message).saturating_mul(2);
    if needed > capacity as u64 {
        return Err(Error::ChannelSizes { capacity, max_message: cfg.max_message, needed });
    }
    let queue_len = size_of::<QueueHeader>() + capacity;
    let spec = NewSegment {
        kind: SegmentKind::Channel,
        name: &cfg.name,
        schema: &[],
        fingerprint: 0,
        body_len: size_of::<ChannelHeader>() + 2 * queue_len.next_multiple_of(64),
        body_align: 64,
        mode: cfg.mode,
    };
    let created = segment::create(
        dir,
        &spec,
        |seg, body| {
            let h: &ChannelHeader = seg.at(body);
            h.capacity.store(capacity as u64, Ordering::Relaxed);
            h.max_message.store(cfg.max_message as u64, Ordering::Relaxed);
            let first = body + size_of::<ChannelHeader>();
            h.queue_offset[0].store(first as u64, Ordering::Relaxed);
            h.queue_offset[1]
                .store((first + queue_len.next_multiple_of(64)) as u64, Ordering::Relaxed);
            // A new segment: nobody else can hold the master's slot yet.
            let _ = os::claim_pid_slot(&h.master.pid, &h.master.start_time, || {
                take_endpoint(&h.master, cfg.stale_threshold);
            });
        },
        |_, _| {},
        wake_segment,
    )?;
    let (seg, info) = match created {
        Created::New(seg, info) => (seg, info),
        Created::Owned { pid } => {
            return Err(Error::RoleTaken { name: cfg.name.clone(), role: "master", pid });
        }
    };
    Link::new(seg, info)
}

/// Attaches to a live master, retrying as the reconnection budget allows if `wait`.
pub(crate) fn attach_slave(dir: &Dir, cfg: &ChannelBuilder, wait: bool) -> Result<Link> {
    let budget = if wait { cfg.max_reconnect_attempts } else { Some(0) };
    let mut attempts = 0u32;
    loop {
        let reason = match segment::open(dir, SegmentKind::Channel, &cfg.name, cfg.trust)? {
            Some((seg, info))
                if os::is_alive(info.owner_pid, info.owner_start_time)
                    && seg.state() == STATE_LIVE =>
            {
                let link = Link::new(seg, info)?;
                claim_slave(&link, &cfg.name, cfg.stale_threshold)?;
                return Ok(link);
            }
            Some((_, info)) => Some(format!("its master (pid {}) is not running", info.owner_pid)),
            None => None,
        };
        if budget.is_some_and(|max| attempts >= max) {
            return Err(match (wait, reason) {
                (false, None) => Error::NotFound { name: cfg.name.clone() },
                (_, reason) => Error::NoMaster { name: cfg.name.clone(), attempts, reason },
            });
        }
        attempts += 1;
        std::thread::sleep(cfg.reconnect_interval);
    }
}

/// Claims the slave endpoint, unless a live slave holds it.
pub(crate) fn claim_slave(link: &Link, name: &str, stale: Duration) -> Result<()> {
    let ep = &link.header().slave;
    os::claim_pid_slot(&ep.pid, &ep.start_time, || {
        take_endpoint(ep, stale);
        // The previous slave, if any, is gone, and with it any sleep it registered (it may
        // have been killed asleep): without this, every write of the master would wake nobody
        // with a system call until the end of the channel.
        link.incoming(Role::Slave).header.data_waiters.store(0, Ordering::Relaxed);
        link.outgoing(Role::Slave).header.space_waiters.store(0, Ordering::Relaxed);
    })
    .map_err(|pid| Error::RoleTaken { name: name.to_owned(), role: "slave", pid })
}
