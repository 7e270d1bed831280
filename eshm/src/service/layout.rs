//! The shared-memory structures of a service or action segment, and nothing else: no I/O, no
//! logic (the conventions of [`crate::layout`]: atomics only, fixed-width fields, padding
//! spelled out, sizes and offsets asserted below).
//!
//! ```text
//! body_offset   ServiceHeader (384 bytes)
//!               the encoded schemas (request, response[, feedback]), 8-byte aligned
//! slots_offset  max_clients client slots of slot_stride bytes, each:
//!                 ClientSlot (128 bytes)
//!                 max_in_flight entries of entry_stride bytes, each:
//!                   request part   (request_part bytes: header words, then the payload)
//!                   response part  (response_part bytes: header words, then the payload)
//!                   feedback_depth feedback slots (feedback_part bytes each; actions only)
//! ```
//!
//! The parts of an entry are sequences of 64-bit words, indexed by the `REQ_*`, `RES_*` and
//! `FB_*` constants: their size depends on the message types, so they are word slices rather
//! than structs. Each part starts on a cache line and is written by one side only (the request
//! part by the client, the response part and the feedback slots by the server), so a small
//! message and its header travel in one cache-line transfer.

use crate::sync::{AtomicU32, AtomicU64};

/// Most client slots a service may have (the `active` bitmap's size).
pub(crate) const MAX_CLIENTS: usize = 1024;
/// Most entries (calls or goals in flight) per client.
pub(crate) const MAX_IN_FLIGHT: usize = 1024;
/// Most feedback slots per goal.
pub(crate) const MAX_FEEDBACK_DEPTH: usize = 1024;
/// Schemas a segment holds: request and response (services), goal, result and feedback
/// (actions).
pub(crate) const MAX_SCHEMAS: usize = 4;

/// The header of a service or action segment's body.
#[repr(C, align(64))]
pub(crate) struct ServiceHeader {
    // Line 0: geometry, written before the segment is linked.
    /// Client slots.
    pub(crate) max_clients: AtomicU32,
    /// Entries per client slot, a power of two.
    pub(crate) max_in_flight: AtomicU32,
    /// Payload bytes of a request (of a goal, for actions).
    pub(crate) request_size: AtomicU32,
    /// Payload bytes of a response (of a result).
    pub(crate) response_size: AtomicU32,
    /// Payload bytes of a feedback message (0 for services).
    pub(crate) feedback_size: AtomicU32,
    /// Feedback slots per entry (0 for services).
    pub(crate) feedback_depth: AtomicU32,
    /// Bytes of an entry's request part, a multiple of 64.
    pub(crate) request_part: AtomicU32,
    /// Bytes of an entry's response part, a multiple of 64.
    pub(crate) response_part: AtomicU32,
    /// Bytes of one feedback slot, a multiple of 64 (0 for services).
    pub(crate) feedback_part: AtomicU32,
    /// Schemas stored (2 for services, 3 for actions).
    pub(crate) schema_count: AtomicU32,
    /// Offset of client slot 0 from the start of the segment, a multiple of 64.
    pub(crate) slots_offset: AtomicU64,
    /// Bytes per client slot, a multiple of 64.
    pub(crate) slot_stride: AtomicU64,
    pub(crate) _reserved0: AtomicU64,

    // Line 1: the message types, for checking on attach and for tools.
    /// Offset of each encoded schema from the start of the segment.
    pub(crate) schema_offset: [AtomicU32; MAX_SCHEMAS],
    /// Length of each encoded schema.
    pub(crate) schema_len: [AtomicU32; MAX_SCHEMAS],
    /// Fingerprint of each schema (FNV-1a of its bytes).
    pub(crate) fingerprint: [AtomicU64; MAX_SCHEMAS],

    /// Line 2.
    pub(crate) server: ServerLine,

    /// Lines 3 and 4: bit `i` is set while client slot `i` is claimed (set by the client after
    /// claiming, cleared when it lets go; a client that dies leaves it set until its slot is
    /// claimed again). The server looks for requests in these slots only.
    pub(crate) active: [AtomicU64; MAX_CLIENTS / 64],

    /// Line 5: the server's counters, apart from the line clients read on every call.
    pub(crate) stats: ServerStats,
}

/// The server's cache line: its identity and its sleep, read by clients on every call.
/// Written by the server only (when it goes to sleep), except `futex`, which clients bump to
/// wake it.
#[repr(C, align(64))]
pub(crate) struct ServerLine {
    /// Which incarnation of the server this is: 1 for the first, the replaced segment's
    /// generation plus one for a server that took over from a dead one. Requests carry it.
    pub(crate) generation: AtomicU64,
    /// Futex word the server sleeps on; bumped by a client that finds `waiters` non-zero.
    pub(crate) futex: AtomicU32,
    /// Non-zero while the server is asleep (or about to be) on `futex`.
    pub(crate) waiters: AtomicU32,
    pub(crate) _reserved: [AtomicU64; 6],
}

/// The server's counters (written by the server, read by tools).
#[repr(C, align(64))]
pub(crate) struct ServerStats {
    /// Requests (or goals) taken.
    pub(crate) received: AtomicU64,
    /// Responses not written because their client had gone (its slot claimed again).
    pub(crate) undelivered: AtomicU64,
    /// Requests dropped unanswered (invalid, or dropped by the server's code).
    pub(crate) dropped: AtomicU64,
    pub(crate) _reserved: [AtomicU64; 5],
}

