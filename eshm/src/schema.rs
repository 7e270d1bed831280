//! What a message type is: its layout, a stable fingerprint and a byte encoding.
//!
//! A [`Schema`] describes one [`Message`](crate::Message) type: its size, its alignment and its
//! kind (a [`Primitive`], a fixed-length array, a struct with named fields at fixed offsets, or
//! a fieldless enum with an integer representation). The derive builds it in a `const`, every
//! segment header stores it in [encoded](Schema::encode) form, and any process (Rust, Python,
//! the `eshm` command-line tool) can [decode](Schema::decode) it to learn the layout of a topic
//! without knowing its type.
//!
//! # Encoding (version 1)
//!
//! All integers are little-endian. A name is a length byte `n` (1 to 255) followed by `n` bytes
//! of UTF-8. The encoding of a schema is the version byte `0x01` followed by the encoding of its
//! root node:
//!
//! ```text
//! schema    = 0x01 node
//! node      = primitive | array | struct | enum
//! primitive = tag                                   one byte, see below
//! array     = 0x10 len:u32 node                     len >= 1; node is the element
//! struct    = 0x11 name size:u32 align:u32 count:u16 field*count
//! field     = name offset:u32 node
//! enum      = 0x12 name repr:u8 count:u16 variant*count
//! variant   = name value:i64                        repr is an integer primitive tag
//! ```
//!
//! Primitive tags: `0x01 u8`, `0x02 u16`, `0x03 u32`, `0x04 u64`, `0x05 i8`, `0x06 i16`,
//! `0x07 i32`, `0x08 i64`, `0x09 f32`, `0x0A f64`, `0x0B bool`. Sizes are 1, 2, 4, 8, 1, 2, 4,
//! 8, 4, 8 and 1 bytes, and each primitive is aligned to its size.
//!
//! An array's size is `len` times its element's size and its alignment is the element's. An
//! enum's size and alignment are those of its `repr`. Struct fields appear in ascending offset
//! order. Names are the type's own identifier (`Imu`, not `my_crate::sensors::Imu`) and the
//! field's identifier; arrays have no name of their own.
//!
//! [`decode`](Schema::decode) accepts exactly the encodings that [`encode`](Schema::encode)
//! can produce, so every valid encoding is canonical. It rejects, with a [`SchemaError`]:
//! input longer than [`MAX_ENCODED_LEN`], nesting deeper than [`MAX_DEPTH`], unknown tags,
//! truncated input and trailing bytes, empty or non-UTF-8 names, zero-length arrays, sizes that
//! overflow `u32`, alignments that are not powers of two (or exceed [`MAX_ALIGN`]), structs
//! with no fields, with fields out of order, misaligned, overlapping or outside the struct,
//! with padding (the fields must tile the struct exactly) or with two fields of one name, and
//! enums with no variants, a non-integer repr, a value outside the repr's range, or a repeated
//! name or value.
//!
//! # Fingerprint
//!
//! The fingerprint of a schema is the 64-bit FNV-1a hash of its encoding: start from the
//! offset basis `0xcbf29ce484222325`; for each byte `b`, `h = (h ^ b) * 0x100000001b3`
//! (wrapping). It covers every name, offset, size, alignment, array length, enum value and
//! element type, recursively, and nothing else: not the compiler version, the crate or the
//! module path. Two processes built separately, in Rust or in Python, agree on it.
//! [`Schema::fingerprint`] is a `const fn`:
//!
//! ```
//! use eshm::Message;
//!
//! #[derive(Clone, Copy, eshm::Message)]
//! #[repr(C)]
//! struct Point { x: f32, y: f32 }
//!
//! const POINT_ID: u64 = Point::SCHEMA.fingerprint();
//! assert_eq!(POINT_ID, eshm::schema::fnv1a64(&Point::SCHEMA.encode()));
//! ```
//!
//! Test vectors (encodings and fingerprints) are in `tests/data/schema_vectors.json` in the
//! repository.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

/// The version byte that starts every encoding.
pub const ENCODING_VERSION: u8 = 1;
/// The longest encoding [`Schema::decode`] accepts, in bytes.
pub const MAX_ENCODED_LEN: usize = 64 * 1024;
/// The deepest nesting of arrays and structs [`Schema::decode`] accepts.
pub const MAX_DEPTH: usize = 32;
/// The largest alignment a schema may declare.
pub const MAX_ALIGN: usize = 4096;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

const TAG_ARRAY: u8 = 0x10;
const TAG_STRUCT: u8 = 0x11;
const TAG_ENUM: u8 = 0x12;

/// The 64-bit FNV-1a hash of `bytes`: the fingerprint of an encoded schema.
///
/// # Examples
///
/// ```
/// assert_eq!(eshm::schema::fnv1a64(b""), 0xcbf29ce484222325);
/// assert_eq!(eshm::schema::fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
/// ```
pub const fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h = FNV_OFFSET;
    let mut i = 0;
    while i < bytes.len() {
        h = (h ^ bytes[i] as u64).wrapping_mul(FNV_PRIME);
        i += 1;
    }
    h
}

/// A fixed-width scalar type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Primitive {
    /// `u8`
    U8,
    /// `u16`
    U16,
    /// `u32`
    U32,
    /// `u64`
    U64,
    /// `i8`
    I8,
    /// `i16`
    I16,
    /// `i32`
    I32,
    /// `i64`
    I64,
    /// `f32`
    F32,
    /// `f64`
    F64,
    /// `bool`: one byte, `0` or `1`; any other value is invalid.
    Bool,
}

impl Primitive {
    /// Every primitive, in tag order.
    pub const ALL: [Primitive; 11] = [
        Primitive::U8,
        Primitive::U16,
        Primitive::U32,
        Primitive::U64,
        Primitive::I8,
        Primitive::I16,
        Primitive::I32,
        Primitive::I64,
        Primitive::F32,
        Primitive::F64,
        Primitive::Bool,
    ];

