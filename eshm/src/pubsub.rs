//! Publish/subscribe over shared memory: [`Publisher<T>`] and [`Subscriber<T>`], thin typed
//! wrappers over an untyped core ([`RawPublisher`], [`RawSubscriber`]) that works on a
//! [`Schema`] and bytes, which is what the Python module and the command-line tool use.
//!
//! ```
//! use eshm::{Publisher, Subscriber};
//! use std::time::Duration;
//!
//! #[derive(Clone, Copy, Debug, PartialEq, eshm::Message)]
//! #[repr(C)]
//! struct Pose { x: f64, y: f64, theta: f64 }
//!
//! # let name = format!("doc/pose/{}", std::process::id());
//! let mut subscriber = Subscriber::<Pose>::new(&name)?;      // fine before the publisher exists
//! let mut publisher = Publisher::<Pose>::create(&name)?;
//! publisher.publish(&Pose { x: 1.0, y: 2.0, theta: 0.5 })?;
//!
//! let mut slot = publisher.loan();                            // write in place, zero-copy
//! slot.x = 3.0;
//! slot.publish();
//!
//! assert_eq!(subscriber.recv_timeout(Duration::from_secs(5))?.x, 1.0);
//! assert_eq!(subscriber.try_recv()?.map(|p| p.x), Some(3.0));
//! assert_eq!(subscriber.try_recv()?, None);                   // nothing new
//! assert_eq!(subscriber.lost(), 0);
//! # Ok::<(), eshm::Error>(())
//! ```
//!
//! # Semantics
//!
//! - One live publisher per topic: a second one gets [`Error::PublisherExists`]. A topic whose
//!   publisher died is taken over by the next publisher of that name.
//! - A subscriber receives, in order, every message published after it was created, unless it
//!   falls more than the ring's capacity behind: then [`lost`](Subscriber::lost) counts the
//!   messages it missed and it resumes at the oldest one still in the ring.
//! - A subscriber may exist before its publisher, and outlives publisher restarts: it attaches
//!   (again) when the topic appears, without being re-created, and first receives whatever the
//!   old publisher left unread.
//! - Checking for a new message is a few loads from shared memory: no system call while
//!   messages flow. Blocking calls spin briefly, then sleep on a futex that the publisher wakes
//!   only when someone sleeps (see [`WaitStrategy`]).

use crate::error::{Error, Result};
use crate::layout::{
    MAX_READERS, REGISTERING, RingHeader, STATE_LIVE, STATE_SUPERSEDED, WriterLine,
};
use crate::message::{self, Message};
use crate::ring::{Read, RingView};
use crate::schema::Schema;
use crate::segment::os::{self, Dir};
use crate::segment::{self, Created, HeaderInfo, NewSegment, Segment, SegmentKind, Trust};
use crate::sync::{AtomicU64, Ordering, torn};
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;
use std::time::{Duration, Instant};

/// Default number of slots: as many as fit in 16 MiB, between 4 and 1024, a power of two.
const DEFAULT_RING_BYTES: usize = 16 << 20;
/// Largest ring accepted, in slots.
pub const MAX_CAPACITY: usize = 1 << 24;
/// How many slots ahead of the one just read a subscriber prefetches.
const READ_AHEAD: u64 = 4;
/// How often an idle subscriber checks that its segment is still the one under its name.
const IDLE_CHECK_NS: u64 = 200_000_000;
/// Longest sleep of a blocked subscriber between checks of its segment.
const PARK_SLICE: Duration = Duration::from_millis(200);
/// Losses in a row after which one receive call gives up (an honest writer cannot lap a
/// reader this often within one call; a corrupt ring could make it loop forever).
const MAX_LOSSES_PER_CALL: u32 = 64;

/// How a blocking receive waits for the next message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaitStrategy {
    /// Poll the slot without ever sleeping: lowest latency, one busy core per waiting reader.
    Spin,
    /// Poll for this long, then sleep on the futex until woken (the default, with 20 µs:
    /// replies that come back quickly are caught while spinning, idle readers cost nothing).
    SpinThenPark(Duration),
    /// Sleep at once (waking a sleeping process costs tens of µs).
    Park,
}

impl Default for WaitStrategy {
    fn default() -> Self {
        WaitStrategy::SpinThenPark(Duration::from_micros(20))
    }
}

// ---------------------------------------------------------------------------------------------
// The mapped ring: a segment plus pointers to its (validated) ring.

/// Ring geometry, as stored in the `RingHeader`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Geometry {
    slot_count: usize,
    slot_size: usize,
    payload_offset: usize,
    payload_size: usize,
    slots_offset: usize,
}

