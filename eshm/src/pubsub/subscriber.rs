//! The typed [`Subscriber`] and its builder, over the untyped
//! [`RawSubscriber`](super::RawSubscriber).

use super::options::{SubscriberOptions, delegate_options};
use super::publisher::{Validate, bytes_of_uninit};
use super::raw_subscriber::RawSubscriber;
use crate::error::{RecvError, Result};
use crate::message::Message;
use crate::wait::WaitStrategy;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::time::{Duration, Instant};

#[cfg(doc)]
use crate::error::Error;

/// Builds a [`Subscriber`]: `Subscriber::<T>::builder(name).wait_strategy(...).open()`.
#[derive(Debug)]
#[must_use = "a builder does nothing until `open` is called"]
pub struct SubscriberBuilder<T> {
    name: String,
    options: SubscriberOptions,
    _type: PhantomData<fn() -> T>,
}

impl<T: Message> SubscriberBuilder<T> {
    delegate_options! {
        /// How blocking receives wait (default: spin 20 µs, then sleep).
        fn wait_strategy(wait: WaitStrategy);
        /// Accept topics created by another user (see
        /// [`SubscriberOptions::allow_other_owners`]).
        fn allow_other_owners(allow: bool);
        /// Also deliver up to `messages` messages published before the subscriber was created
        /// (see [`SubscriberOptions::history`]).
        fn history(messages: u64);
    }

    /// Opens the subscriber (see [`Subscriber::open`]).
    ///
    /// # Errors
    ///
    /// As [`Subscriber::open`].
    pub fn open(self) -> Result<Subscriber<T>> {
        let raw = RawSubscriber::open(&self.name, Some(T::SCHEMA), self.options)?;
        Ok(Subscriber { raw, _type: PhantomData })
    }
}

/// Receives messages of type `T` from a topic.
///
/// Created with [`open`](Subscriber::open) or [`builder`](Subscriber::builder); see the
/// [module docs](super) for the semantics.
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

    /// The message a receive copied into `out`, validated if `T` has invalid bit patterns.
    ///
    /// # Safety
    ///
    /// Every byte of `out` is initialised (a receive into it succeeded).
    #[inline(always)]
    unsafe fn finish(&self, out: MaybeUninit<T>) -> Result<T, RecvError> {
        if Validate::<T>::NEEDED {
            // SAFETY: the caller guarantees all `size_of::<T>()` bytes of `out` are initialised.
            let bytes =
                unsafe { std::slice::from_raw_parts(out.as_ptr().cast::<u8>(), size_of::<T>()) };
            T::SCHEMA.validate(bytes).map_err(|source| RecvError::InvalidMessage {
                topic: self.raw.topic.clone(),
                source,
            })?;
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
        let mut out = MaybeUninit::<T>::uninit();
        if !self.raw.latest_raw(bytes_of_uninit(&mut out))? {
            return Ok(None);
        }
        // SAFETY: the receive succeeded, so it initialised every byte of `out`.
        unsafe { self.finish(out) }.map(Some)
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

