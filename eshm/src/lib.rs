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
//!
//! # Layers
//!
//! Each layer is one module; each uses only the ones above it in this list (the test command
//! checks it).
//!
//! | module | what it is |
//! |---|---|
//! | `sync` | the only source of atomics, fences and futexes (std's, or loom's when model-checking) |
//! | `layout` | the `#[repr(C)]` structures that live in shared memory, and nothing else |
//! | [`schema`] | what a message type is: layout, fingerprint, encoding, validity, description |
//! | [`message`] | the [`Message`] trait: types whose bytes mean the same in every process |
//! | [`error`] | [`Error`] for setting up, and the small per-operation errors of the hot paths |
//! | `os` | clocks, process identity (pid and start time), the segment directory |
//! | [`segment`] | named shared-memory files: names, creating, opening, checking headers |
//! | `ring`, `queue` | the protocols: the broadcast seqlock ring, the SPSC record queue (no I/O) |
//! | `wait` | [`WaitStrategy`], the spin loop and the deadline arithmetic of blocking calls |
//! | [`pubsub`], [`channel`] | [`Publisher`]/[`Subscriber`] over a ring; the duplex byte channel |
//! | [`service`] | request/response: a server answers any number of clients' calls |
//! | [`action`] | long-running goals on the service machinery: accept, feedback, cancel, result |
//! | [`inspect`] | the outside view for tools: list, info, clean |
//! | [`select`] | choosing topics by name: exact names and shell-style patterns (`robot/**`) |
//! | [`msg`], `python` | standard message types; Python classes for message types |

// The loom build (`--cfg loom`) compiles only the protocols it model-checks (`sync`,
// `layout`, `ring`, `queue`, `service::protocol`), without the layers that do I/O, so helpers those use are unused.
#![cfg_attr(loom, allow(dead_code, unused_imports))]

// Lets the derive's `::eshm::...` paths work inside this crate too (for `msg`).
extern crate self as eshm;

/// Items that do I/O: left out of the loom build, which model-checks the protocols only.
/// (Module declarations carry `#[cfg(not(loom))]` themselves, so that tools that read the
/// module tree without expanding macros, such as cargo-mutants, find them.)
macro_rules! not_under_loom {
    ($($item:item)*) => { $( #[cfg(not(loom))] $item )* };
}

// The layers, from the bottom up; every `use crate::` points down this list.
#[cfg(not(loom))]
pub mod action;
#[cfg(not(loom))]
pub mod channel;
pub mod error;
#[cfg(not(loom))]
pub mod inspect;
mod layout;
pub mod message;
#[cfg(not(loom))]
mod os;
#[cfg(not(loom))]
pub mod pubsub;
mod queue;
mod ring;
pub mod schema;
#[cfg(not(loom))]
pub mod segment;
#[cfg(not(loom))]
pub mod select;
pub mod service;
mod sync;
#[cfg(not(loom))]
pub mod wait;
// Beside the layers.
pub mod msg;
#[cfg(feature = "python")]
pub mod python;
#[cfg(test)]
mod tests;

/// The Rust code of the README, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

pub use error::{
    CallError, Error, PublishError, ReadError, RecvError, Result, ServeError, WriteError,
};
pub use message::Message;
not_under_loom! {
    pub use pubsub::{Publisher, RawPublisher, RawSubscriber, Subscriber};
    pub use wait::WaitStrategy;
}
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
    pub use pyo3;

    /// The Python support, and the helpers generated classes call.
    #[cfg(feature = "python")]
    pub mod python {
        pub use crate::python::generated::*;
        pub use crate::python::*;
    }

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
}
