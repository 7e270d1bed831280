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
//! independent copies. Arrays read as lists (of views, for arrays of messages) and are set
//! from any sequence of the right length; `bool` fields accept only `bool`s, integer fields
//! only integers in range, and enum fields only the values of their variants (`ValueError`
//! otherwise, naming them).

use crate::message::Message;
use crate::schema::{Kind, Primitive, Schema};
use pyo3::PyClass;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use std::sync::{Arc, Mutex, MutexGuard};

/// The bytes behind a message object: a shared buffer and the range of this (sub-)message.
#[derive(Clone, Debug)]
pub struct Storage {
    buf: Arc<Mutex<Vec<u8>>>,
    offset: usize,
    len: usize,
}

impl Storage {
    /// Storage that owns `bytes`.
    pub fn new(bytes: Vec<u8>) -> Storage {
        let len = bytes.len();
        Storage { buf: Arc::new(Mutex::new(bytes)), offset: 0, len }
    }

    /// A view of `len` bytes at `offset` within this storage.
    ///
    /// # Panics
    ///
    /// If the range is outside this storage (generated code passes schema offsets).
    pub fn at(&self, offset: usize, len: usize) -> Storage {
        assert!(offset + len <= self.len, "eshm bug: field outside its message");
        Storage { buf: self.buf.clone(), offset: self.offset + offset, len }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<u8>> {
        // A panic while holding the lock leaves plain bytes behind: still usable.
        self.buf.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Calls `f` with the bytes (under the storage's lock: `f` must not touch it again).
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        f(&self.lock()[self.offset..self.offset + self.len])
    }

    /// A copy of the bytes.
    pub fn to_vec(&self) -> Vec<u8> {
        self.with_bytes(<[u8]>::to_vec)
    }

    /// Reads `N` bytes at `offset` within this storage.
    fn read<const N: usize>(&self, offset: usize) -> [u8; N] {
        let guard = self.lock();
        let start = self.offset + offset;
        guard[start..start + N].try_into().expect("N bytes")
    }

    /// Overwrites the bytes at `offset` within this storage.
    fn write(&self, offset: usize, bytes: &[u8]) {
        assert!(offset + bytes.len() <= self.len, "eshm bug: write outside its message");
        let start = self.offset + offset;
        self.lock()[start..start + bytes.len()].copy_from_slice(bytes);
    }

    /// Appends a copy of the bytes to `out`.
    pub fn extend_into(&self, out: &mut Vec<u8>) {
        self.with_bytes(|bytes| out.extend_from_slice(bytes));
    }

    /// Replaces all the bytes of this (sub-)message.
    pub fn set_all(&self, bytes: &[u8]) {
        assert_eq!(bytes.len(), self.len, "eshm bug: wrong message size");
        self.write(0, bytes);
    }
}

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

macro_rules! number_field {
    ($($t:ty),*) => {$(
        impl PyField for $t {
            fn get(py: Python<'_>, storage: &Storage) -> PyResult<Py<PyAny>> {
                let v = <$t>::from_le_bytes(storage.read::<{ size_of::<$t>() }>(0));
                Ok(v.into_pyobject(py)?.into_any().unbind())
            }
            fn set(storage: &Storage, value: &Bound<'_, PyAny>) -> PyResult<()> {
                let v: $t = value.extract()?;
                storage.write(0, &v.to_le_bytes());
                Ok(())
            }
        }
    )*};
}

number_field!(u8, u16, u32, u64, i8, i16, i32, i64, f32, f64);

impl PyField for bool {
    fn get(py: Python<'_>, storage: &Storage) -> PyResult<Py<PyAny>> {
        let v = storage.read::<1>(0)[0] != 0;
        Ok(v.into_pyobject(py)?.to_owned().into_any().unbind())
    }
    fn set(storage: &Storage, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let v: bool = value.extract()?;
        storage.write(0, &[u8::from(v)]);
        Ok(())
    }
}

impl<T: PyField, const N: usize> PyField for [T; N] {
    fn get(py: Python<'_>, storage: &Storage) -> PyResult<Py<PyAny>> {
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
        // Convert everything first, so that a bad item leaves the field unchanged.
        let scratch = Storage::new(storage.to_vec());
        let size = size_of::<T>();
        for (i, item) in value.try_iter()?.enumerate() {
            T::set(&scratch.at(i * size, size), &item?)?;
        }
        storage.set_all(&scratch.to_vec());
        Ok(())
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
    module.add_class::<T::Class>()
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
            decode: |py, bytes| T::new_object(py, from_bytes::<T>(bytes)?),
        }
    }
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

// -----------------------------------------------------------------------------------------
// What the generated code calls.

#[doc(hidden)]
pub fn field_get<T: PyMessage>(py: Python<'_>, storage: &Storage) -> PyResult<Py<PyAny>> {
    T::new_object(py, storage.clone())
}

#[doc(hidden)]
pub fn field_set<T: PyMessage>(storage: &Storage, value: &Bound<'_, PyAny>) -> PyResult<()> {
    let bytes = message_bytes::<T>(value)?.ok_or_else(|| {
        PyTypeError::new_err(format!(
            "expected a `{}`, got {}",
            T::SCHEMA.type_name(),
            type_name(value)
        ))
    })?;
    storage.set_all(&bytes);
    Ok(())
}

/// The bytes of `value` if it is a `T`: an instance of `T`'s class, or of another class of
/// the same message type (same fingerprint). Each extension module that uses a message type
/// has its own copy of the class (`eshm.msg.Vector3`, and the one inside a user's module
/// whose messages nest a `Vector3`); they are interchangeable. `Ok(None)` if it is not a `T`.
fn message_bytes<T: PyMessage>(value: &Bound<'_, PyAny>) -> PyResult<Option<Vec<u8>>> {
    if let Ok(object) = value.cast::<T::Class>() {
        return Ok(Some(T::storage(object.get()).to_vec()));
    }
    let same_type = value
        .get_type()
        .getattr("FINGERPRINT")
        .and_then(|f| f.extract::<u64>())
        .is_ok_and(|f| f == T::SCHEMA.fingerprint());
    if !same_type {
        return Ok(None);
    }
    let bytes: Vec<u8> = value.call_method0("to_bytes")?.extract()?;
    Ok(Some(from_bytes::<T>(&bytes)?.to_vec()))
}

/// Builds an instance's storage from keyword arguments (fields not given are zero).
#[doc(hidden)]
pub fn construct<T: Message>(
    kwargs: Option<&Bound<'_, PyDict>>,
    set: impl Fn(&Storage, &str, &Bound<'_, PyAny>) -> Option<PyResult<()>>,
) -> PyResult<Storage> {
    let storage = Storage::new(T::SCHEMA.init_bytes());
    if let Some(kwargs) = kwargs {
        for (key, value) in kwargs.iter() {
            let key: String = key.extract()?;
            match set(&storage, &key, &value) {
                Some(result) => result?,
                None => {
                    return Err(PyTypeError::new_err(format!(
                        "`{}` has no field `{key}` (fields: {})",
                        T::SCHEMA.type_name(),
                        field_names(T::SCHEMA).join(", ")
                    )));
                }
            }
        }
    }
    Ok(storage)
}

fn field_names(schema: &Schema) -> Vec<&str> {
    match schema.kind() {
        Kind::Struct { fields, .. } => fields.iter().map(|f| f.name()).collect(),
        _ => Vec::new(),
    }
}

/// `TypeName(field=value, ...)`, from the schema.
#[doc(hidden)]
pub fn repr(schema: &Schema, storage: &Storage) -> String {
    let bytes = storage.to_vec();
    let mut out = String::new();
    repr_into(schema, &bytes, &mut out);
    out
}

fn repr_into(schema: &Schema, bytes: &[u8], out: &mut String) {
    use std::fmt::Write as _;
    match schema.kind() {
        Kind::Primitive(p) => {
            let le = |n: usize| {
                let mut b = [0u8; 8];
                b[..n].copy_from_slice(&bytes[..n]);
                u64::from_le_bytes(b)
            };
            let _ = match p {
                Primitive::Bool => write!(out, "{}", if bytes[0] != 0 { "True" } else { "False" }),
                Primitive::F32 => {
                    write!(out, "{:?}", f32::from_le_bytes(bytes[..4].try_into().unwrap()))
                }
                Primitive::F64 => {
                    write!(out, "{:?}", f64::from_le_bytes(bytes[..8].try_into().unwrap()))
                }
                p if p.is_signed() => write!(out, "{}", p.read_integer(bytes).unwrap_or_default()),
                p => write!(out, "{}", le(p.size())),
            };
        }
        Kind::Array { element, len } => {
            out.push('[');
            for i in 0..*len as usize {
                if i > 0 {
                    out.push_str(", ");
                }
                repr_into(element, &bytes[i * element.size()..(i + 1) * element.size()], out);
            }
            out.push(']');
        }
        Kind::Struct { name, fields } => {
            out.push_str(name);
            out.push('(');
            for (i, f) in fields.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(f.name());
                out.push('=');
                repr_into(f.schema(), &bytes[f.offset()..f.offset() + f.schema().size()], out);
            }
            out.push(')');
        }
        Kind::Enum { repr, .. } => {
            let _ = write!(out, "{}", repr.read_integer(bytes).unwrap_or_default());
        }
    }
}

/// `from_bytes`: checks the length and every `bool` and enum field first.
#[doc(hidden)]
pub fn from_bytes<T: Message>(data: &[u8]) -> PyResult<Storage> {
    T::SCHEMA.validate(data).map_err(|e| {
        PyValueError::new_err(format!("not a valid `{}`: {e}", T::SCHEMA.type_name()))
    })?;
    Ok(Storage::new(data.to_vec()))
}

/// The bytes as a Python `bytes`.
#[doc(hidden)]
pub fn to_bytes<'py>(py: Python<'py>, storage: &Storage) -> Bound<'py, PyBytes> {
    storage.with_bytes(|bytes| PyBytes::new(py, bytes))
}

