//! Schema fingerprints and encodings: pinned test vectors, sensitivity to every layout detail,
//! and decoding of untrusted bytes.

use eshm::schema::{Kind, LayoutError, Primitive, SchemaError, fnv1a64};
use eshm::{Message, Schema};
use std::path::PathBuf;

#[derive(Clone, Copy, eshm::Message)]
#[repr(C)]
struct Vector3 {
    x: f64,
    y: f64,
    z: f64,
}

#[derive(Clone, Copy, eshm::Message)]
#[repr(u8)]
enum Mode {
    Idle = 0,
    Streaming = 1,
    Fault = 255,
}

#[derive(Clone, Copy, eshm::Message)]
#[repr(i32)]
enum Signed {
    Down = -1,
    Up = 1,
}

#[derive(Clone, Copy, eshm::Message)]
#[repr(u64)]
enum Wide {
    Low = 0,
    High = u64::MAX,
}

#[derive(Clone, Copy, eshm::Message)]
#[repr(C)]
struct Imu {
    stamp_ns: u64,
    accel: [f32; 3],
    gyro: [f32; 3],
    valid: bool,
    mode: Mode,
    _pad: [u8; 6],
}

#[derive(Clone, Copy, eshm::Message)]
#[repr(C)]
struct Cloud {
    points: [Vector3; 4],
    count: u32,
    direction: Signed,
    wide: Wide,
}

fn vectors_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/data/schema_vectors.json")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The schema of `[T]` topics of at most `max_len` elements.
fn slice_of(element: &Schema, max_len: usize) -> Schema {
    Schema::slice(element.clone(), max_len).unwrap()
}

/// Every schema in the vector file, with the Rust type it comes from.
fn vector_schemas() -> Vec<(&'static str, Schema)> {
    let fixed: Vec<(&str, &Schema)> = vec![
        ("u8", u8::SCHEMA),
        ("u16", u16::SCHEMA),
        ("u32", u32::SCHEMA),
        ("u64", u64::SCHEMA),
        ("i8", i8::SCHEMA),
        ("i16", i16::SCHEMA),
        ("i32", i32::SCHEMA),
        ("i64", i64::SCHEMA),
        ("f32", f32::SCHEMA),
        ("f64", f64::SCHEMA),
        ("bool", bool::SCHEMA),
        ("[f32; 3]", <[f32; 3]>::SCHEMA),
        ("[[u8; 2]; 3]", <[[u8; 2]; 3]>::SCHEMA),
        ("Vector3", Vector3::SCHEMA),
        ("Mode", Mode::SCHEMA),
        ("Imu", Imu::SCHEMA),
        ("Cloud", Cloud::SCHEMA),
        ("msg::Vector3", eshm::msg::Vector3::SCHEMA),
        ("msg::Quaternion", eshm::msg::Quaternion::SCHEMA),
        ("msg::Pose", eshm::msg::Pose::SCHEMA),
        ("msg::Twist", eshm::msg::Twist::SCHEMA),
        ("msg::Imu", eshm::msg::Imu::SCHEMA),
    ];
    let mut all: Vec<(&str, Schema)> = fixed.into_iter().map(|(n, s)| (n, s.clone())).collect();
    // Slices (encoding version 2): the elements of variable-length topics.
    all.extend([
        ("[u8] max 1024", slice_of(u8::SCHEMA, 1024)),
        ("[f32] max 1", slice_of(f32::SCHEMA, 1)),
        ("[Vector3] max 100000", slice_of(Vector3::SCHEMA, 100_000)),
        ("[Imu] max 16", slice_of(Imu::SCHEMA, 16)),
        ("[[u8; 3]] max 307200", slice_of(<[u8; 3]>::SCHEMA, 640 * 480)),
    ]);
    all
}

fn render_vectors() -> String {
    let mut out = String::from("[\n");
    let vectors = vector_schemas();
    for (i, (name, schema)) in vectors.iter().enumerate() {
        let entry = serde_json::json!({
            "name": name,
            "size": schema.size(),
            "align": schema.align(),
            "definition": schema.definition(),
            "encoding": hex(&schema.encode()),
            "fingerprint": format!("{:#018x}", schema.fingerprint()),
        });
        out.push_str("  ");
        out.push_str(&serde_json::to_string(&entry).unwrap());
        out.push_str(if i + 1 < vectors.len() { ",\n" } else { "\n" });
    }
    out.push_str("]\n");
    out
}

