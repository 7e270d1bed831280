//! The structures that live in shared memory, and nothing else: no I/O, no logic.
//!
//! Every field is an atomic from [`crate::sync`], even the ones written once before a segment
//! becomes visible: another process (buggy, or running a different build) could write them at
//! any time, and reading racing memory through anything but an atomic is undefined behaviour.
//! Fields are fixed-width little-endian integers (eshm runs on little-endian Linux), padding is
//! spelled out, and each struct's size and offsets are asserted below.
//!
//! A segment file is laid out as:
//!
//! ```text
//! 0                 SegmentHeader (256 bytes)
//! name_offset       the topic or channel name, UTF-8 (name_len bytes)
//! schema_offset     the encoded schema (schema_len bytes; topics only)
//! body_offset       kind-specific body, 64-byte aligned: RingHeader + slots (+ PoolHeader,
//!                   hold slots and blocks for large messages) for a topic, ChannelHeader +
//!                   two queues for a channel
//! total_len         end of file
//! ```

use crate::sync::{AtomicU32, AtomicU64};

/// First 8 bytes of every segment: `"eshm"`, a NUL, `"seg"`.
pub(crate) const MAGIC: u64 = u64::from_le_bytes(*b"eshm\0seg");
/// Bumped whenever any structure in this file changes. Version 2: topics with a message pool
/// (large messages, read in place) and slice topics (`RingHeader::flags`).
pub(crate) const LAYOUT_VERSION: u32 = 2;

/// `SegmentHeader::kind` of a publish/subscribe topic.
pub(crate) const KIND_TOPIC: u32 = 1;
/// `SegmentHeader::kind` of a duplex byte channel.
pub(crate) const KIND_CHANNEL: u32 = 2;
/// `SegmentHeader::kind` of a request/response service (its body: `service::layout`).
pub(crate) const KIND_SERVICE: u32 = 3;
/// `SegmentHeader::kind` of an action (long-running goals; its body: `service::layout`).
pub(crate) const KIND_ACTION: u32 = 4;

/// `SegmentHeader::state`: the owner is (as far as the segment knows) running.
pub(crate) const STATE_LIVE: u32 = 0;
/// The owner dropped its handle cleanly; nothing more will be written.
pub(crate) const STATE_CLOSED: u32 = 1;
/// A new owner replaced this segment under its name (the old owner had died); attached
/// readers should drain what is left and re-open the name.
pub(crate) const STATE_SUPERSEDED: u32 = 2;

/// Size of [`SegmentHeader`]; the name starts right after it.
pub(crate) const HEADER_LEN: usize = 256;
/// Longest topic or channel name stored in a header, in bytes (file names are shorter still).
pub(crate) const MAX_NAME_LEN: usize = 1024;

/// The header every segment starts with.
#[repr(C, align(64))]
pub(crate) struct SegmentHeader {
    // Line 0: identity, written before the segment is linked under its name.
    /// [`MAGIC`].
    pub(crate) magic: AtomicU64,
    /// [`LAYOUT_VERSION`].
    pub(crate) layout_version: AtomicU32,
    /// [`KIND_TOPIC`] or [`KIND_CHANNEL`].
    pub(crate) kind: AtomicU32,
    /// Length of the file; a reader checks it against the real length.
    pub(crate) total_len: AtomicU64,
    pub(crate) name_offset: AtomicU32,
    pub(crate) name_len: AtomicU32,
    pub(crate) schema_offset: AtomicU32,
    pub(crate) schema_len: AtomicU32,
    /// FNV-1a of the schema bytes (see `schema`), or 0 for channels.
    pub(crate) fingerprint: AtomicU64,
    /// Offset of the kind-specific body, a multiple of 64.
    pub(crate) body_offset: AtomicU64,
    /// `CLOCK_MONOTONIC` at creation, in ns (the same clock in every process).
    pub(crate) created_ns: AtomicU64,

    // Line 1: who created it.
    /// Process id of the creator (the publisher, or the channel's master).
    pub(crate) owner_pid: AtomicU32,
    pub(crate) _pad0: AtomicU32,
    /// The creator's start time (`/proc/<pid>/stat` field 22), so that a recycled pid is not
    /// mistaken for the creator.
    pub(crate) owner_start_time: AtomicU64,
    /// Wall-clock creation time (`CLOCK_REALTIME`, ns since the Unix epoch), for display.
    pub(crate) created_unix_ns: AtomicU64,
    pub(crate) _reserved1: [AtomicU64; 5],

