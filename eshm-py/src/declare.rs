//! Message types declared in Python (`class Imu(eshm.Message)`, `class Mode(eshm.Enum,
//! repr=eshm.u8)`, in `python/eshm/_declare.py`): the schemas come from the core's
//! `Schema::struct_of`, `array_of` and `enum_of`, which apply the rules of
//! `#[derive(eshm::Message)]` in its words, so a class declared in Python has the encoding and
//! the fingerprint of the Rust derive of the same struct. A broken rule raises
//! `eshm.MessageTypeError` (a `TypeError`) when the class is created.
//!
//! Schemas cross the boundary in their encoded form (`SCHEMA_BYTES`); `_schema_node` opens
//! one level of an encoding, for the Python side to build field accessors and numpy dtypes
//! from it (for any message class: declared in Python or generated from Rust).

use crate::errors::{Ex, invalid_argument, raise};
use eshm::Schema;
use eshm::schema::{Kind, LayoutError, Primitive, SchemaError};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

fn decode(encoded: &[u8]) -> PyResult<Schema> {
    Schema::decode(encoded).map_err(|e| invalid_argument(format!("invalid schema: {e}")))
}

fn layout_error(err: LayoutError) -> PyErr {
    let message = match err {
        // Built here, not decoded: the position in an encoding means nothing to the user.
        LayoutError::Schema(SchemaError::Invalid { reason, .. }) => reason,
        other => other.to_string(),
    };
    raise(Ex::MessageType, message)
}

fn encoded<'py>(py: Python<'py>, schema: &Schema) -> Bound<'py, PyBytes> {
    PyBytes::new(py, &schema.encode())
}

/// The encoded schema of `#[repr(C)] struct name { fields }` (each field a name and an
/// encoded schema), refused as the derive refuses it (padding, no fields, a name twice).
#[pyfunction]
fn _struct_schema<'py>(
    py: Python<'py>,
    name: &str,
    fields: Vec<(String, Vec<u8>)>,
) -> PyResult<Bound<'py, PyBytes>> {
    let fields = fields
        .into_iter()
        .map(|(field, schema)| Ok((field, decode(&schema)?)))
        .collect::<PyResult<Vec<_>>>()?;
    let schema = Schema::struct_of(name, fields).map_err(layout_error)?;
    Ok(encoded(py, &schema))
}

/// The encoded schema of `[element; len]`.
#[pyfunction]
fn _array_schema<'py>(
    py: Python<'py>,
    element: Vec<u8>,
    len: usize,
) -> PyResult<Bound<'py, PyBytes>> {
    let schema = Schema::array_of(decode(&element)?, len).map_err(layout_error)?;
    Ok(encoded(py, &schema))
}

/// The encoded schema of `#[repr(repr)] enum name { variants }` (`repr` is a scalar type's
/// name, `"u8"`; values as the encoding stores them: a `u64` value above `i64::MAX` as the
/// `i64` of the same bits).
#[pyfunction]
fn _enum_schema<'py>(
    py: Python<'py>,
    name: &str,
    repr: &str,
    variants: Vec<(String, i64)>,
) -> PyResult<Bound<'py, PyBytes>> {
    let repr = Primitive::from_name(repr)
        .ok_or_else(|| raise(Ex::MessageType, format!("`{repr}` is not a scalar type")))?;
    let schema = Schema::enum_of(name, repr, variants).map_err(layout_error)?;
    Ok(encoded(py, &schema))
}

