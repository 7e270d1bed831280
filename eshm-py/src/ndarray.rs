//! Array and slice topics (`eshm.Array`, `eshm.Slice`): values are numpy arrays, or without
//! numpy `memoryview`s with the element's format and the shape.
//!
//! Received copies are arrays over a `bytearray` (writable, owned by the caller). Views of
//! held samples ([`HeldSample`]) and loans (`crate::loan::Loan`) export the bytes where they
//! lie in shared memory through the buffer protocol, as one flat run of bytes (format `B`);
//! [`ArrayCodec::wrap`] gives it its dtype and shape (`numpy.frombuffer(...).reshape(...)`,
//! or `memoryview(...).cast(format, shape)`). numpy keeps the exporter alive as the array's
//! `base`, so the sample stays held (or the loan's mapping mapped) while any array over it
//! lives.
//!
//! An array to publish is read through the buffer protocol (any exporter: numpy arrays,
//! `memoryview`s, `array.array`), checked against the topic's element type and shape, and
//! copied once, strided or not, into the destination (a loan in shared memory, or a buffer).

use crate::array::{Array, Element, Slice};
use crate::errors::{argument_type, invalid_argument};
use eshm::pubsub::RawSample;
use eshm::schema::Primitive;
use pyo3::buffer::PyUntypedBuffer;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyTuple};
use pyo3::{ffi, intern};
use std::ffi::{CStr, c_int};

/// How the values of an array or slice topic are made.
pub(crate) struct ArrayCodec {
    element: Element,
    /// An array topic's shape; a slice topic's shape of one element (empty for a scalar).
    shape: Vec<usize>,
    /// A slice topic's most elements (`None` for an array topic).
    max_len: Option<usize>,
    /// Bytes of one slice element (of the whole array, for an array topic).
    item_size: usize,
}

impl ArrayCodec {
    pub(crate) fn of_array(py: Python<'_>, a: &Array) -> ArrayCodec {
        ArrayCodec {
            element: a.element.clone_ref(py),
            shape: a.shape.clone(),
            max_len: None,
            item_size: a.schema.size(),
        }
    }

    pub(crate) fn of_slice(py: Python<'_>, s: &Slice) -> ArrayCodec {
        ArrayCodec {
            element: s.element.clone_ref(py),
            shape: s.shape.clone(),
            max_len: Some(s.max_len),
            item_size: s.item_size(),
        }
    }

    /// Whether this is a slice topic (messages of 0 to `max_len` elements).
    pub(crate) fn is_slice(&self) -> bool {
        self.max_len.is_some()
    }

    /// The bytes of a slice message of `n` elements (checked against `max_len`), or of the
    /// array.
    pub(crate) fn len_of(&self, n: Option<usize>) -> PyResult<usize> {
        match (self.max_len, n) {
            (None, None) => Ok(self.item_size),
            (None, Some(_)) => Err(argument_type(
                "loan() of an array topic takes no length: its messages have one shape".into(),
            )),
            (Some(_), None) => {
                Err(argument_type("loan(n) of a slice topic takes the number of elements".into()))
            }
            (Some(max), Some(n)) if n > max => Err(invalid_argument(format!(
                "a message of this topic holds at most {max} elements; got {n}"
            ))),
            (Some(_), Some(n)) => Ok(n * self.item_size),
        }
    }

    /// The shape of a message of `len` bytes.
    fn shape_of(&self, len: usize) -> Vec<usize> {
        let mut shape = Vec::with_capacity(self.shape.len() + 2);
        if self.is_slice() {
            shape.push(len / self.item_size.max(1));
        }
        shape.extend(&self.shape);
        shape
    }

