//! Which byte strings are valid values of a schema, and the initial value.

use super::{Kind, Primitive, Schema, cow_slice};

impl Schema {
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
            Kind::Slice { element, .. } => element.get().has_invalid_bit_patterns(),
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
        if let Kind::Slice { element, max_len } = &self.kind {
            let n = element.size();
            if bytes.len() > self.size() || !bytes.len().is_multiple_of(n) {
                return Err(ValidityError::SliceLength {
                    element: n,
                    max_len: *max_len as usize,
                    found: bytes.len(),
                });
            }
            if element.has_invalid_bit_patterns() {
                for i in 0..bytes.len() / n {
                    element.validate_at(bytes, i * n).map_err(|e| within(e, &format!("[{i}]")))?;
                }
            }
            return Ok(());
        }
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
            // Only ever a root, validated by `validate`.
            Kind::Slice { .. } => {}
        }
        Ok(())
    }

    /// The bytes of this type's initial value: every number zero, every `bool` false and every
    /// enum its first variant (what [`Message::INIT`](crate::Message::INIT) holds); for a
    /// slice, `max_len` initial elements.
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
            Kind::Slice { element, .. } => {
                for item in out.chunks_exact_mut(element.size()) {
                    element.write_init(item);
                }
            }
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
    /// The byte count is not a whole number of a slice's elements, or more than `max_len` of
    /// them.
    #[error(
        "expected a multiple of {element} bytes, at most {max_len} elements, found {found} bytes"
    )]
    SliceLength {
        /// The element size.
        element: usize,
        /// The most elements a message holds.
        max_len: usize,
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