impl Geometry {
    fn for_schema(schema: &Schema, capacity: Option<usize>) -> Result<Geometry> {
        let align = schema.align().max(8);
        let payload_offset = align;
        let payload_size = schema.size();
        let slot_size =
            (payload_offset + payload_size.next_multiple_of(8)).next_multiple_of(align.max(64));
        let slot_count = match capacity {
            Some(0) => {
                return Err(Error::InvalidArgument(
                    "a topic needs a capacity of at least 1".into(),
                ));
            }
            Some(n) if n > MAX_CAPACITY => {
                return Err(Error::InvalidArgument(format!(
                    "capacity {n} is above the maximum of {MAX_CAPACITY}"
                )));
            }
            Some(n) => n.next_power_of_two(),
            None => {
                let fit = (DEFAULT_RING_BYTES / slot_size).clamp(4, 1024);
                1 << fit.ilog2()
            }
        };
        let header = size_of::<RingHeader>().next_multiple_of(align.max(64));
        slot_count.checked_mul(slot_size).and_then(|b| b.checked_add(header)).ok_or_else(|| {
            Error::InvalidArgument("the ring would be larger than the address space".into())
        })?;
        Ok(Geometry { slot_count, slot_size, payload_offset, payload_size, slots_offset: header })
    }

    fn body_len(&self) -> usize {
        self.slots_offset + self.slot_count * self.slot_size
    }
}

pub(crate) struct MappedRing {
    pub(crate) seg: Segment,
    pub(crate) info: HeaderInfo,
    geo: Geometry,
    writer: NonNull<WriterLine>,
    header: NonNull<RingHeader>,
    slots: NonNull<AtomicU64>,
    slots_len: usize,
}

// SAFETY: the pointers point into `seg`'s mapping, which moves with the struct (the mapping's
// address does not change), and everything they reach is atomics: using them from another
// thread is as sound as from this one.
unsafe impl Send for MappedRing {}
// SAFETY: `&MappedRing` only gives out shared references to atomics.
unsafe impl Sync for MappedRing {}

impl MappedRing {
    pub(crate) fn geometry(&self) -> (usize, usize) {
        (self.geo.slot_count, self.geo.payload_size)
    }

    /// Checks the ring header of a freshly opened (or created) topic segment against the file
    /// and the schema, and keeps pointers to it.
    pub(crate) fn new(seg: Segment, info: HeaderInfo, schema_size: usize) -> Result<MappedRing> {
        let bad = |reason: String| Error::corrupt(seg.path(), reason);
        let body = info.body_offset;
        if body.checked_add(size_of::<RingHeader>()).is_none_or(|end| end > seg.len()) {
            return Err(bad("the ring header runs past the end of the file".into()));
        }
        let header: &RingHeader = seg.at(body);
        let rd = |a: &AtomicU64| usize::try_from(a.load(Ordering::Acquire)).unwrap_or(usize::MAX);
        let geo = Geometry {
            slot_count: rd(&header.slot_count),
            slot_size: rd(&header.slot_size),
            payload_offset: rd(&header.payload_offset),
            payload_size: rd(&header.payload_size),
            slots_offset: rd(&header.slots_offset),
        };
        if !geo.slot_count.is_power_of_two() || geo.slot_count > MAX_CAPACITY {
            return Err(bad(format!(
                "slot count {} is not a power of two up to {MAX_CAPACITY}",
                geo.slot_count
            )));
        }
        if geo.payload_size != schema_size {
            return Err(bad(format!(
                "message size {} differs from the schema's {schema_size}",
                geo.payload_size
            )));
        }
        if geo.payload_offset < 8 || !geo.payload_offset.is_multiple_of(8) {
            return Err(bad(format!("bad payload offset {}", geo.payload_offset)));
        }
        let needed = geo.payload_offset.checked_add(geo.payload_size.next_multiple_of(8));
        if !geo.slot_size.is_multiple_of(64) || needed.is_none_or(|n| n > geo.slot_size) {
            return Err(bad(format!("slot size {} cannot hold its message", geo.slot_size)));
        }
        let slots_start = body.checked_add(geo.slots_offset);
        let slots_end = geo
            .slot_count
            .checked_mul(geo.slot_size)
            .zip(slots_start)
            .and_then(|(n, s)| s.checked_add(n));
        if geo.slots_offset < size_of::<RingHeader>()
            || !geo.slots_offset.is_multiple_of(64)
            || slots_end.is_none_or(|end| end > seg.len())
        {
            return Err(bad("the slots run past the end of the file".into()));
        }
        let slots_start = body + geo.slots_offset;
        let slots_len = geo.slot_count * geo.slot_size / 8;
        let slots = NonNull::from(seg.words(slots_start, slots_len)).cast::<AtomicU64>();
        let writer = NonNull::from(&header.writer);
        let header = NonNull::from(header);
        Ok(MappedRing { seg, info, geo, writer, header, slots, slots_len })
    }