    /// The array over `owner`, a flat buffer of `len` bytes (format `B`): numpy's
    /// `frombuffer(owner, dtype).reshape(shape)`, or without numpy a `memoryview` cast to the
    /// element's format and the shape (a message element adds a last dimension of its bytes;
    /// an empty slice message is a flat, empty view). Writable if `owner` is.
    pub(crate) fn wrap<'py>(
        &self,
        owner: &Bound<'py, PyAny>,
        len: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = owner.py();
        let shape = self.shape_of(len);
        match py.import(intern!(py, "numpy")) {
            Ok(np) => {
                let dtype = self.element.dtype(py)?;
                let flat = np.call_method1(intern!(py, "frombuffer"), (owner, dtype))?;
                flat.call_method1(intern!(py, "reshape"), (PyTuple::new(py, &shape)?,))
            }
            Err(e) if e.is_instance_of::<pyo3::exceptions::PyImportError>(py) => {
                let view = py.get_type::<pyo3::types::PyMemoryView>().call1((owner,))?;
                let (format, shape) = match self.element.format() {
                    Some(f) => (f.to_str().unwrap_or("B"), shape),
                    None => {
                        let mut s = shape;
                        s.push(self.element.size());
                        ("B", s)
                    }
                };
                if shape.contains(&0) {
                    // `memoryview.cast` refuses shapes with a zero: an empty message is a
                    // flat, empty view.
                    return view.call_method1(intern!(py, "cast"), (format,));
                }
                view.call_method1(intern!(py, "cast"), (format, PyTuple::new(py, &shape)?))
            }
            Err(e) => Err(e),
        }
    }

    /// A received message's value: a copy of `bytes` (which the caller validated if the type
    /// has invalid bit patterns) in a new array.
    pub(crate) fn decode(&self, py: Python<'_>, bytes: &[u8]) -> PyResult<Py<PyAny>> {
        let copy = PyByteArray::new(py, bytes);
        Ok(self.wrap(copy.as_any(), bytes.len())?.unbind())
    }

    /// What `subscribe()` returns before anything arrives: zeros (an empty slice).
    pub(crate) fn default_value(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let len = if self.is_slice() { 0 } else { self.item_size };
        self.decode(py, &vec![0; len])
    }

    /// `value`'s buffer, checked to be a message of this topic: the element type (kind and
    /// size) and the shape (for a slice, any number of elements up to `max_len`, each of the
    /// element's shape). A value without the buffer protocol (a list) goes through
    /// `numpy.asarray(value, dtype)` if numpy is installed.
    pub(crate) fn source(&self, value: &Bound<'_, PyAny>) -> PyResult<Source> {
        let py = value.py();
        let buf = match PyUntypedBuffer::get(value) {
            Ok(buf) => buf,
            Err(e) if e.is_instance_of::<pyo3::exceptions::PyTypeError>(py) => {
                let np = py.import(intern!(py, "numpy")).map_err(|_| {
                    argument_type(format!(
                        "expected an array of {} (an object with the buffer protocol, such as a \
                         numpy array or memoryview), got {}",
                        self.expected(),
                        type_name(value)
                    ))
                })?;
                let dtype = self.element.dtype(py)?;
                let array = np.call_method1(intern!(py, "asarray"), (value, dtype))?;
                PyUntypedBuffer::get(&array)?
            }
            Err(e) => return Err(e),
        };
        if buf.suboffsets().is_some_and(|s| s.iter().any(|&o| o >= 0)) {
            return Err(argument_type(
                "arrays with suboffsets (PIL-style) are not supported".into(),
            ));
        }
        let got_type = describe_format(buf.format(), buf.item_size());
        let type_ok = match &self.element {
            Element::Scalar(p) => {
                kind_of(buf.format()).is_some_and(|k| k == kind(*p)) && buf.item_size() == p.size()
            }
            Element::Message { schema, .. } => buf.item_size() == schema.size(),
        };
        let shape = buf.shape();
        let shape_ok = match self.max_len {
            None => shape == self.shape.as_slice(),
            Some(max) => {
                (shape.len() == self.shape.len() + 1 && shape[1..] == *self.shape && shape[0] <= max)
                    // A one-element-shaped value holds one element.
                    || (shape == self.shape.as_slice() && !self.shape.is_empty() && max >= 1)
            }
        };
        if !type_ok || !shape_ok {
            return Err(argument_type(format!(
                "expected {}, got {got_type} of shape {}",
                self.expected(),
                shape_text(shape)
            )));
        }
        let len = buf.len_bytes();
        Ok(Source { buf, len })
    }

    /// The expected values, in words: `uint8 of shape (480, 640, 3)`.
    fn expected(&self) -> String {
        let element = match &self.element {
            Element::Scalar(p) => numpy_name(*p).to_owned(),
            Element::Message { schema, .. } => {
                format!("{} ({} bytes)", schema.type_name(), schema.size())
            }
        };
        match self.max_len {
            None => format!("{element} of shape {}", shape_text(&self.shape)),
            Some(max) => {
                let each = if self.shape.is_empty() {
                    String::new()
                } else {
                    format!(", each of shape {}", shape_text(&self.shape))
                };
                format!("{element}: up to {max} elements{each}")
            }
        }
    }
}

