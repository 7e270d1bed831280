//! The only import point for atomics, fences and spin hints used by the shared-memory
//! protocols: std's under normal builds, loom's under `--cfg loom`, so that the same protocol
//! code is model-checked (tokio and crossbeam use the same arrangement).
//!
//! Shared-memory structures are `#[repr(C)]` types made of these atomics. In a normal build
//! they are cast from the mapping (std's atomics have the layout of the integer they hold); in
//! a loom build they are ordinary heap objects (loom's atomics track accesses instead).
#![allow(clippy::disallowed_types)]

pub(crate) mod futex;
pub(crate) mod torn;

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicU32, AtomicU64, Ordering, fence};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicU32, AtomicU64, Ordering, fence};

/// A hint that the caller is spinning (`PAUSE` on x86). Under loom, a yield, so that models
/// with spin loops terminate.
#[inline(always)]
pub(crate) fn spin_loop() {
    #[cfg(not(loom))]
    std::hint::spin_loop();
    #[cfg(loom)]
    loom::thread::yield_now();
}