/// The fingerprints are a cross-process, cross-language contract: they must never change by
/// accident. `ESHM_UPDATE_VECTORS=1` rewrites the file after a deliberate format change.
#[test]
fn schema_vectors_are_stable() {
    let rendered = render_vectors();
    let path = vectors_path();
    if std::env::var_os("ESHM_UPDATE_VECTORS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &rendered).unwrap();
    }
    let pinned = std::fs::read_to_string(&path).expect("tests/data/schema_vectors.json");
    let pinned: serde_json::Value = serde_json::from_str(&pinned).unwrap();
    let current: serde_json::Value = serde_json::from_str(&rendered).unwrap();
    for (want, got) in pinned.as_array().unwrap().iter().zip(current.as_array().unwrap()) {
        assert_eq!(want, got, "schema vector `{}` changed", want["name"]);
    }
    assert_eq!(pinned.as_array().unwrap().len(), current.as_array().unwrap().len());
}

#[test]
fn schema_vectors_fingerprint_is_fnv1a_of_encoding() {
    let pinned: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(vectors_path()).unwrap()).unwrap();
    for v in pinned.as_array().unwrap() {
        let enc = v["encoding"].as_str().unwrap();
        let bytes: Vec<u8> = (0..enc.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&enc[i..i + 2], 16).unwrap())
            .collect();
        let fp =
            u64::from_str_radix(v["fingerprint"].as_str().unwrap().trim_start_matches("0x"), 16)
                .unwrap();
        assert_eq!(fnv1a64(&bytes), fp, "{}", v["name"]);
        let decoded = Schema::decode(&bytes).unwrap();
        assert_eq!(decoded.fingerprint(), fp);
        assert_eq!(decoded.encode(), bytes);
        assert_eq!(decoded.definition(), v["definition"].as_str().unwrap());
    }
}

#[test]
fn schema_fingerprint_is_const() {
    const IMU: u64 = Imu::SCHEMA.fingerprint();
    const LEN: usize = Imu::SCHEMA.encoded_len();
    assert_eq!(IMU, fnv1a64(&Imu::SCHEMA.encode()));
    assert_eq!(LEN, Imu::SCHEMA.encode().len());
}

mod variants {
    //! Pairs of types that differ in exactly one respect.
    #[derive(Clone, Copy, eshm::Message)]
    #[repr(C)]
    pub(crate) struct Base {
        pub(crate) a: u32,
        pub(crate) b: f32,
    }
    pub(crate) mod order {
        #[derive(Clone, Copy, eshm::Message)]
        #[repr(C)]
        pub(crate) struct Base {
            pub(crate) b: f32,
            pub(crate) a: u32,
        }
    }
    pub(crate) mod name {
        #[derive(Clone, Copy, eshm::Message)]
        #[repr(C)]
        pub(crate) struct Base {
            pub(crate) a: u32,
            pub(crate) c: f32,
        }
    }
    pub(crate) mod ty {
        #[derive(Clone, Copy, eshm::Message)]
        #[repr(C)]
        pub(crate) struct Base {
            pub(crate) a: u32,
            pub(crate) b: i32,
        }
    }
    pub(crate) mod offset {
        #[derive(Clone, Copy, eshm::Message)]
        #[repr(C)]
        pub(crate) struct Base {
            pub(crate) _pad: u32,
            pub(crate) a: u32,
            pub(crate) b: f32,
            pub(crate) _pad2: u32,
        }
    }
    pub(crate) mod type_name {
        #[derive(Clone, Copy, eshm::Message)]
        #[repr(C)]
        pub(crate) struct Other {
            pub(crate) a: u32,
            pub(crate) b: f32,
        }
    }
    pub(crate) mod same_in_other_module {
        #[derive(Clone, Copy, eshm::Message)]
        #[repr(C)]
        pub(crate) struct Base {
            pub(crate) a: u32,
            pub(crate) b: f32,
        }
    }
    pub(crate) mod align {
        #[derive(Clone, Copy, eshm::Message)]
        #[repr(C, align(8))]
        pub(crate) struct Base {
            pub(crate) a: u32,
            pub(crate) b: f32,
        }
    }
}

