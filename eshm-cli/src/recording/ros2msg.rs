//! An eshm [`Schema`] as a ros2msg definition: the schema record Foxglove, Lichtblick and
//! `mcap-ros2-support` decode a channel's CDR messages with.
//!
//! The text is the root message's fields, then each struct it uses once, after a line of 80
//! `=` and `MSG: eshm/<Type>`. Fields refer to nested types as `eshm/<Type>` (two parts: the
//! ROS 2 parser rejects `pkg/msg/Type` there, and Foxglove resolves a type by the suffix
//! `pkg/Type`); the schema record's name is `eshm/msg/<Root>`.
//!
//! - Primitives map to their ros2msg type (`u8` -> `uint8`, `f64` -> `float64`, `bool` ->
//!   `bool`; never `byte` or `char`, which the two parsers read differently).
//! - An array `[T; N]` is `T[N]`; nested arrays are flattened to their leaf type and the
//!   product of the lengths (`[[u8; 3]; 640]` -> `uint8[1920]`, the shape in a trailing
//!   comment): ros2msg has no arrays of arrays, and the CDR bytes are the same.
//! - An enum is its integer type, preceded by its variants as constants
//!   (`uint8 MODE_RUN=1`), the ROS idiom that Foxglove uses to label the field's values.
//! - A root that is not a struct (a primitive, array or enum topic) is wrapped in a message
//!   with one field, `data`, as `std_msgs/Float64` is.
//! - Names ros2msg rejects are mapped to legal ones (see [`super::names`]); a renamed or
//!   flattened field carries its eshm name and type in a comment.

use super::Unsupported;
use super::names::{self, Unique};
use eshm::schema::{Kind, Primitive, Schema};
use std::collections::HashMap;
use std::fmt::Write as _;

/// The package of every type eshm writes.
const PACKAGE: &str = "eshm";

/// A schema record: its name (`eshm/msg/Imu`) and ros2msg text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Definition {
    /// The schema record's name.
    pub(crate) name: String,
    /// The ros2msg text: root fields, then each dependency.
    pub(crate) text: String,
}

/// The ros2msg definition of `schema`.
///
/// # Errors
///
/// [`Unsupported`] for a kind of schema this version cannot express (one newer than it).
pub(crate) fn definition(schema: &Schema) -> Result<Definition, Unsupported> {
    let mut generator = Generator::default();
    let root = match schema.kind() {
        Kind::Struct { name, .. } => generator.type_name_of(schema, name),
        Kind::Enum { name, .. } => generator.types.claim(names::type_name(name), ""),
        // A slice topic: `Float32Seq`, `PointSeq`, `Float32Array3Seq` (for `[[f32; 3]]`).
        Kind::Slice { element, .. } => {
            let (leaf, count, _) = flatten(element);
            let base = leaf_type_name(leaf)?;
            let wanted = match count {
                Some(n) => format!("{base}Array{n}Seq"),
                None => format!("{base}Seq"),
            };
            generator.types.claim(wanted, "")
        }
        _ => {
            let (leaf, count, _) = flatten(schema);
            let base = leaf_type_name(leaf)?;
            let wanted = match count {
                Some(n) => format!("{base}Array{n}"),
                None => base,
            };
            generator.types.claim(wanted, "")
        }
    };
    let mut text = String::new();
    match schema.kind() {
        Kind::Struct { .. } => generator.fields(schema, &mut text)?,
        _ => {
            let mut scope = Scope::default();
            generator.field(&mut text, &mut scope, "data", "data", schema)?;
        }
    }
    // Dependencies, each once, in the order they were first used.
    let mut done = 0;
    while done < generator.queue.len() {
        let (name, schema) = generator.queue[done].clone();
        let _ = write!(text, "{}\nMSG: {PACKAGE}/{name}\n", "=".repeat(80));
        generator.fields(&schema, &mut text)?;
        done += 1;
    }
    Ok(Definition { name: format!("{PACKAGE}/msg/{root}"), text })
}