/// One level of an encoded schema, as a tuple:
///
/// - `("primitive", name, size)`;
/// - `("array", element, len, size)`, the element encoded;
/// - `("struct", name, size, [(field, offset, schema), ...])`, each field's schema encoded;
/// - `("enum", name, repr, [(variant, value), ...])`, `repr` a scalar type's name;
/// - `("slice", element, max_len, size)`.
#[pyfunction]
fn _schema_node<'py>(py: Python<'py>, encoded: &[u8]) -> PyResult<Bound<'py, PyTuple>> {
    let schema = decode(encoded)?;
    let bytes = |s: &Schema| self::encoded(py, s).into_any();
    let items: Vec<Bound<'py, PyAny>> = match schema.kind() {
        Kind::Primitive(p) => vec![
            "primitive".into_pyobject(py)?.into_any(),
            p.name().into_pyobject(py)?.into_any(),
            p.size().into_pyobject(py)?.into_any(),
        ],
        Kind::Array { element, len } => vec![
            "array".into_pyobject(py)?.into_any(),
            bytes(element),
            len.into_pyobject(py)?.into_any(),
            schema.size().into_pyobject(py)?.into_any(),
        ],
        Kind::Slice { element, max_len } => vec![
            "slice".into_pyobject(py)?.into_any(),
            bytes(element),
            max_len.into_pyobject(py)?.into_any(),
            schema.size().into_pyobject(py)?.into_any(),
        ],
        Kind::Struct { name, fields } => {
            let list = PyList::empty(py);
            for f in fields.iter() {
                list.append((f.name(), f.offset(), bytes(f.schema())))?;
            }
            vec![
                "struct".into_pyobject(py)?.into_any(),
                name.as_ref().into_pyobject(py)?.into_any(),
                schema.size().into_pyobject(py)?.into_any(),
                list.into_any(),
            ]
        }
        Kind::Enum { name, repr, variants } => {
            let list = PyList::empty(py);
            for v in variants.iter() {
                list.append((v.name(), v.value()))?;
            }
            vec![
                "enum".into_pyobject(py)?.into_any(),
                name.as_ref().into_pyobject(py)?.into_any(),
                repr.name().into_pyobject(py)?.into_any(),
                list.into_any(),
            ]
        }
        _ => {
            return Err(invalid_argument(format!(
                "`{}`: a kind of schema this version of eshm cannot open",
                schema.type_name()
            )));
        }
    };
    PyTuple::new(py, items)
}

/// The bytes of the type's initial value: numbers zero, `bool`s false, enums their first
/// variant (what a keyword constructor starts from).
#[pyfunction]
fn _schema_init<'py>(py: Python<'py>, encoded: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
    Ok(PyBytes::new(py, &decode(encoded)?.init_bytes()))
}

/// Checks that `data` is a valid value of the type (length, every `bool` and enum field):
/// `ValueError` saying where it is not, as `from_bytes` of a generated class does.
#[pyfunction]
fn _schema_check(encoded: &[u8], data: &[u8]) -> PyResult<()> {
    let schema = decode(encoded)?;
    schema
        .validate(data)
        .map_err(|e| PyValueError::new_err(format!("not a valid `{}`: {e}", schema.type_name())))
}

/// `TypeName(field=value, ...)`, as the generated classes print their objects.
#[pyfunction]
fn _schema_repr(encoded: &[u8], data: &[u8]) -> PyResult<String> {
    let schema = decode(encoded)?;
    if data.len() != schema.size() {
        return Err(invalid_argument(format!(
            "{} bytes for a `{}` of {}",
            data.len(),
            schema.type_name(),
            schema.size()
        )));
    }
    let storage = eshm::python::Storage::new(data.to_vec());
    Ok(eshm::__private::python::repr(&schema, &storage))
}

/// Adds the functions to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_struct_schema, m)?)?;
    m.add_function(wrap_pyfunction!(_array_schema, m)?)?;
    m.add_function(wrap_pyfunction!(_enum_schema, m)?)?;
    m.add_function(wrap_pyfunction!(_schema_node, m)?)?;
    m.add_function(wrap_pyfunction!(_schema_init, m)?)?;
    m.add_function(wrap_pyfunction!(_schema_check, m)?)?;
    m.add_function(wrap_pyfunction!(_schema_repr, m)?)?;
    Ok(())
}