/// A buffer to publish, checked ([`ArrayCodec::source`]).
pub(crate) struct Source {
    buf: PyUntypedBuffer,
    len: usize,
}

impl Source {
    /// The message's length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Copies the buffer, in C order, into `dst`.
    pub(crate) fn copy_into(&self, dst: &mut [u8]) {
        assert_eq!(dst.len(), self.len, "a source fills its destination exactly");
        if self.len == 0 {
            return;
        }
        let src = self.buf.buf_ptr().cast::<u8>().cast_const();
        let item = self.buf.item_size();
        if self.buf.is_c_contiguous() {
            // SAFETY: a C-contiguous buffer holds `len_bytes` bytes from `buf_ptr` (PEP 3118:
            // `len` is the product of the shape times the item size), alive while `self.buf`
            // holds the export; `dst` is as long (asserted) and a distinct Rust slice.
            let bytes = unsafe { std::slice::from_raw_parts(src, self.len) };
            dst.copy_from_slice(bytes);
            return;
        }
        let shape = self.buf.shape();
        let strides = self.buf.strides();
        let mut index = vec![0usize; shape.len()];
        for chunk in dst.chunks_exact_mut(item) {
            let offset: isize = index.iter().zip(strides).map(|(&i, &s)| i as isize * s).sum();
            // SAFETY: `index` is within `shape`, so by PEP 3118 the item at `buf + Σ index·stride`
            // lies in the exporter's memory (no suboffsets: checked by `source`), `item` bytes
            // long, alive while `self.buf` holds the export.
            let at = unsafe { src.offset(offset) };
            // SAFETY: see above: `item` readable bytes at `at`.
            let bytes = unsafe { std::slice::from_raw_parts(at, item) };
            chunk.copy_from_slice(bytes);
            // The next index in C order.
            for d in (0..shape.len()).rev() {
                index[d] += 1;
                if index[d] < shape[d] {
                    break;
                }
                index[d] = 0;
            }
        }
    }
}

/// The kinds a buffer format may name.
#[derive(PartialEq, Eq)]
enum Kind {
    Signed,
    Unsigned,
    Float,
    Bool,
}

fn kind(p: Primitive) -> Kind {
    match p {
        Primitive::I8 | Primitive::I16 | Primitive::I32 | Primitive::I64 => Kind::Signed,
        Primitive::F32 | Primitive::F64 => Kind::Float,
        Primitive::Bool => Kind::Bool,
        _ => Kind::Unsigned,
    }
}

/// The kind of a one-item struct-module format (`"<f"`, `"B"`, `"=q"`), native or
/// little-endian; `None` for anything else (big-endian, structs, several items).
fn kind_of(format: &CStr) -> Option<Kind> {
    let f = format.to_str().ok()?;
    let f = f.strip_prefix(['@', '=', '<']).unwrap_or(f);
    let f = f.strip_prefix('1').unwrap_or(f);
    match f {
        "b" | "h" | "i" | "l" | "q" | "n" => Some(Kind::Signed),
        "B" | "H" | "I" | "L" | "Q" | "N" => Some(Kind::Unsigned),
        "e" | "f" | "d" => Some(Kind::Float),
        "?" => Some(Kind::Bool),
        _ => None,
    }
}

/// A buffer's element type in numpy's words (`float32`), or its format.
fn describe_format(format: &CStr, item_size: usize) -> String {
    let bits = item_size * 8;
    match kind_of(format) {
        Some(Kind::Signed) => format!("int{bits}"),
        Some(Kind::Unsigned) => format!("uint{bits}"),
        Some(Kind::Float) => format!("float{bits}"),
        Some(Kind::Bool) => "bool".to_owned(),
        None => format!("format {:?} ({item_size} bytes)", format.to_string_lossy()),
    }
}

