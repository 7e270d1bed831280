//! Messages in a ring, whatever their form: inline in their slots (with a length word for
//! slices) or in the blocks of a pool. The writer's and the readers' operations on one message,
//! on top of the slot seqlock (`RingView`) and the pool (`PoolView`).

use super::pool::{Desc, Holder, PoolView};
use super::{Read, RingView};
use crate::sync::{Ordering, fence, torn};
use std::mem::MaybeUninit;

/// Where a copy of a message goes: a buffer for `len` bytes, or `None` if it cannot take that
/// many (the receive then fails with the length it needed).
pub(crate) trait Sink {
    fn buffer(&mut self, len: usize) -> Option<&mut [MaybeUninit<u8>]>;

    /// The most bytes it takes (`None`: any number).
    fn capacity(&self) -> Option<usize> {
        None
    }
}

impl<S: Sink + ?Sized> Sink for &mut S {
    #[inline(always)]
    fn buffer(&mut self, len: usize) -> Option<&mut [MaybeUninit<u8>]> {
        (**self).buffer(len)
    }

    fn capacity(&self) -> Option<usize> {
        (**self).capacity()
    }
}

/// A vector grows to take any message; the caller truncates it to the length received.
impl Sink for Vec<MaybeUninit<u8>> {
    fn buffer(&mut self, len: usize) -> Option<&mut [MaybeUninit<u8>]> {
        if self.len() < len {
            self.resize(len, MaybeUninit::uninit());
        }
        self.get_mut(..len)
    }
}

/// What a copy found: the message's length, or why it could not be taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Copy {
    /// Copied: this many bytes of the sink's buffer are initialised.
    Len(usize),
    /// The sink cannot take a message of this length.
    TooLong(usize),
    /// The slot names a block outside the pool or a length over the maximum (a corrupt
    /// segment).
    Corrupt,
}

/// A message kept in place: hold slot `hold` keeps block `desc.block` for the reader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Hold {
    Held {
        hold: usize,
        desc: Desc,
    },
    /// Every hold slot is in use.
    NoSlot,
    Corrupt,
}

/// The messages of one ring.
#[derive(Clone, Copy)]
pub(crate) struct Messages<'a> {
    pub(crate) ring: RingView<'a>,
    pub(crate) pool: Option<PoolView<'a>>,
    /// The largest message, in bytes (every message, for a fixed-size type).
    pub(crate) max: usize,
    /// Messages are slices, each with its length (inline: in word 1 of its slot).
    pub(crate) slice: bool,
}

impl<'a> Messages<'a> {
    /// Reader: copies message `n` into `sink`.
    #[inline]
    pub(crate) fn copy(&self, n: u64, sink: &mut (impl Sink + ?Sized)) -> Read<Copy> {
        let max = self.max;
        match &self.pool {
            None => self.ring.read_with(n, |slot| {
                let len = if self.slice { slot[1].load(Ordering::Relaxed) as usize } else { max };
                if len > max {
                    return Copy::Corrupt;
                }
                let Some(dst) = sink.buffer(len) else { return Copy::TooLong(len) };
                torn::load(&slot[self.ring.payload_word..], dst);
                Copy::Len(len)
            }),
            Some(pool) => self.ring.read_with(n, |slot| {
                let d = Desc::from_word(slot[1].load(Ordering::Relaxed));
                if !pool.is_valid(d, max) || (!self.slice && d.len != max) {
                    return Copy::Corrupt;
                }
                let Some(dst) = sink.buffer(d.len) else { return Copy::TooLong(d.len) };
                torn::load(pool.block(d.block), dst);
                Copy::Len(d.len)
            }),
        }
    }

    /// Reader: keeps message `n` of a pooled ring in place (see `pool` for the protocol and
    /// why the block cannot be overwritten while held). On [`Read::Done`] with
    /// [`Hold::Held`], the block holds the message until the hold is given back.
    #[inline]
    pub(crate) fn hold(&self, pool: &PoolView<'_>, n: u64, me: Holder) -> Read<Hold> {
        let max = self.max;
        let word = match self.ring.read_with(n, |slot| slot[1].load(Ordering::Relaxed)) {
            Read::Done(word) => word,
            Read::Pending => return Read::Pending,
            Read::Lost => return Read::Lost,
        };
        let desc = Desc::from_word(word);
        if !pool.is_valid(desc, max) || (!self.slice && desc.len != max) {
            return Read::Done(Hold::Corrupt);
        }
        let Some(hold) = pool.try_hold(desc.block, me) else { return Read::Done(Hold::NoSlot) };
        // Pairs with the writer's SeqCst fence between freeing a block and choosing one (the
        // fence in `RingView::end_write`): see `pool`.
        fence(Ordering::SeqCst);
        if self.ring.still_committed(n) {
            Read::Done(Hold::Held { hold, desc })
        } else {
            pool.release(hold);
            Read::Lost
        }
    }

    /// Writer, inline rings: writes message `n` from `bytes` and commits it; whether a reader
    /// may be asleep.
    #[inline(always)]
    pub(crate) fn write_inline(&self, n: u64, bytes: &[u8]) -> bool {
        debug_assert!(self.pool.is_none());
        if !self.slice {
            return self.ring.write(n, bytes);
        }
        self.ring.begin_write(n);
        let slot = self.ring.slot(n);
        slot[1].store(bytes.len() as u64, Ordering::Relaxed);
        torn::store(&slot[self.ring.payload_word..], bytes);
        self.ring.end_write(n)
    }

    /// Writer, inline rings, after a loan: sets message `n`'s length (slices) and commits it.
    #[inline(always)]
    pub(crate) fn commit_inline(&self, n: u64, len: usize) -> bool {
        if self.slice {
            self.ring.slot(n)[1].store(len as u64, Ordering::Relaxed);
        }
        self.ring.end_write(n)
    }

    /// Writer, pooled rings: publishes message `n`, already written into block `desc.block`;
    /// whether a reader may be asleep.
    #[inline(always)]
    pub(crate) fn commit_pooled(&self, n: u64, desc: Desc) -> bool {
        self.ring.begin_write(n);
        self.ring.slot(n)[1].store(desc.word(), Ordering::Relaxed);
        self.ring.end_write(n)
    }
}