/// One client's slot header: who holds it, and how it sleeps. Its entries follow it.
#[repr(C, align(64))]
pub(crate) struct ClientSlot {
    // Line 0: the claim, written only when a client claims the slot (the server reads this
    // line on every look for requests: nothing else is written here).
    /// Process id of the holder, 0 when free ([`crate::layout::REGISTERING`] set while being
    /// claimed).
    pub(crate) pid: AtomicU32,
    pub(crate) _pad0: AtomicU32,
    /// The holder's start time (see `SegmentHeader::owner_start_time`).
    pub(crate) start_time: AtomicU64,
    /// Bumped by each claim, before the pid is stored: calls carry it, so that the answer to a
    /// call of a previous holder never reaches the next one.
    pub(crate) generation: AtomicU64,
    pub(crate) _reserved0: [AtomicU64; 5],

    // Line 1: sleeping, and a counter the server keeps.
    /// Futex word the client sleeps on; bumped by the server when `waiters` is non-zero.
    pub(crate) futex: AtomicU32,
    /// Non-zero while the client is asleep (or about to be) on `futex`.
    pub(crate) waiters: AtomicU32,
    /// Answers (responses; for actions, goals accepted, rejected or ended) the server wrote
    /// to this slot, for all its holders (their sum is the service's count).
    pub(crate) answered: AtomicU64,
    pub(crate) _reserved1: [AtomicU64; 6],
}

// An entry's request part (written by the client), in words.
/// The call's token (`protocol::token`: claim generation and call number), stored last; 0 when
/// the entry was never used.
pub(crate) const REQ_TOKEN: usize = 0;
/// Low 32 bits: the operation (`protocol::OP_*`); high 32 bits: the client's slot index.
pub(crate) const REQ_OP: usize = 1;
/// An argument of the operation (unused by services and goals).
pub(crate) const REQ_ARG: usize = 2;
/// The server generation the client addressed.
pub(crate) const REQ_SERVER_GEN: usize = 3;
/// Actions: the token of this entry's goal once its client asks to cancel it (0 otherwise).
/// Written by the client at any time; the server only reads it.
pub(crate) const REQ_CANCEL: usize = 4;
/// First word of the request's payload.
pub(crate) const REQ_PAYLOAD: usize = 5;

// An entry's response part (written by the server), in words: a seqlock, since the server
// writes it more than once for an action's goal (accepted, then finished).
/// Odd while the server writes the part, even otherwise.
pub(crate) const RES_VERSION: usize = 0;
/// The token of the call (or goal) this part answers.
pub(crate) const RES_TOKEN: usize = 1;
/// Low 32 bits: the status (`protocol::STATUS_*`); high 32 bits: flags (`protocol::HAS_*`).
pub(crate) const RES_STATUS: usize = 2;
/// An argument of the status (unused so far).
pub(crate) const RES_ARG: usize = 3;
/// The generation of the server that wrote it.
pub(crate) const RES_SERVER_GEN: usize = 4;
/// First word of the response's payload.
pub(crate) const RES_PAYLOAD: usize = 5;

// A feedback slot (written by the server), in words.
/// `tag << 32 | 2i` once feedback number `i` of the goal tagged `tag` is complete, `2i - 1`
/// (same tag) while it is written (see `protocol::feedback_seq`).
pub(crate) const FB_SEQ: usize = 0;
/// First word of the feedback's payload.
pub(crate) const FB_PAYLOAD: usize = 1;

impl ServerLine {
    #[cfg(loom)]
    pub(crate) fn new() -> ServerLine {
        ServerLine {
            generation: AtomicU64::new(1),
            futex: AtomicU32::new(0),
            waiters: AtomicU32::new(0),
            _reserved: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl ClientSlot {
    #[cfg(any(loom, test))]
    pub(crate) fn new() -> ClientSlot {
        let z = || AtomicU64::new(0);
        ClientSlot {
            pid: AtomicU32::new(0),
            _pad0: AtomicU32::new(0),
            start_time: z(),
            generation: AtomicU64::new(1),
            _reserved0: std::array::from_fn(|_| z()),
            futex: AtomicU32::new(0),
            waiters: AtomicU32::new(0),
            answered: z(),
            _reserved1: std::array::from_fn(|_| z()),
        }
    }
}

#[cfg(not(loom))]
const _: () = {
    use std::mem::{align_of, offset_of, size_of};
    assert!(size_of::<ServiceHeader>() == 384);
    assert!(align_of::<ServiceHeader>() == 64);
    assert!(offset_of!(ServiceHeader, slots_offset) == 40);
    assert!(offset_of!(ServiceHeader, schema_offset) == 64);
    assert!(offset_of!(ServiceHeader, fingerprint) == 96);
    assert!(offset_of!(ServiceHeader, server) == 128);
    assert!(offset_of!(ServiceHeader, active) == 192);
    assert!(offset_of!(ServiceHeader, stats) == 320);
    assert!(size_of::<ServerLine>() == 64);
    assert!(offset_of!(ServerLine, futex) == 8);
    assert!(size_of::<ServerStats>() == 64);
    assert!(size_of::<ClientSlot>() == 128);
    assert!(offset_of!(ClientSlot, generation) == 16);
    assert!(offset_of!(ClientSlot, futex) == 64);
    assert!(offset_of!(ClientSlot, answered) == 72);
    // Header words fit in front of the payload on the parts' first cache line.
    assert!(REQ_PAYLOAD * 8 <= 64 && RES_PAYLOAD * 8 <= 64 && FB_PAYLOAD * 8 <= 64);
};
