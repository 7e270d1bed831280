//! The typed [`Publisher`] of `T` or `[T]`, its builder, and typed loans that write a message
//! in place.

use super::options::{PublisherOptions, delegate_options};
use super::payload::{Payload, topic_schema};
use super::raw_publisher::{RawLoan, RawPublisher};
use crate::error::{PublishError, Result};
use crate::message::{self, Message};
use crate::sync::torn;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

/// Builds a [`Publisher`]: `Publisher::<T>::builder(name).capacity(64).create()`, or for a
/// variable-length topic `Publisher::<[T]>::builder(name).max_len(n).create()`.
#[derive(Debug)]
#[must_use = "a builder does nothing until `create` is called"]
pub struct PublisherBuilder<T: ?Sized> {
    name: String,
    options: PublisherOptions,
    max_len: Option<usize>,
    _type: PhantomData<fn() -> Box<T>>,
}

impl<T: ?Sized + Payload> PublisherBuilder<T> {
    delegate_options! {
        /// Number of messages the ring keeps (rounded up to a power of two). A subscriber that
        /// falls further behind loses messages. Default: as many as fit in 16 MiB, from 4 to
        /// 1024 (from 2, for messages in a pool).
        fn capacity(messages: usize);
        /// Permission bits of the segment file (default `0o600`, owner only). Subscribers
        /// refuse segments of other users, or writable by them, unless they allow it
        /// explicitly.
        fn mode(mode: u32);
        /// Whether dropping the publisher removes the topic's name (default `true`). Either
        /// way the segment is marked closed, and subscribers keep what they received.
        fn unlink_on_drop(unlink: bool);
        /// How many messages subscribers may read in place ([`Sample`](super::Sample)s) at
        /// once, all together, on a topic whose messages live in a pool (see
        /// [`PublisherOptions::held_samples`]). Default 4.
        fn held_samples(samples: usize);
    }

    /// Creates the topic (see [`Publisher::create`]).
    ///
    /// # Errors
    ///
    /// As [`Publisher::create`].
    pub fn create(self) -> Result<Publisher<T>> {
        let schema = topic_schema::<T>(self.max_len)?;
        let raw = RawPublisher::create_with(&self.name, &schema, &self.options)?;
        Ok(Publisher { raw, _type: PhantomData })
    }
}

impl<T: Message> PublisherBuilder<[T]> {
    /// The most elements a message of this variable-length topic holds (required). Messages
    /// of up to [`POOLED_MIN`](super::POOLED_MIN) bytes live in the ring's slots; longer ones
    /// in a pool, where they are written and read in place.
    pub fn max_len(mut self, elements: usize) -> Self {
        self.max_len = Some(elements);
        self
    }
}

/// Publishes messages of type `T` on a topic, or variable-length messages `[T]`.
///
/// Created with [`create`](Publisher::create) or [`builder`](Publisher::builder); see the
/// [module docs](super) for the semantics. Dropping it marks the topic closed and (by default)
/// removes its name.
#[derive(Debug)]
pub struct Publisher<T: ?Sized + Payload> {
    raw: RawPublisher,
    _type: PhantomData<fn(&T)>,
}

impl<T: ?Sized + Payload> Publisher<T> {
    /// Creates the topic `name` with default options (a slice topic needs its maximum length:
    /// use [`builder`](Self::builder) and `max_len`).
    ///
    /// # Errors
    ///
    /// - [`Error::InvalidName`](crate::Error::InvalidName) if `name` is empty, contains NUL, or
    ///   is too long;
    /// - [`Error::PublisherExists`](crate::Error::PublisherExists) if a live process already
    ///   publishes on it;
    /// - [`Error::Permission`](crate::Error::Permission) if a file of that name belongs to
    ///   another user;
    /// - [`Error::InvalidCapacity`](crate::Error::InvalidCapacity) for a slice topic without
    ///   `max_len`, or sizes that do not fit;
    /// - [`Error::Io`](crate::Error::Io) if the segment cannot be created (e.g. `/dev/shm` is
    ///   full).
    pub fn create(name: &str) -> Result<Publisher<T>> {
        Publisher::builder(name).create()
    }

    /// A builder for a publisher with non-default options.
    pub fn builder(name: &str) -> PublisherBuilder<T> {
        PublisherBuilder {
            name: name.to_owned(),
            options: PublisherOptions::default(),
            max_len: None,
            _type: PhantomData,
        }
    }

