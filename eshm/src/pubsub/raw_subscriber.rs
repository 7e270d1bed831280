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
use crate::ring::messages::{Copy, Hold, Sink};
use crate::ring::pool::Desc;
use crate::schema::Schema;
use crate::segment::{self, SegmentKind};
use crate::sync::torn;
use std::mem::MaybeUninit;
use std::sync::Arc;

/// How many slots ahead of the one just read a subscriber prefetches.
const READ_AHEAD: u64 = 4;
/// How often an idle subscriber checks that its segment is still the one under its name.
const IDLE_CHECK_NS: u64 = 200_000_000;
/// Losses in a row after which one receive call gives up (an honest writer cannot lap a
/// reader this often within one call; a corrupt ring could make it loop forever).
const MAX_LOSSES_PER_CALL: u32 = 64;

pub(super) struct Attached {
    /// Shared with the samples held from it, which keep the mapping alive.
    pub(super) ring: Arc<MappedRing>,
    /// The schema in the segment (decoded once).
    schema: Schema,
    /// Its fingerprint (computed once: it walks the whole schema).
    fingerprint: u64,
    /// Our registration in the ring's reader table.
    pub(super) reader_slot: Option<usize>,
    /// Messages of a fixed size in the ring's slots: the fast path applies.
    inline_fixed: bool,
}

/// What a receive wants of the next message: a copy into a sink, or a hold in place.
pub(super) enum Want<'s> {
    Copy(&'s mut dyn Sink),
    Hold,
}

/// What a receive got: a copy of this many bytes, or a held message.
pub(super) enum Got {
    Copied(usize),
    Held { hold: usize, desc: Desc },
}

/// The untyped subscriber: receives messages as bytes, with the topic's [`Schema`].
pub struct RawSubscriber {
    pub(super) topic: Arc<str>,
    /// The type this subscriber accepts (`None`: any, e.g. for tools that decode by schema; a
    /// slice schema accepts slices of its element type of any maximum length).
    expected: Option<Schema>,
    pub(super) options: SubscriberOptions,
    dir: Dir,
    pub(super) attached: Option<Attached>,
    /// Cloned into every sample this subscriber hands out: its strong count, less one, is the
    /// number of samples held.
    pub(super) held_token: Arc<()>,
    /// The segment last detached from (closed or superseded, and read to the end): never
    /// attached again, which would deliver its messages twice. Known by its file's identity
    /// and its creation time: once unmapped, its inode may be given to the next segment (ext4
    /// does, when `ESHM_SHM_DIR` is on disk), which must not be taken for it.
    drained: Option<(FileId, u64)>,
    /// Messages of the topic accounted for (received or counted lost) when this subscriber
    /// left its last segment, counted over every publisher of the topic (see
    /// `RingHeader::published_before`): what a later publisher published before that this
    /// subscriber never saw is lost.
    accounted: Option<u64>,
    pub(super) next: u64,
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
            held_token: Arc::new(()),
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

    /// The [fingerprint](Schema::fingerprint) of [`schema`](Self::schema), computed once when
    /// the subscriber attached: a cheap look, after each receive, at whether the type changed
    /// (a new publisher of another type). `None` while not attached.
    pub fn fingerprint(&self) -> Option<u64> {
        self.attached.as_ref().map(|a| a.fingerprint)
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
        if seg.state() == STATE_SUPERSEDED || self.drained == Some((seg.id(), info.created_ns)) {
            return Ok(false);
        }

        let found = Schema::decode(&info.schema)
            .map_err(|e| Error::corrupt(seg.path(), format!("its schema does not decode: {e}")))?;
        if let Some(expected) = &self.expected
            && !accepts(expected, &found, info.fingerprint)
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
        let ring = Arc::new(MappedRing::new(seg, info, &found)?);
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
        // Holds of readers that died (a new reader is the natural time to look).
        ring.reclaim_dead_holds();
        let inline_fixed = ring.geo.pool.is_none() && !ring.geo.slice;
        let fingerprint = found.fingerprint();
        self.attached =
            Some(Attached { ring, schema: found, fingerprint, reader_slot, inline_fixed });
        self.idle_polls = 0;
        Ok(true)
    }