/// `__eq__`: same message type (see `message_bytes`) and same bytes.
#[doc(hidden)]
pub fn eq<T: PyMessage>(storage: &Storage, other: &Bound<'_, PyAny>) -> bool {
    let other = message_bytes::<T>(other).ok().flatten();
    other.is_some_and(|bytes| storage.with_bytes(|mine| bytes == mine))
}

/// An enum field: its integer value.
#[doc(hidden)]
pub fn enum_get<T: Message>(py: Python<'_>, storage: &Storage) -> PyResult<Py<PyAny>> {
    let Kind::Enum { repr, .. } = T::SCHEMA.kind() else { unreachable!("enum schema") };
    let value = storage.with_bytes(|bytes| repr.read_integer(bytes)).unwrap_or_default();
    Ok(value.into_pyobject(py)?.into_any().unbind())
}

/// An enum field: set from an integer that is one of the variants' values.
#[doc(hidden)]
pub fn enum_set<T: Message>(storage: &Storage, value: &Bound<'_, PyAny>) -> PyResult<()> {
    let Kind::Enum { name, repr, variants } = T::SCHEMA.kind() else { unreachable!("enum schema") };
    let v: i64 = value.extract()?;
    if !variants.iter().any(|variant| variant.value() == v) {
        let names: Vec<String> =
            variants.iter().map(|x| format!("{}={}", x.name(), x.value())).collect();
        return Err(PyValueError::new_err(format!(
            "{v} is not a `{name}` value ({})",
            names.join(", ")
        )));
    }
    storage.write(0, &v.to_le_bytes()[..repr.size()]);
    Ok(())
}

/// `SCHEMA_BYTES` class attribute.
#[doc(hidden)]
pub fn schema_bytes(py: Python<'_>, schema: &Schema) -> Py<PyBytes> {
    PyBytes::new(py, &schema.encode()).unbind()
}
