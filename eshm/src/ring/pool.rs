//! The message pool of a topic whose messages are large: the ring's slots hold descriptors
//! (`length << 32 | block`) of messages that live in the pool's blocks, so that a reader can
//! keep a message where it lies (a `pubsub::Sample`) while the writer goes
//! on, and the writer can write a message in place before it is published.
//!
//! This is the design of iceoryx2 (an index queue over a pool of payload blocks), with holds
//! that a crashed reader cannot leak.
//!
//! # Blocks and holds
//!
//! A pool has `block_count = slot_count + hold_count + 1` blocks and `hold_count` hold slots.
//! A hold slot names its holder (pid and start time, claimed like every pid slot) and the block
//! it holds. At any time each block is in one of these states, as the writer sees them:
//!
//! - **in the ring**: the descriptor of a message in some slot names it (at most
//!   `slot_count` blocks);
//! - **free**: not in the ring (the writer keeps this list in its own memory);
//! - and, independently, **held** when a hold slot names it.
//!
//! The writer puts the next message into a free block that no hold slot names. One exists:
//! at most `hold_count` blocks are held, and `hold_count + 1` are free whenever no message is
//! being written (a loan takes one, and a writer has at most one loan at a time).
//!
//! # Why a held block is never overwritten
//!
//! A reader that wants to keep message `n` (whose slot's descriptor names block `b`):
//!
//! 1. reads the descriptor with the seqlock read (sequence `2n` before and after);
//! 2. claims a free hold slot and stores `b + 1` in it;
//! 3. issues a `SeqCst` fence;
//! 4. re-reads the slot's sequence: if it is still `2n`, the hold is good; otherwise it gives
//!    the hold slot back and counts message `n` as lost.
//!
//! The writer, for every message `m`:
//!
//! 1. marks `m`'s slot as being written (odd sequence): from then on, the block of the
//!    message it replaces (`m - slot_count`) is free;
//! 2. ... commits `m` and issues a `SeqCst` fence (the one `end_write` issues anyway);
//! 3. later, before choosing a block for a message, reads every hold slot's block (Acquire).
//!
//! Block `b` can only be chosen after it became free, that is after the writer's step 1 for
//! the message that replaced `n`, which is followed by a `SeqCst` fence before any later
//! choice. Of the two `SeqCst` fences (the reader's step 3 and the writer's fence between
//! freeing `b` and choosing it), one comes first in their total order. If the reader's does,
//! the writer's scan sees the reader's `b + 1` and skips `b`. If the writer's does, the
//! reader's re-read sees the odd (or a later) sequence and gives up. So the writer never
//! writes a block from the time a reader's hold on it succeeds until the reader gives the
//! hold back; the reader gives it back with a Release store of 0, which the writer's Acquire
//! scan reads, so the reader's reads of the block happen before the writer's next writes.
//! The reader's step 1 read `2n` with Acquire, which the writer stored with Release after
//! writing the message: the reader sees the whole message.
//!
//! A reader that copies a message out without keeping it (the copying `recv`) needs no hold:
//! it copies the block with `torn` loads between the two reads of the sequence, like an
//! inline message; a copy that overlapped a rewrite of the block fails the second read.
//!
//! # Holders that die
//!
//! A hold slot whose holder died (its pid and start time no longer name a running process) is
//! given back by whoever finds it: a reader that finds no free hold slot, a reader attaching
//! to the topic, or the writer, which looks every [`WRITER_RECLAIM_NS`] while any hold slot is
//! in use. A compare-and-swap of the slot's owner word (pid and a count of claims) decides who
//! gives it back, so two reclaimers never both do, and a slot given back and claimed again
//! meanwhile (even by the same process) is left alone. A slot still being claimed
//! ([`REGISTERING`]) is given back only when its pid is gone: its start time may not be written
//! yet.
//!
//! Every number read from the pool is untrusted: a descriptor naming a block outside the pool
//! or a length over the maximum is reported as a corrupt segment, and hold slots are only ever
//! used to *exclude* blocks, so garbage in them costs the writer choices, never correctness
//! (at least one block stays choosable whatever they hold).

use crate::layout::{HoldSlot, REGISTERING};
use crate::sync::{AtomicU64, Ordering};
use std::collections::VecDeque;

/// How often (ns) a writer with hold slots in use looks for holders that died.
pub(crate) const WRITER_RECLAIM_NS: u64 = 100_000_000;

/// A message descriptor: its length in bytes and its block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Desc {
    pub(crate) len: usize,
    pub(crate) block: u32,
}

impl Desc {
    pub(crate) fn word(self) -> u64 {
        (self.len as u64) << 32 | u64::from(self.block)
    }

    pub(crate) fn from_word(word: u64) -> Desc {
        Desc { len: (word >> 32) as usize, block: word as u32 }
    }
}

/// Who holds a hold slot: a pid and its start time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Holder {
    pub(crate) pid: u32,
    pub(crate) start_time: u64,
}

