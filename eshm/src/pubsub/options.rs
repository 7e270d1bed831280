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
    pub(crate) held_samples: Option<usize>,
}

impl Default for PublisherOptions {
    fn default() -> Self {
        PublisherOptions { capacity: None, mode: 0o600, unlink_on_drop: true, held_samples: None }
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

    /// How many messages subscribers may hold in place (as [`Sample`](super::Sample)s) at
    /// once, all together, on a topic whose messages live in a pool (of
    /// [`POOLED_MIN`](super::POOLED_MIN) bytes or more). The pool has `capacity + samples + 1`
    /// blocks, so each costs one message of shared memory. Default
    /// [`DEFAULT_HELD_SAMPLES`](super::DEFAULT_HELD_SAMPLES); 1 to
    /// [`MAX_HELD_SAMPLES`](super::MAX_HELD_SAMPLES). Topics of smaller messages ignore it:
    /// their samples are copies.
    pub fn held_samples(mut self, samples: usize) -> Self {
        self.held_samples = Some(samples);
        self
    }
}

/// Options for opening a subscriber; see [`Subscriber::builder`](super::Subscriber::builder)
/// and [`RawSubscriber::open`](super::RawSubscriber::open).
#[derive(Clone, Copy, Debug)]
pub struct SubscriberOptions {
    pub(crate) wait: WaitStrategy,
    pub(crate) trust: Trust,
    pub(crate) history: u64,
    pub(crate) max_held: usize,
}

impl Default for SubscriberOptions {
    fn default() -> Self {
        SubscriberOptions {
            wait: WaitStrategy::default(),
            trust: Trust::default(),
            history: 0,
            max_held: DEFAULT_MAX_HELD,
        }
    }
}

/// How many [`Sample`](super::Sample)s a subscriber may hold at once by default.
pub const DEFAULT_MAX_HELD: usize = 2;

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

    /// How many [`Sample`](super::Sample)s (messages read in place with `recv_ref`) this
    /// subscriber may hold at once (default [`DEFAULT_MAX_HELD`]). One more is
    /// [`RecvError::HeldLimit`](crate::RecvError::HeldLimit), and leaves the message unread.
    pub fn max_held(mut self, samples: usize) -> Self {
        self.max_held = samples;
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
