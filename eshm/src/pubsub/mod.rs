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
//! let mut subscriber = Subscriber::<Pose>::open(&name)?;      // fine before the publisher exists
//! let mut publisher = Publisher::<Pose>::create(&name)?;
//! publisher.publish(&Pose { x: 1.0, y: 2.0, theta: 0.5 })?;
//!
//! let mut slot = publisher.loan();                            // write in place, zero-copy
//! slot.x = 3.0;
//! slot.publish()?;
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

mod blocking;
mod options;
mod payload;
mod publisher;
mod raw_publisher;
mod raw_subscriber;
mod sample;
mod subscriber;

pub use crate::ring::geometry::{
    DEFAULT_HELD_SAMPLES, MAX_CAPACITY, MAX_HELD_SAMPLES, POOLED_MIN,
};
pub use crate::wait::WaitStrategy;
pub use options::{DEFAULT_MAX_HELD, PublisherOptions, SubscriberOptions};
pub use payload::Payload;
pub use publisher::{Loan, Publisher, PublisherBuilder};
pub use raw_publisher::{LoanParts, RawLoan, RawPublisher};
pub use raw_subscriber::RawSubscriber;
pub use sample::{RawSample, Sample};
pub use subscriber::{Subscriber, SubscriberBuilder};

#[cfg(doc)]
use crate::{error::Error, schema::Schema};
