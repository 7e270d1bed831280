//! The bytes behind message objects, and their export to Python as buffers.
//!
//! A message object owns a block of bytes; its nested messages are views of ranges of the same
//! block, and so are the numpy arrays (or `memoryview`s) that its array fields of numbers read
//! as. Those arrays write into the block from C, through the buffer protocol, and numpy may
//! release the GIL while it does, so Rust cannot assume that nobody writes the bytes while it
//! reads them. The block is therefore never resized or moved (the arrays keep pointers into
//! it), Rust never makes a reference to its bytes, and every Rust access copies bytes in or out
//! with the racy-copy discipline of the shared-memory rings ([`crate::sync::torn`]): `rep
//! movsb` on x86-64 (opaque to the compiler; byte accesses the processor makes single-copy
//! atomic), relaxed byte atomics elsewhere. A Python program that writes an array while
//! another thread publishes the same message gets some mix of old and new bytes, as with any
//! buffer it shares between threads, never undefined behaviour. A mutex orders Rust's own
//! accesses, so that a field written from Rust is never seen half-written by Rust.

// Process-local bytes shared with C code, not with another thread of this crate's protocols:
// nothing here is model-checked with loom (the `python` feature is never built under loom).
#![allow(clippy::disallowed_types)]

use pyo3::buffer::PyUntypedBuffer;
use pyo3::exceptions::{PyBufferError, PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use std::ffi::{c_int, c_void};
use std::ptr::NonNull;
use std::sync::atomic::AtomicU8;
use std::sync::{Arc, Mutex, MutexGuard};

/// The bytes behind a message object: a shared block and the range of this (sub-)message.
#[derive(Clone, Debug)]
pub struct Storage {
    block: Arc<Block>,
    offset: usize,
    len: usize,
}

struct Block {
    /// Orders Rust's accesses (Python's, through exported buffers, do not take it).
    lock: Mutex<()>,
    /// The first byte: valid for `len` bytes as long as `owner` lives, and never moved
    /// (exported buffers point into it).
    start: NonNull<AtomicU8>,
    len: usize,
    /// A view of a read-only buffer: no write, from Rust or through an export.
    readonly: bool,
    owner: Owner,
}

/// What holds a block's bytes.
enum Owner {
    /// The message's own bytes.
    Bytes(#[allow(dead_code)] Box<[AtomicU8]>),
    /// A Python object's buffer (`from_buffer`), held exported.
    Buffer(#[allow(dead_code)] PyUntypedBuffer),
}

// SAFETY: `start` points into the memory `owner` holds; both owners are `Send` and `Sync`
// (a box of atomics; a held Python buffer, which PyO3 declares both and releases under the
// GIL), and the bytes are only accessed through atomics or `movsb` (see the module docs).
unsafe impl Send for Block {}
// SAFETY: as for `Send`.
unsafe impl Sync for Block {}

impl std::fmt::Debug for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let owner = match self.owner {
            Owner::Bytes(_) => "its own bytes",
            Owner::Buffer(_) => "a Python buffer",
        };
        f.debug_struct("Block").field("len", &self.len).field("owner", &owner).finish()
    }
}

impl Block {
    fn bytes(&self) -> &[AtomicU8] {
        // SAFETY: `start` is valid for `len` bytes while `owner` lives, which is as long as
        // `self`; `AtomicU8` has the size and alignment of `u8`. A read-only buffer's bytes are
        // never written: `Storage::write` and exports check `readonly` (atomic loads, and
        // `movsb`, may read read-only memory).
        unsafe { std::slice::from_raw_parts(self.start.as_ptr(), self.len) }
    }
}

impl Storage {
    /// Storage that owns `bytes`.
    pub fn new(bytes: Vec<u8>) -> Storage {
        let len = bytes.len();
        let mut bytes: Box<[AtomicU8]> = bytes.into_iter().map(AtomicU8::new).collect();
        let start = NonNull::new(bytes.as_mut_ptr()).unwrap_or(NonNull::dangling());
        let owner = Owner::Bytes(bytes);
        let block = Block { lock: Mutex::new(()), start, len, readonly: false, owner };
        Storage { block: Arc::new(block), offset: 0, len }
    }

    /// Storage of `len` bytes (a message of type `type_name`) at `offset` in a Python object's
    /// buffer (any C-contiguous buffer: `bytearray`, `bytes`, `mmap`, numpy arrays), without a
    /// copy: what `from_buffer` views. Writes go into the buffer; a read-only buffer refuses
    /// them.
    ///
    /// # Errors
    ///
    /// `BufferError` for an object without a C-contiguous buffer; `ValueError` if the range
    /// does not fit it.
    pub fn from_buffer(
        buffer: &Bound<'_, PyAny>,
        offset: i64,
        len: usize,
        type_name: &str,
    ) -> PyResult<Storage> {
        let held = PyUntypedBuffer::get(buffer)?;
        if !held.is_c_contiguous() {
            return Err(PyBufferError::new_err("the buffer is not C-contiguous"));
        }
        let total = held.len_bytes();
        let fits = usize::try_from(offset).ok().filter(|o| o.checked_add(len) <= Some(total));
        let Some(offset) = fits else {
            return Err(PyValueError::new_err(format!(
                "a `{type_name}` of {len} bytes at offset {offset} does not fit {total} bytes"
            )));
        };
        let start = NonNull::new(held.buf_ptr().cast::<AtomicU8>()).unwrap_or(NonNull::dangling());
        let readonly = held.readonly();
        let owner = Owner::Buffer(held);
        let block = Block { lock: Mutex::new(()), start, len: total, readonly, owner };
        Ok(Storage { block: Arc::new(block), offset, len })
    }

    /// A view of `len` bytes at `offset` within this storage.
    ///
    /// # Panics
    ///
    /// If the range is outside this storage (generated code passes schema offsets).
    pub fn at(&self, offset: usize, len: usize) -> Storage {
        assert!(offset + len <= self.len, "eshm bug: field outside its message");
        Storage { block: self.block.clone(), offset: self.offset + offset, len }
    }

    fn lock(&self) -> MutexGuard<'_, ()> {
        // A panic while holding the lock leaves plain bytes behind: still usable.
        self.block.lock.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The bytes `offset..offset + len` of this storage.
    fn region(&self, offset: usize, len: usize) -> &[AtomicU8] {
        assert!(offset + len <= self.len, "eshm bug: access outside its message");
        let start = self.offset + offset;
        &self.block.bytes()[start..start + len]
    }

    /// Copies the bytes at `offset` into `dst`.
    fn copy_out(&self, offset: usize, dst: &mut [u8]) {
        let _guard = self.lock();
        load(self.region(offset, dst.len()), dst);
    }

    /// The number of bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none (a message of no bytes).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Copies the bytes into `dst`, which must have [`len`](Self::len) bytes.
    ///
    /// # Panics
    ///
    /// If `dst` has another length.
    pub fn copy_to(&self, dst: &mut [u8]) {
        self.copy_out(0, dst);
    }

    /// A copy of the bytes.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = vec![0; self.len];
        self.copy_out(0, &mut out);
        out
    }

    /// Reads `N` bytes at `offset` within this storage.
    pub(crate) fn read<const N: usize>(&self, offset: usize) -> [u8; N] {
        let mut out = [0; N];
        self.copy_out(offset, &mut out);
        out
    }

    /// Overwrites the bytes at `offset` within this storage.
    ///
    /// # Errors
    ///
    /// `TypeError` if this is a view of a read-only buffer.
    pub(crate) fn write(&self, offset: usize, bytes: &[u8]) -> PyResult<()> {
        if self.block.readonly {
            return Err(PyTypeError::new_err(
                "cannot modify read-only memory: the message views a read-only buffer",
            ));
        }
        let _guard = self.lock();
        store(self.region(offset, bytes.len()), bytes);
        Ok(())
    }

    /// Appends a copy of the bytes to `out`.
    pub fn extend_into(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.resize(start + self.len, 0);
        self.copy_out(0, &mut out[start..]);
    }

    /// Replaces all the bytes of this (sub-)message.
    ///
    /// # Errors
    ///
    /// `TypeError` if this is a view of a read-only buffer.
    pub fn set_all(&self, bytes: &[u8]) -> PyResult<()> {
        assert_eq!(bytes.len(), self.len, "eshm bug: wrong message size");
        self.write(0, bytes)
    }

    /// A Python object that exports these bytes through the buffer protocol (format `B`, one
    /// dimension; writable unless they view a read-only buffer) and keeps them alive as long as
    /// it or a view of it lives.
    ///
    /// # Errors
    ///
    /// Python errors creating the object.
    pub(crate) fn export<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(Bound::new(py, MessageBytes { storage: self.clone() })?.into_any())
    }
}

