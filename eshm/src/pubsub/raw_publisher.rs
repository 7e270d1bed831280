//! The untyped [`RawPublisher`] (messages as bytes of a [`Schema`]) and its loans, which write
//! a message in place.

use super::options::PublisherOptions;
use crate::error::{Error, PublishError, Result};
use crate::layout::{STATE_LIVE, STATE_SUPERSEDED};
use crate::os::{self, Dir};
use crate::ring::geometry::Geometry;
use crate::ring::mapped::MappedRing;
use crate::ring::pool::{Desc, WRITER_RECLAIM_NS, WriterBlocks};
use crate::schema::Schema;
use crate::segment::{self, Created, NewSegment, SegmentKind};
use crate::sync::{Ordering, torn};
use std::ptr::NonNull;
use std::sync::Arc;

/// The untyped publisher: messages are bytes laid out as its [`Schema`] says (for a slice
/// schema, a whole number of elements, up to its maximum).
#[derive(Debug)]
pub struct RawPublisher {
    pub(super) ring: MappedRing,
    dir: Dir,
    pub(super) topic: Arc<str>,
    schema: Schema,
    /// The element size of a slice topic (0 for a fixed-size one).
    element: usize,
    next: u64,
    unlink_on_drop: bool,
    validate: bool,
    /// Pooled topics: which blocks are free (see `ring::pool`).
    blocks: Option<WriterBlocks>,
    /// When the writer last looked for dead holders (coarse ns).
    last_reclaim_ns: u64,
}

impl RawPublisher {
    /// Creates the topic `name` carrying messages of `schema`, with default options.
    ///
    /// # Errors
    ///
    /// As [`Publisher::create`](super::Publisher::create).
    pub fn create(name: &str, schema: &Schema) -> Result<RawPublisher> {
        RawPublisher::create_with(name, schema, &PublisherOptions::default())
    }

    /// Creates the topic with explicit options.
    ///
    /// # Errors
    ///
    /// As [`Publisher::create`](super::Publisher::create).
    pub fn create_with(
        name: &str,
        schema: &Schema,
        options: &PublisherOptions,
    ) -> Result<RawPublisher> {
        let dir = Dir::open()?;
        let geo = Geometry::for_schema(schema, options.capacity, options.held_samples)?;
        let encoded = schema.encode();
        let spec = NewSegment {
            kind: SegmentKind::Topic,
            name,
            schema: &encoded,
            fingerprint: schema.fingerprint(),
            body_len: geo.body_len(),
            body_align: geo.body_align(schema),
            mode: options.mode,
        };
        // Slots must always hold a valid message, for loans: zero bytes are one for most
        // types; others (an enum without a zero variant) get their initial value.
        let init = if geo.pool.is_some() { Vec::new() } else { schema.init_bytes() };
        let created = segment::create(
            &dir,
            &spec,
            |seg, body| geo.init(seg, body, &init),
            MappedRing::inherit,
            MappedRing::wake_segment,
        )?;
        let (seg, info) = match created {
            Created::New(seg, info) => (seg, info),
            Created::Owned { pid } => {
                return Err(Error::PublisherExists { name: name.to_owned(), pid });
            }
        };
        let ring = MappedRing::new(seg, info, schema)?;
        let blocks = geo.pool.map(|p| WriterBlocks::new(p.block_count, geo.slot_count));
        Ok(RawPublisher {
            ring,
            dir,
            topic: name.into(),
            schema: schema.clone(),
            element: schema.slice_element().map_or(0, Schema::size),
            next: 1,
            unlink_on_drop: options.unlink_on_drop,
            validate: schema.has_invalid_bit_patterns(),
            blocks,
            last_reclaim_ns: 0,
        })
    }

    /// The topic's name.
    pub fn name(&self) -> &str {
        &self.topic
    }

    /// The message type.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Number of messages the ring keeps.
    pub fn capacity(&self) -> usize {
        self.ring.geo.slot_count
    }

