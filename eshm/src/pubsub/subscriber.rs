//! The typed [`Subscriber`] of `T` or `[T]` and its builder, over the untyped
//! [`RawSubscriber`](super::RawSubscriber).

use super::options::{SubscriberOptions, delegate_options};
use super::payload::{Payload, topic_schema};
use super::raw_subscriber::RawSubscriber;
use crate::error::{RecvError, Result};
use crate::message::Message;
use crate::ring::messages::Sink;
use crate::wait::WaitStrategy;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::time::{Duration, Instant};

#[cfg(doc)]
use crate::error::Error;

/// Builds a [`Subscriber`]: `Subscriber::<T>::builder(name).wait_strategy(...).open()`.
#[derive(Debug)]
#[must_use = "a builder does nothing until `open` is called"]
pub struct SubscriberBuilder<T: ?Sized> {
    name: String,
    options: SubscriberOptions,
    _type: PhantomData<fn() -> Box<T>>,
}

impl<T: ?Sized + Payload> SubscriberBuilder<T> {
    delegate_options! {
        /// How blocking receives wait (default: spin 20 µs, then sleep).
        fn wait_strategy(wait: WaitStrategy);
        /// Accept topics created by another user (see
        /// [`SubscriberOptions::allow_other_owners`]).
        fn allow_other_owners(allow: bool);
        /// Also deliver up to `messages` messages published before the subscriber was created
        /// (see [`SubscriberOptions::history`]).
        fn history(messages: u64);
        /// How many [`Sample`](super::Sample)s this subscriber may hold at once (see
        /// [`SubscriberOptions::max_held`]).
        fn max_held(samples: usize);
    }

    /// Opens the subscriber (see [`Subscriber::open`]).
    ///
    /// # Errors
    ///
    /// As [`Subscriber::open`].
    pub fn open(self) -> Result<Subscriber<T>> {
        // A slice subscriber accepts slices of its element type of any maximum length.
        let schema = topic_schema::<T>(Some(1))?;
        let raw = RawSubscriber::open(&self.name, Some(&schema), self.options)?;
        Ok(Subscriber { raw, _type: PhantomData })
    }
}

/// Receives messages of type `T` from a topic, or variable-length messages `[T]`.
///
/// Created with [`open`](Subscriber::open) or [`builder`](Subscriber::builder); see the
/// [module docs](super) for the semantics. [`recv`](Subscriber::recv) and its relatives copy
/// each message out (the right call for small messages); [`recv_ref`](Subscriber::recv_ref)
/// and its relatives read it in place (see [`Sample`](super::Sample)).
#[derive(Debug)]
pub struct Subscriber<T: ?Sized + Payload> {
    raw: RawSubscriber,
    _type: PhantomData<fn() -> Box<T>>,
}

