//! Messages read in place: [`RawSample`] (bytes) and [`Sample<T>`] (a `T` or `[T]`), which
//! keep a message of a pooled topic where it lies in shared memory until dropped, and the
//! receives that hand them out.
//!
//! A sample of a topic whose messages live in a pool (of [`POOLED_MIN`](super::POOLED_MIN)
//! bytes or more) holds the message's block through one of the topic's hold slots: the
//! publisher never writes that block while the sample lives, however far it runs ahead (see
//! `ring::pool` for why), and the sample keeps the segment mapped even if the subscriber
//! moves on to a new publisher or is dropped. A sample of a smaller message holds a copy, which
//! costs less than a hold at that size. Either way it counts against the subscriber's
//! `max_held`; a process that dies holding samples gives them back (the publisher, or the next
//! subscriber to attach, finds the holder dead and frees its hold slots).

use super::payload::Payload;
use super::raw_subscriber::{Got, RawSubscriber, Want};
use super::subscriber::Subscriber;
use crate::error::RecvError;
use crate::ring::mapped::MappedRing;
use crate::ring::pool::Desc;
use crate::sync::torn;
use std::ops::Deref;
use std::ptr::NonNull;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where a sample's bytes are.
#[derive(Debug)]
pub(super) enum SampleStorage {
    /// In a pool block, held through hold slot `hold`.
    Held { ring: Arc<MappedRing>, hold: usize, ptr: NonNull<u8>, len: usize },
    /// A copy (messages not in a pool).
    Copied(Vec<u8>),
}

impl SampleStorage {
    pub(super) fn held(ring: Arc<MappedRing>, hold: usize, desc: Desc) -> SampleStorage {
        let pool = ring.pool().expect("a held message is in a pool");
        // The descriptor was checked against the pool (`PoolView::is_valid`).
        let ptr = NonNull::from(pool.block(desc.block)).cast::<u8>();
        SampleStorage::Held { hold, ptr, len: desc.len, ring }
    }
}

/// A message received in place, as bytes ([`RawSubscriber::try_recv_sample`]). Dereferences
/// to the message's bytes; dropping it gives the message back.
#[derive(Debug)]
pub struct RawSample {
    storage: SampleStorage,
    /// Counts this sample against its subscriber's `max_held`.
    _token: Arc<()>,
}

// SAFETY: a held sample's pointer reaches bytes of the mapping its `Arc<MappedRing>` keeps
// alive, which nothing writes while the hold lasts (see `ring::pool`); the hold is given back
// from whichever thread drops it (atomic stores). Sharing `&RawSample` only reads the bytes.
unsafe impl Send for RawSample {}
// SAFETY: see `Send`.
unsafe impl Sync for RawSample {}

impl RawSample {
    pub(super) fn new(storage: SampleStorage, token: Arc<()>) -> RawSample {
        RawSample { storage, _token: token }
    }

    /// The message's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.storage {
            SampleStorage::Held { ptr, len, .. } => {
                // SAFETY: a pool block of at least `len` bytes (descriptor checked against the
                // pool) in the mapping `ring` keeps; the hold keeps the writer out while `self`
                // lives, and the bytes were written before publication (seen with Acquire).
                unsafe { std::slice::from_raw_parts(ptr.as_ptr(), *len) }
            }
            SampleStorage::Copied(bytes) => bytes,
        }
    }

    /// Whether the bytes are in shared memory (a pooled topic), not a copy.
    pub fn is_in_place(&self) -> bool {
        matches!(self.storage, SampleStorage::Held { .. })
    }

    /// The message's bytes as a pointer (valid while the sample lives), for bindings that
    /// expose them without a copy.
    pub fn as_ptr(&self) -> *const u8 {
        self.as_bytes().as_ptr()
    }
}