    /// Size in bytes (also the alignment).
    pub const fn size(self) -> usize {
        match self {
            Primitive::U8 | Primitive::I8 | Primitive::Bool => 1,
            Primitive::U16 | Primitive::I16 => 2,
            Primitive::U32 | Primitive::I32 | Primitive::F32 => 4,
            Primitive::U64 | Primitive::I64 | Primitive::F64 => 8,
        }
    }

    /// The Rust name: `"u8"`, `"f64"`, `"bool"`, ...
    pub const fn name(self) -> &'static str {
        match self {
            Primitive::U8 => "u8",
            Primitive::U16 => "u16",
            Primitive::U32 => "u32",
            Primitive::U64 => "u64",
            Primitive::I8 => "i8",
            Primitive::I16 => "i16",
            Primitive::I32 => "i32",
            Primitive::I64 => "i64",
            Primitive::F32 => "f32",
            Primitive::F64 => "f64",
            Primitive::Bool => "bool",
        }
    }

    /// The primitive with the Rust name `name`, if any.
    ///
    /// ```
    /// use eshm::schema::Primitive;
    /// assert_eq!(Primitive::from_name("f64"), Some(Primitive::F64));
    /// assert_eq!(Primitive::from_name("usize"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Primitive> {
        Primitive::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The tag byte of this primitive in the encoding.
    pub const fn tag(self) -> u8 {
        match self {
            Primitive::U8 => 0x01,
            Primitive::U16 => 0x02,
            Primitive::U32 => 0x03,
            Primitive::U64 => 0x04,
            Primitive::I8 => 0x05,
            Primitive::I16 => 0x06,
            Primitive::I32 => 0x07,
            Primitive::I64 => 0x08,
            Primitive::F32 => 0x09,
            Primitive::F64 => 0x0A,
            Primitive::Bool => 0x0B,
        }
    }

    /// The primitive whose tag byte is `tag`.
    pub const fn from_tag(tag: u8) -> Option<Primitive> {
        if tag >= 1 && tag <= 11 { Some(Primitive::ALL[(tag - 1) as usize]) } else { None }
    }

    /// Whether this is an integer type (a valid enum representation).
    pub const fn is_integer(self) -> bool {
        !matches!(self, Primitive::F32 | Primitive::F64 | Primitive::Bool)
    }

    /// Whether this is a signed integer type.
    pub const fn is_signed(self) -> bool {
        matches!(self, Primitive::I8 | Primitive::I16 | Primitive::I32 | Primitive::I64)
    }

    /// The smallest and largest values of an integer type (`None` for `f32`, `f64`, `bool`).
    pub const fn integer_range(self) -> Option<(i128, i128)> {
        if !self.is_integer() {
            return None;
        }
        let bits = self.size() as u32 * 8;
        Some(if self.is_signed() {
            (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
        } else {
            (0, (1i128 << bits) - 1)
        })
    }

    /// Whether `value` is representable in this integer type (u64 enum values are stored as
    /// the i64 with the same bits, so every i64 fits a u64).
    const fn holds(self, value: i64) -> bool {
        match self.integer_range() {
            Some(_) if self.size() == 8 => true,
            Some((min, max)) => value as i128 >= min && value as i128 <= max,
            None => false,
        }
    }

    /// Reads an integer of this type from the first bytes of `bytes` (little-endian) as the
    /// `i64` that the encoding stores for enum values. `None` for non-integers.
    pub fn read_integer(self, bytes: &[u8]) -> Option<i64> {
        let n = self.size();
        let mut le = [0u8; 8];
        le[..n].copy_from_slice(bytes.get(..n)?);
        let raw = u64::from_le_bytes(le);
        Some(match self {
            Primitive::U8 | Primitive::U16 | Primitive::U32 | Primitive::U64 => raw as i64,
            Primitive::I8 => raw as u8 as i8 as i64,
            Primitive::I16 => raw as u16 as i16 as i64,
            Primitive::I32 => raw as u32 as i32 as i64,
            Primitive::I64 => raw as i64,
            Primitive::F32 | Primitive::F64 | Primitive::Bool => return None,
        })
    }
}

impl fmt::Display for Primitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A reference to a nested schema: `'static` when built by the derive, owned when decoded.
#[derive(Clone)]
pub struct SchemaRef(RefRepr);

#[derive(Clone)]
enum RefRepr {
    Static(&'static Schema),
    Owned(Box<Schema>),
}

impl SchemaRef {
    /// Refers to a `'static` schema (what the derive uses).
    pub const fn from_static(schema: &'static Schema) -> SchemaRef {
        SchemaRef(RefRepr::Static(schema))
    }

    fn owned(schema: Schema) -> SchemaRef {
        SchemaRef(RefRepr::Owned(Box::new(schema)))
    }

    /// The schema referred to.
    pub const fn get(&self) -> &Schema {
        match &self.0 {
            RefRepr::Static(s) => s,
            RefRepr::Owned(b) => b,
        }
    }
}

impl std::ops::Deref for SchemaRef {
    type Target = Schema;
    fn deref(&self) -> &Schema {
        self.get()
    }
}

impl fmt::Debug for SchemaRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.get().fmt(f)
    }
}

impl PartialEq for SchemaRef {
    fn eq(&self, other: &SchemaRef) -> bool {
        self.get() == other.get()
    }
}
impl Eq for SchemaRef {}

/// A named field of a struct schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    name: Cow<'static, str>,
    offset: u32,
    schema: SchemaRef,
}

impl Field {
    /// A field called `name` at byte `offset`, of type `schema` (used by the derive).
    pub const fn new(name: &'static str, offset: usize, schema: &'static Schema) -> Field {
        assert!(offset <= u32::MAX as usize, "eshm: field offset does not fit in u32");
        Field {
            name: Cow::Borrowed(name),
            offset: offset as u32,
            schema: SchemaRef::from_static(schema),
        }
    }

    /// The field's name.
    pub const fn name(&self) -> &str {
        cow_str(&self.name)
    }