    // Line 2: mutable state.
    /// [`STATE_LIVE`], [`STATE_CLOSED`] or [`STATE_SUPERSEDED`].
    pub(crate) state: AtomicU32,
    pub(crate) _pad1: AtomicU32,
    /// Reserved (layout version 1 had an owner heartbeat here that nothing read; it stays
    /// zero).
    pub(crate) _reserved2: [AtomicU64; 7],

    // Line 3: reserved for later versions (keeps the name 256 bytes in).
    pub(crate) _reserved3: [AtomicU64; 8],
}

/// The writer's cache line of a topic ring: written on every publish, read by readers only
/// when they look for the newest message, count a loss or go to sleep.
#[repr(C, align(64))]
pub(crate) struct WriterLine {
    /// Number of the newest committed message (messages are numbered from 1; 0 = none yet).
    pub(crate) write_seq: AtomicU64,
    /// `CLOCK_MONOTONIC_COARSE` time of the newest publish, in ns.
    pub(crate) last_publish_ns: AtomicU64,
    /// Readers without an entry in the reader table asleep (or about to sleep) on `notify`.
    pub(crate) waiters: AtomicU32,
    /// Futex word: bumped by the writer before each wake-up.
    pub(crate) notify: AtomicU32,
    /// Readers with an entry in the reader table asleep (or about to sleep) on `notify`: bit
    /// `i` for entry `i`. The writer calls `futex_wake` only when this or `waiters` is
    /// non-zero, and takes (clears) the bits it wakes: a reader on its way back from a wake-up
    /// costs no further wake-ups, and one that dies asleep costs one.
    pub(crate) waiting_mask: AtomicU64,
    pub(crate) _reserved: [AtomicU64; 4],
}

