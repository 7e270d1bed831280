//! Publishing: the untyped [`RawPublisher`] (bytes of a [`Schema`]), the typed [`Publisher`]
//! over it, and loans that write a message in place.

use super::options::{PublisherOptions, delegate_options};
use crate::error::{Error, PublishError, Result};
use crate::layout::{STATE_LIVE, STATE_SUPERSEDED};
use crate::message::{self, Message};
use crate::os::{self, Dir};
use crate::ring::mapped::{Geometry, MappedRing};
use crate::schema::Schema;
use crate::segment::{self, Created, NewSegment, SegmentKind};
use crate::sync::{Ordering, torn};
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;
use std::sync::Arc;

/// Builds a [`Publisher`]: `Publisher::<T>::builder(name).capacity(64).create()`.
#[derive(Debug)]
#[must_use = "a builder does nothing until `create` is called"]
pub struct PublisherBuilder<T> {
    name: String,
    options: PublisherOptions,
    _type: PhantomData<fn() -> T>,
}

impl<T: Message> PublisherBuilder<T> {
    delegate_options! {
        /// Number of messages the ring keeps (rounded up to a power of two). A subscriber that
        /// falls further behind loses messages. Default: as many as fit in 16 MiB, from 4 to
        /// 1024.
        fn capacity(messages: usize);
        /// Permission bits of the segment file (default `0o600`, owner only). Subscribers
        /// refuse segments of other users, or writable by them, unless they allow it
        /// explicitly.
        fn mode(mode: u32);
        /// Whether dropping the publisher removes the topic's name (default `true`). Either
        /// way the segment is marked closed, and subscribers keep what they received.
        fn unlink_on_drop(unlink: bool);
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
    topic: Arc<str>,
    schema: Schema,
    next: u64,
    unlink_on_drop: bool,
    validate: bool,
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
        // Slots must always hold a valid message, for loans: zero bytes are one for most
        // types; others (an enum without a zero variant) get their initial value.
        let init = schema.init_bytes();
        let created = segment::create(
            &dir,
            &spec,
            |seg, body| geo.init(seg, body, &init),
            MappedRing::inherit,
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
            topic: name.into(),
            schema: schema.clone(),
            next: 1,
            unlink_on_drop: options.unlink_on_drop,
            validate: schema.has_invalid_bit_patterns(),
        })
    }

    /// The topic's name.
    pub fn name(&self) -> &str {
        &self.topic
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
    fn check_owner(&self) -> Result<(), PublishError> {
        if self.ring.seg.state() == STATE_SUPERSEDED {
            return Err(PublishError::TakenOver { topic: self.topic.clone() });
        }
        Ok(())
    }

    /// Ends the publish of message `n` (committed; `sleepers`: a reader may be asleep).
    #[inline(always)]
    fn commit(&mut self, n: u64, sleepers: bool) {
        let ring = self.ring.view();
        if sleepers && ring.wake() == 0 {
            // Registered sleepers, but nobody woke: one may have died asleep.
            self.ring.reap_dead_waiters();
        }
        ring.writer.last_publish_ns.store(os::coarse_ns(), Ordering::Relaxed);
        self.next = n + 1;
        ring.prefetch(n + 1);
    }

    /// Publishes one message given as bytes.
    ///
    /// # Errors
    ///
    /// [`PublishError::WrongSize`] if `bytes` is not the schema's size,
    /// [`PublishError::InvalidMessage`] if it is not a valid value of the schema (a `bool` or
    /// enum field out of range), [`PublishError::TakenOver`] if another process took the topic
    /// over.
    pub fn publish_bytes(&mut self, bytes: &[u8]) -> Result<(), PublishError> {
        if bytes.len() != self.schema.size() {
            return Err(PublishError::WrongSize {
                topic: self.topic.clone(),
                size: self.schema.size(),
                given: bytes.len(),
            });
        }
        if self.validate {
            self.schema.validate(bytes).map_err(|source| PublishError::InvalidMessage {
                topic: self.topic.clone(),
                source,
            })?;
        }
        self.publish_unchecked(bytes)
    }

    /// Publishes bytes already known to be a valid message of the right size.
    #[inline(always)]
    fn publish_unchecked(&mut self, bytes: &[u8]) -> Result<(), PublishError> {
        self.check_owner()?;
        let n = self.next;
        let sleepers = self.ring.view().write(n, bytes);
        self.commit(n, sleepers);
        // Checked after the write: a truncation during it is caught too.
        if self.ring.seg.is_broken() {
            return Err(PublishError::Segment(Box::new(self.ring.seg.broken_error())));
        }
        Ok(())
    }

    /// Lends the next slot for writing in place: the slot is marked as being written (readers
    /// that look at it skip it) and holds the message it held a lap ago, or the type's initial
    /// value. Write it through [`RawLoan::as_mut_ptr`] or [`RawLoan::write`], then
    /// [`RawLoan::publish`].
    pub fn loan(&mut self) -> RawLoan<'_> {
        let n = self.next;
        let ring = self.ring.view();
        ring.begin_write(n);
        let payload = ring.payload(n);
        // The payload words hold at least the message's bytes (checked by `MappedRing::new`),
        // and are atomics, whose bytes may be written through a pointer derived from them.
        debug_assert!(payload.len() * 8 >= self.schema.size());
        let ptr = NonNull::from(payload).cast::<u8>();
        RawLoan { publisher: self, n, ptr }
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

/// A slot lent by [`RawPublisher::loan`]: the message's bytes, written in place.
///
/// Dropping it without [`publish`](RawLoan::publish) publishes nothing: the slot stays marked
/// as being written, and the next publish fills it.
#[derive(Debug)]
#[must_use = "a loan publishes nothing unless `publish` is called"]
pub struct RawLoan<'a> {
    publisher: &'a mut RawPublisher,
    n: u64,
    ptr: NonNull<u8>,
}

