//! How Python values become message bytes and back, decided once per topic from its default
//! value: `bool`, `int` (an `i64` topic), `float` (`f64`), a scalar type (`eshm.f32`,
//! `eshm.u8`, ...), a message class or instance (anything with `SCHEMA_BYTES`, `to_bytes`
//! and `from_bytes`, such as `eshm.msg.Pose` or a class generated in another extension), or an
//! enum class (an `eshm.Enum`: anything with the `SCHEMA_BYTES` of an enum, called with a
//! value to get its member).

use crate::errors::{argument_type, invalid_argument, ours};
use eshm::Schema;
use eshm::python::{NativeCodec, read_scalar, write_scalar};
use eshm::schema::Primitive;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyFloat, PyInt, PyType};

/// A scalar message type, usable where a default value is expected: `eshm.f32`, `eshm.u8`, ...
#[pyclass(module = "eshm", frozen, name = "ScalarType")]
pub(crate) struct ScalarType {
    primitive: Primitive,
}

#[pymethods]
impl ScalarType {
    /// The type's name (`"f32"`).
    #[getter]
    fn name(&self) -> &'static str {
        self.primitive.name()
    }

    /// Size in bytes.
    #[getter]
    fn size(&self) -> usize {
        self.primitive.size()
    }

    /// The fingerprint of its schema.
    #[getter]
    fn fingerprint(&self) -> u64 {
        Schema::primitive(self.primitive).fingerprint()
    }

    /// `value`, checked to fit the type (`OutOfRangeError`, an `OverflowError`, for an integer
    /// out of range; `ArgumentTypeError` for a value of another type).
    fn __call__(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let codec = Codec::Scalar(self.primitive);
        let mut bytes = Vec::new();
        codec.encode(value, &mut bytes)?;
        codec.decode(py, &bytes)
    }

    fn __repr__(&self) -> String {
        self.repr()
    }

    /// Pickling: the module attribute it is (`eshm.f32`), so that it unpickles as itself.
    fn __reduce__(&self) -> &'static str {
        self.attribute_name()
    }
}

impl ScalarType {
    pub(crate) fn new(primitive: Primitive) -> ScalarType {
        ScalarType { primitive }
    }

    pub(crate) fn primitive(&self) -> Primitive {
        self.primitive
    }

    /// `eshm.f32`, as `repr` shows it.
    pub(crate) fn repr(&self) -> String {
        format!("eshm.{}", self.attribute_name())
    }

    /// The Rust name, which `_eshm` uses as the attribute name (`f32`, `bool`).
    pub(crate) fn name_str(&self) -> &'static str {
        self.primitive.name()
    }

    /// Its attribute name in the `eshm` package (`f32`, and `bool_` for `bool`).
    fn attribute_name(&self) -> &'static str {
        if self.primitive == Primitive::Bool { "bool_" } else { self.primitive.name() }
    }

    /// Every scalar type, for the module.
    pub(crate) fn all() -> impl Iterator<Item = ScalarType> {
        Primitive::ALL.into_iter().map(|primitive| ScalarType { primitive })
    }
}

/// Converts between Python values and the bytes of one message type.
pub(crate) enum Codec {
    Scalar(Primitive),
    /// A message class: converted through its `to_bytes` and `from_bytes` methods, or
    /// directly (`native`) for the classes of `eshm.msg`, compiled into this module.
    Message {
        class: Py<PyType>,
        native: Option<NativeCodec>,
        /// The type's fingerprint, which another module's copy of the class shares.
        fingerprint: u64,
    },
    /// An array or slice topic (`eshm.Array`, `eshm.Slice`): numpy arrays or memoryviews.
    Array(std::sync::Arc<crate::ndarray::ArrayCodec>),
    /// An enum topic (an `eshm.Enum` class, or the `IntEnum` class of a Rust enum): members
    /// of the class, stored as its integer type.
    Enum {
        class: Py<PyType>,
        repr: Primitive,
        /// The type's fingerprint, which another class of the same enum shares.
        fingerprint: u64,
    },
}