#[test]
fn schema_fingerprint_changes_with_every_layout_detail() {
    use variants::*;
    let base = Base::SCHEMA.fingerprint();
    assert_ne!(base, order::Base::SCHEMA.fingerprint(), "field order");
    assert_ne!(base, name::Base::SCHEMA.fingerprint(), "field name");
    assert_ne!(base, ty::Base::SCHEMA.fingerprint(), "field type");
    assert_ne!(base, offset::Base::SCHEMA.fingerprint(), "field offset");
    assert_ne!(base, type_name::Other::SCHEMA.fingerprint(), "type name");
    assert_ne!(base, align::Base::SCHEMA.fingerprint(), "alignment");
    assert_ne!(<[u8; 3]>::SCHEMA.fingerprint(), <[u8; 4]>::SCHEMA.fingerprint(), "array length");
    assert_ne!(<[u16; 2]>::SCHEMA.fingerprint(), <[i16; 2]>::SCHEMA.fingerprint(), "element type");
    // ... and on nothing else: not the module path.
    assert_eq!(base, same_in_other_module::Base::SCHEMA.fingerprint());
}

#[test]
fn schema_first_difference_names_the_field() {
    use variants::*;
    let diff = |a: &Schema, b: &Schema| a.first_difference(b).unwrap();
    assert_eq!(Base::SCHEMA.first_difference(same_in_other_module::Base::SCHEMA), None);
    assert_eq!(diff(Base::SCHEMA, name::Base::SCHEMA), "field 1 is `b` here, `c` there");
    assert_eq!(diff(Base::SCHEMA, ty::Base::SCHEMA), "field `b`: type: `f32` here, `i32` there");
    assert_eq!(
        diff(Base::SCHEMA, type_name::Other::SCHEMA),
        "type name: `Base` here, `Other` there"
    );
    assert_eq!(diff(Base::SCHEMA, f64::SCHEMA), "type: `Base` here, `f64` there");
    assert_eq!(
        diff(Cloud::SCHEMA, cloud_with_f32_z()),
        "field `points`[..].z: type: `f64` here, `f32` there"
    );
}

/// `Cloud` with `Vector3::z` as an `f32` (plus explicit padding).
fn cloud_with_f32_z() -> &'static Schema {
    #[derive(Clone, Copy, eshm::Message)]
    #[repr(C)]
    struct Vector3 {
        x: f64,
        y: f64,
        z: f32,
        _pad: u32,
    }
    #[derive(Clone, Copy, eshm::Message)]
    #[repr(C)]
    struct Cloud {
        points: [Vector3; 4],
        count: u32,
        direction: Signed,
        wide: Wide,
    }
    Cloud::SCHEMA
}

