//! `eshm.Array` and `eshm.Slice`: the type descriptors of array and slice topics (and of
//! array fields of Python-declared message classes).
//!
//! `eshm.Array(eshm.u8, (480, 640, 3))` is the Rust `[[[u8; 3]; 640]; 480]`: the same schema
//! (built with [`Schema::array_of`], innermost dimension first) and so the same fingerprint.
//! `eshm.Slice(eshm.f32, max_len=1 << 20)` is the Rust `[f32]` topic of at most `max_len`
//! elements ([`Schema::slice`]). An element is a scalar type (`eshm.f32`), a message class
//! (anything with `SCHEMA_BYTES`), or an `eshm.Array` (whose shape is appended:
//! `Array(Array(f32, 3), 2)` is `Array(f32, (2, 3))`).

use crate::codec::ScalarType;
use crate::errors::{argument_type, invalid_argument, ours};
use eshm::Schema;
use eshm::schema::Primitive;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple, PyType};
use std::ffi::CStr;

/// What an array or slice holds, element by element.
pub(crate) enum Element {
    Scalar(Primitive),
    /// A message class, with its schema.
    Message {
        class: Py<PyType>,
        schema: Schema,
    },
}

impl Element {
    /// The element of `value`: a scalar type, or a message class or instance.
    fn from_py(value: &Bound<'_, PyAny>) -> PyResult<Element> {
        let py = value.py();
        if let Ok(t) = value.cast::<ScalarType>() {
            return Ok(Element::Scalar(t.get().primitive()));
        }
        if let Ok(slice) = value.cast::<Slice>() {
            return Err(argument_type(format!(
                "an array element cannot be a slice ({})",
                slice.get().schema.type_name()
            )));
        }
        let class = match value.cast::<PyType>() {
            Ok(class) => class.clone(),
            Err(_) => value.get_type(),
        };
        if class.hasattr("SCHEMA_BYTES")? {
            let encoded: Vec<u8> =
                class.getattr("SCHEMA_BYTES")?.extract().map_err(|e| ours(py, e))?;
            let schema = Schema::decode(&encoded).map_err(|e| {
                invalid_argument(format!("{} has an invalid SCHEMA_BYTES: {e}", type_name(&class)))
            })?;
            if schema.slice_element().is_some() {
                return Err(argument_type(format!(
                    "an array element cannot be a slice ({})",
                    schema.type_name()
                )));
            }
            return Ok(Element::Message { class: class.unbind(), schema });
        }
        Err(argument_type(format!(
            "an array element is a scalar type such as eshm.f32 or eshm.u8, a message class, \
             or an eshm.Array; got {}",
            value.get_type().name()?
        )))
    }

    pub(crate) fn schema(&self) -> Schema {
        match self {
            Element::Scalar(p) => Schema::primitive(*p),
            Element::Message { schema, .. } => schema.clone(),
        }
    }

    pub(crate) fn size(&self) -> usize {
        match self {
            Element::Scalar(p) => p.size(),
            Element::Message { schema, .. } => schema.size(),
        }
    }

    /// The element's Python object: the scalar type (`eshm.f32`) or the class.
    fn to_py(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        match self {
            Element::Scalar(p) => Ok(Bound::new(py, ScalarType::new(*p))?.into_any().unbind()),
            Element::Message { class, .. } => Ok(class.clone_ref(py).into_any()),
        }
    }

    fn repr(&self, py: Python<'_>) -> String {
        match self {
            Element::Scalar(p) => ScalarType::new(*p).repr(),
            Element::Message { class, .. } => type_name(class.bind(py)),
        }
    }

    /// The PEP 3118 format of one element (native order, which is little-endian on every
    /// platform eshm supports), or `None` for a message class (its bytes, as `B`).
    pub(crate) fn format(&self) -> Option<&'static CStr> {
        match self {
            Element::Scalar(p) => Some(eshm::python::struct_format(*p)),
            Element::Message { .. } => None,
        }
    }

    /// The numpy dtype of one element: the scalar's, or the class's `dtype` if it has one,
    /// else an opaque `V<size>`. Fails if numpy is not installed.
    pub(crate) fn dtype<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let np = py.import("numpy")?;
        match self {
            Element::Scalar(p) => np.getattr("dtype")?.call1((numpy_code(*p),)),
            Element::Message { class, schema } => {
                let class = class.bind(py);
                if let Ok(dtype) = class.getattr("dtype")
                    && dtype.is_instance(&np.getattr("dtype")?)?
                {
                    return Ok(dtype);
                }
                np.getattr("dtype")?.call1((format!("V{}", schema.size()),))
            }
        }
    }

    pub(crate) fn clone_ref(&self, py: Python<'_>) -> Element {
        match self {
            Element::Scalar(p) => Element::Scalar(*p),
            Element::Message { class, schema } => {
                Element::Message { class: class.clone_ref(py), schema: schema.clone() }
            }
        }
    }
}