impl Deref for RawSample {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Drop for RawSample {
    fn drop(&mut self) {
        if let SampleStorage::Held { ring, hold, .. } = &self.storage
            && let Some(pool) = ring.pool()
        {
            pool.release(*hold);
        }
    }
}

/// A message received in place by [`Subscriber::recv_ref`]: dereferences to the `T` (or
/// `[T]`) where it lies in shared memory, for a topic whose messages live in a pool (of
/// [`POOLED_MIN`](super::POOLED_MIN) bytes or more); to a copy for smaller ones. The publisher
/// never writes a held message. Dropping the sample gives it back.
///
/// ```
/// use eshm::{Publisher, Subscriber};
/// # let name = format!("doc/sample/{}", std::process::id());
/// // 4 MiB frames: they live in a pool, and samples read them in place.
/// let mut subscriber = Subscriber::<[u8]>::open(&name)?;
/// let mut publisher = Publisher::<[u8]>::builder(&name).max_len(4 << 20).create()?;
/// let mut frame = publisher.loan_slice(640 * 480 * 3)?; // written in place, too
/// frame.fill(7);
/// frame.publish()?;
/// let sample = subscriber.try_recv_ref()?.expect("a frame");
/// assert!(sample.is_in_place());
/// assert_eq!((sample.len(), sample[1000]), (640 * 480 * 3, 7));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Sample<T: ?Sized + Payload> {
    inner: Inner<T>,
}

enum Inner<T: ?Sized + Payload> {
    Raw(RawSample),
    Owned { value: T::Owned, _token: Arc<()> },
}

impl<T: ?Sized + Payload> Sample<T> {
    /// Wraps a raw sample whose bytes were validated as a `T`.
    pub(super) fn from_raw(raw: RawSample) -> Sample<T> {
        Sample { inner: Inner::Raw(raw) }
    }

    /// Whether the message is in shared memory (a pooled topic), not a copy.
    pub fn is_in_place(&self) -> bool {
        matches!(&self.inner, Inner::Raw(raw) if raw.is_in_place())
    }
}

impl<T: ?Sized + Payload> Deref for Sample<T> {
    type Target = T;
    fn deref(&self) -> &T {
        match &self.inner {
            Inner::Raw(raw) => {
                let bytes = raw.as_bytes();
                // SAFETY: the receive checked the length and validated the bytes as a `T`
                // (`Subscriber::take_sample`); they are in place (copies are re-made as
                // `T::Owned`), in a page-aligned pool block, so aligned for `T`; the sample
                // keeps them unchanged while it lives (see `RawSample::as_bytes`).
                unsafe { T::from_raw(bytes.as_ptr(), bytes.len()) }
            }
            Inner::Owned { value, .. } => T::borrow_owned(value),
        }
    }
}

impl<T: ?Sized + Payload + std::fmt::Debug> std::fmt::Debug for Sample<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Sample").field(&&**self).finish()
    }
}

impl RawSubscriber {
    /// Number of samples this subscriber holds.
    pub fn held(&self) -> usize {
        Arc::strong_count(&self.held_token) - 1
    }

    /// Receives the next message in place, if one has arrived (see
    /// [`Subscriber::try_recv_ref`](super::Subscriber::try_recv_ref)): on a topic of messages
    /// in a pool, the sample holds the message where it lies; on others, it holds a copy.
    /// The sample is not validated.
    ///
    /// # Errors
    ///
    /// [`RecvError::HeldLimit`] if this subscriber holds `max_held` samples already,
    /// [`RecvError::HoldSlotsFull`] if the topic's subscribers hold all the samples its
    /// publisher allows, or as [`try_recv_bytes`](Self::try_recv_bytes).
    pub fn try_recv_sample(&mut self) -> Result<Option<RawSample>, RecvError> {
        let held = self.held();
        if held >= self.options.max_held {
            return Err(RecvError::HeldLimit { held, max: self.options.max_held });
        }
        if self.attached.is_none() {
            self.refresh(false)?;
        }
        let pooled = self.attached.as_ref().is_some_and(|a| a.ring.geo.pool.is_some());
        if !pooled {
            let mut buf = Vec::new();
            return Ok(self.try_recv_sink(&mut buf)?.map(|len| {
                buf.truncate(len);
                // SAFETY: a copy of `len` bytes initialised the first `len` bytes of `buf`.
                let bytes = unsafe { torn::assume_init_vec(buf) };
                RawSample::new(SampleStorage::Copied(bytes), self.held_token.clone())
            }));
        }
        match self.try_recv_slow(&mut Want::Hold)? {
            Some(Got::Held { hold, desc }) => {
                let ring = self.attached.as_ref().expect("attached after a hold").ring.clone();
                let storage = SampleStorage::held(ring, hold, desc);
                Ok(Some(RawSample::new(storage, self.held_token.clone())))
            }
            Some(Got::Copied(_)) => unreachable!("a hold was asked for"),
            None => Ok(None),
        }
    }

