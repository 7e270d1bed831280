//! Reading and writing channel messages in place, without copying them: [`ReadRef`], a guard
//! that dereferences to the next message where it lies in the queue (the queue moves on when
//! it is dropped), and [`WriteLoan`], room in the queue that is sent on
//! [`commit`](WriteLoan::commit) (dropping it sends nothing).
//!
//! ```
//! use eshm::channel::{Channel, Role};
//! # let name = format!("doc/in-place/{}", std::process::id());
//! let master = Channel::open(&name, Role::Master)?;
//! let slave = Channel::open(&name, Role::Slave)?;
//! let mut frame = master.loan(1 << 16)?;      // 64 KiB of the queue, written in place
//! frame.fill(0xAB);
//! frame.commit()?;
//! let got = slave.read_ref()?;                 // read in place
//! assert_eq!((got.len(), got[100]), (1 << 16, 0xAB));
//! drop(got);                                   // now the queue moves on
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A guard holds its direction of the channel (as a `read` or `write` in progress does): other
//! threads reading (or writing) the same endpoint wait until it is dropped, and the thread that
//! holds it gets [`ReadError::RefHeld`] (or [`WriteError::LoanHeld`]) instead of waiting for
//! itself. While a `ReadRef` is held, the writer at the other end sees the space it takes as
//! used: it waits (or gets [`WriteError::Full`]) rather than overwrite it.

use super::builder::Role;
use super::link::Link;
use super::{Channel, Direction, HeldHere, Side, thread_number};
use crate::error::{ReadError, WriteError};
use crate::queue::{Record, Room};
use crate::sync::Ordering;
use std::ops::{Deref, DerefMut};
use std::sync::MutexGuard;
use std::time::{Duration, Instant};

impl Channel {
    /// The next message, read in place, waiting up to the read timeout. See [`ReadRef`].
    ///
    /// # Errors
    ///
    /// As [`read`](Self::read).
    pub fn read_ref(&self) -> Result<ReadRef<'_>, ReadError> {
        self.read_ref_timeout(self.cfg.read_timeout)
    }

    /// The next message, read in place, waiting up to `timeout`.
    ///
    /// # Errors
    ///
    /// As [`read`](Self::read).
    pub fn read_ref_timeout(&self, timeout: Duration) -> Result<ReadRef<'_>, ReadError> {
        let found = self.read_ref_until(Instant::now() + timeout, None)?;
        Ok(found.expect("no slice end"))
    }

    /// The next message, read in place, if one is queued; never waits.
    ///
    /// # Errors
    ///
    /// As [`try_read`](Self::try_read).
    pub fn try_read_ref(&self) -> Result<Option<ReadRef<'_>>, ReadError> {
        match self.read_ref_until(Instant::now(), None) {
            Ok(found) => Ok(found),
            Err(ReadError::Timeout) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// [`read_ref`](Self::read_ref) with explicit deadlines (see
    /// [`read_until`](Self::read_until)).
    #[doc(hidden)]
    pub fn read_ref_until(
        &self,
        deadline: Instant,
        slice_end: Option<Instant>,
    ) -> Result<Option<ReadRef<'_>>, ReadError> {
        let mut side = self.side(&self.reader).map_err(|HeldHere| ReadError::RefHeld)?;
        let role = self.role;
        let found = self.read_loop(&mut side, deadline, slice_end, |link| peek(link, role))?;
        Ok(found.map(|record| {
            let held = Held::new(&self.reader);
            ReadRef { side, record, role, done: false, _held: held }
        }))
    }

    /// Room for a message of `len` bytes, to write it in place; sent by
    /// [`WriteLoan::commit`]. Waits up to the write timeout for room (as
    /// [`write`](Self::write)).
    ///
    /// # Errors
    ///
    /// As [`write`](Self::write).
    pub fn loan(&self, len: usize) -> Result<WriteLoan<'_>, WriteError> {
        self.loan_timeout(len, self.cfg.write_timeout)
    }

    /// Room for a message of `len` bytes, waiting up to `timeout`.
    ///
    /// # Errors
    ///
    /// As [`write`](Self::write).
    pub fn loan_timeout(&self, len: usize, timeout: Duration) -> Result<WriteLoan<'_>, WriteError> {
        let room = self.loan_until(len, Instant::now() + timeout, None)?;
        Ok(room.expect("no slice end"))
    }

    /// Room for a message of `len` bytes if there is some now; never waits.
    ///
    /// # Errors
    ///
    /// As [`try_write`](Self::try_write) ([`WriteError::Full`] when there is no room now).
    pub fn try_loan(&self, len: usize) -> Result<WriteLoan<'_>, WriteError> {
        let room = self.loan_until(len, Instant::now(), None)?;
        Ok(room.expect("no slice end"))
    }

    /// [`loan`](Self::loan) with explicit deadlines (see [`write_until`](Self::write_until)).
    #[doc(hidden)]
    pub fn loan_until(
        &self,
        len: usize,
        deadline: Instant,
        slice_end: Option<Instant>,
    ) -> Result<Option<WriteLoan<'_>>, WriteError> {
        let mut side = self.side(&self.writer).map_err(|HeldHere| WriteError::LoanHeld)?;
        let role = self.role;
        let room = self.write_loop(&mut side, len, deadline, slice_end, |link| {
            let q = link.outgoing(role);
            let room = q.try_reserve(len).map_err(|c| WriteError::Segment(Self::corrupt(link, c)));
            if link.seg.is_broken() {
                return Err(WriteError::Segment(Box::new(link.seg.broken_error())));
            }
            room
        })?;
        Ok(room.map(|room| WriteLoan { side, room, role, _held: Held::new(&self.writer) }))
    }
}

