//! The untyped [`RawSubscriber`]: receives the bytes of its topic's [`Schema`]. It attaches
//! to its topic when the topic appears, and again when it is re-created; the fast path of a
//! receive is a few loads from shared memory.

use super::options::SubscriberOptions;
#[cfg(doc)]
use super::subscriber::Subscriber;
use crate::error::{Error, RecvError, Result};
use crate::layout::{STATE_LIVE, STATE_SUPERSEDED};
use crate::os::{self, Dir, FileId};
use crate::ring::Read;
use crate::ring::mapped::MappedRing;
use crate::schema::Schema;
use crate::segment::{self, SegmentKind};
use crate::sync::{Ordering, torn};
use crate::wait::{self, Stand, WaitStrategy};
use std::mem::MaybeUninit;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How many slots ahead of the one just read a subscriber prefetches.
const READ_AHEAD: u64 = 4;
/// How often an idle subscriber checks that its segment is still the one under its name.
const IDLE_CHECK_NS: u64 = 200_000_000;
/// Longest sleep of a blocked subscriber between checks of its segment.
const PARK_SLICE: Duration = Duration::from_millis(200);
/// Losses in a row after which one receive call gives up (an honest writer cannot lap a
/// reader this often within one call; a corrupt ring could make it loop forever).
const MAX_LOSSES_PER_CALL: u32 = 64;

struct Attached {
    ring: MappedRing,
    /// The schema in the segment (decoded once).
    schema: Schema,
    /// Our registration in the ring's reader table.
    reader_slot: Option<usize>,
}

/// The untyped subscriber: receives messages as bytes, with the topic's [`Schema`].
pub struct RawSubscriber {
    pub(super) topic: Arc<str>,
    /// The type this subscriber accepts (`None`: any, e.g. for tools that decode by schema).
    expected: Option<Schema>,
    options: SubscriberOptions,
    dir: Dir,
    attached: Option<Attached>,
    /// The segment last detached from (closed or superseded, and read to the end): never
    /// attached again, which would deliver its messages twice.
    drained: Option<FileId>,
    /// Messages of the topic accounted for (received or counted lost) when this subscriber
    /// left its last segment, counted over every publisher of the topic (see
    /// `RingHeader::published_before`): what a later publisher published before that this
    /// subscriber never saw is lost.
    accounted: Option<u64>,
    next: u64,
    lost: u64,
    created_ns: u64,
    /// Pending polls since the last look at the segment's state.
    idle_polls: u32,
    last_check_ns: u64,
}

impl std::fmt::Debug for RawSubscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawSubscriber")
            .field("name", &self.topic)
            .field("attached", &self.attached.is_some())
            .field("next", &self.next)
            .field("lost", &self.lost)
            .finish()
    }
}

impl RawSubscriber {
    /// Opens a subscriber on `name`. With `Some(schema)`, only that message type is accepted
    /// (a topic of another type is [`Error::TypeMismatch`]); with `None`, any type is, and
    /// [`schema`](Self::schema) tells which.
    ///
    /// # Errors
    ///
    /// As [`Subscriber::open`].
    pub fn open(
        name: &str,
        expected: Option<&Schema>,
        options: SubscriberOptions,
    ) -> Result<RawSubscriber> {
        segment::file_name(SegmentKind::Topic, name)?;
        let mut sub = RawSubscriber {
            topic: name.into(),
            expected: expected.cloned(),
            options,
            dir: Dir::open()?,
            attached: None,
            drained: None,
            accounted: None,
            next: 1,
            lost: 0,
            created_ns: os::monotonic_ns(),
            idle_polls: 0,
            last_check_ns: 0,
        };
        sub.attach()?;
        Ok(sub)
    }

    /// The topic's name.
    pub fn name(&self) -> &str {
        &self.topic
    }

    /// The schema of the topic currently attached (`None` while not attached).
    pub fn schema(&self) -> Option<&Schema> {
        self.attached.as_ref().map(|a| &a.schema)
    }

    /// Messages that were overwritten before this subscriber read them.
    pub fn lost(&self) -> u64 {
        self.lost
    }