    /// Publishes `value`: copies it into the next slot (or pool block) and wakes sleeping
    /// subscribers. Never waits for subscribers.
    ///
    /// # Errors
    ///
    /// [`PublishError::MessageTooLarge`] if a slice is longer than the topic's `max_len`,
    /// [`PublishError::TakenOver`] if another process took the topic over,
    /// [`PublishError::Segment`] if another process truncated the topic's file.
    #[inline]
    pub fn publish(&mut self, value: &T) -> Result<(), PublishError> {
        if T::IS_SLICE {
            self.raw.publish_checked_len(value.payload_bytes())
        } else {
            self.raw.publish_unchecked(value.payload_bytes())
        }
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

    /// Whether messages live in a pool, where subscribers read them in place and loans write
    /// them in place (messages of [`POOLED_MIN`](super::POOLED_MIN) bytes or more).
    pub fn is_pooled(&self) -> bool {
        self.raw.is_pooled()
    }

    /// The untyped publisher underneath.
    pub fn as_raw(&self) -> &RawPublisher {
        &self.raw
    }
}

impl<T: Message> Publisher<T> {
    /// Lends room for the next message, to write it in place (zero-copy): fill it through the
    /// returned guard and call [`Loan::publish`]. It holds an older message (or the type's
    /// [`INIT`](Message::INIT) value) until you overwrite it; dropping the guard without
    /// publishing publishes nothing.
    pub fn loan(&mut self) -> Loan<'_, T> {
        let raw = self.raw.loan(size_of::<T>()).expect("a message of the topic's size");
        Loan::new(raw, 1)
    }
}

impl<T: Message> Publisher<[T]> {
    /// The most elements a message holds.
    pub fn max_len(&self) -> usize {
        self.raw.max_len().expect("a slice topic")
    }

    /// Lends room for a message of `len` elements, to write it in place (zero-copy): fill the
    /// slice the guard dereferences to and call [`Loan::publish`]. The elements hold older
    /// values (or [`INIT`](Message::INIT)) until you overwrite them.
    ///
    /// # Errors
    ///
    /// [`PublishError::MessageTooLarge`] if `len` is over the topic's `max_len`.
    pub fn loan_slice(&mut self, len: usize) -> Result<Loan<'_, [T]>, PublishError> {
        let raw = self.raw.loan(len * size_of::<T>())?;
        Ok(Loan::new(raw, len))
    }
}

/// Room lent by [`Publisher::loan`] or [`Publisher::loan_slice`], written in place.
/// Dereferences to the message (`T`, or `[T]`).
///
/// Dropping it without [`publish`](Loan::publish) publishes nothing.
#[derive(Debug)]
#[must_use = "a loan publishes nothing unless `publish` is called"]
pub struct Loan<'a, T: ?Sized + Payload> {
    raw: RawLoan<'a>,
    ptr: NonNull<T::Element>,
    len: usize,
    _type: PhantomData<&'a mut T>,
}

impl<'a, T: ?Sized + Payload> Loan<'a, T> {
    /// Wraps `raw`, making sure it holds `len` valid elements.
    fn new(mut raw: RawLoan<'a>, len: usize) -> Loan<'a, T> {
        if T::Element::SCHEMA.has_invalid_bit_patterns() {
            // Only this publisher writes its slots and blocks, always with valid messages (or
            // zeros, for a fresh block); check anyway, so that a process scribbling on the
            // segment cannot make the `&mut T` invalid.
            let mut current = vec![MaybeUninit::<u8>::uninit(); raw.len()];
            torn::load(raw.words(), &mut current);
            // SAFETY: `torn::load` initialised every byte.
            let bytes = unsafe { torn::assume_init_vec(current) };
            let schema = T::Element::SCHEMA;
            let n = schema.size();
            if bytes.chunks_exact(n).any(|item| schema.validate(item).is_err()) {
                let init = message::as_bytes(&T::Element::INIT).repeat(len);
                raw.write(&init);
            }
        }
        let ptr = NonNull::new(raw.as_mut_ptr().cast::<T::Element>()).expect("non-null");
        debug_assert!(ptr.as_ptr().is_aligned());
        Loan { raw, ptr, len, _type: PhantomData }
    }

    /// Publishes the message as it stands.
    ///
    /// # Errors
    ///
    /// [`PublishError::Segment`] if another process truncated the topic's file.
    pub fn publish(self) -> Result<(), PublishError> {
        self.raw.publish()
    }
}

impl<T: ?Sized + Payload> Deref for Loan<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // `ptr` is the lent room in the publisher's mapping, kept alive by the `&mut
        // Publisher` this loan holds; only this publisher writes it.
        // SAFETY: aligned for the element (slot payloads and blocks start at a multiple of
        // its alignment), `len` valid elements (checked or written by `new`), and nothing but
        // this loan writes them while it lives.
        unsafe { T::from_raw(self.ptr.as_ptr().cast::<u8>(), self.len * size_of::<T::Element>()) }
    }
}

impl<T: ?Sized + Payload> DerefMut for Loan<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; and the room is this loan's alone: inline, the slot is marked
        // as being written, so readers that copy it concurrently (with `torn` loads, outside
        // this process's memory model) discard their copy; pooled, the block is neither in the
        // ring nor held, so no reader keeps it. The loan borrows the publisher mutably.
        unsafe {
            T::from_raw_mut(self.ptr.as_ptr().cast::<u8>(), self.len * size_of::<T::Element>())
        }
    }
}
