//! Registrations to be woken by the other end of a channel, for callers that wait for many
//! things at once (see [`Wakeup`]): a reader's, woken by the next message, and a writer's, woken
//! when room appears.

use super::link::Link;
use super::{Channel, HeldHere};
use crate::error::{ReadError, WriteError};
use crate::queue::record_size;
use crate::sync::AtomicU32;
use crate::wait::{Registered, Wakeup};
use std::sync::Arc;

/// Which queue, and which side of it.
struct QueueWakeup {
    link: Arc<Link>,
    /// Index of the queue (0: master to slave).
    queue: usize,
    /// Waiting for data (a reader), or for room (a writer).
    data: bool,
}

impl Registered for QueueWakeup {
    fn word(&self) -> &AtomicU32 {
        let q = self.link.queue(self.queue);
        if self.data { &q.header.data_futex } else { &q.header.space_futex }
    }
}

impl Drop for QueueWakeup {
    fn drop(&mut self) {
        let q = self.link.queue(self.queue);
        if self.data { q.deregister_for_data() } else { q.deregister_for_space() }
    }
}

impl Channel {
    /// A registration to be woken when a message may have arrived (see [`Wakeup`]): `None` if
    /// one is queued already, so that a read should be tried now. Read with
    /// [`try_read`](Self::try_read) (or `try_read_ref`) after the wake-up; a remote that comes
    /// or goes wakes nobody, hence the bounded waits of [`Wakeup`].
    ///
    /// # Errors
    ///
    /// [`ReadError::RefHeld`] if this thread holds a message of this channel in place.
    pub fn read_wakeup(&self) -> Result<Option<Wakeup>, ReadError> {
        let side = self.side(&self.reader).map_err(|HeldHere| ReadError::RefHeld)?;
        let link = side.link.clone();
        let queue = self.incoming_index();
        let ticket = link.queue(queue).register_for_data();
        Ok(ticket.map(|t| Wakeup::registered(Box::new(QueueWakeup { link, queue, data: true }), t)))
    }

    /// A registration to be woken when room for a message of `len` bytes may have appeared:
    /// `None` if there may be room now, so that a write should be tried. Write with
    /// [`try_write`](Self::try_write) (or `try_loan`) after the wake-up.
    ///
    /// # Errors
    ///
    /// [`WriteError::LoanHeld`] if this thread holds a loan of this channel.
    pub fn write_wakeup(&self, len: usize) -> Result<Option<Wakeup>, WriteError> {
        let side = self.side(&self.writer).map_err(|HeldHere| WriteError::LoanHeld)?;
        let link = side.link.clone();
        let queue = 1 - self.incoming_index();
        let ticket = link.queue(queue).register_for_space(record_size(len));
        Ok(ticket
            .map(|t| Wakeup::registered(Box::new(QueueWakeup { link, queue, data: false }), t)))
    }

    /// Index of the queue this end reads (0: master to slave).
    fn incoming_index(&self) -> usize {
        if self.role == super::Role::Master { 1 } else { 0 }
    }
}