    /// Whether the subscriber is attached to a topic whose publisher is alive. Reads
    /// `/proc`: meant for status displays, not for hot loops.
    pub fn is_connected(&self) -> bool {
        self.attached.as_ref().is_some_and(|a| {
            a.ring.seg.state() == STATE_LIVE
                && os::is_alive(a.ring.info.owner_pid, a.ring.info.owner_start_time)
        })
    }

    /// Tries to attach; `Ok(false)` if the topic does not exist (yet).
    fn attach(&mut self) -> Result<bool> {
        debug_assert!(self.attached.is_none());
        self.last_check_ns = os::coarse_ns();
        let Some((seg, info)) =
            segment::open(&self.dir, SegmentKind::Topic, &self.topic, self.options.trust)?
        else {
            return Ok(false);
        };
        // A superseded segment is about to be replaced under its name (its replacement is
        // renamed in right after marking it), and a drained one was read to the end: wait for
        // the next segment instead.
        if seg.state() == STATE_SUPERSEDED || self.drained == Some(seg.id()) {
            return Ok(false);
        }

        let found = Schema::decode(&info.schema)
            .map_err(|e| Error::corrupt(seg.path(), format!("its schema does not decode: {e}")))?;
        if let Some(expected) = &self.expected
            && expected.fingerprint() != info.fingerprint
        {
            return Err(Error::TypeMismatch {
                name: self.topic.to_string(),
                expected: expected.type_name(),
                found: found.type_name(),
                expected_fingerprint: expected.fingerprint(),
                found_fingerprint: info.fingerprint,
                difference: expected
                    .first_difference(&found)
                    .unwrap_or_else(|| "none found".into()),
            });
        }
        let ring = MappedRing::new(seg, info, found.size())?;
        // A segment created after this subscriber holds only messages published after it was
        // created: take them all. An older one: start with the next message, or `history`
        // messages back (as far as the ring still holds them).
        let view = ring.view();
        self.next = if ring.info.created_ns >= self.created_ns {
            1
        } else {
            let newest = view.newest();
            newest
                .saturating_add(1)
                .saturating_sub(self.options.history.min(view.capacity()))
                .max(1)
        };
        // Whole publishers that came and went since the last segment (this subscriber was
        // stopped meanwhile, say): their messages are lost to it.
        if let Some(accounted) = self.accounted.take() {
            self.lost = self.lost.saturating_add(ring.published_before().saturating_sub(accounted));
        }
        let reader_slot = ring.register_reader();
        self.attached = Some(Attached { ring, schema: found, reader_slot });
        self.idle_polls = 0;
        Ok(true)
    }

    /// If another process truncated the segment under this subscriber: leaves it for good
    /// (the next receive looks for the topic's next segment) and reports it.
    fn check_broken(&mut self) -> Result<(), RecvError> {
        match &self.attached {
            Some(att) if att.ring.seg.is_broken() => {
                let e = att.ring.seg.broken_error();
                self.detach();
                Err(RecvError::Attach(Box::new(e)))
            }
            _ => Ok(()),
        }
    }

    fn detach(&mut self) {
        if let Some(att) = self.attached.take() {
            self.drained = Some(att.ring.seg.id());
            self.accounted = Some(att.ring.published_before().saturating_add(self.next - 1));
            if let Some(i) = att.reader_slot {
                att.ring.unregister_reader(i);
            }
        }
    }

    /// Makes sure we are attached to the current segment, if there is one. Called when there
    /// is nothing to read: detaches from a closed, superseded or replaced segment (after the
    /// caller has drained it) and attaches to a new one. While attached, whether the name
    /// still refers to our segment (a system call) is checked at most every 200 ms unless
    /// `force`d.
    fn refresh(&mut self, force: bool) -> Result<(), RecvError> {
        self.refresh_inner(force).map_err(|e| RecvError::Attach(Box::new(e)))
    }

    fn refresh_inner(&mut self, force: bool) -> Result<()> {
        let now_ns = os::coarse_ns();
        match &self.attached {
            Some(att) => {
                let stale = att.ring.seg.state() != STATE_LIVE
                    || ((force || now_ns.saturating_sub(self.last_check_ns) >= IDLE_CHECK_NS) && {
                        self.last_check_ns = now_ns;
                        !att.ring.seg.is_current(&self.dir)
                    });
                if stale {
                    self.detach();
                    self.attach()?;
                }
            }
            None => {
                self.attach()?;
            }
        }
        Ok(())
    }

