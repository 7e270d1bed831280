//! Reading a channel: the copying reads, and the loop that every read (in place too) waits in.

use super::liveness::Remote;
use super::{Channel, HeldHere, Link, Role, Side, nap};
use crate::error::ReadError;
use crate::sync::Ordering;
use crate::wait::{self, Stand};
use std::mem::MaybeUninit;
use std::time::{Duration, Instant};

impl Channel {
    /// Reads the next message, waiting up to the read timeout.
    ///
    /// # Errors
    ///
    /// [`ReadError::Timeout`], [`ReadError::Disconnected`] (per the disconnect behaviour,
    /// once every message the remote wrote has been read), [`ReadError::Segment`].
    pub fn read(&self) -> Result<Vec<u8>, ReadError> {
        self.read_timeout(self.cfg.read_timeout)
    }

    /// Reads the next message, waiting up to `timeout`.
    ///
    /// # Errors
    ///
    /// As [`read`](Self::read).
    pub fn read_timeout(&self, timeout: Duration) -> Result<Vec<u8>, ReadError> {
        let mut out = Vec::new();
        self.read_until(Instant::now() + timeout, None, &mut out)?;
        Ok(out)
    }

    /// The next message if one is queued; never waits. `Ok(None)` when nothing is queued,
    /// whatever the remote is doing.
    ///
    /// # Errors
    ///
    /// [`ReadError::Disconnected`] per the disconnect behaviour; otherwise as
    /// [`read`](Self::read), without [`ReadError::Timeout`].
    pub fn try_read(&self) -> Result<Option<Vec<u8>>, ReadError> {
        let mut out = Vec::new();
        match self.read_until(Instant::now(), None, &mut out) {
            Ok(_) => Ok(Some(out)),
            Err(ReadError::Timeout) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Reads the next message into `buf` without allocating, waiting up to the read timeout;
    /// returns its length.
    ///
    /// # Errors
    ///
    /// [`ReadError::BufferTooSmall`] (the message stays queued) or as [`read`](Self::read).
    pub fn read_into(&self, buf: &mut [u8]) -> Result<usize, ReadError> {
        self.read_into_timeout(buf, self.cfg.read_timeout)
    }

    /// Reads the next message into `buf`, waiting up to `timeout`; returns its length.
    ///
    /// # Errors
    ///
    /// As [`read_into`](Self::read_into).
    pub fn read_into_timeout(&self, buf: &mut [u8], timeout: Duration) -> Result<usize, ReadError> {
        let n = self.read_until(Instant::now() + timeout, None, Sink::Slice(buf))?;
        Ok(n.expect("no slice end"))
    }

    /// Reads the next message into `buf` if one is queued; `Ok(None)` otherwise.
    ///
    /// # Errors
    ///
    /// As [`try_read`](Self::try_read), and [`ReadError::BufferTooSmall`].
    pub fn try_read_into(&self, buf: &mut [u8]) -> Result<Option<usize>, ReadError> {
        match self.read_until(Instant::now(), None, Sink::Slice(buf)) {
            Ok(n) => Ok(n),
            Err(ReadError::Timeout) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The read operation with explicit deadlines (see [`write_until`](Self::write_until)):
    /// the message goes into `sink` (a `Vec<u8>`, replaced, or a `&mut [u8]`); returns its
    /// length, or `Ok(None)` at `slice_end`.
    #[doc(hidden)]
    pub fn read_until<'s>(
        &self,
        deadline: Instant,
        slice_end: Option<Instant>,
        sink: impl Into<Sink<'s>>,
    ) -> Result<Option<usize>, ReadError> {
        let mut sink = sink.into();
        let mut side = self.side(&self.reader).map_err(|HeldHere| ReadError::RefHeld)?;
        self.read_loop(&mut side, deadline, slice_end, |link| Self::pop(link, self.role, &mut sink))
    }

    /// The reading loop: calls `attempt` until it returns something, waiting in between for a
    /// message (and watching the remote) as `read_until` says.
    pub(super) fn read_loop<R>(
        &self,
        side: &mut Side,
        deadline: Instant,
        slice_end: Option<Instant>,
        mut attempt: impl FnMut(&Link) -> Result<Option<R>, ReadError>,
    ) -> Result<Option<R>, ReadError> {
        side.link.beat(self.role);
        let mut polls = 0u32;
        loop {
            if let Some(got) = attempt(&side.link)? {
                return Ok(Some(got));
            }
            // Nothing queued: where is the remote? (Every 64 empty polls, and after a sleep.)
            polls = polls.wrapping_add(1);
            let mut next_attempt = None;
            if polls % 64 == 1 {
                match self.check_remote() {
                    Err(gone) => return Err(gone.into_read(&self.name)),
                    Ok(Remote::Present) => {}
                    Ok(Remote::Missing(at)) => next_attempt = at,
                }
                // A slave may have moved to a new master: look there.
                self.refresh(side);
                if let Some(got) = attempt(&side.link)? {
                    return Ok(Some(got));
                }
            }
            let now = Instant::now();
            let until = match wait::check(now, Some(deadline), slice_end) {
                Stand::Expired => return Err(ReadError::Timeout),
                Stand::SliceEnd => return Ok(None),
                Stand::Until(until) => until.unwrap_or(deadline),
            };
            let q = side.link.incoming(self.role);
            let wait = self.cfg.wait;
            wait::spin(wait.spin_end(now, Some(until)), wait.is_spin(), || {
                (q.header.head.load(Ordering::Acquire) != q.header.tail.load(Ordering::Relaxed))
                    .then_some(())
            });
            if !wait.is_spin() {
                let nap = nap(Instant::now(), until, self.cfg.stale_threshold, next_attempt);
                q.wait_for_data(Some(nap));
                side.link.beat(self.role);
                polls = 0;
            }
        }
    }

    /// Takes the next message into `sink`, if there is one.
    fn pop(link: &Link, role: Role, sink: &mut Sink<'_>) -> Result<Option<usize>, ReadError> {
        let q = link.incoming(role);
        let peeked = q.peek().map_err(|c| ReadError::Segment(Self::corrupt(link, c)));
        if link.seg.is_broken() {
            return Err(ReadError::Segment(Box::new(link.seg.broken_error())));
        }
        let Some(record) = peeked? else {
            return Ok(None);
        };
        let dst: &mut [MaybeUninit<u8>] = match sink {
            Sink::Vec(v) => {
                v.clear();
                v.reserve_exact(record.len);
                &mut v.spare_capacity_mut()[..record.len]
            }
            Sink::Slice(buf) => {
                if buf.len() < record.len {
                    return Err(ReadError::BufferTooSmall {
                        needed: record.len,
                        capacity: buf.len(),
                    });
                }
                // SAFETY: `u8` and `MaybeUninit<u8>` have the same layout, and the copy only
                // writes initialised bytes into the buffer, which stays initialised.
                unsafe {
                    &mut *(std::ptr::from_mut(&mut buf[..record.len]) as *mut [MaybeUninit<u8>])
                }
            }
        };
        q.copy(&record, dst);
        if link.seg.is_broken() {
            // What was copied may be zeros: not a message.
            return Err(ReadError::Segment(Box::new(link.seg.broken_error())));
        }
        if let Sink::Vec(v) = sink {
            // SAFETY: `copy` initialised the first `record.len` bytes of the spare capacity.
            unsafe { v.set_len(record.len) };
        }
        if q.consume(&record) {
            q.wake_producer();
        }
        Ok(Some(record.len))
    }
}

/// Where [`Channel::read_until`] puts a message.
#[doc(hidden)]
#[derive(Debug)]
pub enum Sink<'a> {
    /// Replaces the vector's contents.
    Vec(&'a mut Vec<u8>),
    /// Fills the start of the slice ([`ReadError::BufferTooSmall`] if it is too short).
    Slice(&'a mut [u8]),
}

impl<'a> From<&'a mut Vec<u8>> for Sink<'a> {
    fn from(v: &'a mut Vec<u8>) -> Self {
        Sink::Vec(v)
    }
}
