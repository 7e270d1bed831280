//! Shared pieces of the eshm integration tests: message types defined in another crate (for the
//! derive's pass cases) and helpers for tests that run several processes.

/// Re-export, so that a test can name eshm through another path (`#[eshm(crate = "...")]`).
pub use eshm;

/// Message types defined in a module of this crate, used as fields by other crates.
pub mod geometry {
    /// A 2-D vector.
    #[derive(Clone, Copy, Debug, PartialEq, eshm::Message)]
    #[repr(C)]
    pub struct Vec2 {
        /// Horizontal component.
        pub x: f32,
        /// Vertical component.
        pub y: f32,
    }
}