/// The ros2msg type of a primitive.
fn primitive(p: Primitive) -> Result<&'static str, Unsupported> {
    Ok(match p {
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
        Primitive::Bool => "bool",
        _ => return Err(Unsupported::new(&Schema::primitive(p))),
    })
}

/// `schema` with its arrays flattened: the leaf (not an array), the total number of leaves
/// (`None` if `schema` is no array) and whether arrays were nested.
fn flatten(schema: &Schema) -> (&Schema, Option<u64>, bool) {
    let mut leaf = schema;
    let mut count: Option<u64> = None;
    let mut depth = 0;
    while let Kind::Array { element, len } = leaf.kind() {
        count = Some(count.unwrap_or(1) * u64::from(*len));
        leaf = element.get();
        depth += 1;
    }
    (leaf, count, depth > 1)
}

/// A type name for a wrapper message around a leaf (`Float64`, `Bool`, `Vector3`).
fn leaf_type_name(leaf: &Schema) -> Result<String, Unsupported> {
    match leaf.kind() {
        Kind::Primitive(p) => Ok(names::type_name(primitive(*p)?)),
        Kind::Struct { name, .. } | Kind::Enum { name, .. } => Ok(names::type_name(name)),
        _ => Err(Unsupported::new(leaf)),
    }
}

/// Field and constant names of one message.
#[derive(Debug, Default)]
struct Scope {
    fields: Unique,
    constants: Unique,
}

#[derive(Debug, Default)]
struct Generator {
    /// Type names handed out, the root's included (Foxglove resolves types by name suffix,
    /// so two different structs must never share one).
    types: Unique,
    /// Struct schemas (by fingerprint) and their type names.
    structs: HashMap<u64, String>,
    /// Structs to define, in order of first use.
    queue: Vec<(String, Schema)>,
}

impl Generator {
    /// The type name of struct `schema` (called `name` in eshm), given out on first use.
    fn type_name_of(&mut self, schema: &Schema, name: &str) -> String {
        let fingerprint = schema.fingerprint();
        if let Some(n) = self.structs.get(&fingerprint) {
            return n.clone();
        }
        // Two different structs of one name (from two modules, or two versions): the later
        // one gets a deterministic suffix, the first 8 hex digits of its fingerprint.
        let mut wanted = names::type_name(name);
        if self.types.contains(&wanted) {
            wanted = format!("{wanted}{:08x}", fingerprint >> 32);
        }
        let given = self.types.claim(wanted, "");
        self.structs.insert(fingerprint, given.clone());
        given
    }

    /// The lines of struct `schema`'s fields.
    fn fields(&mut self, schema: &Schema, out: &mut String) -> Result<(), Unsupported> {
        let Kind::Struct { fields, .. } = schema.kind() else {
            unreachable!("only structs are queued");
        };
        let mut scope = Scope::default();
        for f in fields.iter() {
            self.field(out, &mut scope, &names::field(f.name()), f.name(), f.schema())?;
        }
        Ok(())
    }