    /// The field's offset from the start of the struct, in bytes.
    pub const fn offset(&self) -> usize {
        self.offset as usize
    }

    /// The field's type.
    pub const fn schema(&self) -> &Schema {
        self.schema.get()
    }
}

/// A named value of an enum schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Variant {
    name: Cow<'static, str>,
    value: i64,
}

impl Variant {
    /// A variant called `name` whose discriminant is `value` (used by the derive). Values of
    /// `u64`-represented enums above `i64::MAX` are stored as the `i64` with the same bits.
    pub const fn new(name: &'static str, value: i64) -> Variant {
        Variant { name: Cow::Borrowed(name), value }
    }

    /// The variant's name.
    pub const fn name(&self) -> &str {
        cow_str(&self.name)
    }

    /// The variant's discriminant.
    pub const fn value(&self) -> i64 {
        self.value
    }
}

/// What kind of type a [`Schema`] describes.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// A fixed-width scalar.
    Primitive(Primitive),
    /// `[element; len]`.
    Array {
        /// The element type.
        element: SchemaRef,
        /// The number of elements (at least 1).
        len: u32,
    },
    /// A `#[repr(C)]` struct with named fields.
    Struct {
        /// The type's own name (no module path).
        name: Cow<'static, str>,
        /// The fields in ascending offset order; they tile the struct without padding.
        fields: Cow<'static, [Field]>,
    },
    /// A fieldless enum with an integer representation.
    Enum {
        /// The type's own name (no module path).
        name: Cow<'static, str>,
        /// The integer type that holds the discriminant.
        repr: Primitive,
        /// The variants in declaration order.
        variants: Cow<'static, [Variant]>,
    },
}

/// The layout of a message type. See the [module docs](self) for the encoding and the
/// fingerprint.
///
/// # Examples
///
/// ```
/// use eshm::{Message, schema::{Kind, Primitive}};
///
/// #[derive(Clone, Copy, eshm::Message)]
/// #[repr(C)]
/// struct Reading { stamp_ns: u64, value: [f32; 2] }
///
/// let schema = Reading::SCHEMA;
/// assert_eq!((schema.size(), schema.align()), (16, 8));
/// assert_eq!(schema.type_name(), "Reading");
/// let Kind::Struct { fields, .. } = schema.kind() else { unreachable!() };
/// assert_eq!(fields[1].name(), "value");
/// assert_eq!(fields[1].offset(), 8);
/// assert_eq!(fields[1].schema().type_name(), "[f32; 2]");
/// // The encoding round-trips and is what the fingerprint hashes.
/// let decoded = eshm::Schema::decode(&schema.encode()).unwrap();
/// assert_eq!(&decoded, schema);
/// assert_eq!(decoded.fingerprint(), schema.fingerprint());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schema {
    size: u32,
    align: u32,
    kind: Kind,
}

// `Deref` is not `const`; these are what `&**c` would be.
#[allow(clippy::ptr_arg)]
const fn cow_str<'a>(c: &'a Cow<'static, str>) -> &'a str {
    match c {
        Cow::Borrowed(s) => s,
        Cow::Owned(s) => s.as_str(),
    }
}

#[allow(clippy::ptr_arg)]
const fn cow_slice<'a, T: Clone>(c: &'a Cow<'static, [T]>) -> &'a [T] {
    match c {
        Cow::Borrowed(s) => s,
        Cow::Owned(v) => v.as_slice(),
    }
}

impl Schema {
    /// The schema of a primitive.
    pub const fn primitive(p: Primitive) -> Schema {
        Schema { size: p.size() as u32, align: p.size() as u32, kind: Kind::Primitive(p) }
    }

    /// The schema of `[element; len]`.
    ///
    /// # Panics
    ///
    /// When `len` is zero or the array is larger than `u32::MAX` bytes (at compile time when
    /// used in a `const`).
    pub const fn array(element: &'static Schema, len: usize) -> Schema {
        assert!(len >= 1, "eshm: zero-length arrays are not messages (they hold no data)");
        assert!(
            len <= u32::MAX as usize && (element.size as u64) * (len as u64) <= u32::MAX as u64,
            "eshm: message types larger than 4 GiB are not supported"
        );
        Schema {
            size: element.size * len as u32,
            align: element.align,
            kind: Kind::Array { element: SchemaRef::from_static(element), len: len as u32 },
        }
    }

    /// The schema of a struct (used by the derive, which guarantees that `fields` tile the
    /// struct in offset order).
    ///
    /// # Panics
    ///
    /// When `size` does not fit in `u32`.
    pub const fn structure(
        name: &'static str,
        size: usize,
        align: usize,
        fields: &'static [Field],
    ) -> Schema {
        assert!(
            size <= u32::MAX as usize,
            "eshm: message types larger than 4 GiB are not supported"
        );
        Schema {
            size: size as u32,
            align: align as u32,
            kind: Kind::Struct { name: Cow::Borrowed(name), fields: Cow::Borrowed(fields) },
        }
    }

    /// The schema of a fieldless enum represented as `repr` (used by the derive).
    ///
    /// # Panics
    ///
    /// When `repr` is not an integer type.
    pub const fn enumeration(
        name: &'static str,
        repr: Primitive,
        variants: &'static [Variant],
    ) -> Schema {
        assert!(repr.is_integer(), "eshm: an enum must be represented by an integer type");
        Schema {
            size: repr.size() as u32,
            align: repr.size() as u32,
            kind: Kind::Enum { name: Cow::Borrowed(name), repr, variants: Cow::Borrowed(variants) },
        }
    }

    /// Size in bytes.
    pub const fn size(&self) -> usize {
        self.size as usize
    }

    /// Alignment in bytes.
    pub const fn align(&self) -> usize {
        self.align as usize
    }

    /// What kind of type this is.
    pub const fn kind(&self) -> &Kind {
        &self.kind
    }

