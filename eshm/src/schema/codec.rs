//! The encoding of a schema and its fingerprint (see the [module docs](super) for the
//! format): one `const` walker for `fingerprint`, `encoded_len` and `encode`, and a decoder that
//! treats its input as untrusted.

use super::{
    ENCODING_VERSION, Field, Kind, MAX_ALIGN, MAX_DEPTH, MAX_ENCODED_LEN, Primitive,
    SLICE_ENCODING_VERSION, Schema, SchemaRef, Variant, cow_slice, cow_str,
};
use std::borrow::Cow;
use std::collections::HashSet;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

const TAG_ARRAY: u8 = 0x10;
const TAG_STRUCT: u8 = 0x11;
const TAG_ENUM: u8 = 0x12;
const TAG_SLICE: u8 = 0x13;

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

impl Schema {
    /// The 64-bit fingerprint: FNV-1a of [`encode`](Self::encode)'s output, computed without
    /// allocating, in a `const` context if wanted.
    pub const fn fingerprint(&self) -> u64 {
        let mut sink = Sink { hash: FNV_OFFSET, len: 0, out: None };
        self.walk_root(&mut sink);
        sink.hash
    }

    /// Length of [`encode`](Self::encode)'s output, in bytes.
    pub const fn encoded_len(&self) -> usize {
        let mut sink = Sink { hash: FNV_OFFSET, len: 0, out: None };
        self.walk_root(&mut sink);
        sink.len
    }

    /// The compact byte encoding described in the [module docs](crate::schema).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![0u8; self.encoded_len()];
        let mut sink = Sink { hash: FNV_OFFSET, len: 0, out: Some(out.as_mut_slice()) };
        self.walk_root(&mut sink);
        debug_assert_eq!(sink.len, self.encoded_len());
        out
    }

    /// The version byte, then the root node.
    const fn walk_root(&self, sink: &mut Sink<'_>) {
        let version = match &self.kind {
            Kind::Slice { .. } => SLICE_ENCODING_VERSION,
            _ => ENCODING_VERSION,
        };
        sink.byte(version);
        walk(self, sink);
    }

    /// Decodes (and fully validates) an encoding written by [`encode`](Self::encode), possibly
    /// by another process. Untrusted input never panics: anything but a valid encoding is an
    /// error saying where it went wrong.
    ///
    /// # Errors
    ///
    /// [`SchemaError`] for every rule listed in the [module docs](crate::schema).
    pub fn decode(bytes: &[u8]) -> Result<Schema, SchemaError> {
        if bytes.len() > MAX_ENCODED_LEN {
            return Err(SchemaError::TooLong { len: bytes.len(), max: MAX_ENCODED_LEN });
        }
        let mut r = Reader { bytes, pos: 0 };
        let schema = match r.u8()? {
            ENCODING_VERSION => r.node(0)?,
            SLICE_ENCODING_VERSION => r.slice()?,
            found => {
                return Err(SchemaError::Version { found, expected: SLICE_ENCODING_VERSION });
            }
        };
        if r.pos != bytes.len() {
            return Err(SchemaError::TrailingBytes { at: r.pos, len: bytes.len() });
        }
        Ok(schema)
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
        Kind::Slice { element, max_len } => {
            sink.byte(TAG_SLICE);
            sink.bytes(&max_len.to_le_bytes());
            walk(element.get(), sink);
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
        "schema encoding version {found} is not supported (this build reads versions 1 to \
         {expected}): the topic was created by a newer eshm"
    )]
    Version {
        /// The version byte found.
        found: u8,
        /// The newest version this build reads.
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

fn invalid_reason(e: SchemaError) -> String {
    match e {
        SchemaError::Invalid { reason, .. } => reason,
        e => e.to_string(),
    }
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
        if s.chars().any(char::is_control) {
            // Names are identifiers, and tools print them on terminals.
            return Err(SchemaError::Invalid { at, reason: "name has a control character".into() });
        }
        Ok(s.to_owned())
    }

    /// A version-2 root: a slice node whose element is a version-1 node.
    fn slice(&mut self) -> Result<Schema, SchemaError> {
        let at = self.pos;
        let tag = self.u8()?;
        if tag != TAG_SLICE {
            return Err(SchemaError::Invalid {
                at,
                reason: format!("version 2 encodes a slice, not tag {tag:#04x}"),
            });
        }
        let max_len = self.u32()?;
        let element = self.node(1)?;
        Schema::slice(element, max_len as usize)
            .map_err(|e| SchemaError::Invalid { at, reason: invalid_reason(e) })
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