    /// Receives the next message into `dst` (exactly the schema's size) without blocking.
    /// `Ok(true)` if one was copied.
    ///
    /// The copy is not validated: callers check `bool` and enum fields (see
    /// [`Schema::validate`]) before trusting the bytes as a value.
    ///
    /// # Errors
    ///
    /// [`RecvError::WrongSize`] if `dst` is not the topic's message size (the topic may have
    /// been re-created with another type), [`RecvError::Attach`] if attaching to a re-created
    /// topic fails.
    #[inline]
    pub fn try_recv_into(&mut self, dst: &mut [u8]) -> Result<bool, RecvError> {
        self.try_recv_raw(as_uninit(dst))
    }

    /// [`try_recv_into`](Self::try_recv_into) into uninitialised memory: when it returns
    /// `Ok(true)`, every byte of `dst` is initialised.
    #[inline]
    pub(super) fn try_recv_raw(&mut self, dst: &mut [MaybeUninit<u8>]) -> Result<bool, RecvError> {
        // Fast path, inlined into typed callers: attached, and the next message is there (or
        // nothing is, on a live segment). Everything else goes to `try_recv_slow`.
        if let Some(att) = &self.attached
            && dst.len() == att.ring.geo.payload_size
        {
            let ring = att.ring.view();
            match ring.read(self.next, dst) {
                Read::Done => {
                    self.next += 1;
                    // A reader that is behind reads slot after slot, each a cache miss:
                    // fetching a few ahead lets those misses overlap.
                    ring.prefetch(self.next + READ_AHEAD);
                    return Ok(true);
                }
                // The header's state line is written only on close, so it stays cached and
                // this check costs about a nanosecond.
                Read::Pending if att.ring.seg.state() == STATE_LIVE => {
                    self.idle_polls = self.idle_polls.wrapping_add(1);
                    if !self.idle_polls.is_multiple_of(1024) {
                        return Ok(false);
                    }
                }
                _ => {}
            }
        }
        self.try_recv_slow(dst)
    }

    /// Everything but the common cases: losses, closed or replaced segments, attaching, and
    /// (every 1024 empty polls) a look at whether the name still refers to our segment.
    #[inline(never)]
    fn try_recv_slow(&mut self, dst: &mut [MaybeUninit<u8>]) -> Result<bool, RecvError> {
        let mut refreshed = false;
        let mut losses = 0u32;
        loop {
            self.check_broken()?;
            let Some(att) = &self.attached else {
                if refreshed {
                    return Ok(false);
                }
                self.refresh(false)?;
                refreshed = true;
                continue;
            };
            if dst.len() != att.ring.geo.payload_size {
                return Err(RecvError::WrongSize {
                    topic: self.topic.clone(),
                    size: att.ring.geo.payload_size,
                    buffer: dst.len(),
                });
            }
            let ring = att.ring.view();
            match ring.read(self.next, dst) {
                Read::Done => {
                    self.next += 1;
                    return Ok(true);
                }
                Read::Lost => {
                    let resume = ring.resume_after_loss(self.next);
                    self.lost = self.lost.saturating_add(resume - self.next);
                    self.next = resume;
                    losses += 1;
                    if losses == MAX_LOSSES_PER_CALL {
                        return Ok(false);
                    }
                }
                Read::Pending => {
                    let live = att.ring.seg.state() == STATE_LIVE;
                    if !live && !ring.is_pending(self.next) {
                        // A message committed just before the close: read it first.
                        continue;
                    }
                    if refreshed {
                        return Ok(false);
                    }
                    self.refresh(false)?;
                    refreshed = true;
                }
            }
        }
    }

    /// Receives the newest message into `dst`, skipping older unread ones (which are not
    /// counted as lost). `Ok(false)` if nothing newer than what this subscriber last received
    /// has been published.
    ///
    /// # Errors
    ///
    /// As [`try_recv_into`](Self::try_recv_into).
    pub fn latest_into(&mut self, dst: &mut [u8]) -> Result<bool, RecvError> {
        self.latest_raw(as_uninit(dst))
    }