impl<T: ?Sized + Payload> Subscriber<T> {
    /// Opens a subscriber on the topic `name`. The topic need not exist yet.
    ///
    /// # Errors
    ///
    /// - [`Error::InvalidName`] if `name` cannot be a topic name;
    /// - [`Error::TypeMismatch`] if the topic exists with another message type (for `[T]`,
    ///   another element type);
    /// - [`Error::Corrupt`] or [`Error::LayoutVersion`] if the file under that name is not a
    ///   valid segment of this eshm version;
    /// - [`Error::Permission`] if it belongs to another user or is writable by others.
    pub fn open(name: &str) -> Result<Subscriber<T>> {
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

    /// Number of [`Sample`](super::Sample)s this subscriber holds.
    pub fn held(&self) -> usize {
        self.raw.held()
    }

    /// A registration to be woken when the next message may have arrived, for callers that
    /// wait for many things at once (see [`Wakeup`](crate::wait::Wakeup)); `None` if a receive
    /// should be tried now.
    ///
    /// # Errors
    ///
    /// [`RecvError::Attach`] if attaching to a re-created topic fails.
    pub fn wakeup(&mut self) -> Result<Option<crate::wait::Wakeup>, RecvError> {
        self.raw.wakeup()
    }

    /// The untyped subscriber underneath.
    pub fn as_raw(&self) -> &RawSubscriber {
        &self.raw
    }

    pub(super) fn raw(&self) -> &RawSubscriber {
        &self.raw
    }

    pub(super) fn raw_mut(&mut self) -> &mut RawSubscriber {
        &mut self.raw
    }

    /// The error for bytes that are not a valid `T`.
    fn invalid(&self, bytes: &[u8]) -> Option<RecvError> {
        let schema = T::Element::SCHEMA;
        if !schema.has_invalid_bit_patterns() {
            return None;
        }
        let n = schema.size();
        let error = bytes
            .chunks_exact(n)
            .enumerate()
            .find_map(|(i, item)| schema.validate(item).err().map(|e| (i, e)))?;
        let (i, source) = error;
        let source = if T::IS_SLICE { prefix_index(source, i, n) } else { source };
        Some(RecvError::InvalidMessage { topic: self.raw.topic.clone(), source })
    }
}

/// `e`, about element `i` (of `n` bytes) of a slice.
fn prefix_index(
    e: crate::schema::ValidityError,
    i: usize,
    n: usize,
) -> crate::schema::ValidityError {
    match e {
        crate::schema::ValidityError::BitPattern { path, offset, value, expected } => {
            let sep =
                if path.is_empty() || path.starts_with('[') || path == "value" { "" } else { "." };
            let path = if path == "value" { String::new() } else { path };
            crate::schema::ValidityError::BitPattern {
                path: format!("[{i}]{sep}{path}"),
                offset: offset + i * n,
                value,
                expected,
            }
        }
        e => e,
    }
}

impl<T: Message> Subscriber<T> {
    /// The message a receive copied into `out`, validated if `T` has invalid bit patterns.
    ///
    /// # Safety
    ///
    /// Every byte of `out` is initialised (a receive into it succeeded).
    #[inline(always)]
    unsafe fn finish(&self, out: MaybeUninit<T>) -> Result<T, RecvError> {
        if T::SCHEMA.has_invalid_bit_patterns() {
            // SAFETY: the caller guarantees all `size_of::<T>()` bytes of `out` are initialised.
            let bytes =
                unsafe { std::slice::from_raw_parts(out.as_ptr().cast::<u8>(), size_of::<T>()) };
            if let Some(e) = self.invalid(bytes) {
                return Err(e);
            }
        }
        // SAFETY: every byte of `out` is initialised (the caller's promise), and the bytes are
        // a valid `T`: either `T` has no invalid bit patterns, or `validate` just accepted them
        // (`Message` contract, item 4).
        Ok(unsafe { out.assume_init() })
    }

    /// The next message in order, if one has arrived; never blocks.
    ///
    /// # Errors
    ///
    /// [`RecvError::InvalidMessage`] if a message holds an invalid `bool` or enum value (it is
    /// skipped), [`RecvError::Attach`] if the topic was re-created and attaching to it failed
    /// (with [`Error::TypeMismatch`] if it carries another type).
    #[inline]
    pub fn try_recv(&mut self) -> Result<Option<T>, RecvError> {
        let mut out = MaybeUninit::<T>::uninit();
        if !self.raw.try_recv_raw(bytes_of_uninit(&mut out))? {
            return Ok(None);
        }
        // SAFETY: the receive succeeded, so it initialised every byte of `out`.
        unsafe { self.finish(out) }.map(Some)
    }

    /// The next message in order, waiting as long as it takes.
    ///
    /// # Errors
    ///
    /// As [`try_recv`](Self::try_recv).
    pub fn recv(&mut self) -> Result<T, RecvError> {
        self.recv_deadline(None)
    }

    /// The next message in order, waiting at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`RecvError::Timeout`] if none arrives in time; otherwise as
    /// [`try_recv`](Self::try_recv).
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<T, RecvError> {
        self.recv_deadline(Instant::now().checked_add(timeout))
    }

    fn recv_deadline(&mut self, deadline: Option<Instant>) -> Result<T, RecvError> {
        let mut out = MaybeUninit::<T>::uninit();
        self.raw.recv_raw_deadline(bytes_of_uninit(&mut out), deadline)?;
        // SAFETY: the receive succeeded, so it initialised every byte of `out`.
        unsafe { self.finish(out) }
    }

    /// The newest message, if one arrived since the last receive, skipping older unread ones
    /// (skipped messages do not count as lost).
    ///
    /// # Errors
    ///
    /// As [`try_recv`](Self::try_recv).
    pub fn latest(&mut self) -> Result<Option<T>, RecvError> {
        self.raw.skip_to_newest()?;
        self.try_recv()
    }
}

impl<T: Message> Subscriber<[T]> {
    /// The next message in order, if one has arrived; never blocks.
    ///
    /// # Errors
    ///
    /// As [`Subscriber::try_recv`] of a fixed-size type.
    pub fn try_recv(&mut self) -> Result<Option<Vec<T>>, RecvError> {
        let mut out = Vec::new();
        Ok(self.try_recv_into_vec(&mut out)?.then_some(out))
    }