#[test]
fn schema_decode_rejects_malformed_input() {
    let good = Imu::SCHEMA.encode();
    // Every strict prefix is truncated.
    for n in 0..good.len() {
        assert!(
            matches!(Schema::decode(&good[..n]), Err(SchemaError::Truncated { .. })),
            "prefix of {n} bytes"
        );
    }
    let mut trailing = good.clone();
    trailing.push(0);
    assert!(matches!(Schema::decode(&trailing), Err(SchemaError::TrailingBytes { .. })));
    let mut version = good.clone();
    version[0] = 9;
    let err = Schema::decode(&version).unwrap_err();
    assert!(matches!(err, SchemaError::Version { found: 9, expected: 2 }), "{err}");
    assert!(err.to_string().contains("created by a newer eshm"), "{err}");
    // Slices: only as the root of a version-2 encoding, with max_len >= 1.
    let slice = slice_of(u32::SCHEMA, 7).encode();
    assert_eq!(slice, [2, 0x13, 7, 0, 0, 0, 0x03]);
    assert!(Schema::decode(&slice).is_ok());
    for n in 0..slice.len() {
        assert!(matches!(Schema::decode(&slice[..n]), Err(SchemaError::Truncated { .. })));
    }
    for (case, bytes) in [
        ("version 1 slice", vec![1, 0x13, 7, 0, 0, 0, 0x03]),
        ("version 2 non-slice", vec![2, 0x03]),
        ("zero max_len", vec![2, 0x13, 0, 0, 0, 0, 0x03]),
        ("slice of slices", vec![2, 0x13, 1, 0, 0, 0, 0x13, 1, 0, 0, 0, 0x03]),
        ("slice in a struct", {
            let mut v = vec![1, 0x11, 1, b'S', 4, 0, 0, 0, 4, 0, 0, 0, 1, 0, 1, b'a', 0, 0, 0, 0];
            v.extend_from_slice(&[0x13, 1, 0, 0, 0, 0x03]);
            v
        }),
        ("oversize", vec![2, 0x13, 0xff, 0xff, 0xff, 0xff, 0x04]),
    ] {
        assert!(Schema::decode(&bytes).is_err(), "{case}");
    }
    assert!(matches!(
        Schema::decode(&[1, 0x7f]),
        Err(SchemaError::UnknownTag { tag: 0x7f, at: 1 })
    ));
    assert!(matches!(
        Schema::decode(&vec![0; eshm::schema::MAX_ENCODED_LEN + 1]),
        Err(SchemaError::TooLong { .. })
    ));
    // Arrays nested past the depth limit.
    let mut deep = vec![1u8];
    for _ in 0..40 {
        deep.extend_from_slice(&[0x10, 1, 0, 0, 0]);
    }
    deep.push(0x01);
    assert!(matches!(Schema::decode(&deep), Err(SchemaError::TooDeep { .. })));
    // A zero-length array, and one whose size overflows u32.
    assert!(matches!(Schema::decode(&[1, 0x10, 0, 0, 0, 0, 1]), Err(SchemaError::Invalid { .. })));
    assert!(matches!(
        Schema::decode(&[1, 0x10, 0xff, 0xff, 0xff, 0xff, 0x04]),
        Err(SchemaError::Invalid { .. })
    ));
    // A struct with a gap, an overlap, a bad alignment, no fields, a repeated field.
    let strukt = |size: u32, align: u32, fields: &[(&str, u32, u8)]| {
        let mut v = vec![1, 0x11, 1, b'S'];
        v.extend_from_slice(&size.to_le_bytes());
        v.extend_from_slice(&align.to_le_bytes());
        v.extend_from_slice(&(fields.len() as u16).to_le_bytes());
        for (name, off, tag) in fields {
            v.push(name.len() as u8);
            v.extend_from_slice(name.as_bytes());
            v.extend_from_slice(&off.to_le_bytes());
            v.push(*tag);
        }
        v
    };
    assert!(Schema::decode(&strukt(8, 4, &[("a", 0, 0x03), ("b", 4, 0x09)])).is_ok());
    for (case, bytes) in [
        ("gap", strukt(8, 4, &[("a", 0, 0x01), ("b", 4, 0x09)])),
        ("overlap", strukt(8, 4, &[("a", 0, 0x03), ("b", 2, 0x02), ("c", 4, 0x09)])),
        ("misaligned", strukt(6, 2, &[("a", 0, 0x02), ("b", 2, 0x03)])),
        ("bad align", strukt(8, 3, &[("a", 0, 0x03), ("b", 4, 0x09)])),
        ("short struct", strukt(4, 4, &[("a", 0, 0x03), ("b", 4, 0x09)])),
        ("no fields", strukt(0, 1, &[])),
        ("repeated name", strukt(8, 4, &[("a", 0, 0x03), ("a", 4, 0x09)])),
    ] {
        assert!(matches!(Schema::decode(&bytes), Err(SchemaError::Invalid { .. })), "{case}");
    }
    // Enum values outside the repr, repeated values, float repr, empty names.
    let enumeration = |repr: u8, variants: &[(&str, i64)]| {
        let mut v = vec![1, 0x12, 1, b'E', repr];
        v.extend_from_slice(&(variants.len() as u16).to_le_bytes());
        for (name, value) in variants {
            v.push(name.len() as u8);
            v.extend_from_slice(name.as_bytes());
            v.extend_from_slice(&value.to_le_bytes());
        }
        v
    };
    assert!(Schema::decode(&enumeration(0x01, &[("A", 0), ("B", 255)])).is_ok());
    for (case, bytes) in [
        ("u8 overflow", enumeration(0x01, &[("A", 256)])),
        ("negative u8", enumeration(0x01, &[("A", -1)])),
        ("i8 overflow", enumeration(0x05, &[("A", 128)])),
        ("repeated value", enumeration(0x01, &[("A", 1), ("B", 1)])),
        ("float repr", enumeration(0x09, &[("A", 0)])),
        ("empty name", enumeration(0x01, &[("", 0)])),
        ("no variants", enumeration(0x01, &[])),
    ] {
        assert!(matches!(Schema::decode(&bytes), Err(SchemaError::Invalid { .. })), "{case}");
    }
}