    /// The most elements a message holds, for a slice topic.
    pub fn max_len(&self) -> Option<usize> {
        (self.element > 0).then(|| self.schema.size() / self.element)
    }

    /// Whether messages live in a pool, where subscribers can read them in place
    /// (`recv_ref`) and loans write them in place (messages of
    /// [`POOLED_MIN`](super::POOLED_MIN) bytes or more).
    pub fn is_pooled(&self) -> bool {
        self.blocks.is_some()
    }

    /// Number of messages published so far.
    pub fn published(&self) -> u64 {
        self.next - 1
    }

    /// The file that holds the topic.
    pub fn path(&self) -> &std::path::Path {
        self.ring.seg.path()
    }

    /// Fails if another process took the topic over (which happens only if this process looked
    /// dead to it, e.g. from another pid namespace): messages would go nowhere.
    #[inline(always)]
    fn check_owner(&self) -> Result<(), PublishError> {
        if self.ring.seg.state() == STATE_SUPERSEDED {
            return Err(PublishError::TakenOver { topic: self.topic.clone() });
        }
        Ok(())
    }

    /// Ends the publish of message `n` (committed; `sleepers`: a reader may be asleep, and
    /// its registration was taken by the commit: it must be woken).
    #[inline(always)]
    fn commit(&mut self, n: u64, sleepers: bool) -> Result<(), PublishError> {
        let ring = self.ring.view();
        if sleepers {
            ring.wake();
        }
        let now = os::coarse_ns();
        ring.writer.last_publish_ns.store(now, Ordering::Relaxed);
        self.next = n + 1;
        ring.prefetch(n + 1);
        if self.blocks.is_some() && now.saturating_sub(self.last_reclaim_ns) >= WRITER_RECLAIM_NS {
            // Holders that died keep blocks from the writer's choice: give them back now and
            // then (one look at /proc per hold in use).
            self.last_reclaim_ns = now;
            if self.ring.pool().is_some_and(|p| p.any_held()) {
                self.ring.reclaim_dead_holds();
            }
        }
        // Checked after the write: a truncation during it is caught too.
        if self.ring.seg.is_broken() {
            return Err(PublishError::Segment(Box::new(self.ring.seg.broken_error())));
        }
        Ok(())
    }

    /// Checks that `len` bytes are a message of the topic's size (or, for a slice topic, a
    /// whole number of elements up to its maximum).
    fn check_len(&self, len: usize) -> Result<(), PublishError> {
        if self.element == 0 {
            if len != self.schema.size() {
                return Err(PublishError::WrongSize {
                    topic: self.topic.clone(),
                    size: self.schema.size(),
                    given: len,
                });
            }
        } else if len > self.schema.size() {
            return Err(PublishError::MessageTooLarge {
                topic: self.topic.clone(),
                len: len / self.element,
                max_len: self.schema.size() / self.element,
            });
        } else if !len.is_multiple_of(self.element) {
            return Err(PublishError::WrongSize {
                topic: self.topic.clone(),
                size: self.element,
                given: len,
            });
        }
        Ok(())
    }

    /// Publishes one message given as bytes.
    ///
    /// # Errors
    ///
    /// [`PublishError::WrongSize`] if `bytes` is not the schema's size (for a slice, not a
    /// whole number of elements), [`PublishError::MessageTooLarge`] if a slice has more than
    /// its maximum of elements, [`PublishError::InvalidMessage`] if it is not a valid value
    /// of the schema (a `bool` or enum field out of range), [`PublishError::TakenOver`] if
    /// another process took the topic over, [`PublishError::Segment`] if another process
    /// truncated the topic's file.
    pub fn publish_bytes(&mut self, bytes: &[u8]) -> Result<(), PublishError> {
        self.check_len(bytes.len())?;
        if self.validate {
            self.schema.validate(bytes).map_err(|source| PublishError::InvalidMessage {
                topic: self.topic.clone(),
                source,
            })?;
        }
        self.publish_unchecked(bytes)
    }