fn numpy_name(p: Primitive) -> &'static str {
    match p {
        Primitive::U8 => "uint8",
        Primitive::U16 => "uint16",
        Primitive::U32 => "uint32",
        Primitive::U64 => "uint64",
        Primitive::I8 => "int8",
        Primitive::I16 => "int16",
        Primitive::I32 => "int32",
        Primitive::I64 => "int64",
        Primitive::F32 => "float32",
        Primitive::F64 => "float64",
        _ => "bool",
    }
}

fn shape_text(shape: &[usize]) -> String {
    match shape {
        [n] => format!("({n},)"),
        _ => format!("({})", shape.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", ")),
    }
}

fn type_name(value: &Bound<'_, PyAny>) -> String {
    value.get_type().name().map(|n| n.to_string()).unwrap_or_default()
}

pub(crate) use eshm::python::fill_buffer_view as fill_view;

/// A sample held in place (or, for a topic of small messages, its copy), exported read-only
/// through the buffer protocol; dropping the last reference gives the sample back.
#[pyclass(module = "eshm", name = "HeldSample", frozen)]
pub(crate) struct HeldSample {
    sample: RawSample,
}

impl HeldSample {
    pub(crate) fn new(sample: RawSample) -> HeldSample {
        HeldSample { sample }
    }
}

#[pymethods]
impl HeldSample {
    /// Whether the bytes are in shared memory (a topic of messages of 4 KiB or more), not a
    /// copy.
    #[getter]
    fn in_place(&self) -> bool {
        self.sample.is_in_place()
    }

    /// The message's length in bytes.
    fn __len__(&self) -> usize {
        self.sample.len()
    }

    /// # Safety
    ///
    /// Called by CPython with a valid `view`.
    unsafe fn __getbuffer__(
        slf: Bound<'_, Self>,
        view: *mut ffi::Py_buffer,
        flags: c_int,
    ) -> PyResult<()> {
        let bytes = slf.get().sample.as_bytes();
        let (ptr, len) = (bytes.as_ptr().cast_mut(), bytes.len());
        // SAFETY: `view` comes from CPython; the bytes stay unchanged while the sample lives (its
        // hold keeps the writer out, it keeps the mapping: `RawSample::as_bytes`), and the view
        // keeps the sample's object (`owner`) alive; exported read-only.
        unsafe { fill_view(view, flags, ptr, len, true, slf.into_any()) }
    }

    /// # Safety
    ///
    /// Called by CPython with a view `__getbuffer__` filled; it releases nothing (the view's
    /// reference to its owner is CPython's to drop) and does not touch `_view`.
    unsafe fn __releasebuffer__(&self, _view: *mut ffi::Py_buffer) {}
}

/// What `recv_view()` returns: `with sub.recv_view() as frame:` gives the read-only array (or,
/// for a message topic, the decoded message); the end of the block drops this object's
/// reference, so the sample is given back once no array over it is left.
#[pyclass(module = "eshm", name = "SampleView", frozen)]
pub(crate) struct SampleView {
    value: std::sync::Mutex<Option<Py<PyAny>>>,
}

impl SampleView {
    pub(crate) fn new(value: Py<PyAny>) -> SampleView {
        SampleView { value: std::sync::Mutex::new(Some(value)) }
    }
}

#[pymethods]
impl SampleView {
    /// The value: a read-only array over the held sample, or the decoded message.
    #[getter]
    fn value(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let value = self.value.lock().unwrap_or_else(|p| p.into_inner());
        value
            .as_ref()
            .map(|v| v.clone_ref(py))
            .ok_or_else(|| crate::errors::closed("the view was released"))
    }

    fn __enter__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.value(py)
    }

    /// Drops this object's reference (arrays still referenced elsewhere keep the sample).
    fn release(&self) {
        let value = self.value.lock().unwrap_or_else(|p| p.into_inner()).take();
        drop(value);
    }

    fn __exit__(
        &self,
        _exc_type: &Bound<'_, PyAny>,
        _exc: &Bound<'_, PyAny>,
        _tb: &Bound<'_, PyAny>,
    ) -> bool {
        self.release();
        false
    }
}