#[test]
fn schema_validate_checks_bools_and_enums() {
    let mut bytes = eshm::message::as_bytes(&Imu::INIT).to_vec();
    assert!(Imu::SCHEMA.validate(&bytes).is_ok());
    bytes[32] = 2;
    assert_eq!(
        Imu::SCHEMA.validate(&bytes).unwrap_err().to_string(),
        "`valid` at byte 32 holds 2, which is not a valid bool"
    );
    bytes[32] = 1;
    bytes[33] = 3;
    assert_eq!(
        Imu::SCHEMA.validate(&bytes).unwrap_err().to_string(),
        "`mode` at byte 33 holds 3, which is not a valid `Mode` variant"
    );
    bytes[33] = 255;
    assert!(Imu::SCHEMA.validate(&bytes).is_ok());
    assert!(Imu::SCHEMA.validate(&bytes[1..]).is_err());
    // Nested arrays of structs report the full path.
    let mut cloud = eshm::message::as_bytes(&Cloud::INIT).to_vec();
    assert!(Cloud::SCHEMA.validate(&cloud).is_ok());
    let off = 4 * 24 + 4;
    cloud[off..off + 4].copy_from_slice(&7i32.to_le_bytes());
    assert_eq!(
        Cloud::SCHEMA.validate(&cloud).unwrap_err().to_string(),
        format!("`direction` at byte {off} holds 7, which is not a valid `Signed` variant")
    );
}

#[test]
fn schema_slices_validate_each_element_and_the_length() {
    let imus = slice_of(Imu::SCHEMA, 3);
    assert_eq!(imus.size(), 3 * Imu::SCHEMA.size());
    assert_eq!(imus.slice_element(), Some(Imu::SCHEMA));
    let one = eshm::message::as_bytes(&Imu::INIT).to_vec();
    assert!(imus.validate(&[]).is_ok(), "a message may be empty");
    assert!(imus.validate(&one).is_ok());
    assert!(imus.validate(&one.repeat(3)).is_ok());
    let err = imus.validate(&one.repeat(4)).unwrap_err();
    assert!(err.to_string().contains("at most 3 elements"), "{err}");
    assert!(imus.validate(&one[1..]).is_err(), "not a whole number of elements");
    let mut bad = one.repeat(2);
    bad[Imu::SCHEMA.size() + 32] = 9;
    assert_eq!(
        imus.validate(&bad).unwrap_err().to_string(),
        "`[1].valid` at byte 72 holds 9, which is not a valid bool"
    );
    assert_eq!(imus.init_bytes(), one.repeat(3));
    // Types and differences.
    assert_eq!(imus.type_name(), "[Imu]");
    assert!(imus.definition().contains("[Imu]  // 0 to 3 elements"), "{}", imus.definition());
    assert_eq!(
        imus.first_difference(&slice_of(Vector3::SCHEMA, 3)).unwrap(),
        "element type: `Imu` here, `Vector3` there"
    );
    assert_eq!(
        imus.first_difference(&slice_of(Imu::SCHEMA, 4)).unwrap(),
        "max length: 3 here, 4 there"
    );
    assert_ne!(imus.fingerprint(), slice_of(Imu::SCHEMA, 4).fingerprint());
    assert!(Schema::slice(u8::SCHEMA.clone(), 0).is_err());
    assert!(Schema::slice(imus.clone(), 2).is_err(), "no slices of slices");
}

