//! Loom models of the shared-memory protocols (run with `--cfg loom`; see `test.sh`).

#[cfg(loom)]
mod loom_pool;
#[cfg(loom)]
mod loom_queue;
#[cfg(loom)]
mod loom_ring;
#[cfg(loom)]
mod loom_service;