impl RawLoan<'_> {
    /// The message's bytes, in shared memory: [`len`](Self::len) bytes, aligned for the
    /// message type, valid for writes while the loan lives. Readers never see them until
    /// [`publish`](Self::publish): they skip a slot that is being written.
    pub fn as_mut_ptr(&mut self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// The message size in bytes.
    pub fn len(&self) -> usize {
        self.publisher.schema.size()
    }

    /// Whether the message has no bytes (never: every message type has a size).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Copies `bytes` into the slot (their length must be the message size).
    ///
    /// # Panics
    ///
    /// If `bytes` is not [`len`](Self::len) long.
    pub fn write(&mut self, bytes: &[u8]) {
        assert_eq!(bytes.len(), self.len(), "a loan holds exactly one message");
        let ring = self.publisher.ring.view();
        torn::store(ring.payload(self.n), bytes);
    }

    /// Publishes the message as it stands, without validating it: the caller wrote a valid
    /// message of the topic's type (typed loans guarantee it; untyped writers validate first).
    pub fn publish(self) {
        let sleepers = self.publisher.ring.view().end_write(self.n);
        self.publisher.commit(self.n, sleepers);
    }
}

/// Publishes messages of type `T` on a topic.
///
/// Created with [`create`](Publisher::create) or [`builder`](Publisher::builder); see the
/// [module docs](super) for the semantics. Dropping it marks the topic closed and (by default)
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
    /// [`PublishError::TakenOver`] if another process took the topic over,
    /// [`PublishError::Segment`] if another process truncated the topic's file.
    #[inline]
    pub fn publish(&mut self, value: &T) -> Result<(), PublishError> {
        self.raw.publish_unchecked(message::as_bytes(value))
    }

    /// Lends the next slot for writing in place (zero-copy): fill it through the returned
    /// guard and call [`Loan::publish`]. The slot holds an older message (or the type's
    /// [`INIT`](Message::INIT) value) until you overwrite it; dropping the guard without
    /// publishing publishes nothing.
    pub fn loan(&mut self) -> Loan<'_, T> {
        let mut raw = self.raw.loan();
        if Validate::<T>::NEEDED {
            // Only this publisher writes its slots, always with valid messages; check anyway,
            // so that a process scribbling on the segment cannot make the `&mut T` invalid.
            let ring = raw.publisher.ring.view();
            let mut current = MaybeUninit::<T>::uninit();
            torn::load(ring.payload(raw.n), bytes_of_uninit(&mut current));
            // SAFETY: `torn::load` initialised all `size_of::<T>()` bytes; they are read as
            // bytes only.
            let bytes = unsafe {
                std::slice::from_raw_parts(current.as_ptr().cast::<u8>(), size_of::<T>())
            };
            if T::SCHEMA.validate(bytes).is_err() {
                raw.write(message::as_bytes(&T::INIT));
            }
        }
        let ptr = NonNull::new(raw.as_mut_ptr().cast::<T>()).expect("mapping pointers are non-null");
        debug_assert!(ptr.as_ptr().is_aligned());
        Loan { raw, ptr, _type: PhantomData }
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
    raw: RawLoan<'a>,
    ptr: NonNull<T>,
    _type: PhantomData<&'a mut T>,
}

impl<T: Message> Loan<'_, T> {
    /// Publishes the message as it stands.
    pub fn publish(self) {
        self.raw.publish();
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

/// Whether received or lent `T`s must be validated, computed at compile time.
pub(super) struct Validate<T>(PhantomData<T>);

impl<T: Message> Validate<T> {
    pub(super) const NEEDED: bool = T::SCHEMA.has_invalid_bit_patterns();
}

/// The bytes of a `MaybeUninit<T>`, for copying a message into it.
pub(super) fn bytes_of_uninit<T>(value: &mut MaybeUninit<T>) -> &mut [MaybeUninit<u8>] {
    // SAFETY: a `MaybeUninit<T>` is `size_of::<T>()` bytes, any of which may be uninitialised,
    // which `[MaybeUninit<u8>]` allows; the slice borrows `value` mutably.
    unsafe {
        std::slice::from_raw_parts_mut(value.as_mut_ptr().cast::<MaybeUninit<u8>>(), size_of::<T>())
    }
}
