//! Python classes for message types (feature `python`).
//!
//! `#[derive(Message)]` with `#[eshm(python)]` generates a Python class for a struct (and field
//! conversions for a fieldless enum): a keyword constructor whose missing fields are zero, a
//! property per field, `__repr__`, `__eq__`, `to_bytes()` / `from_bytes()`, and the class
//! attributes `FINGERPRINT`, `SCHEMA` (the readable definition), `SCHEMA_BYTES` (the
//! encoding) and `SIZE`. The classes work with the `eshm` Python module's `Publisher` and
//! `Subscriber` like its own (`eshm.Publisher("robot/reading", Reading)`).
//!
//! An extension module of message classes needs nothing but eshm (with this feature) and
//! [`python_module!`](crate::python_module) in a `cdylib` crate built by maturin:
//!
//! ```
//! #[derive(Clone, Copy, eshm::Message)]
//! #[eshm(python(module = "my_messages"))]
//! #[repr(C)]
//! struct Reading { stamp_ns: u64, value: f64 }
//!
//! eshm::python_module!(my_messages, [Reading]);
//! ```
//!
//! A module with more in it (functions, other classes) is an ordinary PyO3 `#[pymodule]` that
//! calls [`add_class`] for each message type. `examples/python/custom_messages` in the
//! repository is a complete project.
//!
//! An instance holds the message's bytes. A nested message is a *view* of its parent's
//! bytes, so `pose.position.x = 1.0` changes `pose`; `to_bytes()` and `copy.copy()` make
//! independent copies. Arrays of numbers (nested or not) read as numpy arrays of their shape
//! that view the message's own bytes, so `msg.cells[0] = 5.0` changes `msg` and nothing is
//! converted element by element (`memoryview`s of that format and shape without numpy, or
//! without the `eshm` Python package); arrays of messages or enums read as lists (of views,
//! for messages). Arrays are set from any sequence or array of the right shape; `bool` fields
//! accept only `bool`s, integer fields only integers in range, and enum fields only the values
//! of their variants (`ValueError` otherwise, naming them). With the `eshm` Python package
//! installed, enum fields read as members of an `IntEnum` class made for each enum
//! (`eshm.Enum`), and every class has the numpy `dtype` of its layout and `frombuffer` (the
//! messages in a buffer as a numpy array).

use crate::message::Message;
use crate::schema::{Kind, Primitive, Scalar, ScalarError, Schema};
use pyo3::PyClass;
use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyList};
pub(crate) mod generated;
mod storage;

pub use storage::{Storage, fill_buffer_view};