    /// The type's name as Rust spells it: `Imu`, `f32`, `[u8; 16]`, `[Vector3; 2]`.
    pub fn type_name(&self) -> String {
        match &self.kind {
            Kind::Primitive(p) => p.name().to_owned(),
            Kind::Array { element, len } => format!("[{}; {len}]", element.type_name()),
            Kind::Struct { name, .. } | Kind::Enum { name, .. } => name.to_string(),
        }
    }

    /// The 64-bit fingerprint: FNV-1a of [`encode`](Self::encode)'s output, computed without
    /// allocating, in a `const` context if wanted.
    pub const fn fingerprint(&self) -> u64 {
        let mut sink = Sink { hash: FNV_OFFSET, len: 0, out: None };
        sink.byte(ENCODING_VERSION);
        walk(self, &mut sink);
        sink.hash
    }

    /// Length of [`encode`](Self::encode)'s output, in bytes.
    pub const fn encoded_len(&self) -> usize {
        let mut sink = Sink { hash: FNV_OFFSET, len: 0, out: None };
        sink.byte(ENCODING_VERSION);
        walk(self, &mut sink);
        sink.len
    }

    /// The compact byte encoding described in the [module docs](self).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![0u8; self.encoded_len()];
        let mut sink = Sink { hash: FNV_OFFSET, len: 0, out: Some(out.as_mut_slice()) };
        sink.byte(ENCODING_VERSION);
        walk(self, &mut sink);
        debug_assert_eq!(sink.len, self.encoded_len());
        out
    }

    /// Decodes (and fully validates) an encoding written by [`encode`](Self::encode), possibly
    /// by another process. Untrusted input never panics: anything but a valid encoding is an
    /// error saying where it went wrong.
    ///
    /// # Errors
    ///
    /// [`SchemaError`] for every rule listed in the [module docs](self).
    pub fn decode(bytes: &[u8]) -> Result<Schema, SchemaError> {
        if bytes.len() > MAX_ENCODED_LEN {
            return Err(SchemaError::TooLong { len: bytes.len(), max: MAX_ENCODED_LEN });
        }
        let mut r = Reader { bytes, pos: 0 };
        let version = r.u8()?;
        if version != ENCODING_VERSION {
            return Err(SchemaError::Version { found: version, expected: ENCODING_VERSION });
        }
        let schema = r.node(0)?;
        if r.pos != bytes.len() {
            return Err(SchemaError::TrailingBytes { at: r.pos, len: bytes.len() });
        }
        Ok(schema)
    }

    /// Whether some byte patterns of this size are not valid values (it contains a `bool` or an
    /// enum), so that received bytes must be [validated](Self::validate).
    pub const fn has_invalid_bit_patterns(&self) -> bool {
        match &self.kind {
            Kind::Primitive(p) => matches!(p, Primitive::Bool),
            Kind::Array { element, .. } => element.get().has_invalid_bit_patterns(),
            Kind::Struct { fields, .. } => {
                let fields = cow_slice(fields);
                let mut i = 0;
                while i < fields.len() {
                    if fields[i].schema().has_invalid_bit_patterns() {
                        return true;
                    }
                    i += 1;
                }
                false
            }
            Kind::Enum { .. } => true,
        }
    }

    /// Checks that `bytes` hold a valid value of this type: the right length, every `bool` `0`
    /// or `1`, every enum one of its variants.
    ///
    /// # Errors
    ///
    /// [`ValidityError`] naming the first offending field and its value.
    ///
    /// # Examples
    ///
    /// ```
    /// use eshm::Message;
    /// let schema = <[bool; 2]>::SCHEMA;
    /// assert!(schema.validate(&[1, 0]).is_ok());
    /// let err = schema.validate(&[1, 7]).unwrap_err();
    /// assert_eq!(err.to_string(), "`[1]` at byte 1 holds 7, which is not a valid bool");
    /// ```
    pub fn validate(&self, bytes: &[u8]) -> Result<(), ValidityError> {
        if bytes.len() != self.size() {
            return Err(ValidityError::Length { expected: self.size(), found: bytes.len() });
        }
        if !self.has_invalid_bit_patterns() {
            return Ok(());
        }
        self.validate_at(bytes, 0).map_err(|e| match e {
            ValidityError::BitPattern { path, offset, value, expected } if path.is_empty() => {
                ValidityError::BitPattern { path: "value".into(), offset, value, expected }
            }
            e => e,
        })
    }

    /// `validate` below the length check. Allocates only for an error, whose path each level
    /// prefixes on the way out.
    fn validate_at(&self, bytes: &[u8], offset: usize) -> Result<(), ValidityError> {
        match &self.kind {
            Kind::Primitive(Primitive::Bool) => {
                let b = bytes[offset];
                if b > 1 {
                    return Err(bit_pattern(offset, i64::from(b), "bool".into()));
                }
            }
            Kind::Primitive(_) => {}
            Kind::Array { element, len } => {
                if element.has_invalid_bit_patterns() {
                    for i in 0..*len as usize {
                        element
                            .validate_at(bytes, offset + i * element.size())
                            .map_err(|e| within(e, &format!("[{i}]")))?;
                    }
                }
            }
            Kind::Struct { fields, .. } => {
                for f in fields.iter() {
                    if f.schema().has_invalid_bit_patterns() {
                        f.schema()
                            .validate_at(bytes, offset + f.offset())
                            .map_err(|e| within(e, f.name()))?;
                    }
                }
            }
            Kind::Enum { name, repr, variants } => {
                let value = repr.read_integer(&bytes[offset..]).unwrap_or_default();
                if !variants.iter().any(|v| v.value == value) {
                    return Err(bit_pattern(offset, value, format!("`{name}` variant")));
                }
            }
        }
        Ok(())
    }

    /// The bytes of this type's initial value: every number zero, every `bool` false and every
    /// enum its first variant (what [`Message::INIT`](crate::Message::INIT) holds).
    pub fn init_bytes(&self) -> Vec<u8> {
        let mut out = vec![0u8; self.size()];
        self.write_init(&mut out);
        out
    }

    fn write_init(&self, out: &mut [u8]) {
        match &self.kind {
            Kind::Primitive(_) => {}
            Kind::Array { element, len } => {
                let n = element.size();
                for i in 0..*len as usize {
                    element.write_init(&mut out[i * n..(i + 1) * n]);
                }
            }
            Kind::Struct { fields, .. } => {
                for f in fields.iter() {
                    let n = f.schema().size();
                    f.schema().write_init(&mut out[f.offset()..f.offset() + n]);
                }
            }
            Kind::Enum { repr, variants, .. } => {
                let n = repr.size();
                out[..n].copy_from_slice(&variants[0].value.to_le_bytes()[..n]);
            }
        }
    }

    /// A readable, Rust-like definition of the type and of every struct and enum it contains,
    /// with offsets and sizes, as `eshm info` prints it.
    pub fn definition(&self) -> String {
        let mut out = String::new();
        let mut seen = HashSet::new();
        self.define(&mut out, &mut seen);
        if out.is_empty() {
            out = format!("{}  // {} bytes, align {}\n", self.type_name(), self.size, self.align);
        }
        out
    }

    fn define(&self, out: &mut String, seen: &mut HashSet<String>) {
        use std::fmt::Write as _;
        match &self.kind {
            Kind::Primitive(_) => {}
            Kind::Array { element, .. } => element.define(out, seen),
            Kind::Struct { name, fields } => {
                if !seen.insert(name.to_string()) {
                    return;
                }
                for f in fields.iter() {
                    f.schema().define(out, seen);
                }
                let _ = writeln!(
                    out,
                    "#[repr(C)]\nstruct {name} {{  // {} bytes, align {}",
                    self.size, self.align
                );
                for f in fields.iter() {
                    let decl = format!("{}: {},", f.name(), f.schema().type_name());
                    let _ = writeln!(out, "    {decl:<32} // offset {}", f.offset());
                }
                out.push_str("}\n");
            }
            Kind::Enum { name, repr, variants } => {
                if !seen.insert(name.to_string()) {
                    return;
                }
                let _ = writeln!(out, "#[repr({repr})]\nenum {name} {{");
                for v in variants.iter() {
                    let _ = writeln!(out, "    {} = {},", v.name(), v.value);
                }
                out.push_str("}\n");
            }
        }
    }

    /// Where `self` and `other` first differ, in words (`None` when they are equal). Used in
    /// [`Error::TypeMismatch`](crate::Error::TypeMismatch).
    ///
    /// ```
    /// use eshm::Message;
    /// let diff = <[f32; 3]>::SCHEMA.first_difference(<[f64; 3]>::SCHEMA).unwrap();
    /// assert_eq!(diff, "element type: `f32` here, `f64` there");
    /// ```
    pub fn first_difference(&self, other: &Schema) -> Option<String> {
        self.diff(other, "")
    }

    fn diff(&self, other: &Schema, at: &str) -> Option<String> {
        let here =
            |what: &str| if at.is_empty() { what.to_owned() } else { format!("{at}: {what}") };
        match (&self.kind, &other.kind) {
            (Kind::Struct { name: a, fields: fa }, Kind::Struct { name: b, fields: fb }) => {
                if a != b {
                    return Some(here(&format!("type name: `{a}` here, `{b}` there")));
                }
                for (i, (x, y)) in fa.iter().zip(fb.iter()).enumerate() {
                    let path = if at.is_empty() {
                        format!("field `{}`", x.name())
                    } else {
                        format!("{at}.{}", x.name())
                    };
                    if x.name() != y.name() {
                        return Some(here(&format!(
                            "field {i} is `{}` here, `{}` there",
                            x.name(),
                            y.name()
                        )));
                    }
                    if x.offset != y.offset {
                        return Some(format!(
                            "{path}: offset {} here, {} there",
                            x.offset, y.offset
                        ));
                    }
                    if let Some(d) = x.schema().diff(y.schema(), &path) {
                        return Some(d);
                    }
                }
                if fa.len() != fb.len() {
                    let (more, n) =
                        if fa.len() > fb.len() { ("here", fb.len()) } else { ("there", fa.len()) };
                    let extra = if fa.len() > fb.len() { &fa[n] } else { &fb[n] };
                    return Some(here(&format!(
                        "{} fields here, {} there (extra field `{}` {more})",
                        fa.len(),
                        fb.len(),
                        extra.name()
                    )));
                }
            }
            (Kind::Array { element: a, len: la }, Kind::Array { element: b, len: lb }) => {
                if la != lb {
                    return Some(here(&format!(
                        "array length: {la} here, {lb} there (`{}` vs `{}`)",
                        self.type_name(),
                        other.type_name()
                    )));
                }
                if a.type_name() != b.type_name() {
                    let p = if at.is_empty() {
                        "element type".to_owned()
                    } else {
                        format!("{at} element type")
                    };
                    return Some(format!(
                        "{p}: `{}` here, `{}` there",
                        a.type_name(),
                        b.type_name()
                    ));
                }
                let p = if at.is_empty() { "element".to_owned() } else { format!("{at}[..]") };
                return a.diff(b, &p);
            }
            (
                Kind::Enum { name: a, repr: ra, variants: va },
                Kind::Enum { name: b, repr: rb, variants: vb },
            ) => {
                if a != b {
                    return Some(here(&format!("type name: `{a}` here, `{b}` there")));
                }
                if ra != rb {
                    return Some(here(&format!("enum `{a}` repr: {ra} here, {rb} there")));
                }
                if va != vb {
                    return Some(here(&format!("enum `{a}` has different variants")));
                }
            }
            (Kind::Primitive(a), Kind::Primitive(b)) if a == b => {}
            _ => {
                return Some(here(&format!(
                    "type: `{}` here, `{}` there",
                    self.type_name(),
                    other.type_name()
                )));
            }
        }
        if self.size != other.size || self.align != other.align {
            return Some(here(&format!(
                "size/align: {}/{} here, {}/{} there",
                self.size, self.align, other.size, other.align
            )));
        }
        None
    }
}