/// Copies `src` into `dst`; `src` may be written at the same time through an exported buffer.
fn load(src: &[AtomicU8], dst: &mut [u8]) {
    assert_eq!(src.len(), dst.len(), "eshm bug: copy of unequal lengths");
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `src` is valid for `dst.len()` reads (same length), `dst` for as many writes
    // (an exclusive borrow); a block's bytes never overlap a Rust `&mut [u8]`, since Rust never
    // borrows them; `movsb` makes no Rust access, so a racing C write is no data race.
    unsafe {
        crate::sync::torn::movsb(dst.as_mut_ptr(), src.as_ptr().cast::<u8>(), dst.len());
    }
    #[cfg(not(target_arch = "x86_64"))]
    for (d, s) in dst.iter_mut().zip(src) {
        *d = s.load(std::sync::atomic::Ordering::Relaxed);
    }
}

/// Copies `src` into `dst`; `dst` may be read or written at the same time through an exported
/// buffer.
fn store(dst: &[AtomicU8], src: &[u8]) {
    assert_eq!(src.len(), dst.len(), "eshm bug: copy of unequal lengths");
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `dst` is valid for `src.len()` writes: atomics are interior-mutable, so writing
    // through a shared borrow of them is allowed; `src` is a separate Rust borrow (no block's
    // bytes are ever borrowed as `&[u8]`), so the ranges do not overlap; `movsb` makes no Rust
    // access, so a racing C access is no data race.
    unsafe {
        crate::sync::torn::movsb(dst.as_ptr().cast::<u8>().cast_mut(), src.as_ptr(), src.len());
    }
    #[cfg(not(target_arch = "x86_64"))]
    for (d, s) in dst.iter().zip(src) {
        d.store(*s, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The bytes of a message object (or of one of its fields), exported writable through the
/// buffer protocol: what numpy arrays over array fields are views of.
#[pyclass(module = "eshm", name = "MessageBytes", frozen)]
struct MessageBytes {
    storage: Storage,
}

#[pymethods]
impl MessageBytes {
    fn __len__(&self) -> usize {
        self.storage.len
    }

    /// # Safety
    ///
    /// Called by CPython with a valid `view`.
    unsafe fn __getbuffer__(
        slf: Bound<'_, Self>,
        view: *mut ffi::Py_buffer,
        flags: c_int,
    ) -> PyResult<()> {
        let storage = &slf.get().storage;
        let ptr = storage.region(0, storage.len).as_ptr().cast::<u8>().cast_mut();
        let (len, readonly) = (storage.len, storage.block.readonly);
        // SAFETY: `view` comes from CPython; the block is valid for reads of `len` bytes at
        // `ptr`, and for writes unless `readonly` (its atomics are interior-mutable), for as
        // long as it lives; the view keeps this object, which holds the block, alive; the
        // block never moves.
        unsafe { fill_buffer_view(view, flags, ptr, len, readonly, slf.into_any()) }
    }

    /// # Safety
    ///
    /// Called by CPython with a view `__getbuffer__` filled; it releases nothing (the view's
    /// reference to its owner is CPython's to drop) and does not touch `_view`.
    unsafe fn __releasebuffer__(&self, _view: *mut ffi::Py_buffer) {}
}

/// Fills `view` with a flat export of `len` bytes at `ptr` (format `B`), owned by `owner`:
/// the body of a `__getbuffer__`.
///
/// # Errors
///
/// `BufferError` for a null `view`, or for a writable request of a read-only export.
///
/// # Safety
///
/// `view` is the `Py_buffer` CPython passed to `__getbuffer__`; `ptr` is valid for reads (and
/// for writes unless `readonly`) of `len` bytes for as long as `owner` lives.
pub unsafe fn fill_buffer_view(
    view: *mut ffi::Py_buffer,
    flags: c_int,
    ptr: *mut u8,
    len: usize,
    readonly: bool,
    owner: Bound<'_, PyAny>,
) -> PyResult<()> {
    if view.is_null() {
        return Err(PyBufferError::new_err("no view to fill"));
    }
    if readonly && flags & ffi::PyBUF_WRITABLE == ffi::PyBUF_WRITABLE {
        return Err(PyBufferError::new_err(
            "read-only memory (a received sample, or a message viewing a read-only buffer): copy \
             it to change it, as numpy.array(view) does",
        ));
    }
    // SAFETY: `view` is non-null and points to a `Py_buffer` CPython owns for this call (the
    // caller's contract); CPython reads the fields after we return.
    let view = unsafe { &mut *view };
    view.obj = owner.into_ptr();
    view.buf = ptr.cast::<c_void>();
    view.len = len as isize;
    view.readonly = c_int::from(readonly);
    view.itemsize = 1;
    // A `'static` C string: consumers only read it, and nothing frees it.
    view.format = if flags & ffi::PyBUF_FORMAT == ffi::PyBUF_FORMAT {
        c"B".as_ptr().cast_mut()
    } else {
        std::ptr::null_mut()
    };
    view.ndim = 1;
    // Shape and strides point into the view itself, which lives as long as the export.
    view.shape =
        if flags & ffi::PyBUF_ND == ffi::PyBUF_ND { &mut view.len } else { std::ptr::null_mut() };
    view.strides = if flags & ffi::PyBUF_STRIDES == ffi::PyBUF_STRIDES {
        &mut view.itemsize
    } else {
        std::ptr::null_mut()
    };
    view.suboffsets = std::ptr::null_mut();
    view.internal = std::ptr::null_mut();
    Ok(())
}