    /// The next sample, waiting until `deadline` (forever if `None`); see
    /// [`try_recv_sample`](Self::try_recv_sample).
    ///
    /// # Errors
    ///
    /// [`RecvError::Timeout`], or as [`try_recv_sample`](Self::try_recv_sample).
    pub fn recv_sample_deadline(
        &mut self,
        deadline: Option<Instant>,
    ) -> Result<RawSample, RecvError> {
        self.block(deadline, |sub| sub.try_recv_sample())
    }
}

impl<T: ?Sized + Payload> Subscriber<T> {
    /// The next message in order, read in place, if one has arrived; never blocks. See
    /// [`Sample`].
    ///
    /// # Errors
    ///
    /// [`RecvError::HeldLimit`] if this subscriber already holds `max_held` samples (the
    /// message stays unread), [`RecvError::HoldSlotsFull`] if the topic's subscribers hold
    /// every sample its publisher allows, or as [`try_recv`](Subscriber::try_recv).
    pub fn try_recv_ref(&mut self) -> Result<Option<Sample<T>>, RecvError> {
        match self.raw_mut().try_recv_sample()? {
            Some(raw) => self.take_sample(raw).map(Some),
            None => Ok(None),
        }
    }

    /// The newest message, read in place, if one arrived since the last receive, skipping older
    /// unread ones (skipped messages do not count as lost).
    ///
    /// # Errors
    ///
    /// As [`try_recv_ref`](Self::try_recv_ref).
    pub fn latest_ref(&mut self) -> Result<Option<Sample<T>>, RecvError> {
        self.raw_mut().skip_to_newest()?;
        self.try_recv_ref()
    }

    /// The next message in order, read in place, waiting as long as it takes.
    ///
    /// # Errors
    ///
    /// As [`try_recv_ref`](Self::try_recv_ref).
    pub fn recv_ref(&mut self) -> Result<Sample<T>, RecvError> {
        let raw = self.raw_mut().recv_sample_deadline(None)?;
        self.take_sample(raw)
    }

    /// The next message in order, read in place, waiting at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`RecvError::Timeout`] if none arrives in time; otherwise as
    /// [`try_recv_ref`](Self::try_recv_ref).
    pub fn recv_ref_timeout(&mut self, timeout: Duration) -> Result<Sample<T>, RecvError> {
        let raw = self.raw_mut().recv_sample_deadline(Instant::now().checked_add(timeout))?;
        self.take_sample(raw)
    }

    /// Checks a raw sample's length and bit patterns as a `T`, and types it.
    fn take_sample(&self, raw: RawSample) -> Result<Sample<T>, RecvError> {
        let schema = self.raw().schema().expect("attached after a receive");
        schema.validate(raw.as_bytes()).map_err(|source| RecvError::InvalidMessage {
            topic: self.raw().topic.clone(),
            source,
        })?;
        if raw.is_in_place() {
            return Ok(Sample::from_raw(raw));
        }
        // A copy (a small message) in a byte vector, which may be misaligned for `T`: re-make
        // it as `T::Owned`.
        let bytes = raw.as_bytes();
        // SAFETY: `bytes` were validated as a `T` just above, and are read unaligned.
        let owned = unsafe { owned_from_unaligned::<T>(bytes) };
        let token = raw._token.clone();
        Ok(Sample { inner: Inner::Owned { value: owned, _token: token } })
    }
}

/// A `T::Owned` from validated bytes at any alignment.
///
/// # Safety
///
/// `bytes` is a valid `T`: passed `T`'s schema validation (length included).
unsafe fn owned_from_unaligned<T: ?Sized + Payload>(bytes: &[u8]) -> T::Owned {
    let n = size_of::<T::Element>();
    let items: Vec<T::Element> = bytes
        .chunks_exact(n)
        // SAFETY: each chunk is `size_of::<T::Element>()` validated bytes of one element
        // (the caller's promise); `read_unaligned` has no alignment requirement.
        .map(|c| unsafe { c.as_ptr().cast::<T::Element>().read_unaligned() })
        .collect();
    T::owned_from_vec(items)
}