    /// [`latest_into`](Self::latest_into) into uninitialised memory (see
    /// [`try_recv_raw`](Self::try_recv_raw)).
    pub(super) fn latest_raw(&mut self, dst: &mut [MaybeUninit<u8>]) -> Result<bool, RecvError> {
        if self.attached.is_none() {
            self.refresh(false)?;
        }
        if let Some(att) = &self.attached {
            let ring = att.ring.view();
            let newest = ring.newest();
            if newest > self.next && newest != u64::MAX {
                self.next = newest;
            }
        }
        self.try_recv_raw(dst)
    }

    /// The next message as bytes, if one has arrived (allocates; for tools that receive any
    /// type).
    ///
    /// # Errors
    ///
    /// As [`Subscriber::try_recv`].
    pub fn try_recv_bytes(&mut self) -> Result<Option<Vec<u8>>, RecvError> {
        if self.attached.is_none() {
            self.refresh(false)?;
        }
        let Some(att) = &self.attached else { return Ok(None) };
        let mut buf = vec![MaybeUninit::<u8>::uninit(); att.ring.geo.payload_size];
        if self.try_recv_raw(&mut buf)? {
            // SAFETY: a successful receive initialised every byte of `buf`.
            Ok(Some(unsafe { torn::assume_init_vec(buf) }))
        } else {
            Ok(None)
        }
    }