    #[inline(always)]
    pub(crate) fn view(&self) -> RingView<'_> {
        // SAFETY: `writer` was derived in `new` from a reference into `self.seg`'s mapping
        // (bounds checked there), which stays mapped while `self` lives; the returned view
        // borrows `self`. It points to atomics only.
        let writer = unsafe { self.writer.as_ref() };
        // SAFETY: as for `writer`: `slots` and `slots_len` come from a checked slice of the
        // same mapping (`Segment::words` in `new`).
        let slots = unsafe { std::slice::from_raw_parts(self.slots.as_ptr(), self.slots_len) };
        RingView {
            writer,
            slots,
            slot_words: self.geo.slot_size / 8,
            payload_word: self.geo.payload_offset / 8,
            mask: self.geo.slot_count as u64 - 1,
        }
    }

    pub(crate) fn header(&self) -> &RingHeader {
        // SAFETY: as in `view`: derived from a checked reference into the mapping `self` owns.
        unsafe { self.header.as_ref() }
    }

    pub(crate) fn wake_segment(seg: &Segment) {
        // Used on segments being closed or superseded: wake sleepers if the ring is readable.
        if let Ok(info) = seg.read_header(SegmentKind::Topic) {
            let body = info.body_offset;
            if body.checked_add(size_of::<RingHeader>()).is_some_and(|end| end <= seg.len()) {
                let header: &RingHeader = seg.at(body);
                crate::sync::futex::bump_and_wake(&header.writer.notify);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Publisher

/// Options for creating a publisher; see [`Publisher::builder`] and [`RawPublisher::create_with`].
#[derive(Clone, Debug)]
pub struct PublisherOptions {
    capacity: Option<usize>,
    mode: u32,
    unlink_on_drop: bool,
}

impl Default for PublisherOptions {
    fn default() -> Self {
        PublisherOptions { capacity: None, mode: 0o600, unlink_on_drop: true }
    }
}

impl PublisherOptions {
    /// See [`PublisherBuilder::capacity`].
    pub fn capacity(mut self, messages: usize) -> Self {
        self.capacity = Some(messages);
        self
    }

    /// See [`PublisherBuilder::mode`].
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = mode & 0o777;
        self
    }

    /// See [`PublisherBuilder::unlink_on_drop`].
    pub fn unlink_on_drop(mut self, unlink: bool) -> Self {
        self.unlink_on_drop = unlink;
        self
    }
}

/// Builds a [`Publisher`]: `Publisher::<T>::builder(name).capacity(64).create()`.
#[derive(Debug)]
#[must_use = "a builder does nothing until `create` is called"]
pub struct PublisherBuilder<T> {
    name: String,
    options: PublisherOptions,
    _type: PhantomData<fn() -> T>,
}

impl<T: Message> PublisherBuilder<T> {
    /// Number of messages the ring keeps (rounded up to a power of two). A subscriber that
    /// falls further behind loses messages. Default: as many as fit in 16 MiB, from 4 to 1024.
    pub fn capacity(mut self, messages: usize) -> Self {
        self.options = self.options.capacity(messages);
        self
    }

    /// Permission bits of the segment file (default `0o600`, owner only). Subscribers refuse
    /// segments of other users, or writable by them, unless they allow it explicitly.
    pub fn mode(mut self, mode: u32) -> Self {
        self.options = self.options.mode(mode);
        self
    }

    /// Whether dropping the publisher removes the topic's name (default `true`). Either way
    /// the segment is marked closed, and subscribers keep what they received.
    pub fn unlink_on_drop(mut self, unlink: bool) -> Self {
        self.options = self.options.unlink_on_drop(unlink);
        self
    }

    /// Creates the topic (see [`Publisher::create`]).
    ///
    /// # Errors
    ///
    /// As [`Publisher::create`].
    pub fn create(self) -> Result<Publisher<T>> {
        let raw = RawPublisher::create_with(&self.name, T::SCHEMA, &self.options)?;
        Ok(Publisher { raw, _type: PhantomData })
    }
}

/// The untyped publisher: messages are bytes laid out as its [`Schema`] says.
#[derive(Debug)]
pub struct RawPublisher {
    ring: MappedRing,
    dir: Dir,
    schema: Schema,
    next: u64,
    unlink_on_drop: bool,
    validate: bool,
}

impl std::fmt::Debug for MappedRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappedRing")
            .field("segment", &self.seg)
            .field("geometry", &self.geo)
            .finish()
    }
}

impl RawPublisher {
    /// Creates the topic `name` carrying messages of `schema`, with default options.
    ///
    /// # Errors
    ///
    /// As [`Publisher::create`].
    pub fn create(name: &str, schema: &Schema) -> Result<RawPublisher> {
        RawPublisher::create_with(name, schema, &PublisherOptions::default())
    }

    /// Creates the topic with explicit options.
    ///
    /// # Errors
    ///
    /// As [`Publisher::create`].
    pub fn create_with(
        name: &str,
        schema: &Schema,
        options: &PublisherOptions,
    ) -> Result<RawPublisher> {
        let dir = Dir::open()?;
        let geo = Geometry::for_schema(schema, options.capacity)?;
        let encoded = schema.encode();
        let spec = NewSegment {
            kind: SegmentKind::Topic,
            name,
            schema: &encoded,
            fingerprint: schema.fingerprint(),
            body_len: geo.body_len(),
            body_align: schema.align().max(64),
            mode: options.mode,
        };
        let init = schema.init_bytes();
        let init_nonzero = init.iter().any(|&b| b != 0);
        let created = segment::create(
            &dir,
            &spec,
            |seg, body| {
                let h: &RingHeader = seg.at(body);
                let w = |a: &AtomicU64, v: usize| a.store(v as u64, Ordering::Relaxed);
                w(&h.slot_count, geo.slot_count);
                w(&h.slot_size, geo.slot_size);
                w(&h.payload_offset, geo.payload_offset);
                w(&h.payload_size, geo.payload_size);
                w(&h.slots_offset, geo.slots_offset);
                // Slots must always hold a valid message, for `loan`: zero bytes are one for
                // most types; others (an enum without a zero variant) get their initial value.
                if init_nonzero {
                    for i in 0..geo.slot_count {
                        let at = body + geo.slots_offset + i * geo.slot_size + geo.payload_offset;
                        torn::store(seg.words(at, torn::words_for(init.len())), &init);
                    }
                }
            },
            MappedRing::wake_segment,
        )?;
        let (seg, info) = match created {
            Created::New(seg, info) => (seg, info),
            Created::Owned { pid } => {
                return Err(Error::PublisherExists { name: name.to_owned(), pid });
            }
        };
        let ring = MappedRing::new(seg, info, schema.size())?;
        Ok(RawPublisher {
            ring,
            dir,
            schema: schema.clone(),
            next: 1,
            unlink_on_drop: options.unlink_on_drop,
            validate: schema.has_invalid_bit_patterns(),
        })
    }