/// Marks a direction as held in place by this thread while it lives.
struct Held<'a>(&'a Direction);

impl<'a> Held<'a> {
    fn new(dir: &'a Direction) -> Held<'a> {
        dir.in_place_by.store(thread_number(), Ordering::Relaxed);
        Held(dir)
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.in_place_by.store(0, Ordering::Relaxed);
    }
}

/// The next record of the incoming queue, without consuming it.
fn peek(link: &Link, role: Role) -> Result<Option<Record>, ReadError> {
    let peeked =
        link.incoming(role).peek().map_err(|c| ReadError::Segment(Channel::corrupt(link, c)));
    if link.seg.is_broken() {
        return Err(ReadError::Segment(Box::new(link.seg.broken_error())));
    }
    peeked
}

/// A message read in place by [`Channel::read_ref`]: dereferences to its bytes in the queue.
/// Dropping it (or [`release`](ReadRef::release)) consumes the message.
pub struct ReadRef<'a> {
    // Declared (so dropped) before `side`: the mark is cleared while the lock is held, so it
    // never clears the mark of the next thread to take the lock.
    _held: Held<'a>,
    side: MutexGuard<'a, Side>,
    record: Record,
    role: Role,
    done: bool,
}

impl ReadRef<'_> {
    /// Consumes the message, and reports whether its bytes were intact while held:
    /// [`ReadError::Segment`] if another process truncated the channel's file meanwhile (the
    /// bytes then read as zeros).
    ///
    /// # Errors
    ///
    /// [`ReadError::Segment`] as said.
    pub fn release(mut self) -> Result<(), ReadError> {
        self.consume();
        let link = &self.side.link;
        if link.seg.is_broken() {
            return Err(ReadError::Segment(Box::new(link.seg.broken_error())));
        }
        Ok(())
    }

    fn consume(&mut self) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        let q = self.side.link.incoming(self.role);
        if q.consume(&self.record) {
            q.wake_producer();
        }
    }
}

impl Deref for ReadRef<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        let words = self.side.link.incoming(self.role).record_words(&self.record);
        // SAFETY: `record.len` bytes (checked by `peek`) in the mapping the locked `side` keeps;
        // written before `head` was published (read with Acquire), untouched until `tail` moves
        // past them, which only this guard does on drop; `u8` needs no alignment or validity.
        unsafe { std::slice::from_raw_parts(words.as_ptr().cast::<u8>(), self.record.len) }
    }
}

impl Drop for ReadRef<'_> {
    fn drop(&mut self) {
        self.consume();
    }
}

impl std::fmt::Debug for ReadRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadRef").field("len", &self.record.len).finish()
    }
}

/// Room for one message in the outgoing queue, lent by [`Channel::loan`]: dereferences to its
/// bytes (which hold whatever the queue held there before). [`commit`](WriteLoan::commit)
/// sends it; dropping it sends nothing.
pub struct WriteLoan<'a> {
    // Dropped before `side`, as in `ReadRef`.
    _held: Held<'a>,
    side: MutexGuard<'a, Side>,
    room: Room,
    role: Role,
}

impl WriteLoan<'_> {
    /// Sends the message.
    ///
    /// # Errors
    ///
    /// [`WriteError::Segment`] if another process truncated the channel's file while the
    /// message was written.
    pub fn commit(self) -> Result<(), WriteError> {
        let link = &self.side.link;
        let q = link.outgoing(self.role);
        if q.commit(&self.room) {
            q.wake_consumer();
        }
        if link.seg.is_broken() {
            return Err(WriteError::Segment(Box::new(link.seg.broken_error())));
        }
        Ok(())
    }
}

impl Deref for WriteLoan<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        let words = self.side.link.outgoing(self.role).payload(&self.room);
        // SAFETY: `words` are reserved room in the mapping the locked `side` keeps alive, at
        // least `room.len` bytes (`try_reserve` checked they fit); past `head`, so the
        // consumer does not read them, and only this guard (holding the writer lock) writes
        // them; any bytes are valid `u8`s.
        unsafe { std::slice::from_raw_parts(words.as_ptr().cast::<u8>(), self.room.len) }
    }
}

impl DerefMut for WriteLoan<'_> {
    fn deref_mut(&mut self) -> &mut [u8] {
        let words = self.side.link.outgoing(self.role).payload(&self.room);
        // SAFETY: as in `deref`, and the bytes are this guard's alone to write (the pointer is
        // derived from the mapping's atomics, whose bytes may be written through it).
        unsafe {
            std::slice::from_raw_parts_mut(words.as_ptr().cast::<u8>().cast_mut(), self.room.len)
        }
    }
}

impl std::fmt::Debug for WriteLoan<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteLoan").field("len", &self.room.len).finish()
    }
}