/// A type whose values can be a field of a Python message class: numbers, `bool`, arrays of
/// such, and message types with `#[eshm(python)]` (implemented by the derive).
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no Python conversion",
    label = "the Python class of this message needs one for every field type",
    note = "add `#[eshm(python)]` to `{Self}` (every struct and enum inside a Python message needs it)"
)]
pub trait PyField: Message {
    /// The Python value of the field held by `storage`.
    ///
    /// # Errors
    ///
    /// Python errors creating the value.
    fn get(py: Python<'_>, storage: &Storage) -> PyResult<Py<PyAny>>;

    /// Stores `value` into the field held by `storage`.
    ///
    /// # Errors
    ///
    /// `TypeError` or `ValueError` (`OverflowError` for out-of-range integers) when `value`
    /// does not fit the field.
    fn set(storage: &Storage, value: &Bound<'_, PyAny>) -> PyResult<()>;
}

macro_rules! primitive_field {
    ($($t:ty),*) => {$(
        impl PyField for $t {
            fn get(py: Python<'_>, storage: &Storage) -> PyResult<Py<PyAny>> {
                let bytes = storage.read::<{ size_of::<$t>() }>(0);
                read_scalar(py, primitive_of::<$t>(), &bytes)
            }
            fn set(storage: &Storage, value: &Bound<'_, PyAny>) -> PyResult<()> {
                let mut bytes = [0u8; size_of::<$t>()];
                write_scalar(primitive_of::<$t>(), value, &mut bytes)?;
                storage.write(0, &bytes)
            }
        }
    )*};
}

primitive_field!(u8, u16, u32, u64, i8, i16, i32, i64, f32, f64, bool);

/// The primitive a primitive message type is.
const fn primitive_of<T: Message>() -> Primitive {
    match T::SCHEMA.kind() {
        Kind::Primitive(p) => *p,
        _ => panic!("called for primitive types only"),
    }
}

/// The Python object of the `p` value in `bytes`: `bool`, `int` or `float`.
///
/// # Errors
///
/// Python errors creating the object.
pub fn read_scalar(py: Python<'_>, p: Primitive, bytes: &[u8]) -> PyResult<Py<PyAny>> {
    Ok(match p.read(bytes) {
        Scalar::Bool(b) => PyBool::new(py, b).to_owned().into_any().unbind(),
        Scalar::Unsigned(v) => v.into_pyobject(py)?.into_any().unbind(),
        Scalar::Signed(v) => v.into_pyobject(py)?.into_any().unbind(),
        Scalar::Float(v) => PyFloat::new(py, v).into_any().unbind(),
    })
}

/// Writes the Python `value` as a `p` into `out`: a `bool` for `bool` (nothing else), an `int`
/// for the integer types, a number for the float types.
///
/// # Errors
///
/// `TypeError` for a value of another kind, `OverflowError` for an integer out of range.
pub fn write_scalar(p: Primitive, value: &Bound<'_, PyAny>, out: &mut [u8]) -> PyResult<()> {
    let scalar = match p {
        Primitive::Bool => Scalar::Bool(value.extract::<bool>()?),
        Primitive::F32 | Primitive::F64 => Scalar::Float(value.extract::<f64>()?),
        _ => match value.extract::<i64>() {
            Ok(v) => Scalar::Signed(v),
            Err(e) => Scalar::Unsigned(value.extract::<u64>().map_err(|_| e)?),
        },
    };
    p.write(scalar, out).map_err(|e| match e {
        ScalarError::Range { .. } => PyOverflowError::new_err(e.to_string()),
        _ => PyTypeError::new_err(e.to_string()),
    })
}

impl<T: PyField, const N: usize> PyField for [T; N] {
    fn get(py: Python<'_>, storage: &Storage) -> PyResult<Py<PyAny>> {
        if let Some((element, shape)) = number_array(Self::SCHEMA) {
            return number_array_view(py, storage, element, &shape);
        }
        let size = size_of::<T>();
        let items = (0..N)
            .map(|i| T::get(py, &storage.at(i * size, size)))
            .collect::<PyResult<Vec<_>>>()?;
        Ok(PyList::new(py, items)?.into_any().unbind())
    }
    fn set(storage: &Storage, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let len = value.len().map_err(|_| {
            PyTypeError::new_err(format!(
                "expected a sequence of {N} items, got {}",
                type_name(value)
            ))
        })?;
        if len != N {
            return Err(PyValueError::new_err(format!("expected {N} items, got {len}")));
        }
        if let Some((element, shape)) = number_array(Self::SCHEMA)
            && let Some(bytes) = number_array_bytes(value, element, &shape)?
        {
            return storage.set_all(&bytes);
        }
        // Convert everything first, so that a bad item leaves the field unchanged.
        let scratch = Storage::new(storage.to_vec());
        let size = size_of::<T>();
        for (i, item) in value.try_iter()?.enumerate() {
            T::set(&scratch.at(i * size, size), &item?)?;
        }
        storage.set_all(&scratch.to_vec())
    }
}

/// The innermost element and the shape of (nested) arrays of numbers or `bool`s; `None` for
/// arrays of messages or enums, which read as lists.
fn number_array(schema: &Schema) -> Option<(Primitive, Vec<usize>)> {
    let mut shape = Vec::new();
    let mut at = schema;
    loop {
        match at.kind() {
            Kind::Array { element, len } => {
                shape.push(*len as usize);
                at = element;
            }
            Kind::Primitive(p) => return Some((*p, shape)),
            _ => return None,
        }
    }
}

/// An array field of numbers: a numpy array of `shape` over the message's own bytes, as the
/// classes declared in Python give (`eshm._fields`), or, without numpy or without the `eshm`
/// Python package, a `memoryview` of that format and shape. Writable: it changes the message.
fn number_array_view(
    py: Python<'_>,
    storage: &Storage,
    element: Primitive,
    shape: &[usize],
) -> PyResult<Py<PyAny>> {
    let bytes = storage.export(py)?;
    if let Ok(view) = py.import("eshm._fields").and_then(|m| m.getattr("number_array_view")) {
        return Ok(view.call1((bytes, element.name(), shape.to_vec()))?.unbind());
    }
    let format = struct_format(element).to_str().expect("ASCII");
    let cast = (format, shape.to_vec());
    Ok(pyo3::types::PyMemoryView::from(&bytes)?.call_method1("cast", cast)?.unbind())
}

/// The bytes of an array-like `value` (a numpy array, a buffer) for an array field of numbers,
/// checked as the classes declared in Python check it (`eshm._fields`: shape, no floats into
/// integers, integers in range) and converted without a loop over the elements in Rust;
/// `None` where the `eshm` Python package is not there, or for a list or tuple, which the
/// element-by-element conversion takes (its errors name the item).
fn number_array_bytes(
    value: &Bound<'_, PyAny>,
    element: Primitive,
    shape: &[usize],
) -> PyResult<Option<Vec<u8>>> {
    if value.is_instance_of::<PyList>() || value.is_instance_of::<pyo3::types::PyTuple>() {
        return Ok(None);
    }
    let Ok(convert) =
        value.py().import("eshm._fields").and_then(|m| m.getattr("number_array_bytes"))
    else {
        return Ok(None);
    };
    Ok(Some(convert.call1((element.name(), shape.to_vec(), value))?.extract()?))
}

/// The `struct`-module (PEP 3118) format of one value of a primitive, in native order (which
/// is little-endian on every platform eshm supports): what buffer exports and memoryviews of
/// arrays of it say.
pub fn struct_format(p: Primitive) -> &'static std::ffi::CStr {
    match p {
        Primitive::U8 => c"B",
        Primitive::U16 => c"H",
        Primitive::U32 => c"I",
        Primitive::U64 => c"Q",
        Primitive::I8 => c"b",
        Primitive::I16 => c"h",
        Primitive::I32 => c"i",
        Primitive::I64 => c"q",
        Primitive::F32 => c"f",
        Primitive::F64 => c"d",
        Primitive::Bool => c"?",
    }
}

fn type_name(value: &Bound<'_, PyAny>) -> String {
    value.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into())
}

