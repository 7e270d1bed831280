//! Messages as values, through the schema in a topic's header: decoding bytes to JSON or to
//! text, and encoding JSON (or a command-line word, for primitive types) to bytes.

use eshm::schema::{Kind, Primitive, Scalar, ScalarError, Schema};
use serde_json::{Map, Number, Value};
use std::fmt::Write as _;

/// The JSON value of a message: objects for structs (fields in order), arrays for arrays,
/// numbers and booleans for primitives, the integer value for enums. A non-finite float is
/// `null` (JSON has no NaN or infinity).
pub(crate) fn to_json(schema: &Schema, bytes: &[u8]) -> Value {
    match schema.kind() {
        Kind::Primitive(p) => primitive_json(*p, bytes),
        Kind::Array { element, len } => {
            let element = element.get();
            let size = element.size();
            Value::Array(
                (0..*len as usize).map(|i| to_json(element, &bytes[i * size..][..size])).collect(),
            )
        }
        Kind::Struct { fields, .. } => Value::Object(
            fields
                .iter()
                .map(|f| {
                    let s = f.schema();
                    (f.name().to_owned(), to_json(s, &bytes[f.offset()..][..s.size()]))
                })
                .collect::<Map<_, _>>(),
        ),
        Kind::Enum { repr, .. } => Value::from(repr.read_integer(bytes).unwrap_or_default()),
        Kind::Slice { element, .. } => {
            let element = element.get();
            Value::Array(bytes.chunks_exact(element.size()).map(|b| to_json(element, b)).collect())
        }
        _ => Value::Null, // a kind newer than this tool
    }
}

/// Elements of a slice shown in text mode; the rest are counted.
const TEXT_ELEMENTS: usize = 8;

fn primitive_json(p: Primitive, bytes: &[u8]) -> Value {
    match p.read(bytes) {
        Scalar::Bool(b) => Value::Bool(b),
        Scalar::Float(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
        Scalar::Unsigned(v) => Value::from(v),
        Scalar::Signed(v) => Value::from(v),
    }
}

/// A one-line readable form: `Pose { position: Vector3 { x: 1.0, .. }, .. }`, arrays as
/// `[1, 2]`, enums as `1 (Run)`.
pub(crate) fn to_text(schema: &Schema, bytes: &[u8]) -> String {
    let mut out = String::new();
    write_text(&mut out, schema, bytes);
    out
}

fn write_text(out: &mut String, schema: &Schema, bytes: &[u8]) {
    match schema.kind() {
        Kind::Primitive(p) => {
            let _ = match p.read(bytes) {
                // The shortest text that reads back as the same `f32`.
                Scalar::Float(f) if *p == Primitive::F32 => write!(out, "{:?}", f as f32),
                scalar => write!(out, "{scalar}"),
            };
        }
        Kind::Array { element, len } => {
            let element = element.get();
            out.push('[');
            for i in 0..*len as usize {
                if i > 0 {
                    out.push_str(", ");
                }
                write_text(out, element, &bytes[i * element.size()..][..element.size()]);
            }
            out.push(']');
        }
        Kind::Struct { name, fields } => {
            let _ = write!(out, "{name} {{ ");
            for (i, f) in fields.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "{}: ", f.name());
                write_text(out, f.schema(), &bytes[f.offset()..][..f.schema().size()]);
            }
            out.push_str(" }");
        }
        Kind::Enum { repr, variants, .. } => {
            let value = repr.read_integer(bytes).unwrap_or_default();
            let _ = match variants.iter().find(|v| v.value() == value) {
                Some(v) => write!(out, "{value} ({})", v.name()),
                None => write!(out, "{value} (not a variant)"),
            };
        }
        Kind::Slice { element, .. } => {
            // `len 1000: [1, 2, 3, ... (992 more)]`
            let element = element.get();
            let len = bytes.len() / element.size();
            let _ = write!(out, "len {len}: [");
            for (i, item) in bytes.chunks_exact(element.size()).take(TEXT_ELEMENTS).enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_text(out, element, item);
            }
            if len > TEXT_ELEMENTS {
                let _ = write!(out, ", ... ({} more)", len - TEXT_ELEMENTS);
            }
            out.push(']');
        }
        _ => out.push('?'), // a kind newer than this tool
    }
}

/// The bytes of the message that `json` describes. Fields a JSON object leaves out are zero
/// (an enum's first variant); unknown fields, wrong types, out-of-range numbers and arrays of
/// the wrong length are errors naming the field (`position.x: ...`).
pub(crate) fn from_json(schema: &Schema, json: &Value) -> Result<Vec<u8>, String> {
    if let Kind::Slice { element, max_len } = schema.kind() {
        // A slice: a JSON array of 0 to `max_len` elements.
        let element = element.get();
        let items = json.as_array().ok_or_else(|| {
            format!("expected an array of up to {max_len} {}, got {json}", element.type_name())
        })?;
        if items.len() > *max_len as usize {
            return Err(format!("at most {max_len} items, got {}", items.len()));
        }
        let size = element.size();
        let mut bytes = element.init_bytes().repeat(items.len());
        for (i, item) in items.iter().enumerate() {
            write_json(element, item, &mut bytes[i * size..][..size], &format!("[{i}]"))?;
        }
        return Ok(bytes);
    }
    let mut bytes = schema.init_bytes();
    write_json(schema, json, &mut bytes, "")?;
    Ok(bytes)
}