    /// The line of one field (with constant lines before it for an enum).
    fn field(
        &mut self,
        out: &mut String,
        scope: &mut Scope,
        wanted: &str,
        eshm_name: &str,
        schema: &Schema,
    ) -> Result<(), Unsupported> {
        let name = scope.fields.claim(wanted.to_owned(), "_");
        // A slice (only ever a topic's root, so the `data` field) is a bounded sequence of its
        // element, whose arrays are flattened like any: `[[f32; 3]]` of at most 16 elements is
        // `float32[<=48]`.
        let (leaf, array, nested) = match schema.kind() {
            Kind::Slice { element, max_len } => {
                let (leaf, count, _) = flatten(element);
                let bound = count.unwrap_or(1) * u64::from(*max_len);
                (leaf, format!("[<={bound}]"), count.is_some())
            }
            _ => {
                let (leaf, count, nested) = flatten(schema);
                (leaf, count.map(|n| format!("[{n}]")).unwrap_or_default(), nested)
            }
        };
        let ty = match leaf.kind() {
            Kind::Primitive(p) => primitive(*p)?.to_owned(),
            Kind::Enum { repr, variants, .. } => {
                let ty = primitive(*repr)?;
                for v in variants.iter() {
                    let constant = scope.constants.claim(names::constant(&name, v.name()), "_");
                    // `u64` enums store values above `i64::MAX` as the `i64` of the same bits.
                    let value = if repr.is_signed() {
                        v.value().to_string()
                    } else {
                        (v.value() as u64).to_string()
                    };
                    let _ = writeln!(out, "{ty} {constant}={value}");
                }
                ty.to_owned()
            }
            Kind::Struct { name: eshm_type, .. } => {
                let given = self.type_name_of(leaf, eshm_type);
                if !self.queue.iter().any(|(n, _)| *n == given) {
                    self.queue.push((given.clone(), leaf.clone()));
                }
                format!("{PACKAGE}/{given}")
            }
            _ => return Err(Unsupported::new(leaf)),
        };
        let _ = write!(out, "{ty}{array} {name}");
        if name != eshm_name || nested {
            let _ = write!(out, "  # {eshm_name}: {}", schema.type_name());
        }
        out.push('\n');
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eshm::Message;
    use eshm::msg::Pose;

    #[derive(Clone, Copy, eshm::Message)]
    #[repr(u8)]
    enum Mode {
        Idle = 0,
        RunningFast = 1,
        Fault = 7,
    }

    #[derive(Clone, Copy, eshm::Message)]
    #[repr(i16)]
    enum Level {
        Low = -1,
        High = 300,
    }

    #[derive(Clone, Copy, eshm::Message)]
    #[repr(C)]
    #[allow(non_snake_case)] // a field name ros2msg rejects, on purpose
    struct Point {
        x: f32,
        yValue: f32,
    }

    #[derive(Clone, Copy, eshm::Message)]
    #[repr(C)]
    struct Frame {
        stamp_ns: u64,
        pose: Pose,
        corners: [Point; 4],
        px: [[u8; 3]; 4],
        grid: [[Point; 2]; 3],
        mode: Mode,
        modes: [Mode; 2],
        ok: bool,
        level: Level,
        _pad: [u8; 6],
    }

    mod other {
        /// Another `Point`, as a second module (or crate) could define it.
        #[derive(Clone, Copy, eshm::Message)]
        #[repr(C)]
        pub(super) struct Point {
            pub(super) a: f64,
        }
    }

    #[derive(Clone, Copy, eshm::Message)]
    #[repr(C)]
    struct TwoPoints {
        mine: Point,
        theirs: other::Point,
        again: Point,
    }

    #[test]
    fn nested_structs_arrays_and_enums() {
        let d = definition(Frame::SCHEMA).unwrap();
        assert_eq!(d.name, "eshm/msg/Frame");
        let sep = "=".repeat(80);
        let expected = format!(
            "uint64 stamp_ns
eshm/Pose pose
eshm/Point[4] corners
uint8[12] px  # px: [[u8; 3]; 4]
eshm/Point[6] grid  # grid: [[Point; 2]; 3]
uint8 MODE_IDLE=0
uint8 MODE_RUNNING_FAST=1
uint8 MODE_FAULT=7
uint8 mode
uint8 MODES_IDLE=0
uint8 MODES_RUNNING_FAST=1
uint8 MODES_FAULT=7
uint8[2] modes
bool ok
int16 LEVEL_LOW=-1
int16 LEVEL_HIGH=300
int16 level
uint8[6] pad  # _pad: [u8; 6]
{sep}
MSG: eshm/Pose
eshm/Vector3 position
eshm/Quaternion orientation
{sep}
MSG: eshm/Point
float32 x
float32 y_value  # yValue: f32
{sep}
MSG: eshm/Vector3
float64 x
float64 y
float64 z
{sep}
MSG: eshm/Quaternion
float64 x
float64 y
float64 z
float64 w
"
        );
        assert_eq!(d.text, expected);
    }

    #[test]
    fn roots_that_are_not_structs_are_wrapped() {
        let d = definition(<f64 as Message>::SCHEMA).unwrap();
        assert_eq!((d.name.as_str(), d.text.as_str()), ("eshm/msg/Float64", "float64 data\n"));
        let d = definition(<[[u8; 3]; 2] as Message>::SCHEMA).unwrap();
        assert_eq!(d.name, "eshm/msg/Uint8Array6");
        assert_eq!(d.text, "uint8[6] data  # data: [[u8; 3]; 2]\n");
        let d = definition(Mode::SCHEMA).unwrap();
        assert_eq!(d.name, "eshm/msg/Mode");
        assert!(d.text.ends_with("uint8 DATA_FAULT=7\nuint8 data\n"), "{}", d.text);
        let d = definition(<[Pose; 2] as Message>::SCHEMA).unwrap();
        assert_eq!(d.name, "eshm/msg/PoseArray2");
        assert!(d.text.starts_with("eshm/Pose[2] data\n====="), "{}", d.text);
    }

    #[test]
    fn two_types_of_one_name_get_two_names() {
        let d = definition(TwoPoints::SCHEMA).unwrap();
        let suffix = format!("{:08x}", other::Point::SCHEMA.fingerprint() >> 32);
        assert!(d.text.starts_with(&format!(
            "eshm/Point mine\neshm/Point{suffix} theirs\neshm/Point again\n"
        )));
        assert!(d.text.contains(&format!("MSG: eshm/Point{suffix}\nfloat64 a\n")));
        assert_eq!(d.text.matches("MSG: ").count(), 2);
        // The root's name is taken too: a nested struct named like the root is renamed.
        mod wrap {
            #[derive(Clone, Copy, eshm::Message)]
            #[repr(C)]
            pub(super) struct Point {
                pub(super) inner: super::Point,
            }
        }
        let d = definition(wrap::Point::SCHEMA).unwrap();
        let suffix = format!("{:08x}", Point::SCHEMA.fingerprint() >> 32);
        assert_eq!(d.name, "eshm/msg/Point");
        assert!(d.text.starts_with(&format!("eshm/Point{suffix} inner\n")), "{}", d.text);
        assert!(d.text.contains(&format!("MSG: eshm/Point{suffix}\n")), "{}", d.text);
    }

    #[test]
    fn slice_topics_are_bounded_sequences() {
        let floats = Schema::slice(<f32 as Message>::SCHEMA.clone(), 1024).unwrap();
        let d = definition(&floats).unwrap();
        assert_eq!(
            (d.name.as_str(), d.text.as_str()),
            ("eshm/msg/Float32Seq", "float32[<=1024] data\n")
        );
        let points = Schema::slice(Point::SCHEMA.clone(), 16).unwrap();
        let d = definition(&points).unwrap();
        assert_eq!(d.name, "eshm/msg/PointSeq");
        assert!(
            d.text.starts_with("eshm/Point[<=16] data\n=====")
                && d.text.contains("MSG: eshm/Point\n"),
            "{}",
            d.text
        );
        // Arrays in the element are flattened into the sequence.
        let triples = Schema::slice(<[f32; 3] as Message>::SCHEMA.clone(), 16).unwrap();
        let d = definition(&triples).unwrap();
        assert_eq!(d.name, "eshm/msg/Float32Array3Seq");
        assert_eq!(d.text, "float32[<=48] data  # data: [[f32; 3]]\n");
        let modes = Schema::slice(Mode::SCHEMA.clone(), 4).unwrap();
        assert!(
            definition(&modes).unwrap().text.ends_with("uint8 DATA_FAULT=7\nuint8[<=4] data\n")
        );
    }
}