    /// Publishes bytes already known to be a valid message (of an allowed length: typed
    /// publishers check a slice's length with [`check_len`](Self::check_len)).
    #[inline(always)]
    pub(super) fn publish_unchecked(&mut self, bytes: &[u8]) -> Result<(), PublishError> {
        self.check_owner()?;
        let n = self.next;
        let sleepers = match &mut self.blocks {
            None => self.ring.messages().write_inline(n, bytes),
            Some(blocks) => {
                let msgs = self.ring.messages();
                let pool = msgs.pool.as_ref().expect("a pooled ring has a pool");
                let block = blocks.take(pool);
                torn::store(pool.block(block), bytes);
                let sleepers = msgs.commit_pooled(n, Desc { len: bytes.len(), block });
                blocks.placed(msgs.ring.slot_index(n), block);
                sleepers
            }
        };
        self.commit(n, sleepers)
    }

    /// Publishes a slice of typed elements after checking its length.
    #[inline(always)]
    pub(super) fn publish_checked_len(&mut self, bytes: &[u8]) -> Result<(), PublishError> {
        self.check_len(bytes.len())?;
        self.publish_unchecked(bytes)
    }

    /// Lends room for the next message, to write it in place: `len` bytes (the message size,
    /// or for a slice topic a whole number of elements up to the maximum). Inline, the slot is
    /// marked as being written (readers skip it) and holds the message it held a lap ago, or
    /// the type's initial value; pooled, a free block holds an older message or zeros. Write it
    /// through [`RawLoan::as_mut_ptr`] or [`RawLoan::write`], then [`RawLoan::publish`].
    ///
    /// # Errors
    ///
    /// As [`publish_bytes`](Self::publish_bytes) for the length.
    pub fn loan(&mut self, len: usize) -> Result<RawLoan<'_>, PublishError> {
        self.check_len(len)?;
        let n = self.next;
        let msgs = self.ring.messages();
        let (ptr, block) = match &mut self.blocks {
            None => {
                msgs.ring.begin_write(n);
                let payload = msgs.ring.payload(n);
                // The payload words hold at least the message's bytes (checked by
                // `Geometry::read`), and are atomics, whose bytes may be written through a
                // pointer derived from them.
                (NonNull::from(payload).cast::<u8>(), None)
            }
            Some(blocks) => {
                let pool = msgs.pool.expect("a pooled ring has a pool");
                let block = blocks.take(&pool);
                (NonNull::from(pool.block(block)).cast::<u8>(), Some(block))
            }
        };
        Ok(RawLoan { publisher: self, n, ptr, len, block, published: false })
    }

    /// Puts a loan taken apart with [`RawLoan::into_parts`] back together, to publish it or
    /// to drop it (which gives its room back).
    ///
    /// # Safety
    /// `parts` came from a loan of this publisher, which has published and lent nothing since
    /// (the loan's number and pool block are still its next ones, the block not free).
    pub unsafe fn resume_loan(&mut self, parts: LoanParts) -> RawLoan<'_> {
        let LoanParts { n, ptr, len, block } = parts;
        RawLoan { publisher: self, n, ptr, len, block, published: false }
    }
}

/// A [`RawLoan`] taken apart by [`RawLoan::into_parts`], for bindings that keep a loan across
/// calls (a Python `with` block); [`RawPublisher::resume_loan`] puts it back together. On its
/// own it does nothing: dropping it neither publishes nor gives the room back (the publisher
/// must not be used for loans or publishing while it is out).
#[derive(Debug)]
pub struct LoanParts {
    n: u64,
    ptr: NonNull<u8>,
    len: usize,
    block: Option<u32>,
}

// SAFETY: `LoanParts` is an address and three numbers; nothing dereferences the address but
// a caller of `as_mut_ptr`, whose own `unsafe` code answers for it, and `resume_loan` (an
// `unsafe fn`), on the publisher that lent it. Moving or sharing the numbers between threads
// is harmless.
unsafe impl Send for LoanParts {}
// SAFETY: see `Send`: `&LoanParts` only reads the numbers.
unsafe impl Sync for LoanParts {}