/// A message struct with a generated Python class (implemented by the derive).
pub trait PyMessage: PyField {
    /// The generated `#[pyclass]`.
    type Class: PyClass<Frozen = pyo3::pyclass::boolean_struct::True> + Sync;
    /// The storage of an instance.
    fn storage(object: &Self::Class) -> &Storage;
    /// A new Python object of the class around `storage`.
    ///
    /// # Errors
    ///
    /// Python errors creating the object.
    fn new_object(py: Python<'_>, storage: Storage) -> PyResult<Py<PyAny>>;
}

/// Defines the entry point of a Python extension module holding the generated classes of
/// message types: `eshm::python_module!(name, [TypeA, TypeB])` makes `import name` give
/// `name.TypeA` and `name.TypeB`. `name` must be the name of the built library, as maturin's
/// `module-name` says. The types need `#[eshm(python)]`; the crate needs eshm as a dependency
/// named `eshm`, with the `python` feature, and nothing else.
#[macro_export]
macro_rules! python_module {
    ($name:ident, [$($ty:ty),+ $(,)?]) => {
        /// The Python module's initialisation (generated by `eshm::python_module!`).
        #[$crate::__private::pyo3::pymodule]
        #[pyo3(crate = "::eshm::__private::pyo3")]
        fn $name(
            module: &$crate::__private::pyo3::Bound<
                '_,
                $crate::__private::pyo3::types::PyModule,
            >,
        ) -> $crate::__private::pyo3::PyResult<()> {
            $($crate::python::add_class::<$ty>(module)?;)+
            ::core::result::Result::Ok(())
        }
    };
}

/// Adds `T`'s generated class to `module`.
///
/// # Errors
///
/// Python errors creating the class.
pub fn add_class<T: PyMessage>(module: &Bound<'_, PyModule>) -> PyResult<()> {
    add_class_only::<T>(module)?;
    // `dtype` and `frombuffer`, from the `eshm` Python package when it is installed (the
    // `eshm` module gives them to its own `eshm.msg` classes once it is imported). Best
    // effort: without that package (or with one that has no such helper) the class has
    // everything else, and the module imports all the same.
    let py = module.py();
    let _ = py
        .import("eshm._declare")
        .and_then(|m| m.getattr("_add_numpy_helpers"))
        .and_then(|add| add.call1((class_of::<T>(py),)));
    Ok(())
}

fn add_class_only<T: PyMessage>(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<T::Class>()?;
    // A class declared without `module = "..."` belongs to the module it is added to (PyO3
    // would report `builtins`), so that its repr and pickling find it.
    let class = module.py().get_type::<T::Class>();
    if class.getattr("__module__")?.extract::<String>()? == "builtins" {
        class.setattr("__module__", module.name()?)?;
    }
    Ok(())
}

/// Direct conversions between the bytes of `T` and instances of `T`'s class, for code
/// compiled together with the class (the `eshm` module uses them for `eshm.msg`, saving the
/// Python method calls that classes from other modules need).
#[derive(Clone, Copy, Debug)]
pub struct NativeCodec {
    /// Appends the bytes of `value` to `out` if it is an instance of the class; `false` if not.
    pub encode: fn(&Bound<'_, PyAny>, &mut Vec<u8>) -> bool,
    /// A new instance holding `bytes`, after checking them (length, `bool` and enum fields).
    pub decode: fn(Python<'_>, &[u8]) -> PyResult<Py<PyAny>>,
}

impl NativeCodec {
    /// The conversions of `T`.
    pub fn of<T: PyMessage>() -> NativeCodec {
        NativeCodec {
            encode: |value, out| match value.cast::<T::Class>() {
                Ok(object) => {
                    T::storage(object.get()).extend_into(out);
                    true
                }
                Err(_) => false,
            },
            decode: |py, bytes| T::new_object(py, generated::from_bytes::<T>(bytes)?),
        }
    }
}

/// Adds the classes of [`eshm::msg`](crate::msg) to `module` (the `eshm.msg` module).
///
/// # Errors
///
/// Python errors creating the classes.
pub fn add_msg_classes(module: &Bound<'_, PyModule>) -> PyResult<()> {
    macro_rules! add {
        ($($t:ident),*) => { $(add_class_only::<crate::msg::$t>(module)?;)* };
    }
    crate::msg::with_types!(add);
    Ok(())
}

/// The direct conversions of `class`, if it is one of the classes of
/// [`eshm::msg`](crate::msg) compiled into this module.
pub fn msg_native_codec(class: &Bound<'_, pyo3::types::PyType>) -> Option<NativeCodec> {
    let py = class.py();
    macro_rules! find {
        ($($t:ident),*) => {
            $(if class_of::<crate::msg::$t>(py).is(class) {
                return Some(NativeCodec::of::<crate::msg::$t>());
            })*
        };
    }
    crate::msg::with_types!(find);
    None
}

/// `T`'s class object.
pub fn class_of<T: PyMessage>(py: Python<'_>) -> Bound<'_, pyo3::types::PyType> {
    py.get_type::<T::Class>()
}

/// A new Python object of `T`'s class holding `bytes` (which must be a valid `T`).
///
/// # Errors
///
/// Python errors creating the object.
pub fn new_object<T: PyMessage>(py: Python<'_>, bytes: Vec<u8>) -> PyResult<Py<PyAny>> {
    T::new_object(py, Storage::new(bytes))
}