    /// The topic's name.
    pub fn name(&self) -> &str {
        &self.ring.info.name
    }

    /// The message type.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Number of messages the ring keeps.
    pub fn capacity(&self) -> usize {
        self.ring.geo.slot_count
    }

    /// Number of messages published so far.
    pub fn published(&self) -> u64 {
        self.next - 1
    }

    /// The file that holds the topic.
    pub fn path(&self) -> &std::path::Path {
        self.ring.seg.path()
    }

    /// Fails if another process took the topic over (which happens only if this process looked
    /// dead to it, e.g. from another pid namespace): messages would go nowhere.
    #[inline(always)]
    fn check_owner(&self) -> Result<()> {
        if self.ring.seg.state() == STATE_SUPERSEDED {
            return Err(Error::Disconnected {
                name: self.name().to_owned(),
                reason: "another process took this topic over (did it see this process as dead? \
                         run publishers and subscribers in one pid namespace)"
                    .into(),
            });
        }
        Ok(())
    }

    #[inline(always)]
    fn commit(&mut self, n: u64, sleepers: bool) {
        let ring = self.ring.view();
        if sleepers {
            ring.wake();
        }
        ring.writer.last_publish_ns.store(os::coarse_ns(), Ordering::Relaxed);
        self.next = n + 1;
        ring.prefetch(n + 1);
    }

    /// Publishes one message given as bytes.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] if `bytes` is not the schema's size,
    /// [`Error::InvalidMessage`] if it is not a valid value of the schema (a `bool` or enum
    /// field out of range), [`Error::Disconnected`] if another process took the topic over.
    pub fn publish_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        if bytes.len() != self.schema.size() {
            return Err(Error::InvalidArgument(format!(
                "a `{}` message is {} bytes, got {}",
                self.schema.type_name(),
                self.schema.size(),
                bytes.len()
            )));
        }
        if self.validate {
            self.schema
                .validate(bytes)
                .map_err(|source| Error::InvalidMessage { name: self.name().to_owned(), source })?;
        }
        self.publish_unchecked(bytes)
    }

    /// Publishes bytes already known to be a valid message of the right size.
    #[inline(always)]
    fn publish_unchecked(&mut self, bytes: &[u8]) -> Result<()> {
        self.check_owner()?;
        let n = self.next;
        let sleepers = self.ring.view().write(n, bytes);
        self.commit(n, sleepers);
        Ok(())
    }
}

impl Drop for RawPublisher {
    fn drop(&mut self) {
        // Unlink first, while the segment is still live: nobody can take the name over from a
        // live owner, so the name still refers to our file.
        if self.unlink_on_drop && self.ring.seg.is_current(&self.dir) {
            let _ = self.dir.unlink(self.ring.seg.file_name());
        }
        if self.ring.seg.state() == STATE_LIVE {
            segment::close(&self.ring.seg, MappedRing::wake_segment);
        }
    }
}

/// Publishes messages of type `T` on a topic.
///
/// Created with [`create`](Publisher::create) or [`builder`](Publisher::builder); see the
/// [module docs](self) for the semantics. Dropping it marks the topic closed and (by default)
/// removes its name.
#[derive(Debug)]
pub struct Publisher<T: Message> {
    raw: RawPublisher,
    _type: PhantomData<fn(T)>,
}

impl<T: Message> Publisher<T> {
    /// Creates the topic `name` with default options.
    ///
    /// # Errors
    ///
    /// - [`Error::InvalidName`] if `name` is empty, contains NUL, or is too long;
    /// - [`Error::PublisherExists`] if a live process already publishes on it;
    /// - [`Error::Permission`] if a file of that name belongs to another user;
    /// - [`Error::Io`] if the segment cannot be created (e.g. `/dev/shm` is full).
    pub fn create(name: &str) -> Result<Publisher<T>> {
        Publisher::builder(name).create()
    }

    /// A builder for a publisher with non-default options.
    pub fn builder(name: &str) -> PublisherBuilder<T> {
        PublisherBuilder {
            name: name.to_owned(),
            options: PublisherOptions::default(),
            _type: PhantomData,
        }
    }