/// What a topic carries, as decided from a default value.
pub(crate) struct Typed {
    pub(crate) codec: Codec,
    pub(crate) schema: Schema,
    /// Whether received bytes are checked before they are decoded: the type has invalid bit
    /// patterns (a `bool` or an enum).
    pub(crate) validate: bool,
    /// The value `subscribe()` returns before anything arrives.
    pub(crate) default: Py<PyAny>,
}

const EXPECTED: &str = "the message type comes from the default value: a bool, an int (i64), a float (f64), \
                        a scalar type such as eshm.f32 or eshm.u8, a message class or instance such as eshm.msg.Pose, \
                        an eshm.Enum class, or an eshm.Array or eshm.Slice";

fn message_class<'py>(value: &Bound<'py, PyAny>) -> Option<Bound<'py, PyType>> {
    let class = match value.cast::<PyType>() {
        Ok(class) => class.clone(),
        Err(_) => value.get_type(),
    };
    class.hasattr("SCHEMA_BYTES").ok()?.then_some(class)
}

impl Typed {
    /// The type of a service's or action's messages: as [`from_default`](Self::from_default),
    /// and also the built-in types `bool`, `int` (i64) and `float` (f64) themselves.
    pub(crate) fn from_type(value: &Bound<'_, PyAny>) -> PyResult<Typed> {
        let py = value.py();
        if value.is(py.get_type::<PyBool>()) {
            return Typed::from_default(PyBool::new(py, false).as_any());
        }
        if value.is(py.get_type::<PyInt>()) {
            return Typed::from_default(&0i64.into_pyobject(py)?.into_any());
        }
        if value.is(py.get_type::<PyFloat>()) {
            return Typed::from_default(&PyFloat::new(py, 0.0).into_any());
        }
        Typed::from_default(value)
    }

    pub(crate) fn from_default(value: &Bound<'_, PyAny>) -> PyResult<Typed> {
        let py = value.py();
        let scalar = |p: Primitive, default: Bound<'_, PyAny>| Typed {
            codec: Codec::Scalar(p),
            schema: Schema::primitive(p),
            validate: p == Primitive::Bool,
            default: default.unbind(),
        };
        if value.is_instance_of::<PyBool>() {
            return Ok(scalar(Primitive::Bool, value.clone()));
        }
        if value.is_instance_of::<PyInt>() {
            return Ok(scalar(Primitive::I64, value.clone()));
        }
        if value.is_instance_of::<PyFloat>() {
            return Ok(scalar(Primitive::F64, value.clone()));
        }
        if let Ok(t) = value.cast::<ScalarType>() {
            let p = t.get().primitive;
            let zero = Codec::Scalar(p).decode(py, &vec![0; p.size()])?;
            return Ok(scalar(p, zero.into_bound(py)));
        }
        let array = |codec: crate::ndarray::ArrayCodec, schema: &Schema| -> PyResult<Typed> {
            Ok(Typed {
                default: codec.default_value(py)?,
                codec: Codec::Array(std::sync::Arc::new(codec)),
                validate: schema.has_invalid_bit_patterns(),
                schema: schema.clone(),
            })
        };
        if let Ok(a) = value.cast::<crate::array::Array>() {
            let a = a.get();
            return array(crate::ndarray::ArrayCodec::of_array(py, a), &a.schema);
        }
        if let Ok(s) = value.cast::<crate::array::Slice>() {
            let s = s.get();
            return array(crate::ndarray::ArrayCodec::of_slice(py, s), &s.schema);
        }
        if let Some(class) = message_class(value) {
            let encoded: Vec<u8> =
                class.getattr("SCHEMA_BYTES")?.extract().map_err(|e| ours(py, e))?;
            let schema = Schema::decode(&encoded).map_err(|e| {
                invalid_argument(format!(
                    "{} has an invalid SCHEMA_BYTES: {e}",
                    class.name().map(|n| n.to_string()).unwrap_or_default()
                ))
            })?;
            if let eshm::schema::Kind::Enum { repr, variants, .. } = schema.kind() {
                let first = variants.first().map_or(0, |v| v.value());
                let default = if value.is_instance(&class)? {
                    value.clone()
                } else {
                    class.call1((first,))?
                };
                return Ok(Typed {
                    codec: Codec::Enum {
                        repr: *repr,
                        fingerprint: schema.fingerprint(),
                        class: class.unbind(),
                    },
                    validate: true,
                    schema,
                    default: default.unbind(),
                });
            }
            let default = if value.is_instance(&class)? { value.clone() } else { class.call0()? };
            return Ok(Typed {
                codec: Codec::Message {
                    native: eshm::python::msg_native_codec(&class),
                    fingerprint: schema.fingerprint(),
                    class: class.unbind(),
                },
                validate: schema.has_invalid_bit_patterns(),
                schema,
                default: default.unbind(),
            });
        }
        Err(argument_type(format!("{EXPECTED}; got {}", value.get_type().name()?)))
    }
}