/// A view of a pool: its hold slots and its blocks (as words).
#[derive(Clone, Copy)]
pub(crate) struct PoolView<'a> {
    pub(crate) holds: &'a [HoldSlot],
    /// All blocks, `block_count * block_words` words.
    pub(crate) blocks: &'a [AtomicU64],
    pub(crate) block_words: usize,
}

impl<'a> PoolView<'a> {
    pub(crate) fn block_count(&self) -> usize {
        self.blocks.len() / self.block_words.max(1)
    }

    /// The words of block `b` (checked by the caller against [`block_count`]).
    ///
    /// [`block_count`]: Self::block_count
    #[inline(always)]
    pub(crate) fn block(&self, b: u32) -> &'a [AtomicU64] {
        let start = b as usize * self.block_words;
        &self.blocks[start..start + self.block_words]
    }

    /// Whether `d` names a block of this pool and a length it can hold.
    #[inline(always)]
    pub(crate) fn is_valid(&self, d: Desc, max_len: usize) -> bool {
        (d.block as usize) < self.block_count() && d.len <= max_len
    }

    /// Reader, step 2: claims a free hold slot for block `b` as `me`. `None` if every hold slot
    /// is in use (then try [`reclaim_dead`](Self::reclaim_dead)). The caller then issues its
    /// `SeqCst` fence and re-reads the message's sequence (see the module docs).
    #[inline]
    pub(crate) fn try_hold(&self, b: u32, me: Holder) -> Option<usize> {
        // Start where this process's pid points, so that processes rarely contend.
        let n = self.holds.len();
        (0..n).map(|k| (me.pid as usize + k) % n).find(|&i| {
            let h = &self.holds[i];
            let owner = h.owner.load(Ordering::Relaxed);
            if pid_of(owner) != 0 {
                return false;
            }
            let claims = owner >> 32;
            let registering = claims.wrapping_add(1) << 32 | u64::from(me.pid | REGISTERING);
            if h.owner
                .compare_exchange(owner, registering, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
            {
                return false;
            }
            h.start_time.store(me.start_time, Ordering::Relaxed);
            h.block.store(u64::from(b) + 1, Ordering::Relaxed);
            // Publishes the start time with the pid, for reclaimers (they load the owner with
            // Acquire); the block's visibility to the writer is the caller's fence's business.
            h.owner.store(registering & !u64::from(REGISTERING), Ordering::Release);
            true
        })
    }

    /// Gives hold slot `i` back: the block first (Release: our reads of it happen before the
    /// writer, whose scan loads it with Acquire, reuses it), then the slot.
    #[inline]
    pub(crate) fn release(&self, i: usize) {
        let h = &self.holds[i];
        h.block.store(0, Ordering::Release);
        h.start_time.store(0, Ordering::Relaxed);
        let owner = h.owner.load(Ordering::Relaxed);
        h.owner.store(owner & !0xffff_ffff, Ordering::Release);
    }

    /// Gives back every hold slot whose holder is gone, and returns how many. `alive(pid,
    /// start)` tells whether a process runs: with `Some(start_time)`, that one; with `None`
    /// (a slot still being claimed, whose start time may not be written yet), any process of
    /// that pid.
    pub(crate) fn reclaim_dead(&self, alive: impl Fn(u32, Option<u64>) -> bool) -> usize {
        let mut freed = 0;
        for h in self.holds {
            let owner = h.owner.load(Ordering::Acquire);
            let pid = pid_of(owner);
            if pid == 0 {
                continue;
            }
            let start = (pid & REGISTERING == 0).then(|| h.start_time.load(Ordering::Relaxed));
            if alive(pid & !REGISTERING, start) {
                continue;
            }
            // Only one reclaimer wins the slot, and only if nobody gave it back and claimed it
            // again meanwhile (the claim count differs then).
            let reclaiming = owner & !0xffff_ffff | u64::from(REGISTERING);
            if h.owner
                .compare_exchange(owner, reclaiming, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                h.block.store(0, Ordering::Release);
                h.start_time.store(0, Ordering::Relaxed);
                h.owner.store(owner & !0xffff_ffff, Ordering::Release);
                freed += 1;
            }
        }
        freed
    }

    /// Writer, step 3: the blocks named by hold slots, into `out` (cleared first). Loads with
    /// Acquire: a block given back here was read for the last time before.
    #[inline]
    pub(crate) fn held(&self, out: &mut Vec<u32>) {
        out.clear();
        for h in self.holds {
            let b = h.block.load(Ordering::Acquire);
            if b != 0 {
                out.push((b - 1) as u32);
            }
        }
    }

    /// Whether any hold slot is in use.
    pub(crate) fn any_held(&self) -> bool {
        self.holds.iter().any(|h| pid_of(h.owner.load(Ordering::Relaxed)) != 0)
    }

    /// The holders and how many hold slots each uses (for `eshm info`).
    pub(crate) fn holders(&self) -> Vec<(Holder, usize)> {
        let mut out: Vec<(Holder, usize)> = Vec::new();
        for h in self.holds {
            let pid = pid_of(h.owner.load(Ordering::Acquire)) & !REGISTERING;
            if pid == 0 || h.block.load(Ordering::Acquire) == 0 {
                continue;
            }
            let holder = Holder { pid, start_time: h.start_time.load(Ordering::Relaxed) };
            match out.iter_mut().find(|(x, _)| *x == holder) {
                Some((_, n)) => *n += 1,
                None => out.push((holder, 1)),
            }
        }
        out
    }
}

