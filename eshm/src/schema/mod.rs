//! What a message type is: its layout, a stable fingerprint and a byte encoding.
//!
//! A [`Schema`] describes one [`Message`](crate::Message) type: its size, its alignment and its
//! kind (a [`Primitive`], a fixed-length array, a struct with named fields at fixed offsets, or
//! a fieldless enum with an integer representation), or the messages of a variable-length
//! topic: a [slice](Schema::slice) of up to `max_len` elements of a message type. The derive builds it in a `const`, every
//! segment header stores it in [encoded](Schema::encode) form, and any process (Rust, Python,
//! the `eshm` command-line tool) can [decode](Schema::decode) it to learn the layout of a topic
//! without knowing its type.
//!
//! # Encoding (versions 1 and 2)
//!
//! All integers are little-endian. A name is a length byte `n` (1 to 255) followed by `n` bytes
//! of UTF-8 without control characters. The encoding of a message type is the version byte
//! `0x01` followed by the encoding of its root node; the encoding of a slice (the messages of
//! a variable-length topic) is the version byte `0x02` followed by a slice node, whose element
//! is a version-1 node:
//!
//! ```text
//! schema    = 0x01 node | 0x02 slice
//! node      = primitive | array | struct | enum
//! primitive = tag                                   one byte, see below
//! array     = 0x10 len:u32 node                     len >= 1; node is the element
//! struct    = 0x11 name size:u32 align:u32 count:u16 field*count
//! field     = name offset:u32 node
//! enum      = 0x12 name repr:u8 count:u16 variant*count
//! variant   = name value:i64                        repr is an integer primitive tag
//! slice     = 0x13 max_len:u32 node                 max_len >= 1; node is the element
//! ```
//!
//! Version 2 only adds the slice, and only at the root: every schema without one encodes (and
//! fingerprints) exactly as in version 1, and a reader that knows only version 1 refuses a
//! slice topic with a version error instead of misreading it.
//!
//! Primitive tags: `0x01 u8`, `0x02 u16`, `0x03 u32`, `0x04 u64`, `0x05 i8`, `0x06 i16`,
//! `0x07 i32`, `0x08 i64`, `0x09 f32`, `0x0A f64`, `0x0B bool`. Sizes are 1, 2, 4, 8, 1, 2, 4,
//! 8, 4, 8 and 1 bytes, and each primitive is aligned to its size.
//!
//! An array's size is `len` times its element's size and its alignment is the element's; so
//! are a slice's, with `max_len` (its size is the largest message; a message holds from 0 to
//! `max_len` elements). An enum's size and alignment are those of its `repr`. Struct fields appear in ascending offset
//! order. Names are the type's own identifier (`Imu`, not `my_crate::sensors::Imu`) and the
//! field's identifier; arrays have no name of their own.
//!
//! [`decode`](Schema::decode) accepts exactly the encodings that [`encode`](Schema::encode)
//! can produce, so every valid encoding is canonical. It rejects, with a [`SchemaError`]:
//! input longer than [`MAX_ENCODED_LEN`], nesting deeper than [`MAX_DEPTH`], unknown tags,
//! truncated input and trailing bytes, empty or non-UTF-8 names or names with control
//! characters, zero-length arrays, sizes that overflow `u32`, alignments that are not powers
//! of two (or exceed [`MAX_ALIGN`]), structs
//! with no fields, with fields out of order, misaligned, overlapping or outside the struct,
//! with padding (the fields must tile the struct exactly) or with two fields of one name,
//! enums with no variants, a non-integer repr, a value outside the repr's range, or a repeated
//! name or value, and slices of `max_len` 0, in version 1, or anywhere but at the root.
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

mod build;
mod codec;
mod describe;
mod primitive;
#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;
mod validity;

pub use build::LayoutError;
pub use codec::{SchemaError, fnv1a64};
pub use primitive::{Primitive, Scalar, ScalarError};
pub use validity::ValidityError;

use std::borrow::Cow;
use std::fmt;

/// The version byte that starts the encoding of every message type (see the module docs).
pub const ENCODING_VERSION: u8 = 1;
/// The version byte that starts the encoding of a [slice](Schema::slice).
pub const SLICE_ENCODING_VERSION: u8 = 2;
/// The longest encoding [`Schema::decode`] accepts, in bytes.
pub const MAX_ENCODED_LEN: usize = 64 * 1024;
/// The deepest nesting of arrays and structs [`Schema::decode`] accepts.
pub const MAX_DEPTH: usize = 32;
/// The largest alignment a schema may declare.
pub const MAX_ALIGN: usize = 4096;

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
    /// `[element]` with 0 to `max_len` elements: the messages of a variable-length topic
    /// (only ever the root of a schema).
    Slice {
        /// The element type.
        element: SchemaRef,
        /// The most elements a message holds (at least 1).
        max_len: u32,
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

    /// The schema of the messages of a variable-length topic: 0 to `max_len` elements of type
    /// `element`.
    ///
    /// # Errors
    ///
    /// [`SchemaError::Invalid`] when `max_len` is 0, `element` is itself a slice, or the
    /// largest message would exceed `u32::MAX` bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// use eshm::{Message, Schema};
    /// let points = Schema::slice(<[f32; 3]>::SCHEMA.clone(), 1 << 16)?;
    /// assert_eq!(points.type_name(), "[[f32; 3]]");
    /// assert_eq!(points.size(), 12 << 16); // the largest message
    /// assert_eq!(points.slice_element().map(|e| e.size()), Some(12));
    /// # Ok::<(), eshm::schema::SchemaError>(())
    /// ```
    pub fn slice(element: Schema, max_len: usize) -> Result<Schema, SchemaError> {
        let bad = |reason: &str| SchemaError::Invalid { at: 0, reason: reason.to_owned() };
        if matches!(element.kind, Kind::Slice { .. }) {
            return Err(bad("a slice's element cannot be a slice"));
        }
        let max_len = u32::try_from(max_len)
            .ok()
            .filter(|&n| n >= 1)
            .ok_or_else(|| bad("a slice's max_len must be 1 to u32::MAX"))?;
        let size = u32::try_from(u64::from(element.size) * u64::from(max_len))
            .map_err(|_| bad("a slice's largest message must fit in u32::MAX bytes"))?;
        Ok(Schema {
            size,
            align: element.align,
            kind: Kind::Slice { element: SchemaRef::owned(element), max_len },
        })
    }

    /// The element type, if this is a [slice](Self::slice).
    pub fn slice_element(&self) -> Option<&Schema> {
        match &self.kind {
            Kind::Slice { element, .. } => Some(element),
            _ => None,
        }
    }

    /// Size in bytes (of the largest message, for a slice).
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
            Kind::Slice { element, .. } => format!("[{}]", element.type_name()),
        }
    }
}