impl fmt::Display for Schema {
    /// The type name; `{:#}` prints the full [`definition`](Schema::definition).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() { f.write_str(&self.definition()) } else { f.write_str(&self.type_name()) }
    }
}

// ---------------------------------------------------------------------------------------------
// The walker shared by `fingerprint`, `encoded_len` and `encode`: one description of the
// encoding, usable in const contexts.

struct Sink<'a> {
    hash: u64,
    len: usize,
    out: Option<&'a mut [u8]>,
}

impl Sink<'_> {
    const fn byte(&mut self, b: u8) {
        self.hash = (self.hash ^ b as u64).wrapping_mul(FNV_PRIME);
        if let Some(out) = &mut self.out {
            out[self.len] = b;
        }
        self.len += 1;
    }

    const fn bytes(&mut self, bytes: &[u8]) {
        let mut i = 0;
        while i < bytes.len() {
            self.byte(bytes[i]);
            i += 1;
        }
    }

    const fn name(&mut self, name: &str) {
        // Names are Rust identifiers, far below 256 bytes; a longer one is truncated in the
        // const path only if a hand-built schema asks for it, and `decode` rejects nothing the
        // derive can produce.
        assert!(!name.is_empty() && name.len() <= 255, "eshm: names must be 1 to 255 bytes");
        self.byte(name.len() as u8);
        self.bytes(name.as_bytes());
    }
}