/// `module.QualName` of a class (`eshm.msg.Pose`).
fn type_name(class: &Bound<'_, PyType>) -> String {
    let module = class.module().map(|m| m.to_string()).unwrap_or_default();
    let name = class.qualname().map(|n| n.to_string()).unwrap_or_default();
    if module.is_empty() || module == "builtins" { name } else { format!("{module}.{name}") }
}

/// numpy's name of a primitive's dtype.
fn numpy_code(p: Primitive) -> &'static str {
    match p {
        Primitive::U8 => "<u1",
        Primitive::U16 => "<u2",
        Primitive::U32 => "<u4",
        Primitive::U64 => "<u8",
        Primitive::I8 => "<i1",
        Primitive::I16 => "<i2",
        Primitive::I32 => "<i4",
        Primitive::I64 => "<i8",
        Primitive::F32 => "<f4",
        Primitive::F64 => "<f8",
        Primitive::Bool => "?",
        _ => "V1",
    }
}

/// An element given as a scalar type, a class, or an `eshm.Array` (flattened: its element,
/// and its shape to append).
fn element_and_shape(value: &Bound<'_, PyAny>) -> PyResult<(Element, Vec<usize>)> {
    if let Ok(inner) = value.cast::<Array>() {
        let inner = inner.get();
        return Ok((inner.element.clone_ref(value.py()), inner.shape.clone()));
    }
    Ok((Element::from_py(value)?, Vec::new()))
}

/// A shape: an int, or a tuple (or list) of ints, each at least 1.
fn shape_from_py(shape: &Bound<'_, PyAny>) -> PyResult<Vec<usize>> {
    let dims: Vec<Bound<'_, PyAny>> = if let Ok(t) = shape.cast::<PyTuple>() {
        t.iter().collect()
    } else if let Ok(l) = shape.cast::<pyo3::types::PyList>() {
        l.iter().collect()
    } else {
        vec![shape.clone()]
    };
    if dims.is_empty() {
        return Err(invalid_argument("an array's shape has at least one dimension".into()));
    }
    dims.iter()
        .map(|d| {
            if d.is_instance_of::<pyo3::types::PyBool>()
                || !d.is_instance_of::<pyo3::types::PyInt>()
            {
                return Err(argument_type(format!(
                    "an array's shape is an int or a tuple of ints; got {}",
                    d.get_type().name()?
                )));
            }
            d.extract::<usize>().ok().filter(|&n| n >= 1).ok_or_else(|| {
                invalid_argument(format!("an array's dimensions are at least 1; got {d}"))
            })
        })
        .collect()
}

fn shape_repr(shape: &[usize]) -> String {
    match shape {
        [n] => n.to_string(),
        _ => format!("({})", shape.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", ")),
    }
}

/// The type of a fixed-shape array: `eshm.Array(eshm.u8, (480, 640, 3))` is the Rust
/// `[[[u8; 3]; 640]; 480]` (same schema, same fingerprint). Use it as the type of a topic
/// (`eshm.Publisher(name, eshm.Array(...))`) or of a field of a Python-declared message.
#[pyclass(module = "eshm", name = "Array", frozen)]
pub(crate) struct Array {
    pub(crate) element: Element,
    pub(crate) shape: Vec<usize>,
    pub(crate) schema: Schema,
    encoded: Vec<u8>,
}

#[pymethods]
impl Array {
    #[new]
    fn new(element: &Bound<'_, PyAny>, shape: &Bound<'_, PyAny>) -> PyResult<Array> {
        let (element, inner) = element_and_shape(element)?;
        let mut full = shape_from_py(shape)?;
        full.extend(inner);
        let mut schema = element.schema();
        for &n in full.iter().rev() {
            schema = Schema::array_of(schema, n).map_err(|e| invalid_argument(e.to_string()))?;
        }
        let encoded = schema.encode();
        Ok(Array { element, shape: full, schema, encoded })
    }