    /// If another process truncated the segment under this subscriber: leaves it for good
    /// (the next receive looks for the topic's next segment) and reports it.
    pub(super) fn check_broken(&mut self) -> Result<(), RecvError> {
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
            self.drained = Some((att.ring.seg.id(), att.ring.info.created_ns));
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
    pub(super) fn refresh(&mut self, force: bool) -> Result<(), RecvError> {
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

    /// Receives the next message into `dst` without blocking. `Ok(true)` if one was copied.
    /// For a fixed-size type `dst` must be exactly the schema's size; for a slice topic, use
    /// [`try_recv_slice_into`](Self::try_recv_slice_into).
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

    /// Receives the next message into the start of `dst` without blocking, and returns its
    /// length in bytes (`None` if nothing arrived). `dst` may be longer than the message; a
    /// message longer than `dst` is left unread ([`RecvError::WrongSize`] gives its size).
    ///
    /// # Errors
    ///
    /// As [`try_recv_into`](Self::try_recv_into).
    pub fn try_recv_slice_into(&mut self, dst: &mut [u8]) -> Result<Option<usize>, RecvError> {
        self.try_recv_sink(SliceSink(as_uninit(dst)))
    }

    /// [`try_recv_into`](Self::try_recv_into) into uninitialised memory: when it returns
    /// `Ok(true)`, every byte of `dst` is initialised.
    #[inline]
    pub(super) fn try_recv_raw(&mut self, dst: &mut [MaybeUninit<u8>]) -> Result<bool, RecvError> {
        // Fast path, inlined into typed callers: attached to a ring of fixed-size messages in
        // its slots, and the next message is there (or nothing is, on a live segment).
        // Everything else goes to `try_recv_slow`.
        if let Some(att) = &self.attached
            && att.inline_fixed
            && dst.len() == att.ring.geo.payload_size
        {
            let ring = att.ring.view();
            match ring.read(self.next, dst) {
                Read::Done(()) => {
                    self.next += 1;
                    // A reader that is behind reads slot after slot, each a cache miss:
                    // fetching a few ahead lets those misses overlap.
                    ring.prefetch(self.next + READ_AHEAD);
                    return Ok(true);
                }
                // The header's state line is written only on close, and the broken flag only
                // on a truncation, so both stay cached and cost about a nanosecond.
                Read::Pending
                    if att.ring.seg.state() == STATE_LIVE && !att.ring.seg.is_broken() =>
                {
                    self.idle_polls = self.idle_polls.wrapping_add(1);
                    if !self.idle_polls.is_multiple_of(1024) {
                        return Ok(false);
                    }
                }
                _ => {}
            }
        }
        Ok(self.try_recv_sink(SliceSink(dst))?.is_some())
    }

    /// The next message copied into `sink`, if there is one: its length.
    pub(super) fn try_recv_sink(
        &mut self,
        mut sink: impl Sink,
    ) -> Result<Option<usize>, RecvError> {
        match self.try_recv_slow(&mut Want::Copy(&mut sink))? {
            Some(Got::Copied(len)) => Ok(Some(len)),
            Some(Got::Held { .. }) => unreachable!("a copy was asked for"),
            None => Ok(None),
        }
    }

    /// Everything but the common cases: other message forms, losses, closed or replaced
    /// segments, attaching, and (every 1024 empty polls) a look at whether the name still
    /// refers to our segment.
    #[inline(never)]
    pub(super) fn try_recv_slow(&mut self, want: &mut Want<'_>) -> Result<Option<Got>, RecvError> {
        let mut refreshed = false;
        let mut losses = 0u32;
        let mut reclaimed = false;
        loop {
            self.check_broken()?;
            let Some(att) = &self.attached else {
                if refreshed {
                    return Ok(None);
                }
                self.refresh(false)?;
                refreshed = true;
                continue;
            };
            let geo = &att.ring.geo;
            let msgs = att.ring.messages();
            let n = self.next;
            let read = match want {
                Want::Copy(sink) => {
                    if let Some(cap) = sink.capacity()
                        && !geo.slice
                        && cap != geo.payload_size
                    {
                        return Err(RecvError::WrongSize {
                            topic: self.topic.clone(),
                            size: geo.payload_size,
                            buffer: cap,
                        });
                    }
                    match msgs.copy(n, &mut **sink) {
                        Read::Done(Copy::Len(len)) => Read::Done(Ok(Got::Copied(len))),
                        Read::Done(Copy::TooLong(len)) => {
                            return Err(RecvError::WrongSize {
                                topic: self.topic.clone(),
                                size: len,
                                buffer: sink.capacity().unwrap_or(0),
                            });
                        }
                        Read::Done(Copy::Corrupt) => Read::Done(Err(())),
                        Read::Pending => Read::Pending,
                        Read::Lost => Read::Lost,
                    }
                }
                Want::Hold => {
                    let pool = msgs.pool.expect("holds are only asked of pooled rings");
                    match msgs.hold(&pool, n, MappedRing::me()) {
                        Read::Done(Hold::Held { hold, desc }) => {
                            Read::Done(Ok(Got::Held { hold, desc }))
                        }
                        Read::Done(Hold::NoSlot) if !reclaimed => {
                            // Holders that died keep hold slots: give them back, try again.
                            reclaimed = true;
                            att.ring.reclaim_dead_holds();
                            continue;
                        }
                        Read::Done(Hold::NoSlot) => {
                            return Err(RecvError::HoldSlotsFull {
                                topic: self.topic.clone(),
                                slots: pool.holds.len(),
                                held: self.held(),
                            });
                        }
                        Read::Done(Hold::Corrupt) => Read::Done(Err(())),
                        Read::Pending => Read::Pending,
                        Read::Lost => Read::Lost,
                    }
                }
            };
            match read {
                Read::Done(Ok(got)) => {
                    self.next = n + 1;
                    return Ok(Some(got));
                }
                Read::Done(Err(())) => {
                    // A descriptor or length that no eshm publisher writes: skip the message.
                    self.next = n + 1;
                    let e = Error::corrupt(
                        att.ring.seg.path(),
                        format!("message {n} names a block or length outside its ring"),
                    );
                    return Err(RecvError::Attach(Box::new(e)));
                }
                Read::Lost => {
                    let resume = msgs.ring.resume_after_loss(n);
                    self.lost = self.lost.saturating_add(resume - n);
                    self.next = resume;
                    losses += 1;
                    if losses == MAX_LOSSES_PER_CALL {
                        return Ok(None);
                    }
                }
                Read::Pending => {
                    let live = att.ring.seg.state() == STATE_LIVE;
                    if !live && !msgs.ring.is_pending(n) {
                        // A message committed just before the close: read it first.
                        continue;
                    }
                    if refreshed {
                        return Ok(None);
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
        self.skip_to_newest()?;
        self.try_recv_raw(as_uninit(dst))
    }

    /// Moves to the newest message, skipping older unread ones (not counted as lost).
    pub(super) fn skip_to_newest(&mut self) -> Result<(), RecvError> {
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
        Ok(())
    }

    /// The next message as bytes, if one has arrived (allocates; for tools that receive any
    /// type).
    ///
    /// # Errors
    ///
    /// As [`Subscriber::try_recv`].
    pub fn try_recv_bytes(&mut self) -> Result<Option<Vec<u8>>, RecvError> {
        let mut buf = Vec::new();
        Ok(self.try_recv_sink(&mut buf)?.map(|len| {
            buf.truncate(len);
            // SAFETY: a copy of `len` bytes initialised the first `len` bytes of `buf`.
            unsafe { torn::assume_init_vec(buf) }
        }))
    }
}

impl Drop for RawSubscriber {
    fn drop(&mut self) {
        self.detach();
    }
}

/// Whether a subscriber expecting `expected` accepts a topic of `found` (whose fingerprint is
/// `fingerprint`): the same type, or for a slice, slices of the same element type.
fn accepts(expected: &Schema, found: &Schema, fingerprint: u64) -> bool {
    match (expected.slice_element(), found.slice_element()) {
        (Some(want), Some(have)) => want.fingerprint() == have.fingerprint(),
        _ => expected.fingerprint() == fingerprint,
    }
}

/// A receive into a fixed buffer.
struct SliceSink<'a>(&'a mut [MaybeUninit<u8>]);

impl Sink for SliceSink<'_> {
    #[inline(always)]
    fn buffer(&mut self, len: usize) -> Option<&mut [MaybeUninit<u8>]> {
        self.0.get_mut(..len)
    }

    fn capacity(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

/// An initialised buffer as one a receive may fill.
pub(super) fn as_uninit(dst: &mut [u8]) -> &mut [MaybeUninit<u8>] {
    // SAFETY: `u8` and `MaybeUninit<u8>` have the same layout; receives only ever write
    // initialised bytes into the slice (`torn::load` copies whole bytes), so it stays
    // initialised, as its owner assumes.
    unsafe { &mut *(std::ptr::from_mut(dst) as *mut [MaybeUninit<u8>]) }
}
