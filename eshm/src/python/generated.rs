//! What the code that `#[eshm(python)]` generates calls (through `eshm::__private::python`;
//! not a public API): construction, fields, `repr`, equality and byte conversions of message
//! objects.

use super::{PyMessage, Storage, type_name};
use crate::message::Message;
use crate::schema::{Kind, Primitive, Schema};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyTuple};

/// A nested message field: a view of the parent's storage.
pub fn field_get<T: PyMessage>(py: Python<'_>, storage: &Storage) -> PyResult<Py<PyAny>> {
    T::new_object(py, storage.clone())
}

/// Sets a nested message field from an instance of its class.
pub fn field_set<T: PyMessage>(storage: &Storage, value: &Bound<'_, PyAny>) -> PyResult<()> {
    let bytes = message_bytes::<T>(value)?.ok_or_else(|| {
        PyTypeError::new_err(format!(
            "expected a `{}`, got {}",
            T::SCHEMA.type_name(),
            type_name(value)
        ))
    })?;
    storage.set_all(&bytes)
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
        Kind::Array { element, .. } | Kind::Slice { element, .. } => {
            out.push('[');
            for (i, item) in bytes.chunks_exact(element.size()).enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                repr_into(element, item, out);
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
pub fn from_bytes<T: Message>(data: &[u8]) -> PyResult<Storage> {
    check::<T>(data)?;
    Ok(Storage::new(data.to_vec()))
}

/// `ValueError` unless `data` is a valid `T` (length, `bool` and enum fields).
fn check<T: Message>(data: &[u8]) -> PyResult<()> {
    T::SCHEMA
        .validate(data)
        .map_err(|e| PyValueError::new_err(format!("not a valid `{}`: {e}", T::SCHEMA.type_name())))
}

/// `from_buffer`: a view of `buffer` at `offset`, checked as `from_bytes` checks.
pub fn from_buffer<T: Message>(buffer: &Bound<'_, PyAny>, offset: i64) -> PyResult<Storage> {
    let storage = Storage::from_buffer(buffer, offset, size_of::<T>(), &T::SCHEMA.type_name())?;
    check::<T>(&storage.to_vec())?;
    Ok(storage)
}

/// The bytes as a Python `bytes`.
pub fn to_bytes<'py>(py: Python<'py>, storage: &Storage) -> Bound<'py, PyBytes> {
    // Copied straight into the new object (no intermediate buffer: messages may be MiBs).
    PyBytes::new_with(py, storage.len(), |out| {
        storage.copy_to(out);
        Ok(())
    })
    .expect("allocating bytes of a message's size")
}

/// `__eq__`: same message type (see `message_bytes`) and same bytes.
pub fn eq<T: PyMessage>(storage: &Storage, other: &Bound<'_, PyAny>) -> bool {
    let other = message_bytes::<T>(other).ok().flatten();
    other.is_some_and(|bytes| bytes == storage.to_vec())
}

/// The doc comments of an enum and of its variants (name, text; empty where there is none):
/// the `__doc__` of the `IntEnum` class its fields read as, and of its members.
#[derive(Debug)]
pub struct EnumDocs {
    /// The enum's.
    pub doc: &'static str,
    /// Each variant's.
    pub variants: &'static [(&'static str, &'static str)],
}

/// An enum field: a member of an `eshm.Enum` (`IntEnum`) class made for `T` by the `eshm`
/// Python package (`eshm._declare._generated_enum`), or its integer value where that package
/// is not installed or the value is no variant's.
pub fn enum_get<T: Message>(
    py: Python<'_>,
    storage: &Storage,
    docs: &EnumDocs,
) -> PyResult<Py<PyAny>> {
    let Kind::Enum { repr, variants, .. } = T::SCHEMA.kind() else { unreachable!("enum schema") };
    let mut bytes = [0u8; 8]; // an enum's integer type has at most 8 bytes
    let bytes = &mut bytes[..storage.len()];
    storage.copy_to(bytes);
    let value = repr.read_integer(bytes).unwrap_or_default();
    let int = if *repr == Primitive::U64 {
        (value as u64).into_pyobject(py)?.into_any() // the encoding's i64 of the same bits
    } else {
        value.into_pyobject(py)?.into_any()
    };
    if !variants.iter().any(|v| v.value() == value) {
        return Ok(int.unbind());
    }
    // The class is made (with the docs) on the first read of the type, then found by schema.
    let member = py.import("eshm._declare").and_then(|m| {
        let encoded = schema_bytes(py, T::SCHEMA);
        let class = match m.getattr("_GENERATED_ENUMS")?.get_item(&encoded) {
            Ok(class) => class,
            Err(_) => {
                m.getattr("_generated_enum")?.call1((encoded, docs.doc, docs.variants.to_vec()))?
            }
        };
        class.call1((&int,))
    });
    Ok(member.unwrap_or(int).unbind())
}

/// An enum field: set from an integer that is one of the variants' values.
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
    storage.write(0, &v.to_le_bytes()[..repr.size()])
}

/// `SCHEMA_BYTES` class attribute.
pub fn schema_bytes(py: Python<'_>, schema: &Schema) -> Py<PyBytes> {
    PyBytes::new(py, &schema.encode()).unbind()
}

/// `__reduce__` of a message object: `(eshm._unpickle_message, (module, name, bytes))`. The
/// class is found again by its module and name when unpickling, not by identity: a standard
/// type nested in a user's message comes from the user module's own copy of eshm, a class
/// object distinct from (but equal in layout to) `eshm.msg`'s, and unpickles as the latter.
pub fn reduce<'py>(object: &Bound<'py, PyAny>, storage: &Storage) -> PyResult<Bound<'py, PyTuple>> {
    let py = object.py();
    let unpickle = py.import("eshm")?.getattr("_unpickle_message")?;
    let class = object.get_type();
    let args = PyTuple::new(
        py,
        [
            class.getattr("__module__")?,
            class.getattr("__qualname__")?,
            to_bytes(py, storage).into_any(),
        ],
    )?;
    PyTuple::new(py, [unpickle, args.into_any()])
}

/// `__setstate__` of a message object: its bytes, checked.
pub fn set_state<T: Message>(storage: &Storage, state: &[u8]) -> PyResult<()> {
    check::<T>(state)?;
    storage.set_all(state)
}