    /// The encoded schema (as a message class's `SCHEMA_BYTES`).
    #[getter(SCHEMA_BYTES)]
    fn schema_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.encoded)
    }

    /// The fingerprint of the schema.
    #[getter(FINGERPRINT)]
    fn fingerprint(&self) -> u64 {
        self.schema.fingerprint()
    }

    /// Size in bytes.
    #[getter(SIZE)]
    fn size(&self) -> usize {
        self.schema.size()
    }

    /// The element type: a scalar type (`eshm.u8`) or a message class.
    #[getter]
    fn element(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.element.to_py(py)
    }

    /// The shape, a tuple of ints.
    #[getter]
    fn shape<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.shape)
    }

    /// The numpy dtype of one element (needs numpy).
    #[getter]
    fn dtype<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.element.dtype(py)
    }

    /// The type as Rust spells it (`[[[u8; 3]; 640]; 480]`).
    #[getter]
    fn type_name(&self) -> String {
        self.schema.type_name()
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<Array>().is_ok_and(|o| o.get().encoded == self.encoded)
    }

    fn __hash__(&self) -> u64 {
        self.schema.fingerprint()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!("eshm.Array({}, {})", self.element.repr(py), shape_repr(&self.shape))
    }
}

/// The type of a slice topic: `eshm.Slice(eshm.f32, max_len=1 << 20)` is the Rust `[f32]`
/// topic of at most `max_len` elements. Each message holds 0 to `max_len` elements, each of
/// shape `shape` (`()` for a scalar element, `(3,)` for `eshm.Array(eshm.f32, 3)`).
#[pyclass(module = "eshm", name = "Slice", frozen)]
pub(crate) struct Slice {
    pub(crate) element: Element,
    /// The shape of one element (empty for a scalar).
    pub(crate) shape: Vec<usize>,
    pub(crate) max_len: usize,
    pub(crate) schema: Schema,
    encoded: Vec<u8>,
}

impl Slice {
    /// Bytes of one element of the slice (an `Array` element counts whole).
    pub(crate) fn item_size(&self) -> usize {
        self.element.size() * self.shape.iter().product::<usize>()
    }
}

#[pymethods]
impl Slice {
    #[new]
    #[pyo3(signature = (element, *, max_len))]
    fn new(element: &Bound<'_, PyAny>, max_len: &Bound<'_, PyAny>) -> PyResult<Slice> {
        let (element, shape) = element_and_shape(element)?;
        if max_len.is_instance_of::<pyo3::types::PyBool>()
            || !max_len.is_instance_of::<pyo3::types::PyInt>()
        {
            return Err(argument_type(format!(
                "max_len is an int; got {}",
                max_len.get_type().name()?
            )));
        }
        let max_len = max_len.extract::<usize>().ok().filter(|&n| n >= 1).ok_or_else(|| {
            invalid_argument(format!("a slice's max_len is at least 1; got {max_len}"))
        })?;
        let mut item = element.schema();
        for &n in shape.iter().rev() {
            item = Schema::array_of(item, n).map_err(|e| invalid_argument(e.to_string()))?;
        }
        let schema = Schema::slice(item, max_len).map_err(|e| invalid_argument(e.to_string()))?;
        let encoded = schema.encode();
        Ok(Slice { element, shape, max_len, schema, encoded })
    }

    /// The encoded schema.
    #[getter(SCHEMA_BYTES)]
    fn schema_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.encoded)
    }

    /// The fingerprint of the schema.
    #[getter(FINGERPRINT)]
    fn fingerprint(&self) -> u64 {
        self.schema.fingerprint()
    }

    /// The element type: a scalar type (`eshm.f32`) or a message class.
    #[getter]
    fn element(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.element.to_py(py)
    }

    /// The shape of one element: `()` for a scalar, `(3,)` for `eshm.Array(eshm.f32, 3)`.
    #[getter]
    fn shape<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.shape)
    }

    /// The most elements a message holds.
    #[getter]
    fn max_len(&self) -> usize {
        self.max_len
    }

    /// The numpy dtype of one element (needs numpy).
    #[getter]
    fn dtype<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.element.dtype(py)
    }

    /// The type as Rust spells it (`[f32]`).
    #[getter]
    fn type_name(&self) -> String {
        self.schema.type_name()
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<Slice>().is_ok_and(|o| o.get().encoded == self.encoded)
    }

    fn __hash__(&self) -> u64 {
        self.schema.fingerprint()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let element = if self.shape.is_empty() {
            self.element.repr(py)
        } else {
            format!("eshm.Array({}, {})", self.element.repr(py), shape_repr(&self.shape))
        };
        format!("eshm.Slice({element}, max_len={})", self.max_len)
    }
}