fn write_json(schema: &Schema, json: &Value, out: &mut [u8], path: &str) -> Result<(), String> {
    let at = |msg: String| if path.is_empty() { msg } else { format!("{path}: {msg}") };
    match schema.kind() {
        Kind::Primitive(p) => {
            let bytes = primitive_from_json(*p, json).map_err(at)?;
            out[..bytes.len()].copy_from_slice(&bytes);
        }
        Kind::Array { element, len } => {
            let element = element.get();
            let items = json.as_array().ok_or_else(|| {
                at(format!("expected an array of {len} {}, got {json}", element.type_name()))
            })?;
            if items.len() != *len as usize {
                return Err(at(format!("expected {len} items, got {}", items.len())));
            }
            for (i, item) in items.iter().enumerate() {
                let size = element.size();
                write_json(element, item, &mut out[i * size..][..size], &format!("{path}[{i}]"))?;
            }
        }
        Kind::Struct { name, fields } => {
            let object = json
                .as_object()
                .ok_or_else(|| at(format!("expected an object (a `{name}`), got {json}")))?;
            for (key, value) in object {
                let Some(f) = fields.iter().find(|f| f.name() == key) else {
                    let names: Vec<&str> = fields.iter().map(|f| f.name()).collect();
                    let hint = crate::suggest(key, names.iter().copied())
                        .map(|s| format!("did you mean `{s}`? "))
                        .unwrap_or_default();
                    return Err(at(format!(
                        "`{name}` has no field `{key}`; {hint}its fields: {}",
                        names.join(", ")
                    )));
                };
                let field_path =
                    if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                let size = f.schema().size();
                write_json(f.schema(), value, &mut out[f.offset()..][..size], &field_path)?;
            }
        }
        Kind::Enum { name, repr, variants } => {
            let value = match json {
                Value::String(s) => variants.iter().find(|v| v.name() == s).map(|v| v.value()),
                Value::Number(n) => {
                    n.as_i64().filter(|v| variants.iter().any(|variant| variant.value() == *v))
                }
                _ => None,
            };
            let value = value.ok_or_else(|| {
                let list: Vec<String> =
                    variants.iter().map(|v| format!("{}={}", v.name(), v.value())).collect();
                at(format!(
                    "{json} is not a `{name}` (give a variant's name or value: {})",
                    list.join(", ")
                ))
            })?;
            out[..repr.size()].copy_from_slice(&value.to_le_bytes()[..repr.size()]);
        }
        _ => {
            return Err(at(format!(
                "`{}` is a kind of type this tool does not know",
                schema.type_name()
            )));
        }
    }
    Ok(())
}