/// Whether `value`'s class is of the message or enum type of `fingerprint` (its `FINGERPRINT`).
fn of_type(value: &Bound<'_, PyAny>, fingerprint: u64) -> bool {
    value
        .get_type()
        .getattr(intern!(value.py(), "FINGERPRINT"))
        .and_then(|f| f.extract::<u64>())
        .is_ok_and(|f| f == fingerprint)
}

impl Codec {
    /// Writes the bytes of `value` into `out` (cleared first). A value of another type raises
    /// `ArgumentTypeError`; an integer out of the scalar type's range `OutOfRangeError`.
    pub(crate) fn encode(&self, value: &Bound<'_, PyAny>, out: &mut Vec<u8>) -> PyResult<()> {
        out.clear();
        match self {
            Codec::Scalar(p) => {
                out.resize(p.size(), 0);
                write_scalar(*p, value, out).map_err(|e| ours(value.py(), e))
            }
            Codec::Array(codec) => {
                let source = codec.source(value)?;
                out.resize(source.len(), 0);
                source.copy_into(out);
                Ok(())
            }
            Codec::Enum { class, repr, fingerprint } => {
                let class = class.bind(value.py());
                // A member of the class, of another class of the same enum (the same
                // fingerprint), or an integer that is one of its values.
                if !of_type(value, *fingerprint) && !value.is_exact_instance_of::<PyInt>() {
                    return Err(argument_type(format!(
                        "expected a {} (or one of its values), got {}",
                        class.name()?,
                        value.get_type().name()?
                    )));
                }
                let member = class.call1((value,))?; // ValueError for no variant's value
                out.resize(repr.size(), 0);
                write_scalar(*repr, &member, out).map_err(|e| ours(value.py(), e))
            }
            Codec::Message { native: Some(native), .. } if (native.encode)(value, out) => Ok(()),
            Codec::Message { class, fingerprint, .. } => {
                let class = class.bind(value.py());
                // An instance of the class, or of another module's class of the same message
                // type (see `eshm::python::NativeCodec`): the same fingerprint.
                if !value.is_instance(class)? && !of_type(value, *fingerprint) {
                    return Err(argument_type(format!(
                        "expected a {}, got {}",
                        class.name()?,
                        value.get_type().name()?
                    )));
                }
                let bytes = value.call_method0(intern!(value.py(), "to_bytes"))?;
                let bytes = bytes.cast::<PyBytes>().map_err(|e| ours(value.py(), e.into()))?;
                out.extend_from_slice(bytes.as_bytes());
                Ok(())
            }
        }
    }

    /// The Python value of `bytes`, which the caller validated if the type has invalid bit
    /// patterns (see [`Typed::validate`]).
    pub(crate) fn decode(&self, py: Python<'_>, bytes: &[u8]) -> PyResult<Py<PyAny>> {
        Ok(match self {
            Codec::Scalar(p) => read_scalar(py, *p, bytes)?,
            Codec::Array(codec) => codec.decode(py, bytes)?,
            Codec::Enum { class, repr, .. } => {
                class.bind(py).call1((read_scalar(py, *repr, bytes)?,))?.unbind()
            }
            Codec::Message { native: Some(native), .. } => (native.decode)(py, bytes)?,
            Codec::Message { class, .. } => class
                .bind(py)
                .call_method1(intern!(py, "from_bytes"), (PyBytes::new(py, bytes),))?
                .unbind(),
        })
    }
}