const fn walk(s: &Schema, sink: &mut Sink<'_>) {
    match &s.kind {
        Kind::Primitive(p) => sink.byte(p.tag()),
        Kind::Array { element, len } => {
            sink.byte(TAG_ARRAY);
            sink.bytes(&len.to_le_bytes());
            walk(element.get(), sink);
        }
        Kind::Struct { name, fields } => {
            sink.byte(TAG_STRUCT);
            sink.name(cow_str(name));
            sink.bytes(&s.size.to_le_bytes());
            sink.bytes(&s.align.to_le_bytes());
            let fields = cow_slice(fields);
            assert!(fields.len() <= u16::MAX as usize, "eshm: too many fields");
            sink.bytes(&(fields.len() as u16).to_le_bytes());
            let mut i = 0;
            while i < fields.len() {
                sink.name(fields[i].name());
                sink.bytes(&fields[i].offset.to_le_bytes());
                walk(fields[i].schema(), sink);
                i += 1;
            }
        }
        Kind::Enum { name, repr, variants } => {
            sink.byte(TAG_ENUM);
            sink.name(cow_str(name));
            sink.byte(repr.tag());
            let variants = cow_slice(variants);
            assert!(variants.len() <= u16::MAX as usize, "eshm: too many variants");
            sink.bytes(&(variants.len() as u16).to_le_bytes());
            let mut i = 0;
            while i < variants.len() {
                sink.name(variants[i].name());
                sink.bytes(&variants[i].value.to_le_bytes());
                i += 1;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Decoding untrusted bytes.

/// Why [`Schema::decode`] rejected its input. `at` is a byte offset into the input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// The input is longer than [`MAX_ENCODED_LEN`].
    #[error("schema encoding is {len} bytes, more than the {max} allowed")]
    TooLong {
        /// Input length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The input ends in the middle of a node.
    #[error("schema encoding is truncated at byte {at}")]
    Truncated {
        /// Where more input was needed.
        at: usize,
    },
    /// The encoding version is not one this build understands.
    #[error(
        "schema encoding version {found} is not supported (this build reads version {expected})"
    )]
    Version {
        /// The version byte found.
        found: u8,
        /// The version this build writes and reads.
        expected: u8,
    },
    /// A node tag is unknown.
    #[error("unknown schema node tag {tag:#04x} at byte {at}")]
    UnknownTag {
        /// The tag byte.
        tag: u8,
        /// Its offset.
        at: usize,
    },
    /// Arrays and structs nest deeper than [`MAX_DEPTH`].
    #[error("schema nests deeper than {max} levels at byte {at}")]
    TooDeep {
        /// Where the limit was hit.
        at: usize,
        /// The limit.
        max: usize,
    },
    /// Bytes remain after the root node.
    #[error("{} trailing bytes after the schema (it ends at byte {at})", len - at)]
    TrailingBytes {
        /// Where the schema ends.
        at: usize,
        /// Input length.
        len: usize,
    },
    /// A node breaks one of the layout rules.
    #[error("invalid schema at byte {at}: {reason}")]
    Invalid {
        /// Offset of the offending node or item.
        at: usize,
        /// What is wrong.
        reason: String,
    },
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], SchemaError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or(SchemaError::Truncated { at: self.bytes.len() })?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, SchemaError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, SchemaError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, SchemaError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn i64(&mut self) -> Result<i64, SchemaError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_le_bytes(a))
    }

    fn name(&mut self) -> Result<String, SchemaError> {
        let at = self.pos;
        let n = self.u8()? as usize;
        if n == 0 {
            return Err(SchemaError::Invalid { at, reason: "empty name".into() });
        }
        let raw = self.take(n)?;
        let s = std::str::from_utf8(raw)
            .map_err(|_| SchemaError::Invalid { at, reason: "name is not UTF-8".into() })?;
        Ok(s.to_owned())
    }

    fn node(&mut self, depth: usize) -> Result<Schema, SchemaError> {
        let at = self.pos;
        if depth >= MAX_DEPTH {
            return Err(SchemaError::TooDeep { at, max: MAX_DEPTH });
        }
        let bad = |reason: String| SchemaError::Invalid { at, reason };
        let tag = self.u8()?;
        if let Some(p) = Primitive::from_tag(tag) {
            return Ok(Schema::primitive(p));
        }
        match tag {
            TAG_ARRAY => {
                let len = self.u32()?;
                let element = self.node(depth + 1)?;
                if len == 0 {
                    return Err(bad("zero-length array".into()));
                }
                let size = u64::from(element.size) * u64::from(len);
                let size =
                    u32::try_from(size).map_err(|_| bad("array size overflows u32".into()))?;
                Ok(Schema {
                    size,
                    align: element.align,
                    kind: Kind::Array { element: SchemaRef::owned(element), len },
                })
            }
            TAG_STRUCT => {
                let name = self.name()?;
                let size = self.u32()?;
                let align = self.u32()?;
                if !align.is_power_of_two() || align as usize > MAX_ALIGN {
                    return Err(bad(format!("struct `{name}` has alignment {align}")));
                }
                if size % align != 0 {
                    return Err(bad(format!(
                        "struct `{name}` size {size} is not a multiple of its alignment {align}"
                    )));
                }
                let count = self.u16()?;
                if count == 0 {
                    return Err(bad(format!("struct `{name}` has no fields")));
                }
                let mut fields = Vec::with_capacity(usize::from(count).min(64));
                let mut names = HashSet::new();
                let mut end = 0u64;
                for _ in 0..count {
                    let fat = self.pos;
                    let fname = self.name()?;
                    let offset = self.u32()?;
                    let schema = self.node(depth + 1)?;
                    let fbad = |what: String| SchemaError::Invalid {
                        at: fat,
                        reason: format!("field `{fname}` of `{name}` {what}"),
                    };
                    if u64::from(offset) != end {
                        return Err(fbad(format!(
                            "is at offset {offset}, but the previous field ends at {end} \
                             (fields must follow each other without gaps or overlap)"
                        )));
                    }
                    if offset % schema.align != 0 || schema.align > align {
                        return Err(fbad(format!(
                            "is misaligned (offset {offset}, alignment {})",
                            schema.align
                        )));
                    }
                    end = u64::from(offset) + u64::from(schema.size);
                    if !names.insert(fname.clone()) {
                        return Err(fbad("is declared twice".into()));
                    }
                    fields.push(Field {
                        name: Cow::Owned(fname),
                        offset,
                        schema: SchemaRef::owned(schema),
                    });
                }
                if end != u64::from(size) {
                    return Err(bad(format!(
                        "struct `{name}` is {size} bytes but its fields cover {end} \
                         (no padding is allowed)"
                    )));
                }
                Ok(Schema {
                    size,
                    align,
                    kind: Kind::Struct { name: Cow::Owned(name), fields: Cow::Owned(fields) },
                })
            }
            TAG_ENUM => {
                let name = self.name()?;
                let repr_at = self.pos;
                let repr = Primitive::from_tag(self.u8()?).filter(|p| p.is_integer()).ok_or_else(
                    || SchemaError::Invalid {
                        at: repr_at,
                        reason: format!("enum `{name}` repr is not an integer type"),
                    },
                )?;
                let count = self.u16()?;
                if count == 0 {
                    return Err(bad(format!("enum `{name}` has no variants")));
                }
                let mut variants = Vec::with_capacity(usize::from(count).min(64));
                let mut names = HashSet::new();
                let mut values = HashSet::new();
                for _ in 0..count {
                    let vat = self.pos;
                    let vname = self.name()?;
                    let value = self.i64()?;
                    let vbad = |what: String| SchemaError::Invalid {
                        at: vat,
                        reason: format!("variant `{vname}` of `{name}` {what}"),
                    };
                    if !repr.holds(value) {
                        return Err(vbad(format!("has value {value}, outside {repr}")));
                    }
                    if !names.insert(vname.clone()) {
                        return Err(vbad("is declared twice".into()));
                    }
                    if !values.insert(value) {
                        return Err(vbad(format!("repeats value {value}")));
                    }
                    variants.push(Variant { name: Cow::Owned(vname), value });
                }
                Ok(Schema {
                    size: repr.size() as u32,
                    align: repr.size() as u32,
                    kind: Kind::Enum {
                        name: Cow::Owned(name),
                        repr,
                        variants: Cow::Owned(variants),
                    },
                })
            }
            _ => Err(SchemaError::UnknownTag { tag, at }),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Validation errors.

/// Why received bytes are not a valid value of their type.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidityError {
    /// The byte count differs from the type's size.
    #[error("expected {expected} bytes, found {found}")]
    Length {
        /// The type's size.
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// A `bool` or enum field holds a value that is not one of its values.
    #[error("`{path}` at byte {offset} holds {value}, which is not a valid {expected}")]
    BitPattern {
        /// The field path (`imu.valid`, `[3]`), empty for the whole value.
        path: String,
        /// Byte offset of the field.
        offset: usize,
        /// The value found.
        value: i64,
        /// What the field should hold (`bool`, "`Mode` variant").
        expected: String,
    },
}

/// An invalid value at byte `offset`, its path filled in by the levels above.
fn bit_pattern(offset: usize, value: i64, expected: String) -> ValidityError {
    ValidityError::BitPattern { path: String::new(), offset, value, expected }
}

/// `e`, found inside the field or element `part`: `part` joins the front of its path
/// (`a.b[1].c`).
fn within(e: ValidityError, part: &str) -> ValidityError {
    match e {
        ValidityError::BitPattern { path, offset, value, expected } => {
            let sep = if path.is_empty() || path.starts_with('[') { "" } else { "." };
            ValidityError::BitPattern {
                path: format!("{part}{sep}{path}"),
                offset,
                value,
                expected,
            }
        }
        e => e,
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Owned-schema builders for tests (the public constructors are `'static`-only).
    use super::*;

    pub(crate) fn array(element: Schema, len: u32) -> Schema {
        Schema {
            size: element.size * len,
            align: element.align,
            kind: Kind::Array { element: SchemaRef::owned(element), len },
        }
    }

    pub(crate) fn structure(name: &str, fields: Vec<(&str, Schema)>) -> Schema {
        let mut offset = 0u32;
        let mut align = 1u32;
        let mut out = Vec::new();
        for (n, s) in fields {
            assert_eq!(offset % s.align, 0, "test schema would need padding");
            align = align.max(s.align);
            let size = s.size;
            out.push(Field { name: Cow::Owned(n.to_owned()), offset, schema: SchemaRef::owned(s) });
            offset += size;
        }
        assert_eq!(offset % align, 0, "test schema would need trailing padding");
        Schema {
            size: offset,
            align,
            kind: Kind::Struct { name: Cow::Owned(name.to_owned()), fields: Cow::Owned(out) },
        }
    }

    pub(crate) fn enumeration(name: &str, repr: Primitive, variants: &[(&str, i64)]) -> Schema {
        Schema {
            size: repr.size() as u32,
            align: repr.size() as u32,
            kind: Kind::Enum {
                name: Cow::Owned(name.to_owned()),
                repr,
                variants: Cow::Owned(
                    variants
                        .iter()
                        .map(|(n, v)| Variant { name: Cow::Owned((*n).to_owned()), value: *v })
                        .collect(),
                ),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing;
    use super::*;
    use proptest::prelude::*;

    /// Arbitrary valid schemas: primitives, arrays, enums and padding-free structs (fields
    /// sorted by decreasing alignment, then filled to a multiple of the struct's alignment).
    fn arb_schema() -> impl Strategy<Value = Schema> {
        let leaf = prop_oneof![
            (0usize..11).prop_map(|i| Schema::primitive(Primitive::ALL[i])),
            arb_enum(),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                (inner.clone(), 1u32..5).prop_map(|(s, n)| testing::array(s, n)),
                (prop::collection::vec(inner, 1..6), "[A-Z][a-z]{0,6}").prop_map(
                    |(mut fs, name)| {
                        fs.sort_by_key(|s| std::cmp::Reverse(s.align));
                        let align = fs.iter().map(|s| s.align).max().unwrap();
                        let size: u32 = fs.iter().map(|s| s.size).sum();
                        let mut fields: Vec<(String, Schema)> =
                            fs.into_iter().enumerate().map(|(i, s)| (format!("f{i}"), s)).collect();
                        for k in 0..(size.next_multiple_of(align) - size) {
                            fields.push((format!("_pad{k}"), Schema::primitive(Primitive::U8)));
                        }
                        let fields = fields.iter().map(|(n, s)| (n.as_str(), s.clone())).collect();
                        testing::structure(&name, fields)
                    }
                ),
            ]
        })
    }

    fn arb_enum() -> impl Strategy<Value = Schema> {
        let reprs = [Primitive::U8, Primitive::I8, Primitive::U16, Primitive::I32, Primitive::U64];
        (0usize..reprs.len(), prop::collection::btree_set(-128i64..128, 1..5)).prop_map(
            move |(r, values)| {
                let repr = reprs[r];
                let variants: Vec<(String, i64)> = values
                    .into_iter()
                    .map(|v| if repr.is_signed() { v } else { v.abs() })
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| (format!("V{i}"), v))
                    .collect();
                let v: Vec<(&str, i64)> = variants.iter().map(|(n, v)| (n.as_str(), *v)).collect();
                testing::enumeration("E", repr, &v)
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn schema_round_trips(schema in arb_schema()) {
            let bytes = schema.encode();
            prop_assert_eq!(bytes.len(), schema.encoded_len());
            let decoded = Schema::decode(&bytes).unwrap();
            prop_assert_eq!(decoded.fingerprint(), fnv1a64(&bytes));
            prop_assert_eq!(decoded.fingerprint(), schema.fingerprint());
            prop_assert_eq!(&decoded, &schema);
            prop_assert_eq!(decoded.init_bytes(), schema.init_bytes());
            prop_assert!(schema.validate(&schema.init_bytes()).is_ok());
        }

        #[test]
        fn schema_decode_never_panics_on_garbage(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = Schema::decode(&bytes);
            let mut prefixed = vec![ENCODING_VERSION];
            prefixed.extend_from_slice(&bytes);
            if let Ok(s) = Schema::decode(&prefixed) {
                // Anything accepted is canonical.
                prop_assert_eq!(s.encode(), prefixed);
            }
        }

        #[test]
        fn schema_decode_never_panics_on_mutations(
            schema in arb_schema(),
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut bytes = schema.encode();
            for (at, value) in edits {
                let i = at.index(bytes.len());
                bytes[i] = value;
            }
            if let Ok(s) = Schema::decode(&bytes) {
                prop_assert_eq!(s.encode(), bytes.clone());
                // Validating arbitrary payloads against an accepted schema never panics (a
                // mutated length can describe gigabytes: only try the small ones).
                if s.size() <= 1 << 16 {
                    let payload: Vec<u8> = (0..s.size()).map(|i| (i * 37) as u8).collect();
                    let _ = s.validate(&payload);
                }
                let _ = s.definition();
            }
            let _ = Schema::decode(&bytes[..cut.index(bytes.len())]);
        }

        #[test]
        fn schema_validate_never_panics(schema in arb_schema(), seed in any::<u64>()) {
            let mut x = seed;
            let payload: Vec<u8> = (0..schema.size()).map(|_| {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                (x >> 56) as u8
            }).collect();
            let _ = schema.validate(&payload);
            prop_assert!(schema.validate(&payload[..payload.len().saturating_sub(1)]).is_err());
        }
    }

    #[test]
    fn schema_diff_reports_extra_fields() {
        let a = testing::structure("S", vec![("a", Schema::primitive(Primitive::U32))]);
        let b = testing::structure(
            "S",
            vec![
                ("a", Schema::primitive(Primitive::U32)),
                ("b", Schema::primitive(Primitive::U32)),
            ],
        );
        assert_eq!(
            a.first_difference(&b).unwrap(),
            "1 fields here, 2 there (extra field `b` there)"
        );
    }
}
