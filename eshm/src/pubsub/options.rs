//! Options of publishers and subscribers, for the untyped API (the typed builders,
//! [`PublisherBuilder`](super::PublisherBuilder) and [`SubscriberBuilder`](super::SubscriberBuilder),
//! set the same fields).

use crate::segment::Trust;
use crate::wait::WaitStrategy;

/// Options for creating a publisher; see [`Publisher::builder`](super::Publisher::builder) and
/// [`RawPublisher::create_with`](super::RawPublisher::create_with).
#[derive(Clone, Debug)]
pub struct PublisherOptions {
    pub(crate) capacity: Option<usize>,
    pub(crate) mode: u32,
    pub(crate) unlink_on_drop: bool,
}

impl Default for PublisherOptions {
    fn default() -> Self {
        PublisherOptions { capacity: None, mode: 0o600, unlink_on_drop: true }
    }
}

impl PublisherOptions {
    /// Number of messages the ring keeps (rounded up to a power of two). A subscriber that
    /// falls further behind loses messages. Default: as many as fit in 16 MiB, from 4 to 1024.
    pub fn capacity(mut self, messages: usize) -> Self {
        self.capacity = Some(messages);
        self
    }

    /// Permission bits of the segment file (default `0o600`, owner only). Subscribers refuse
    /// segments of other users, or writable by them, unless they allow it explicitly.
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = mode & 0o777;
        self
    }

    /// Whether dropping the publisher removes the topic's name (default `true`). Either way
    /// the segment is marked closed, and subscribers keep what they received.
    pub fn unlink_on_drop(mut self, unlink: bool) -> Self {
        self.unlink_on_drop = unlink;
        self
    }
}

/// Options for opening a subscriber; see [`Subscriber::builder`](super::Subscriber::builder)
/// and [`RawSubscriber::open`](super::RawSubscriber::open).
#[derive(Clone, Copy, Debug, Default)]
pub struct SubscriberOptions {
    pub(crate) wait: WaitStrategy,
    pub(crate) trust: Trust,
    pub(crate) history: u64,
}

impl SubscriberOptions {
    /// How blocking receives wait (default: spin 20 µs, then sleep).
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

/// The builder methods shared by [`PublisherBuilder`](super::PublisherBuilder) and
/// [`SubscriberBuilder`](super::SubscriberBuilder), which delegate to their options.
macro_rules! delegate_options {
    ($($(#[$doc:meta])* fn $name:ident($arg:ident: $ty:ty);)*) => {$(
        $(#[$doc])*
        pub fn $name(mut self, $arg: $ty) -> Self {
            self.options = self.options.$name($arg);
            self
        }
    )*};
}
pub(crate) use delegate_options;