impl WriterLine {
    #[cfg(loom)]
    pub(crate) fn new() -> WriterLine {
        WriterLine {
            write_seq: AtomicU64::new(0),
            last_publish_ns: AtomicU64::new(0),
            waiters: AtomicU32::new(0),
            notify: AtomicU32::new(0),
            waiting_mask: AtomicU64::new(0),
            _reserved: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

/// Number of subscriber registrations a topic keeps (for `eshm list`, and for crash-tolerant
/// sleeping: readers beyond this work, but are not counted, and one that dies asleep costs the
/// writer a wake-up on every publish until a new publisher replaces it).
pub(crate) const MAX_READERS: usize = 64;

/// One subscriber registration: a process id and its start time, or zeros when free.
#[repr(C)]
pub(crate) struct ReaderSlot {
    pub(crate) pid: AtomicU32,
    /// 1 while the reader is asleep (or about to be) on the ring's futex, set before its bit in
    /// `WriterLine::waiting_mask` and cleared after it. Only a debugger reads it: the writer
    /// goes by the bits alone, which it takes when it wakes them.
    pub(crate) waiting: AtomicU32,
    pub(crate) start_time: AtomicU64,
}

impl ReaderSlot {
    /// A registration of process 1 (tests and loom models; real ones are claimed in the
    /// segment).
    #[cfg(any(loom, test))]
    pub(crate) fn new() -> ReaderSlot {
        ReaderSlot {
            pid: AtomicU32::new(1),
            waiting: AtomicU32::new(0),
            start_time: AtomicU64::new(0),
        }
    }
}

/// `RingHeader::flags`: the topic carries a slice schema; each message has a length (in bytes,
/// a multiple of the element size, up to `payload_size`).
pub(crate) const RING_SLICE: u64 = 1;
/// `RingHeader::flags`: messages live in the blocks of a pool (see [`PoolHeader`]); a slot
/// holds a descriptor word instead of the message.
pub(crate) const RING_POOLED: u64 = 2;

/// The body of a topic segment, followed (at `slots_offset`) by `slot_count` slots of
/// `slot_size` bytes. A slot is a sequence word, then:
///
/// - inline (no [`RING_POOLED`]): the message at `payload_offset`; with [`RING_SLICE`], word 1
///   holds its length in bytes (and `payload_offset` is at least 16);
/// - pooled: word 1 is a descriptor, `length << 32 | block` (the message is in that block of
///   the pool), and `payload_offset` is 8.
#[repr(C, align(64))]
pub(crate) struct RingHeader {
    // Line 0: geometry, written before the segment is linked.
    /// Number of slots, a power of two.
    pub(crate) slot_count: AtomicU64,
    /// Bytes per slot, a multiple of 64 and of the message alignment.
    pub(crate) slot_size: AtomicU64,
    /// Offset of the message (or of the descriptor) inside a slot.
    pub(crate) payload_offset: AtomicU64,
    /// Message size in bytes (the schema's size: the largest message, for a slice).
    pub(crate) payload_size: AtomicU64,
    /// Offset of slot 0 from the start of the segment.
    pub(crate) slots_offset: AtomicU64,
    /// Messages published on the topic by the publishers before this one (the segments this
    /// one's creator took over, and theirs): a subscriber that skipped a whole publisher (it
    /// was stopped meanwhile) counts its messages as lost.
    pub(crate) published_before: AtomicU64,
    /// [`RING_SLICE`] and [`RING_POOLED`] bits.
    pub(crate) flags: AtomicU64,
    /// With [`RING_POOLED`]: offset of the [`PoolHeader`] from the start of the body.
    pub(crate) pool_offset: AtomicU64,
    /// Line 1.
    pub(crate) writer: WriterLine,
    /// Lines 2 to 17.
    pub(crate) readers: [ReaderSlot; MAX_READERS],
}

/// The pool of a topic with [`RING_POOLED`]: `block_count` blocks of `block_size` bytes, each
/// holding one message, and `hold_count` hold slots through which readers keep messages they
/// read in place. The writer puts each message in a block that is neither in the ring nor
/// held (see `ring::pool`).
#[repr(C, align(64))]
pub(crate) struct PoolHeader {
    /// Number of blocks: `slot_count + hold_count + 1`.
    pub(crate) block_count: AtomicU64,
    /// Bytes per block, a multiple of 64 and of the message alignment.
    pub(crate) block_size: AtomicU64,
    /// Offset of block 0 from the start of the body.
    pub(crate) blocks_offset: AtomicU64,
    /// Number of hold slots.
    pub(crate) hold_count: AtomicU64,
    /// Offset of hold slot 0 from the start of the body.
    pub(crate) holds_offset: AtomicU64,
    pub(crate) _reserved: [AtomicU64; 3],
}

/// A reader's hold on one block of a pool: who holds it and the block it holds, plus one (0:
/// none). The writer never puts a message into a block that a hold slot names.
#[repr(C)]
pub(crate) struct HoldSlot {
    /// Low 32 bits: the holder's pid (0 when free, with [`REGISTERING`] while being claimed);
    /// high 32 bits: a count of claims of this slot, so that a compare-and-swap on the word
    /// cannot mistake a new claim by the same process for the one it looked at.
    pub(crate) owner: AtomicU64,
    /// The holder's start time (see `SegmentHeader::owner_start_time`).
    pub(crate) start_time: AtomicU64,
    /// The block held, plus one; 0 when none.
    pub(crate) block: AtomicU64,
    pub(crate) _reserved: AtomicU64,
}

impl HoldSlot {
    #[cfg(loom)]
    pub(crate) fn new() -> HoldSlot {
        HoldSlot {
            owner: AtomicU64::new(0),
            start_time: AtomicU64::new(0),
            block: AtomicU64::new(0),
            _reserved: AtomicU64::new(0),
        }
    }
}

/// One endpoint (master or slave) of a channel: who holds the role, and its heartbeat.
#[repr(C, align(64))]
pub(crate) struct Endpoint {
    /// Process id of the holder, 0 when free (with [`REGISTERING`] set while being claimed).
    pub(crate) pid: AtomicU32,
    /// 1 while attached, 0 after a clean detach.
    pub(crate) attached: AtomicU32,
    /// The holder's start time (see `SegmentHeader::owner_start_time`).
    pub(crate) start_time: AtomicU64,
    /// `CLOCK_MONOTONIC` time of the holder's last sign of life, in ns.
    pub(crate) heartbeat_ns: AtomicU64,
    /// Number of heartbeats so far (the original ESHM's heartbeat counter).
    pub(crate) heartbeats: AtomicU64,
    /// Bumped each time a process takes this role.
    pub(crate) generation: AtomicU64,
    /// The holder's stale threshold, in ns (0 in segments of eshm versions that did not
    /// record it), for outside observers such as `eshm info`.
    pub(crate) stale_ns: AtomicU64,
    pub(crate) _reserved: [AtomicU64; 2],
}

/// High bit of `Endpoint::pid` and `ReaderSlot::pid` while the claimer fills in the rest.
pub(crate) const REGISTERING: u32 = 1 << 31;

/// The body of a channel segment: geometry and the two endpoints, followed by two queues
/// (master to slave at `queue_offset[0]`, slave to master at `queue_offset[1]`).
#[repr(C, align(64))]
pub(crate) struct ChannelHeader {
    // Line 0: geometry, written before the segment is linked.
    /// Data bytes per queue, a multiple of 8.
    pub(crate) capacity: AtomicU64,
    /// Largest message, in bytes.
    pub(crate) max_message: AtomicU64,
    /// Offset of each queue's header from the start of the segment.
    pub(crate) queue_offset: [AtomicU64; 2],
    pub(crate) _reserved: [AtomicU64; 4],
    /// Line 1.
    pub(crate) master: Endpoint,
    /// Line 2.
    pub(crate) slave: Endpoint,
}

/// One direction of a channel: a single-producer single-consumer queue of records, each
/// `[len: u32 | flags: u32][payload][padding to 8 bytes]`, at byte positions that only grow
/// (a position's place in the data area is `position % capacity`). The data area of
/// `capacity` bytes follows the header.
#[repr(C, align(64))]
pub(crate) struct QueueHeader {
    // Line 0: the producer's.
    /// Bytes written and committed (the end of the last complete record).
    pub(crate) head: AtomicU64,
    /// Records written.
    pub(crate) written: AtomicU64,
    /// Payload bytes written.
    pub(crate) bytes_written: AtomicU64,
    pub(crate) _reserved0: [AtomicU64; 5],
    // Line 1: the consumer's.
    /// Bytes consumed.
    pub(crate) tail: AtomicU64,
    /// Records read.
    pub(crate) read: AtomicU64,
    /// Payload bytes read.
    pub(crate) bytes_read: AtomicU64,
    pub(crate) _reserved1: [AtomicU64; 5],
    // Line 2: sleeping and waking.
    /// Bumped by the producer when a consumer may be asleep.
    pub(crate) data_futex: AtomicU32,
    /// Consumers asleep (or about to be) on `data_futex`.
    pub(crate) data_waiters: AtomicU32,
    /// Bumped by the consumer when a producer may be asleep for space.
    pub(crate) space_futex: AtomicU32,
    /// Producers asleep (or about to be) on `space_futex`.
    pub(crate) space_waiters: AtomicU32,
    pub(crate) _reserved2: [AtomicU64; 6],
}

/// `len` of a record that marks "the rest of the data area is unused: continue at its start".
pub(crate) const WRAP: u32 = u32::MAX;

impl QueueHeader {
    #[cfg(loom)]
    pub(crate) fn new() -> QueueHeader {
        let z64 = || AtomicU64::new(0);
        QueueHeader {
            head: z64(),
            written: z64(),
            bytes_written: z64(),
            _reserved0: std::array::from_fn(|_| z64()),
            tail: z64(),
            read: z64(),
            bytes_read: z64(),
            _reserved1: std::array::from_fn(|_| z64()),
            data_futex: AtomicU32::new(0),
            data_waiters: AtomicU32::new(0),
            space_futex: AtomicU32::new(0),
            space_waiters: AtomicU32::new(0),
            _reserved2: std::array::from_fn(|_| z64()),
        }
    }
}

#[cfg(not(loom))]
const _: () = {
    use std::mem::{align_of, offset_of, size_of};
    assert!(size_of::<SegmentHeader>() == HEADER_LEN);
    assert!(align_of::<SegmentHeader>() == 64);
    assert!(offset_of!(SegmentHeader, total_len) == 16);
    assert!(offset_of!(SegmentHeader, fingerprint) == 40);
    assert!(offset_of!(SegmentHeader, owner_pid) == 64);
    assert!(offset_of!(SegmentHeader, state) == 128);
    assert!(size_of::<WriterLine>() == 64);
    assert!(offset_of!(WriterLine, waiting_mask) == 24);
    assert!(size_of::<ReaderSlot>() == 16);
    assert!(size_of::<RingHeader>() == 128 + 16 * MAX_READERS);
    assert!(offset_of!(RingHeader, flags) == 48);
    assert!(size_of::<PoolHeader>() == 64);
    assert!(size_of::<HoldSlot>() == 32);
    assert!(offset_of!(HoldSlot, block) == 16);
    assert!(offset_of!(RingHeader, writer) == 64);
    assert!(offset_of!(RingHeader, readers) == 128);
    assert!(size_of::<Endpoint>() == 64);
    assert!(size_of::<ChannelHeader>() == 192);
    assert!(offset_of!(ChannelHeader, master) == 64);
    assert!(offset_of!(ChannelHeader, slave) == 128);
    assert!(size_of::<QueueHeader>() == 192);
    assert!(offset_of!(QueueHeader, tail) == 64);
    assert!(offset_of!(QueueHeader, data_futex) == 128);
};