    /// Publishes `value`: copies it into the next slot and wakes sleeping subscribers. Never
    /// waits for subscribers.
    ///
    /// # Errors
    ///
    /// [`Error::Disconnected`] if another process took the topic over.
    #[inline]
    pub fn publish(&mut self, value: &T) -> Result<()> {
        self.raw.publish_unchecked(message::as_bytes(value))
    }

    /// Lends the next slot for writing in place (zero-copy): fill it through the returned
    /// guard and call [`Loan::publish`]. The slot holds an older message (or the type's
    /// [`INIT`](Message::INIT) value) until you overwrite it; dropping the guard without
    /// publishing publishes nothing.
    pub fn loan(&mut self) -> Loan<'_, T> {
        let n = self.raw.next;
        let ring = self.raw.ring.view();
        ring.begin_write(n);
        // The payload words hold at least `size_of::<T>()` bytes (checked by `MappedRing::new`)
        // and are atomics, whose bytes may be written through a pointer derived from them.
        let payload = ring.payload(n);
        debug_assert!(payload.len() * 8 >= size_of::<T>());
        let ptr = payload.as_ptr().cast::<T>().cast_mut();
        debug_assert!(ptr.is_aligned());
        if Validate::<T>::NEEDED {
            // Only this publisher writes its slots, always with valid messages; check anyway,
            // so that a process scribbling on the segment cannot make this `&mut T` invalid.
            let mut current = MaybeUninit::<T>::uninit();
            torn::load(ring.payload(n), bytes_of_uninit(&mut current));
            // SAFETY: `torn::load` initialised all `size_of::<T>()` bytes; they are read as
            // bytes only.
            let bytes = unsafe {
                std::slice::from_raw_parts(current.as_ptr().cast::<u8>(), size_of::<T>())
            };
            if T::SCHEMA.validate(bytes).is_err() {
                torn::store(ring.payload(n), message::as_bytes(&T::INIT));
            }
        }
        Loan { publisher: self, n, ptr: NonNull::new(ptr).expect("mapping pointers are non-null") }
    }

    /// The topic's name.
    pub fn name(&self) -> &str {
        self.raw.name()
    }

    /// Number of messages the ring keeps.
    pub fn capacity(&self) -> usize {
        self.raw.capacity()
    }

    /// Number of messages published so far.
    pub fn published(&self) -> u64 {
        self.raw.published()
    }

    /// The untyped publisher underneath.
    pub fn as_raw(&self) -> &RawPublisher {
        &self.raw
    }
}

/// A slot lent by [`Publisher::loan`], written in place. Dereferences to the message.
///
/// Dropping it without [`publish`](Loan::publish) publishes nothing: the slot stays marked as
/// being written, and the next publish fills it.
#[derive(Debug)]
#[must_use = "a loan publishes nothing unless `publish` is called"]
pub struct Loan<'a, T: Message> {
    publisher: &'a mut Publisher<T>,
    n: u64,
    ptr: NonNull<T>,
}

impl<T: Message> Loan<'_, T> {
    /// Publishes the message as it stands.
    pub fn publish(self) {
        let sleepers = self.publisher.raw.ring.view().end_write(self.n);
        self.publisher.raw.commit(self.n, sleepers);
    }
}

impl<T: Message> Deref for Loan<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // `ptr` is a slot's payload in the publisher's mapping, kept alive by the `&mut
        // Publisher` this loan holds; only this publisher writes slots, readers only read them.
        // SAFETY: aligned for `T` (payloads start at a multiple of its alignment) and a valid
        // `T` (slots start valid, and `loan` re-checked types with invalid bit patterns).
        unsafe { self.ptr.as_ref() }
    }
}

impl<T: Message> DerefMut for Loan<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; the slot is marked as being written, so readers that copy it
        // concurrently discard their copy, and this loan is the only writer (it borrows the
        // publisher mutably). Readers' concurrent reads are atomic loads in their own process.
        unsafe { self.ptr.as_mut() }
    }
}

// ---------------------------------------------------------------------------------------------
// Subscriber

/// Options for opening a subscriber; see [`Subscriber::builder`] and [`RawSubscriber::open`].
#[derive(Clone, Copy, Debug, Default)]
pub struct SubscriberOptions {
    wait: WaitStrategy,
    trust: Trust,
    history: u64,
}

impl SubscriberOptions {
    /// How blocking receives wait.
    pub fn wait_strategy(mut self, wait: WaitStrategy) -> Self {
        self.wait = wait;
        self
    }

    /// Accept topics created by another user, or writable by other users (refused by default,
    /// since such a process could feed this one arbitrary data).
    pub fn allow_other_owners(mut self, allow: bool) -> Self {
        self.trust.other_owners = allow;
        self
    }

    /// Also deliver up to `messages` messages published before the subscriber was created
    /// (those still in the ring). Default 0; 1 gives a late subscriber the current value.
    pub fn history(mut self, messages: u64) -> Self {
        self.history = messages;
        self
    }
}

/// Builds a [`Subscriber`]: `Subscriber::<T>::builder(name).wait_strategy(...).open()`.
#[derive(Debug)]
#[must_use = "a builder does nothing until `open` is called"]
pub struct SubscriberBuilder<T> {
    name: String,
    options: SubscriberOptions,
    _type: PhantomData<fn() -> T>,
}