#[test]
fn schema_init_matches_message_init() {
    assert_eq!(Imu::SCHEMA.init_bytes(), eshm::message::as_bytes(&Imu::INIT));
    assert_eq!(Cloud::SCHEMA.init_bytes(), eshm::message::as_bytes(&Cloud::INIT));
    let Kind::Enum { repr, variants, .. } = Signed::SCHEMA.kind() else { panic!() };
    assert_eq!(*repr, Primitive::I32);
    assert_eq!(variants[0].value(), -1);
    assert_eq!(Signed::SCHEMA.init_bytes(), (-1i32).to_le_bytes());
    let Kind::Enum { variants, .. } = Wide::SCHEMA.kind() else { panic!() };
    assert_eq!(variants[1].value() as u64, u64::MAX);
}

/// A type declared at run time from a derived schema's parts: the same fields, in order.
fn redeclare(schema: &Schema) -> Schema {
    match schema.kind() {
        Kind::Primitive(_) => schema.clone(),
        Kind::Array { element, len } => {
            Schema::array_of(redeclare(element), *len as usize).unwrap()
        }
        Kind::Struct { name, fields } => Schema::struct_of(
            name,
            fields.iter().map(|f| (f.name().to_owned(), redeclare(f.schema()))).collect(),
        )
        .unwrap(),
        Kind::Enum { name, repr, variants } => Schema::enum_of(
            name,
            *repr,
            variants.iter().map(|v| (v.name().to_owned(), v.value())).collect(),
        )
        .unwrap(),
        Kind::Slice { element, max_len } => {
            Schema::slice(redeclare(element), *max_len as usize).unwrap()
        }
        _ => unreachable!("a kind this test does not know"),
    }
}

#[test]
fn schema_declared_at_run_time_matches_the_derive() {
    for (name, schema) in vector_schemas() {
        let declared = redeclare(&schema);
        assert_eq!(declared, schema, "{name}");
        assert_eq!(declared.fingerprint(), schema.fingerprint(), "{name}");
    }
}

#[test]
fn schema_declared_at_run_time_is_refused_where_the_derive_refuses() {
    let f = |name: &str, s: &Schema| (name.to_owned(), s.clone());
    let err = Schema::struct_of("Sample", vec![f("valid", bool::SCHEMA), f("value", f64::SCHEMA)])
        .unwrap_err();
    assert!(matches!(&err, LayoutError::Padding { field, bytes: 7, .. } if field == "valid"));
    assert!(err.to_string().contains("`_pad: [u8; 7]`"), "{err}");
    // Padding at the end counts too.
    let err =
        Schema::struct_of("Tail", vec![f("x", f64::SCHEMA), f("flag", u8::SCHEMA)]).unwrap_err();
    assert!(matches!(&err, LayoutError::Padding { field, bytes: 7, .. } if field == "flag"));
    assert!(matches!(
        Schema::struct_of("Twice", vec![f("a", u8::SCHEMA), f("a", u8::SCHEMA)]),
        Err(LayoutError::Duplicate { .. })
    ));
    assert!(matches!(Schema::struct_of("None", vec![]), Err(LayoutError::Empty { .. })));
    assert!(Schema::struct_of("Bad\u{7}", vec![f("a", u8::SCHEMA)]).is_err());
    assert!(Schema::array_of(u8::SCHEMA.clone(), 0).is_err());
    assert!(Schema::enum_of("E", Primitive::U8, vec![("A".into(), 256)]).is_err());
    assert!(Schema::enum_of("E", Primitive::U8, vec![("A".into(), 1), ("B".into(), 1)]).is_err());
    assert!(Schema::enum_of("E", Primitive::F32, vec![("A".into(), 1)]).is_err());
    let slice = Schema::slice(u8::SCHEMA.clone(), 4).unwrap();
    assert!(Schema::struct_of("S", vec![f("data", &slice)]).is_err(), "no slice fields");
}

