//! Typed, lock-free inter-process communication over shared memory.
//!
//! Mark a `#[repr(C)]` plain-data struct with `#[derive(eshm::Message)]`; the derive checks at
//! compile time that every byte of it means the same thing in another process (no padding, no
//! pointers, no `usize`) and records its layout in a [`Schema`] whose [fingerprint] lets two
//! processes agree, or clearly disagree, on a type.
//!
//! ```
//! use eshm::Message;
//!
//! #[derive(Clone, Copy, Debug, PartialEq, eshm::Message)]
//! #[repr(C)]
//! struct Imu {
//!     stamp_ns: u64,
//!     accel: [f32; 3],
//!     gyro: [f32; 3],
//!     valid: bool,
//!     _pad: [u8; 7],
//! }
//!
//! let schema = Imu::SCHEMA;
//! assert_eq!(schema.size(), 40);
//! println!("{schema:#}");                         // a readable definition with offsets
//! const IMU_FINGERPRINT: u64 = Imu::SCHEMA.fingerprint();  // computed at compile time
//!
//! // The bytes of a message, and back, with bool/enum fields validated.
//! let imu = Imu { stamp_ns: 7, accel: [0.0, 0.0, 9.81], gyro: [0.0; 3], valid: true, _pad: [0; 7] };
//! let bytes = eshm::message::as_bytes(&imu);
//! assert_eq!(eshm::message::from_bytes::<Imu>(bytes), Ok(imu));
//! # let _ = IMU_FINGERPRINT;
//! ```
//!
//! [fingerprint]: Schema::fingerprint

// The loom build (`--cfg loom`) compiles only the protocols it model-checks, without the
// segment and I/O layers, so the helpers those use are unused there.
#![cfg_attr(loom, allow(dead_code, unused_imports))]

// Lets the derive's `::eshm::...` paths work inside this crate too (for `msg`).
extern crate self as eshm;

#[cfg(not(loom))]
pub mod channel;
// Under loom only the queue protocol is built (and model-checked), not the segment plumbing.
#[cfg(loom)]
#[path = "channel/queue.rs"]
mod channel_queue;
pub mod error;
#[cfg(not(loom))]
pub mod inspect;
mod layout;
pub mod message;
pub mod msg;
#[cfg(not(loom))]
pub mod pubsub;
#[cfg(feature = "python")]
pub mod python;
mod ring;
pub mod schema;
#[cfg(not(loom))]
pub mod segment;
mod sync;
#[cfg(test)]
mod tests;

pub use error::{Error, Result};
pub use message::Message;
#[cfg(not(loom))]
pub use pubsub::{Publisher, RawPublisher, RawSubscriber, Subscriber, WaitStrategy};
pub use schema::Schema;

/// Derives [`Message`](trait@Message). See the trait's documentation for what it accepts.
#[cfg(feature = "derive")]
pub use eshm_derive::Message;

/// Stops the build when `#[eshm(python)]` is used without eshm's `python` feature.
#[cfg(feature = "python")]
#[doc(hidden)]
#[macro_export]
macro_rules! __eshm_require_python {
    () => {};
}

/// Stops the build when `#[eshm(python)]` is used without eshm's `python` feature.
#[cfg(not(feature = "python"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __eshm_require_python {
    () => {
        ::core::compile_error!(
            "`#[eshm(python)]` needs eshm's `python` feature: write `eshm = { version = \"...\", features = [\"python\"] }` in Cargo.toml"
        );
    };
}

/// Support for the code that `#[derive(Message)]` generates. Not a public API.
#[doc(hidden)]
pub mod __private {
    #[cfg(feature = "python")]
    pub use crate::python;
    #[cfg(feature = "python")]
    pub use pyo3;

    /// Implemented only for a padding count of zero; `S` is the struct and `F` a marker type
    /// named after the field that the padding follows.
    #[diagnostic::on_unimplemented(
        message = "`{S}` has {N} padding byte(s) after field `{F}`",
        label = "{N} padding byte(s) follow this field",
        note = "padding bytes are uninitialised: they would copy stray process memory into shared memory and make equal messages differ",
        note = "make the padding explicit with a field after it, such as `_pad: [u8; {N}]`, or reorder the fields from the largest alignment to the smallest"
    )]
    pub trait PaddingFree<S, F, const N: usize> {}
    #[diagnostic::do_not_recommend]
    impl<S, F> PaddingFree<S, F, 0> for () {}

    #[diagnostic::on_unimplemented(
        message = "`{Self}` must implement `Copy` to derive `Message`",
        label = "`{Self}` is not `Copy`",
        note = "messages are copied byte for byte in and out of shared memory; add `#[derive(Clone, Copy)]` to `{Self}`"
    )]
    pub trait MessageIsCopy {}
    #[diagnostic::do_not_recommend]
    impl<T: Copy> MessageIsCopy for T {}

    pub fn assert_copy<T: MessageIsCopy>() {}
}
