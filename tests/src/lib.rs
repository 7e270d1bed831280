//! Shared helpers for the eshm integration tests.