    /// Receives the next message into `out` (replacing its contents, reusing its allocation),
    /// if one has arrived; `Ok(true)` then.
    ///
    /// # Errors
    ///
    /// As [`try_recv`](Self::try_recv).
    pub fn try_recv_into_vec(&mut self, out: &mut Vec<T>) -> Result<bool, RecvError> {
        out.clear();
        let Some(len) = self.raw.try_recv_sink(Elements(out))? else { return Ok(false) };
        self.finish_vec(out, len)
    }

    /// Sets `out`'s length after a receive of `len` bytes into its spare capacity, once the
    /// elements are validated.
    fn finish_vec(&self, out: &mut Vec<T>, len: usize) -> Result<bool, RecvError> {
        let n = size_of::<T>();
        // SAFETY: the receive initialised the first `len` bytes of `out`'s spare capacity
        // (`Elements` handed it out, and the length is checked against the capacity there).
        let bytes = unsafe { std::slice::from_raw_parts(out.as_ptr().cast::<u8>(), len) };
        if !len.is_multiple_of(n) {
            return Err(RecvError::InvalidMessage {
                topic: self.raw.topic.clone(),
                source: crate::schema::ValidityError::Length { expected: n, found: len },
            });
        }
        if let Some(e) = self.invalid(bytes) {
            return Err(e);
        }
        // SAFETY: `len / n` elements are initialised (above) and valid (validated, or `T` has
        // no invalid bit patterns), within the capacity `Elements` reserved.
        unsafe { out.set_len(len / n) };
        Ok(true)
    }

    /// The next message in order, waiting as long as it takes.
    ///
    /// # Errors
    ///
    /// As [`try_recv`](Self::try_recv).
    pub fn recv(&mut self) -> Result<Vec<T>, RecvError> {
        self.recv_deadline(None)
    }

    /// The next message in order, waiting at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`RecvError::Timeout`] if none arrives in time; otherwise as
    /// [`try_recv`](Self::try_recv).
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<Vec<T>, RecvError> {
        self.recv_deadline(Instant::now().checked_add(timeout))
    }

    fn recv_deadline(&mut self, deadline: Option<Instant>) -> Result<Vec<T>, RecvError> {
        let mut out = Vec::new();
        let len = self.raw.block(deadline, |raw| raw.try_recv_sink(Elements(&mut out)))?;
        self.finish_vec(&mut out, len)?;
        Ok(out)
    }

    /// The newest message, if one arrived since the last receive, skipping older unread ones
    /// (skipped messages do not count as lost).
    ///
    /// # Errors
    ///
    /// As [`try_recv`](Self::try_recv).
    pub fn latest(&mut self) -> Result<Option<Vec<T>>, RecvError> {
        self.raw.skip_to_newest()?;
        self.try_recv()
    }
}

/// A receive into the spare capacity of a `Vec<T>`.
struct Elements<'v, T>(&'v mut Vec<T>);

impl<T: Message> Sink for Elements<'_, T> {
    fn buffer(&mut self, len: usize) -> Option<&mut [MaybeUninit<u8>]> {
        let vec = &mut *self.0;
        vec.clear();
        vec.reserve(len.div_ceil(size_of::<T>()));
        let spare = vec.spare_capacity_mut();
        let bytes = size_of_val(spare);
        // SAFETY: the spare capacity is `bytes` bytes of `MaybeUninit<T>`, any of which may be
        // uninitialised, which `[MaybeUninit<u8>]` allows; it borrows the vector mutably.
        let spare = unsafe {
            std::slice::from_raw_parts_mut(spare.as_mut_ptr().cast::<MaybeUninit<u8>>(), bytes)
        };
        spare.get_mut(..len)
    }
}

/// The bytes of a `MaybeUninit<T>`, for copying a message into it.
pub(super) fn bytes_of_uninit<T>(value: &mut MaybeUninit<T>) -> &mut [MaybeUninit<u8>] {
    // SAFETY: a `MaybeUninit<T>` is `size_of::<T>()` bytes, any of which may be uninitialised,
    // which `[MaybeUninit<u8>]` allows; the slice borrows `value` mutably.
    unsafe {
        std::slice::from_raw_parts_mut(value.as_mut_ptr().cast::<MaybeUninit<u8>>(), size_of::<T>())
    }
}