    /// The next message as bytes, waiting until `deadline` (forever if `None`).
    ///
    /// # Errors
    ///
    /// [`RecvError::Timeout`], or as [`Subscriber::try_recv`].
    pub fn recv_bytes_deadline(
        &mut self,
        deadline: Option<Instant>,
    ) -> Result<Vec<u8>, RecvError> {
        let mut backoff = Duration::ZERO;
        loop {
            if self.attached.is_none() {
                self.refresh(false)?;
            }
            // Until the topic exists, its message size is unknown: wait for it first.
            let Some(att) = &self.attached else {
                self.wait_for_topic(deadline, &mut backoff)?;
                continue;
            };
            let mut buf = vec![MaybeUninit::<u8>::uninit(); att.ring.geo.payload_size];
            match self.recv_raw_deadline(&mut buf, deadline) {
                // SAFETY: a successful receive initialised every byte of `buf`.
                Ok(()) => return Ok(unsafe { torn::assume_init_vec(buf) }),
                // The topic was re-created with another size while we waited: go round again.
                Err(RecvError::WrongSize { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// While the topic does not exist: sleeps a little (`backoff`, doubling from 1 to 10 ms,
    /// never past `deadline`) and looks for it again. [`RecvError::Timeout`] once `deadline`
    /// has passed.
    fn wait_for_topic(
        &mut self,
        deadline: Option<Instant>,
        backoff: &mut Duration,
    ) -> Result<(), RecvError> {
        let remaining = time_left(deadline)?;
        *backoff = (*backoff * 2).clamp(Duration::from_millis(1), Duration::from_millis(10));
        std::thread::sleep(remaining.map_or(*backoff, |r| r.min(*backoff)));
        self.refresh(true)
    }

    /// Blocks until the next message is copied into `dst`, or the deadline passes.
    ///
    /// # Errors
    ///
    /// [`RecvError::Timeout`] when `deadline` passes first, otherwise as
    /// [`try_recv_into`](Self::try_recv_into).
    pub fn recv_into_deadline(
        &mut self,
        dst: &mut [u8],
        deadline: Option<Instant>,
    ) -> Result<(), RecvError> {
        self.recv_raw_deadline(as_uninit(dst), deadline)
    }

    /// [`recv_into_deadline`](Self::recv_into_deadline) into uninitialised memory: when it
    /// returns `Ok(())`, every byte of `dst` is initialised.
    pub(super) fn recv_raw_deadline(
        &mut self,
        dst: &mut [MaybeUninit<u8>],
        deadline: Option<Instant>,
    ) -> Result<(), RecvError> {
        self.block(Some(dst), deadline)
    }

    /// Blocks until a message this subscriber has not received is there (without receiving
    /// it), or the deadline passes.
    ///
    /// # Errors
    ///
    /// [`RecvError::Timeout`] when `deadline` passes first, or [`RecvError::Attach`].
    pub fn wait_unread(&mut self, deadline: Option<Instant>) -> Result<(), RecvError> {
        self.block(None, deadline)
    }

    /// Whether a message this subscriber has not received is there (never blocks; attaches to
    /// the topic if it appeared).
    ///
    /// # Errors
    ///
    /// [`RecvError::Attach`] if attaching to a re-created topic fails.
    pub fn has_unread(&mut self) -> Result<bool, RecvError> {
        for _ in 0..2 {
            if let Some(att) = &self.attached
                && !att.ring.view().is_pending(self.next)
            {
                return Ok(true);
            }
            // Nothing new here: attach, or move on from a closed or replaced segment.
            self.refresh(false)?;
        }
        Ok(false)
    }

    /// Time since the newest publish on the topic (`None` before the first, or while not
    /// attached). Its resolution is that of `CLOCK_MONOTONIC_COARSE`, a few ms.
    pub fn last_publish_age(&self) -> Option<Duration> {
        let view = self.attached.as_ref()?.ring.view();
        if view.newest() == 0 {
            return None;
        }
        let at = view.writer.last_publish_ns.load(Ordering::Acquire);
        Some(Duration::from_nanos(os::coarse_ns().saturating_sub(at)))
    }

    /// Blocks until the next message is copied into `dst` (when `Some`), or until it is there
    /// (`None`), or `deadline` passes.
    fn block(
        &mut self,
        mut dst: Option<&mut [MaybeUninit<u8>]>,
        deadline: Option<Instant>,
    ) -> Result<(), RecvError> {
        let mut backoff = Duration::ZERO;
        loop {
            let ready = match dst.as_deref_mut() {
                Some(dst) => self.try_recv_raw(dst)?,
                None => self.has_unread()?,
            };
            if ready {
                return Ok(());
            }
            let Some(att) = &self.attached else {
                // Not attached: the topic does not exist yet.
                self.wait_for_topic(deadline, &mut backoff)?;
                continue;
            };
            backoff = Duration::ZERO;
            let remaining = time_left(deadline)?;
            let ring = att.ring.view();
            let n = self.next;
            let wait = self.options.wait;
            let busy = wait.is_spin();
            let spun = match wait {
                // No spinning: the look above just looked.
                WaitStrategy::Park => None,
                _ => {
                    let until = wait.spin_end(Instant::now(), deadline);
                    wait::spin(until, busy, || match dst.as_deref_mut() {
                        Some(dst) => match ring.read(n, dst) {
                            Read::Pending => None,
                            done_or_lost => Some(done_or_lost),
                        },
                        // There: the next look finds it.
                        None => (!ring.is_pending(n)).then_some(Read::Lost),
                    })
                }
            };
            match spun {
                Some(Read::Done) => {
                    self.next = n + 1;
                    return Ok(());
                }
                // A loss, or (busy mode) a while without news: the slow path deals with it.
                Some(_) => continue,
                None if busy => {
                    self.refresh(false)?;
                    continue;
                }
                None => {}
            }
            let slice = remaining.map_or(PARK_SLICE, |r| r.min(PARK_SLICE));
            if att.ring.seg.is_broken() {
                continue; // `try_recv_raw` reports it
            }
            if att.ring.seg.state() == STATE_LIVE {
                ring.park(n, Some(slice), att.reader_slot.map(|i| (att.ring.reader(i), i)));
            }
            if ring.is_pending(n) {
                self.refresh(false)?;
            }
        }
    }
}

impl Drop for RawSubscriber {
    fn drop(&mut self) {
        self.detach();
    }
}


/// Time left until `deadline` (`None`: forever); [`RecvError::Timeout`] once it has passed.
fn time_left(deadline: Option<Instant>) -> Result<Option<Duration>, RecvError> {
    let now = Instant::now();
    match wait::check(now, deadline, None) {
        Stand::Expired => Err(RecvError::Timeout),
        stand => Ok(stand.sleep_from(now)),
    }
}

/// An initialised buffer as one a receive may fill.
fn as_uninit(dst: &mut [u8]) -> &mut [MaybeUninit<u8>] {
    // SAFETY: `u8` and `MaybeUninit<u8>` have the same layout; receives only ever write
    // initialised bytes into the slice (`torn::load` copies whole bytes), so it stays
    // initialised, as its owner assumes.
    unsafe { &mut *(std::ptr::from_mut(dst) as *mut [MaybeUninit<u8>]) }
}