/// The encoding of a struct `S` of fields `(name, tag)` of one-byte primitives, with the given
/// size and alignment.
fn struct_encoding(size: u32, align: u32, fields: &[(String, u8)]) -> Vec<u8> {
    let mut v = vec![1, 0x11, 1, b'S'];
    v.extend_from_slice(&size.to_le_bytes());
    v.extend_from_slice(&align.to_le_bytes());
    v.extend_from_slice(&(fields.len() as u16).to_le_bytes());
    for (i, (name, tag)) in fields.iter().enumerate() {
        v.push(name.len() as u8);
        v.extend_from_slice(name.as_bytes());
        v.extend_from_slice(&(i as u32).to_le_bytes());
        v.push(*tag);
    }
    v
}

#[test]
fn schema_decode_limits_are_exact() {
    // An encoding of exactly MAX_ENCODED_LEN bytes decodes; one byte more is too long.
    // 251 fields with 255-byte names and one with a 5-byte name: 14 + 251 * 261 + 11 bytes.
    let mut fields: Vec<(String, u8)> = (0..251).map(|i| (format!("{i:0>255}"), 0x01)).collect();
    fields.push(("short".to_owned(), 0x01));
    let exact = struct_encoding(252, 1, &fields);
    assert_eq!(exact.len(), eshm::schema::MAX_ENCODED_LEN);
    assert!(Schema::decode(&exact).is_ok());
    let mut over = exact.clone();
    over.push(0);
    assert!(matches!(Schema::decode(&over), Err(SchemaError::TooLong { .. })));

    // Alignments: a power of two up to MAX_ALIGN, and no field aligned beyond its struct.
    let bytes = |n: usize| (0..n).map(|i| (format!("f{i}"), 0x01)).collect::<Vec<_>>();
    assert!(Schema::decode(&struct_encoding(6, 2, &bytes(6))).is_ok());
    let err = Schema::decode(&struct_encoding(6, 3, &bytes(6))).unwrap_err();
    assert!(err.to_string().contains("alignment 3"), "{err}");
    let array = |len: u32, align: u32| {
        // struct S { a: [u8; len] } with the given alignment
        let mut v = vec![1, 0x11, 1, b'S'];
        v.extend_from_slice(&len.to_le_bytes());
        v.extend_from_slice(&align.to_le_bytes());
        v.extend_from_slice(&1u16.to_le_bytes());
        v.extend_from_slice(&[1, b'a', 0, 0, 0, 0, 0x10]);
        v.extend_from_slice(&len.to_le_bytes());
        v.push(0x01);
        v
    };
    assert!(Schema::decode(&array(4096, 4096)).is_ok(), "MAX_ALIGN itself");
    let err = Schema::decode(&array(8192, 8192)).unwrap_err();
    assert!(err.to_string().contains("alignment 8192"), "{err}");
    // A u16 field at offset 0 of a struct aligned to 1: aligned offset, but over-aligned.
    let mut over_aligned = vec![1, 0x11, 1, b'S', 2, 0, 0, 0, 1, 0, 0, 0, 1, 0];
    over_aligned.extend_from_slice(&[1, b'a', 0, 0, 0, 0, 0x02]);
    let err = Schema::decode(&over_aligned).unwrap_err();
    assert!(err.to_string().contains("misaligned"), "{err}");

    // Structs nested past the depth limit.
    let mut deep = vec![1u8];
    for _ in 0..40 {
        deep.extend_from_slice(&[0x11, 1, b'S', 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, b'a', 0, 0, 0, 0]);
    }
    deep.push(0x01);
    assert!(matches!(Schema::decode(&deep), Err(SchemaError::TooDeep { .. })));

    // A refused slice says why.
    let err = Schema::decode(&[2, 0x13, 0, 0, 0, 0, 0x03]).unwrap_err();
    assert!(err.to_string().contains("max_len must be 1"), "{err}");
}