impl LoanParts {
    /// The loan's bytes, as [`RawLoan::as_mut_ptr`]: valid for writes of [`len`](Self::len)
    /// bytes while the publisher lives and the loan is neither published nor dropped.
    pub fn as_mut_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// The message's length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the message has no bytes (an empty slice).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Drop for RawPublisher {
    fn drop(&mut self) {
        // Unlink first, while the segment is still live: nobody can take the name over from a
        // live owner, so the name still refers to our file.
        if self.unlink_on_drop && self.ring.seg.is_current(&self.dir) {
            let _ = self.dir.unlink(self.ring.seg.file_name());
        }
        if self.ring.seg.state() == STATE_LIVE {
            segment::close(&self.ring.seg, MappedRing::wake_segment);
        }
    }
}

/// Room lent by [`RawPublisher::loan`]: the message's bytes, written in place.
///
/// Dropping it without [`publish`](RawLoan::publish) publishes nothing (an inline slot stays
/// marked as being written, and the next publish fills it; a pool block goes back to the
/// pool).
#[derive(Debug)]
#[must_use = "a loan publishes nothing unless `publish` is called"]
pub struct RawLoan<'a> {
    pub(super) publisher: &'a mut RawPublisher,
    n: u64,
    ptr: NonNull<u8>,
    len: usize,
    /// The pool block lent (pooled topics).
    block: Option<u32>,
    published: bool,
}

impl RawLoan<'_> {
    /// The message's bytes, in shared memory: [`len`](Self::len) bytes, aligned for the
    /// message type, valid for writes while the loan lives. Readers never see them until
    /// [`publish`](Self::publish).
    pub fn as_mut_ptr(&mut self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// The message's length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the message has no bytes (an empty slice).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the bytes are in a pool block (no reader can see them before `publish`), not
    /// in a ring slot.
    pub fn is_pooled(&self) -> bool {
        self.block.is_some()
    }

    /// Takes the loan apart without publishing it or giving its room back, so that a binding
    /// can keep it across calls; [`RawPublisher::resume_loan`] puts it back together.
    pub fn into_parts(self) -> LoanParts {
        let me = std::mem::ManuallyDrop::new(self);
        LoanParts { n: me.n, ptr: me.ptr, len: me.len, block: me.block }
    }

    /// The words of the lent room.
    pub(super) fn words(&self) -> &[crate::sync::AtomicU64] {
        let msgs = self.publisher.ring.messages();
        match (self.block, msgs.pool) {
            (Some(b), Some(pool)) => pool.block(b),
            _ => msgs.ring.payload(self.n),
        }
    }

    /// Copies `bytes` into the room (their length must be [`len`](Self::len)).
    ///
    /// # Panics
    ///
    /// If `bytes` is not [`len`](Self::len) long.
    pub fn write(&mut self, bytes: &[u8]) {
        assert_eq!(bytes.len(), self.len, "a loan holds exactly one message");
        torn::store(self.words(), bytes);
    }

    /// Publishes the message as it stands, without validating it: the caller wrote a valid
    /// message of the topic's type (typed loans guarantee it; untyped writers validate first).
    ///
    /// # Errors
    ///
    /// [`PublishError::Segment`] if another process truncated the topic's file.
    pub fn publish(mut self) -> Result<(), PublishError> {
        self.published = true;
        let msgs = self.publisher.ring.messages();
        let sleepers = match self.block {
            None => msgs.commit_inline(self.n, self.len),
            Some(block) => {
                let sleepers = msgs.commit_pooled(self.n, Desc { len: self.len, block });
                let blocks = self.publisher.blocks.as_mut().expect("a pooled publisher");
                blocks.placed(msgs.ring.slot_index(self.n), block);
                sleepers
            }
        };
        self.publisher.commit(self.n, sleepers)
    }
}

impl Drop for RawLoan<'_> {
    fn drop(&mut self) {
        if let (false, Some(block), Some(blocks)) =
            (self.published, self.block, self.publisher.blocks.as_mut())
        {
            blocks.untake(block);
        }
    }
}