/// The pid part of a hold slot's owner word.
fn pid_of(owner: u64) -> u32 {
    owner as u32
}

/// The writer's own bookkeeping of the pool (process memory, never shared): which block each
/// ring slot's message is in, and which blocks are free, most recently freed first.
#[derive(Debug)]
pub(crate) struct WriterBlocks {
    /// Block of each ring slot's message (`u32::MAX`: none yet).
    in_slot: Vec<u32>,
    free: VecDeque<u32>,
    held: Vec<u32>,
}

impl WriterBlocks {
    pub(crate) fn new(block_count: usize, slot_count: usize) -> WriterBlocks {
        WriterBlocks {
            in_slot: vec![u32::MAX; slot_count],
            free: (0..block_count as u32).collect(),
            held: Vec::new(),
        }
    }

    /// Takes a block for the next message: free and named by no hold slot, the most recently
    /// freed such (its lines are the likeliest to be in a cache still: a ring of one or two
    /// messages then cycles through as few blocks as a hand-made double buffer).
    pub(crate) fn take(&mut self, pool: &PoolView<'_>) -> u32 {
        pool.held(&mut self.held);
        let pos = self.free.iter().position(|b| !self.held.contains(b));
        // `free` has `hold_count + 1` blocks and at most `hold_count` are held (module docs);
        // only a writer with two loans at once could break that, which `&mut` rules out.
        let pos = pos.expect("eshm bug: no free block in the pool");
        self.free.remove(pos).expect("position is in range")
    }

    /// Gives back a block taken for a message that was not published.
    pub(crate) fn untake(&mut self, b: u32) {
        self.free.push_front(b);
    }

    /// Message in ring slot `slot` now is in block `b`: the block of the message it replaced
    /// becomes free.
    pub(crate) fn placed(&mut self, slot: usize, b: u32) {
        let old = std::mem::replace(&mut self.in_slot[slot], b);
        if old != u32::MAX {
            self.free.push_front(old);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn holds(n: usize) -> Vec<HoldSlot> {
        (0..n)
            .map(|_| HoldSlot {
                owner: AtomicU64::new(0),
                start_time: AtomicU64::new(0),
                block: AtomicU64::new(0),
                _reserved: AtomicU64::new(0),
            })
            .collect()
    }

    #[test]
    fn pool_descriptors_round_trip() {
        let d = Desc { len: 1 << 20, block: 7 };
        assert_eq!(Desc::from_word(d.word()), d);
    }

    #[test]
    fn pool_writer_never_takes_a_held_block() {
        let holds = holds(2);
        let blocks: Vec<AtomicU64> = (0..4).map(|_| AtomicU64::new(0)).collect();
        let pool = PoolView { holds: &holds, blocks: &blocks, block_words: 1 };
        // One ring slot, two hold slots, four blocks.
        let mut w = WriterBlocks::new(4, 1);
        let me = Holder { pid: 10, start_time: 1 };
        let mut placed = Vec::new();
        for round in 0..20 {
            let b = w.take(&pool);
            placed.push(b);
            w.placed(0, b);
            // Readers hold the first two blocks ever used, for good.
            if round < 2 {
                assert!(pool.try_hold(b, me).is_some());
            }
        }
        assert!(placed[2..].iter().all(|b| *b != placed[0] && *b != placed[1]), "{placed:?}");
        assert_eq!(pool.try_hold(3, me), None, "both hold slots are in use");
        assert_eq!(pool.holders(), [(me, 2)]);
        // The holder dies: its holds are given back, once.
        assert_eq!(pool.reclaim_dead(|_, _| false), 2);
        assert_eq!(pool.reclaim_dead(|_, _| false), 0);
        assert!(!pool.any_held());
        let h = pool.try_hold(3, me).unwrap();
        assert_eq!(pool.reclaim_dead(|pid, start| pid == 10 && start == Some(1)), 0, "alive");
        // Every claim counts: a slot given back and claimed again has another owner word.
        let first = holds[h].owner.load(Ordering::Relaxed);
        pool.release(h);
        assert!(!pool.any_held());
        let again = pool.try_hold(3, me).unwrap();
        assert_eq!(again, h);
        assert_ne!(holds[h].owner.load(Ordering::Relaxed), first);
    }
}
