//! The only source of atomics, fences and spin hints for the shared-memory protocols: thin
//! wrappers around std's in normal builds, loom's under `--cfg loom`, so that the same protocol
//! code is model-checked (the arrangement of tokio's and crossbeam's loom shims). `clippy.toml`
//! forbids std's atomic types everywhere else.
//!
//! Shared-memory structures are `#[repr(C)]` types made of these atomics. In a normal build
//! they are cast from the mapping: each wrapper is `#[repr(transparent)]` over std's atomic,
//! which has the size and alignment of the integer it holds. In a loom build they are ordinary
//! heap objects (loom's atomics track accesses instead).

pub(crate) mod futex;
pub(crate) mod torn;

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{Ordering, fence};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicU32, AtomicU64, Ordering, fence};

#[cfg(not(loom))]
pub(crate) use std_atomics::{AtomicU32, AtomicU64};

#[cfg(not(loom))]
#[allow(clippy::disallowed_types)] // the one place that wraps std's atomics
mod std_atomics {
    use std::sync::atomic::{self, Ordering};

    macro_rules! wrap {
        ($(#[$doc:meta])* $name:ident, $int:ty) => {
            $(#[$doc])*
            #[repr(transparent)]
            #[derive(Debug, Default)]
            pub(crate) struct $name(atomic::$name);

            // Generated for both widths; each uses a different subset.
            #[allow(dead_code)]
            impl $name {
                pub(crate) const fn new(value: $int) -> Self {
                    Self(atomic::$name::new(value))
                }

                #[inline(always)]
                pub(crate) fn load(&self, order: Ordering) -> $int {
                    self.0.load(order)
                }

                #[inline(always)]
                pub(crate) fn store(&self, value: $int, order: Ordering) {
                    self.0.store(value, order)
                }

                #[inline(always)]
                pub(crate) fn fetch_add(&self, value: $int, order: Ordering) -> $int {
                    self.0.fetch_add(value, order)
                }

                #[inline(always)]
                pub(crate) fn fetch_sub(&self, value: $int, order: Ordering) -> $int {
                    self.0.fetch_sub(value, order)
                }

                #[inline(always)]
                pub(crate) fn fetch_or(&self, value: $int, order: Ordering) -> $int {
                    self.0.fetch_or(value, order)
                }

                #[inline(always)]
                pub(crate) fn fetch_and(&self, value: $int, order: Ordering) -> $int {
                    self.0.fetch_and(value, order)
                }

                #[inline(always)]
                pub(crate) fn swap(&self, value: $int, order: Ordering) -> $int {
                    self.0.swap(value, order)
                }

                #[inline(always)]
                pub(crate) fn compare_exchange(
                    &self,
                    current: $int,
                    new: $int,
                    success: Ordering,
                    failure: Ordering,
                ) -> Result<$int, $int> {
                    self.0.compare_exchange(current, new, success, failure)
                }

                /// The std atomic inside (for system calls that take one, such as futexes).
                pub(crate) fn as_std(&self) -> &atomic::$name {
                    &self.0
                }
            }
        };
    }

    wrap!(
        /// A 32-bit atomic with the layout of `u32`.
        AtomicU32,
        u32
    );
    wrap!(
        /// A 64-bit atomic with the layout of `u64`.
        AtomicU64,
        u64
    );
}

/// A hint that the caller is spinning (`PAUSE` on x86). Under loom, a yield, so that models
/// with spin loops terminate.
#[inline(always)]
pub(crate) fn spin_loop() {
    #[cfg(not(loom))]
    std::hint::spin_loop();
    #[cfg(loom)]
    loom::thread::yield_now();
}
