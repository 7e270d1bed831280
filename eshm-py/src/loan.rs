//! `eshm.Loan`: room for the next message of an array or slice topic, lent by
//! `Publisher.loan()` and written in place:
//!
//! ```python
//! with pub.loan() as frame:      # a writable numpy array over shared memory
//!     frame[...] = image
//! # published here; an exception in the block publishes nothing
//! ```
//!
//! The loan is a [`RawLoan`](eshm::RawLoan) taken apart ([`LoanParts`]) and kept here between
//! calls; while it is out, the publisher refuses to publish or lend (`Core::loan_open`), so
//! the parts stay its next message. The loan keeps the publisher's [`Core`] (its mapping)
//! alive, so an array over the loan never points at unmapped memory, even after the
//! publisher is closed; after the loan is published, though, the array shows (and writes
//! into) a message the publisher has handed over: do not keep using it.

use crate::errors::{Ex, IntoPy, closed, raise};
use crate::handle::{Close, Counter};
use crate::ndarray::{ArrayCodec, fill_view};
use eshm::RawPublisher;
use eshm::pubsub::LoanParts;
use pyo3::exceptions::PyBufferError;
use pyo3::ffi;
use pyo3::prelude::*;
use std::ffi::c_int;
use std::sync::{Arc, Mutex, MutexGuard};

/// A publisher's topic, shared by the publisher and its loan.
pub(crate) struct Core {
    pub(crate) raw: RawPublisher,
    /// Whether a loan is out: publishing or lending again would break its parts.
    pub(crate) loan_open: bool,
}

impl Core {
    pub(crate) fn new(raw: RawPublisher) -> Arc<Mutex<Core>> {
        Arc::new(Mutex::new(Core { raw, loan_open: false }))
    }

    /// `FullError` if a loan is out.
    pub(crate) fn check_no_loan(&self) -> PyResult<()> {
        if self.loan_open {
            return Err(raise(
                Ex::Full,
                "a loan of this publisher is open: publish or discard it first (the end of its \
                 `with` block does)",
            ));
        }
        Ok(())
    }
}

/// Locks a core (never contended for long: every holder only copies or publishes).
pub(crate) fn lock(core: &Mutex<Core>) -> MutexGuard<'_, Core> {
    core.lock().unwrap_or_else(|p| p.into_inner())
}

/// Room for the next message of an array or slice topic, in shared memory. `with pub.loan()
/// as frame:` gives a writable array over it and publishes it at the end of the block (an
/// exception in the block discards it). Without `with`: `array()`, then `publish()` or
/// `discard()`.
#[pyclass(module = "eshm", name = "Loan", frozen)]
pub(crate) struct Loan {
    publisher: Arc<dyn Close>,
    core: Arc<Mutex<Core>>,
    codec: Arc<ArrayCodec>,
    parts: Mutex<Option<LoanParts>>,
    len: usize,
    published: Arc<Counter>,
}

impl Loan {
    /// Lends room for a message of `len` bytes (checked by the caller's codec).
    pub(crate) fn take(
        publisher: Arc<dyn Close>,
        core: Arc<Mutex<Core>>,
        codec: Arc<ArrayCodec>,
        len: usize,
        published: Arc<Counter>,
    ) -> PyResult<Loan> {
        let parts = {
            let mut c = lock(&core);
            c.check_no_loan()?;
            let parts = c.raw.loan(len).py()?.into_parts();
            c.loan_open = true;
            parts
        };
        Ok(Loan { publisher, core, codec, parts: Mutex::new(Some(parts)), len, published })
    }

    fn take_parts(&self) -> Option<LoanParts> {
        self.parts.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    /// Ends the loan: publishes it, or gives its room back.
    fn finish(&self, parts: LoanParts, publish: bool) -> PyResult<()> {
        let mut c = lock(&self.core);
        // SAFETY: `parts` came from `c.raw.loan` (in `take`), and since then the publisher
        // has published and lent nothing: `loan_open` made every publish and loan of the
        // Python publisher fail (`check_no_loan`) until this clears it, and the `RawPublisher`
        // is reachable only through this core.
        let loan = unsafe { c.raw.resume_loan(parts) };
        let result = if publish {
            loan.publish().py()
        } else {
            drop(loan);
            Ok(())
        };
        c.loan_open = false;
        self.published.set(c.raw.published());
        result
    }
}

impl Drop for Loan {
    fn drop(&mut self) {
        if let Some(parts) = self.take_parts() {
            let _ = self.finish(parts, false);
        }
    }
}

#[pymethods]
impl Loan {
    /// A writable array (a `memoryview` without numpy) over the loan, in shared memory.
    fn array<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        slf.get().codec.wrap(slf.as_any(), slf.get().len)
    }

    fn __enter__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        Loan::array(slf)
    }

    /// Publishes the message as written (`ClosedError` if the publisher was closed, or the
    /// loan already ended).
    fn publish(&self) -> PyResult<()> {
        let parts = self
            .take_parts()
            .ok_or_else(|| closed("the loan was already published or discarded"))?;
        if !self.publisher.is_open() {
            let _ = self.finish(parts, false);
            return Err(closed("operation on a closed Publisher (its loan publishes nothing)"));
        }
        self.finish(parts, true)
    }

    /// Gives the room back without publishing (idempotent).
    fn discard(&self) -> PyResult<()> {
        match self.take_parts() {
            Some(parts) => self.finish(parts, false),
            None => Ok(()),
        }
    }

    /// Publishes at the end of a `with` block, or discards if the block raised.
    fn __exit__(
        &self,
        exc_type: &Bound<'_, PyAny>,
        _exc: &Bound<'_, PyAny>,
        _tb: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        if exc_type.is_none() {
            self.publish()?
        } else {
            self.discard()?
        }
        Ok(false)
    }

    /// The message's length in bytes.
    fn __len__(&self) -> usize {
        self.len
    }

    /// # Safety
    ///
    /// Called by CPython with a valid `view`.
    unsafe fn __getbuffer__(
        slf: Bound<'_, Self>,
        view: *mut ffi::Py_buffer,
        flags: c_int,
    ) -> PyResult<()> {
        let ptr = {
            let parts = slf.get().parts.lock().unwrap_or_else(|p| p.into_inner());
            match parts.as_ref() {
                Some(parts) => parts.as_mut_ptr(),
                None => return Err(PyBufferError::new_err("the loan was published or discarded")),
            }
        };
        let len = slf.get().len;
        // SAFETY: `view` comes from CPython; `ptr` is the loan's `len` writable bytes, valid while
        // the publisher's mapping lives, which the loan's `core` keeps alive, and the view keeps
        // the loan (`owner`); readers see nothing before publish.
        unsafe { fill_view(view, flags, ptr, len, false, slf.into_any()) }
    }

    /// # Safety
    ///
    /// Called by CPython with a view `__getbuffer__` filled; it releases nothing (the view's
    /// reference to its owner is CPython's to drop) and does not touch `_view`.
    unsafe fn __releasebuffer__(&self, _view: *mut ffi::Py_buffer) {}
}