impl<T: Message> SubscriberBuilder<T> {
    /// How blocking receives wait (default: spin 20 µs, then sleep).
    pub fn wait_strategy(mut self, wait: WaitStrategy) -> Self {
        self.options.wait = wait;
        self
    }

    /// Accept topics created by another user (see [`SubscriberOptions::allow_other_owners`]).
    pub fn allow_other_owners(mut self, allow: bool) -> Self {
        self.options.trust.other_owners = allow;
        self
    }

    /// Also deliver up to `messages` messages published before the subscriber was created
    /// (see [`SubscriberOptions::history`]).
    pub fn history(mut self, messages: u64) -> Self {
        self.options.history = messages;
        self
    }

    /// Opens the subscriber (see [`Subscriber::new`]).
    ///
    /// # Errors
    ///
    /// As [`Subscriber::new`].
    pub fn open(self) -> Result<Subscriber<T>> {
        let raw = RawSubscriber::open(&self.name, Some(T::SCHEMA), self.options)?;
        Ok(Subscriber { raw, _type: PhantomData })
    }
}

struct Attached {
    ring: MappedRing,
    /// The schema in the segment (decoded once).
    schema: Schema,
    /// Our registration in the ring's reader table.
    reader_slot: Option<usize>,
}

/// The untyped subscriber: receives messages as bytes, with the topic's [`Schema`].
pub struct RawSubscriber {
    name: String,
    /// The type this subscriber accepts (`None`: any, e.g. for tools that decode by schema).
    expected: Option<Schema>,
    options: SubscriberOptions,
    dir: Dir,
    attached: Option<Attached>,
    /// The segment last detached from (closed or superseded, and read to the end): never
    /// attached again, which would deliver its messages twice.
    drained: Option<segment::os::FileId>,
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
            .field("name", &self.name)
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
    /// As [`Subscriber::new`].
    pub fn open(
        name: &str,
        expected: Option<&Schema>,
        options: SubscriberOptions,
    ) -> Result<RawSubscriber> {
        segment::file_name(SegmentKind::Topic, name)?;
        let mut sub = RawSubscriber {
            name: name.to_owned(),
            expected: expected.cloned(),
            options,
            dir: Dir::open()?,
            attached: None,
            drained: None,
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
        &self.name
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
            segment::open(&self.dir, SegmentKind::Topic, &self.name, self.options.trust)?
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
                name: self.name.clone(),
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
        let reader_slot = register_reader(ring.header());
        self.attached = Some(Attached { ring, schema: found, reader_slot });
        self.idle_polls = 0;
        Ok(true)
    }

    fn detach(&mut self) {
        if let Some(att) = self.attached.take() {
            self.drained = Some(att.ring.seg.id());
            if let Some(i) = att.reader_slot {
                unregister_reader(att.ring.header(), i);
            }
        }
    }

    /// Makes sure we are attached to the current segment, if there is one. Called when there
    /// is nothing to read: detaches from a closed, superseded or replaced segment (after the
    /// caller has drained it) and attaches to a new one. While attached, whether the name
    /// still refers to our segment (a system call) is checked at most every 200 ms unless
    /// `force`d.
    fn refresh(&mut self, force: bool) -> Result<()> {
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
    /// `Ok(true)` if one was copied; `dst` is then fully initialised.
    ///
    /// The copy is not validated: callers check `bool` and enum fields (see
    /// [`Schema::validate`]) before trusting the bytes as a value.
    #[inline]
    pub fn try_recv_into(&mut self, dst: &mut [MaybeUninit<u8>]) -> Result<bool> {
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
    fn try_recv_slow(&mut self, dst: &mut [MaybeUninit<u8>]) -> Result<bool> {
        let mut refreshed = false;
        let mut losses = 0u32;
        loop {
            let Some(att) = &self.attached else {
                if refreshed {
                    return Ok(false);
                }
                self.refresh(false)?;
                refreshed = true;
                continue;
            };
            if dst.len() != att.ring.geo.payload_size {
                return Err(Error::InvalidArgument(format!(
                    "a `{}` message is {} bytes, the buffer holds {}",
                    att.schema.type_name(),
                    att.ring.geo.payload_size,
                    dst.len()
                )));
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
    pub fn latest_into(&mut self, dst: &mut [MaybeUninit<u8>]) -> Result<bool> {
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
        self.try_recv_into(dst)
    }

    /// The next message as bytes, if one has arrived (allocates; for tools that receive any
    /// type).
    ///
    /// # Errors
    ///
    /// As [`Subscriber::try_recv`].
    pub fn try_recv_bytes(&mut self) -> Result<Option<Vec<u8>>> {
        if self.attached.is_none() {
            self.refresh(false)?;
        }
        let Some(att) = &self.attached else { return Ok(None) };
        let mut buf = vec![MaybeUninit::<u8>::uninit(); att.ring.geo.payload_size];
        if self.try_recv_into(&mut buf)? {
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
    /// [`Error::Timeout`], or as [`Subscriber::try_recv`].
    pub fn recv_bytes_deadline(&mut self, deadline: Option<Instant>) -> Result<Vec<u8>> {
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
            match self.recv_into_deadline(&mut buf, deadline) {
                // SAFETY: a successful receive initialised every byte of `buf`.
                Ok(()) => return Ok(unsafe { torn::assume_init_vec(buf) }),
                // The topic was re-created with another size while we waited: go round again.
                Err(Error::InvalidArgument(_)) => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// While the topic does not exist: sleeps a little (`backoff`, doubling from 1 to 10 ms,
    /// never past `deadline`) and looks for it again. [`Error::Timeout`] once `deadline` has
    /// passed.
    fn wait_for_topic(&mut self, deadline: Option<Instant>, backoff: &mut Duration) -> Result<()> {
        let remaining = match deadline {
            Some(d) => match d.checked_duration_since(Instant::now()) {
                Some(r) if !r.is_zero() => Some(r),
                _ => return Err(Error::Timeout),
            },
            None => None,
        };
        *backoff = (*backoff * 2).clamp(Duration::from_millis(1), Duration::from_millis(10));
        std::thread::sleep(remaining.map_or(*backoff, |r| r.min(*backoff)));
        self.refresh(true)
    }

    /// Blocks until the next message is copied into `dst`, or the deadline passes.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when `deadline` passes first, or any error of attaching to the topic.
    pub fn recv_into_deadline(
        &mut self,
        dst: &mut [MaybeUninit<u8>],
        deadline: Option<Instant>,
    ) -> Result<()> {
        let mut backoff = Duration::ZERO;
        loop {
            if self.try_recv_into(dst)? {
                return Ok(());
            }
            let Some(att) = &self.attached else {
                // Not attached: the topic does not exist yet.
                self.wait_for_topic(deadline, &mut backoff)?;
                continue;
            };
            backoff = Duration::ZERO;
            let remaining = match deadline {
                Some(d) => match d.checked_duration_since(Instant::now()) {
                    Some(r) if !r.is_zero() => Some(r),
                    _ => return Err(Error::Timeout),
                },
                None => None,
            };
            let ring = att.ring.view();
            let n = self.next;
            let busy = matches!(self.options.wait, WaitStrategy::Spin);
            let spun = match self.options.wait {
                WaitStrategy::Spin => spin(&ring, n, dst, deadline, true),
                WaitStrategy::SpinThenPark(d) => {
                    spin(&ring, n, dst, Some(Instant::now() + d), false)
                }
                // No spinning: `try_recv_into` above just looked.
                WaitStrategy::Park => None,
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
            if att.ring.seg.state() == STATE_LIVE {
                ring.park(n, Some(slice));
            }
            if ring.is_pending(n) {
                self.refresh(false)?;
            }
        }
    }
}

/// Polls for message `n` (copying it into `dst` as soon as it is there) until it is read or
/// lost (`Some`), or `until` passes (`None`). Checks the clock every 64 polls; an unbounded busy
/// spin returns `None` every 4096 polls, so that the caller can look at its segment. With
/// `busy`, polls without the `PAUSE` hint.
#[inline]
fn spin(
    ring: &RingView<'_>,
    n: u64,
    dst: &mut [MaybeUninit<u8>],
    until: Option<Instant>,
    busy: bool,
) -> Option<Read> {
    let mut polls = 0u32;
    loop {
        match ring.read(n, dst) {
            Read::Pending => {}
            done_or_lost => return Some(done_or_lost),
        }
        polls = polls.wrapping_add(1);
        if polls.is_multiple_of(64) {
            match until {
                Some(u) if Instant::now() >= u => return None,
                None if polls.is_multiple_of(4096) => return None,
                _ => {}
            }
        }
        if !busy {
            crate::sync::spin_loop();
        }
    }
}

impl Drop for RawSubscriber {
    fn drop(&mut self) {
        self.detach();
    }
}

/// Claims a free (or dead) entry of the reader table: pid with the `REGISTERING` bit first,
/// then the start time, then the plain pid, so that nobody mistakes a half-written entry for
/// one whose owner died.
fn register_reader(header: &RingHeader) -> Option<usize> {
    let me = os::pid();
    for (i, slot) in header.readers.iter().enumerate().take(MAX_READERS) {
        let pid = slot.pid.load(Ordering::Acquire);
        let free = match pid {
            0 => true,
            p if p & REGISTERING != 0 => os::start_time(p & !REGISTERING).is_none(),
            p => !os::is_alive(p, slot.start_time.load(Ordering::Acquire)),
        };
        if free
            && slot
                .pid
                .compare_exchange(pid, me | REGISTERING, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            slot.start_time.store(os::self_start_time(), Ordering::Release);
            slot.pid.store(me, Ordering::Release);
            return Some(i);
        }
    }
    None
}

fn unregister_reader(header: &RingHeader, i: usize) {
    let slot = &header.readers[i];
    if slot.pid.load(Ordering::Acquire) == os::pid() {
        slot.start_time.store(0, Ordering::Release);
        slot.pid.store(0, Ordering::Release);
    }
}

/// Receives messages of type `T` from a topic.
///
/// Created with [`new`](Subscriber::new) or [`builder`](Subscriber::builder); see the
/// [module docs](self) for the semantics.
#[derive(Debug)]
pub struct Subscriber<T: Message> {
    raw: RawSubscriber,
    _type: PhantomData<fn() -> T>,
}

impl<T: Message> Subscriber<T> {
    /// Opens a subscriber on the topic `name`. The topic need not exist yet.
    ///
    /// # Errors
    ///
    /// - [`Error::InvalidName`] if `name` cannot be a topic name;
    /// - [`Error::TypeMismatch`] if the topic exists with another message type;
    /// - [`Error::Corrupt`] or [`Error::LayoutVersion`] if the file under that name is not a
    ///   valid segment of this eshm version;
    /// - [`Error::Permission`] if it belongs to another user or is writable by others.
    pub fn new(name: &str) -> Result<Subscriber<T>> {
        Subscriber::builder(name).open()
    }

    /// A builder for a subscriber with non-default options.
    pub fn builder(name: &str) -> SubscriberBuilder<T> {
        SubscriberBuilder {
            name: name.to_owned(),
            options: SubscriberOptions::default(),
            _type: PhantomData,
        }
    }

    #[inline(always)]
    fn finish(&self, ok: bool, out: MaybeUninit<T>) -> Result<Option<T>> {
        if !ok {
            return Ok(None);
        }
        if Validate::<T>::NEEDED {
            // SAFETY: `ok` means the ring copied all `size_of::<T>()` bytes into `out`.
            let bytes =
                unsafe { std::slice::from_raw_parts(out.as_ptr().cast::<u8>(), size_of::<T>()) };
            T::SCHEMA
                .validate(bytes)
                .map_err(|source| Error::InvalidMessage { name: self.raw.name.clone(), source })?;
        }
        // SAFETY: every byte of `out` was written by the ring (`ok`), and the bytes are a
        // valid `T`: either `T` has no invalid bit patterns, or `validate` just accepted them
        // (`Message` contract, item 4).
        Ok(Some(unsafe { out.assume_init() }))
    }

    /// The next message in order, if one has arrived; never blocks.
    ///
    /// # Errors
    ///
    /// [`Error::TypeMismatch`] if the topic was re-created with another type,
    /// [`Error::InvalidMessage`] if a message holds an invalid `bool` or enum value, or errors
    /// of attaching to a re-created topic.
    #[inline]
    pub fn try_recv(&mut self) -> Result<Option<T>> {
        let mut out = MaybeUninit::<T>::uninit();
        let ok = self.raw.try_recv_into(bytes_of_uninit(&mut out))?;
        self.finish(ok, out)
    }

    /// The next message in order, waiting as long as it takes.
    ///
    /// # Errors
    ///
    /// As [`try_recv`](Self::try_recv).
    pub fn recv(&mut self) -> Result<T> {
        self.recv_deadline(None)
    }

    /// The next message in order, waiting at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] if none arrives in time; otherwise as [`try_recv`](Self::try_recv).
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<T> {
        self.recv_deadline(Instant::now().checked_add(timeout))
    }

    fn recv_deadline(&mut self, deadline: Option<Instant>) -> Result<T> {
        let mut out = MaybeUninit::<T>::uninit();
        self.raw.recv_into_deadline(bytes_of_uninit(&mut out), deadline)?;
        Ok(self.finish(true, out)?.expect("finish(true) is Some"))
    }

    /// The newest message, if one arrived since the last receive, skipping older unread ones
    /// (skipped messages do not count as lost).
    ///
    /// # Errors
    ///
    /// As [`try_recv`](Self::try_recv).
    pub fn latest(&mut self) -> Result<Option<T>> {
        let mut out = MaybeUninit::<T>::uninit();
        let ok = self.raw.latest_into(bytes_of_uninit(&mut out))?;
        self.finish(ok, out)
    }

    /// Messages that were overwritten before this subscriber read them.
    pub fn lost(&self) -> u64 {
        self.raw.lost()
    }

    /// Whether the subscriber is attached to a topic whose publisher is alive (reads `/proc`;
    /// not for hot loops).
    pub fn is_connected(&self) -> bool {
        self.raw.is_connected()
    }

    /// The topic's name.
    pub fn name(&self) -> &str {
        self.raw.name()
    }

    /// The untyped subscriber underneath.
    pub fn as_raw(&self) -> &RawSubscriber {
        &self.raw
    }
}

/// Whether received `T`s must be validated, computed at compile time.
struct Validate<T>(PhantomData<T>);

impl<T: Message> Validate<T> {
    const NEEDED: bool = T::SCHEMA.has_invalid_bit_patterns();
}

fn bytes_of_uninit<T>(value: &mut MaybeUninit<T>) -> &mut [MaybeUninit<u8>] {
    // SAFETY: a `MaybeUninit<T>` is `size_of::<T>()` bytes, any of which may be uninitialised,
    // which `[MaybeUninit<u8>]` allows; the slice borrows `value` mutably.
    unsafe {
        std::slice::from_raw_parts_mut(value.as_mut_ptr().cast::<MaybeUninit<u8>>(), size_of::<T>())
    }
}