fn primitive_from_json(p: Primitive, json: &Value) -> Result<Vec<u8>, String> {
    let scalar = match json {
        Value::Bool(b) => Scalar::Bool(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => Scalar::Unsigned(u),
            (_, Some(i), _) => Scalar::Signed(i),
            (_, _, Some(f)) => Scalar::Float(f),
            _ => return Err(format!("expected {}, got {json}", p.describe_value())),
        },
        _ => return Err(format!("expected {}, got {json}", p.describe_value())),
    };
    let mut out = vec![0; p.size()];
    p.write(scalar, &mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

/// The bytes of a primitive value written on the command line (`3.5`, `-2`, `true`).
pub(crate) fn parse_primitive(p: Primitive, word: &str) -> Result<Vec<u8>, String> {
    let bad = || format!("`{word}` is not {}", p.describe_value());
    let scalar = match p {
        Primitive::Bool => match word {
            "true" | "1" => Scalar::Bool(true),
            "false" | "0" => Scalar::Bool(false),
            _ => return Err(bad()),
        },
        Primitive::F32 | Primitive::F64 => Scalar::Float(word.parse().map_err(|_| bad())?),
        _ => {
            let v: i128 = word.parse().map_err(|_| bad())?;
            match (i64::try_from(v), u64::try_from(v)) {
                (Ok(i), _) => Scalar::Signed(i),
                (_, Ok(u)) => Scalar::Unsigned(u),
                _ => {
                    let (min, max) = p.integer_range().expect("an integer type");
                    return Err(ScalarError::Range { value: v, ty: p, min, max }.to_string());
                }
            }
        }
    };
    let mut out = vec![0; p.size()];
    p.write(scalar, &mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use eshm::Message;
    use eshm::msg::{Imu, Pose, Quaternion, Vector3};
    use serde_json::json;

    #[derive(Clone, Copy, Debug, PartialEq, Eq, eshm::Message)]
    #[repr(u8)]
    enum Mode {
        Idle = 0,
        Run = 1,
        Fault = 7,
    }

    #[derive(Clone, Copy, Debug, PartialEq, eshm::Message)]
    #[repr(C)]
    struct Sample {
        stamp: u64,
        values: [f32; 2],
        mode: Mode,
        ok: bool,
        small: i16,
        _pad: [u8; 4],
    }

    fn bytes<T: Message>(value: &T) -> Vec<u8> {
        eshm::message::as_bytes(value).to_vec()
    }

    #[test]
    fn nested_messages_round_trip_through_json() {
        let pose = Pose {
            position: Vector3 { x: 1.0, y: -2.5, z: 3.0 },
            orientation: Quaternion::IDENTITY,
        };
        let json = to_json(Pose::SCHEMA, &bytes(&pose));
        assert_eq!(
            json,
            json!({"position": {"x": 1.0, "y": -2.5, "z": 3.0},
                   "orientation": {"x": 0.0, "y": 0.0, "z": 0.0, "w": 1.0}})
        );
        assert_eq!(from_json(Pose::SCHEMA, &json).unwrap(), bytes(&pose));
        assert_eq!(
            to_text(Pose::SCHEMA, &bytes(&pose)),
            "Pose { position: Vector3 { x: 1.0, y: -2.5, z: 3.0 }, \
             orientation: Quaternion { x: 0.0, y: 0.0, z: 0.0, w: 1.0 } }"
        );
    }

    #[test]
    fn arrays_enums_and_integers() {
        let s = Sample {
            stamp: u64::MAX,
            values: [0.5, -1.0],
            mode: Mode::Fault,
            ok: true,
            small: -300,
            _pad: [0; 4],
        };
        let json = to_json(Sample::SCHEMA, &bytes(&s));
        assert_eq!(
            json,
            json!({"stamp": u64::MAX, "values": [0.5, -1.0], "mode": 7, "ok": true,
                   "small": -300, "_pad": [0, 0, 0, 0]})
        );
        assert_eq!(from_json(Sample::SCHEMA, &json).unwrap(), bytes(&s));
        assert!(to_text(Sample::SCHEMA, &bytes(&s)).contains("mode: 7 (Fault), ok: true"));
        // Enum variants by name, and missing fields are zero.
        let partial = from_json(Sample::SCHEMA, &json!({"mode": "Run", "small": 5})).unwrap();
        let expected = Sample {
            stamp: 0,
            values: [0.0; 2],
            mode: Mode::Run,
            ok: false,
            small: 5,
            _pad: [0; 4],
        };
        assert_eq!(partial, bytes(&expected));
        assert_eq!(Mode::Idle as u8, 0);
    }

    #[test]
    fn bad_json_is_an_error_naming_the_field() {
        let err = |v: Value| from_json(Sample::SCHEMA, &v).unwrap_err();
        assert_eq!(
            err(json!({"small": 40000})),
            "small: 40000 is out of range for i16 (-32768 to 32767)"
        );
        assert_eq!(err(json!({"values": [1.0]})), "values: expected 2 items, got 1");
        assert_eq!(
            err(json!({"values": [1.0, "x"]})),
            "values[1]: expected a number (f32), got \"x\""
        );
        assert_eq!(
            err(json!({"mode": 3})),
            "mode: 3 is not a `Mode` (give a variant's name or value: Idle=0, Run=1, Fault=7)"
        );
        assert_eq!(err(json!({"ok": 1})), "ok: expected true or false, got 1");
        assert_eq!(
            err(json!({"stamps": 1})),
            "`Sample` has no field `stamps`; did you mean `stamp`? its fields: stamp, values, mode, ok, small, _pad"
        );
        assert_eq!(err(json!([1])), "expected an object (a `Sample`), got [1]");
        let imu = from_json(Imu::SCHEMA, &json!({"angular_velocity": {"q": 1}})).unwrap_err();
        assert!(imu.starts_with("angular_velocity: `Vector3` has no field `q`"), "{imu}");
    }

    #[test]
    fn command_line_words() {
        assert_eq!(parse_primitive(Primitive::F64, "2.5").unwrap(), 2.5f64.to_le_bytes());
        assert_eq!(parse_primitive(Primitive::U8, "255").unwrap(), [255]);
        assert_eq!(parse_primitive(Primitive::I8, "-128").unwrap(), [0x80]);
        assert_eq!(parse_primitive(Primitive::Bool, "true").unwrap(), [1]);
        assert_eq!(
            parse_primitive(Primitive::U8, "256").unwrap_err(),
            "256 is out of range for u8 (0 to 255)"
        );
        assert_eq!(
            parse_primitive(Primitive::U32, "x").unwrap_err(),
            "`x` is not an integer (u32)"
        );
        assert_eq!(
            parse_primitive(Primitive::U64, "18446744073709551615").unwrap(),
            u64::MAX.to_le_bytes()
        );
        assert!(to_json(&Schema::primitive(Primitive::F64), &f64::NAN.to_le_bytes()).is_null());
    }
}
