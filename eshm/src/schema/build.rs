//! Message types declared at run time (from Python, say) under the derive's rules: C layout,
//! no implicit padding, every field a message type. The schema and fingerprint are those the
//! derive gives the same `#[repr(C)]` struct, so a type declared here and one derived in Rust
//! publish to and subscribe from each other.

use super::{Field, Kind, Primitive, Schema, SchemaError, SchemaRef, Variant};
use std::borrow::Cow;

/// Why a message type declared at run time cannot be shared: the derive's checks, in its
/// words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LayoutError {
    /// Implicit padding between two fields or at the end.
    #[error(
        "`{ty}` has {bytes} padding byte(s) after field `{field}`: padding bytes are \
         uninitialised, they would copy stray process memory into shared memory and make equal \
         messages differ; make the padding explicit with a field after it, such as `_pad: \
         [u8; {bytes}]`, or reorder the fields from the largest alignment to the smallest"
    )]
    Padding {
        /// The type.
        ty: String,
        /// The field the padding follows.
        field: String,
        /// How many bytes.
        bytes: usize,
    },
    /// A struct without fields, or an enum without variants (in the derive's words).
    #[error(
        "{}",
        if *what == "fields" {
            format!(
                "`{ty}` has no fields: a zero-sized type carries no data and cannot be a \
                 message; add a field"
            )
        } else {
            format!("`{ty}` has no variants, so no value can ever be sent; add a variant")
        }
    )]
    Empty {
        /// The type.
        ty: String,
        /// `"fields"` or `"variants"`.
        what: &'static str,
    },
    /// A field or variant named twice.
    #[error("`{ty}` declares `{name}` twice")]
    Duplicate {
        /// The type.
        ty: String,
        /// The name.
        name: String,
    },
    /// Anything else the schema rules refuse (names, sizes, enum values, zero-length arrays).
    #[error("{0}")]
    Schema(SchemaError),
}

fn invalid(reason: String) -> LayoutError {
    LayoutError::Schema(SchemaError::Invalid { at: 0, reason })
}

/// Checks a name the way the decoder does (1 to 255 bytes, no control characters).
fn check_name(what: &str, name: &str) -> Result<(), LayoutError> {
    if name.is_empty() || name.len() > 255 || name.chars().any(char::is_control) {
        return Err(invalid(format!(
            "{what} name {name:?} must be 1 to 255 bytes without control characters"
        )));
    }
    Ok(())
}

/// A schema built here must also decode (every rule of the encoding holds).
fn checked(schema: Schema) -> Result<Schema, LayoutError> {
    Schema::decode(&schema.encode()).map_err(LayoutError::Schema)?;
    Ok(schema)
}

impl Schema {
    /// The schema of `#[repr(C)] struct name { fields }`, laid out as C lays it out; refused,
    /// as the derive refuses it, if that leaves padding anywhere.
    ///
    /// # Errors
    ///
    /// [`LayoutError`] naming the field that padding follows, a repeated field, no fields, or
    /// a name the encoding refuses.
    ///
    /// # Examples
    ///
    /// ```
    /// use eshm::{Message, Schema};
    ///
    /// #[derive(Clone, Copy, eshm::Message)]
    /// #[repr(C)]
    /// struct Reading { stamp_ns: u64, value: [f32; 2] }
    ///
    /// let fields = vec![
    ///     ("stamp_ns".to_owned(), u64::SCHEMA.clone()),
    ///     ("value".to_owned(), Schema::array_of(f32::SCHEMA.clone(), 2)?),
    /// ];
    /// let declared = Schema::struct_of("Reading", fields)?;
    /// assert_eq!(declared.fingerprint(), Reading::SCHEMA.fingerprint());
    ///
    /// let padded = vec![("valid".to_owned(), bool::SCHEMA.clone()), ("x".to_owned(), f64::SCHEMA.clone())];
    /// let err = Schema::struct_of("Sample", padded).unwrap_err();
    /// assert!(err.to_string().starts_with("`Sample` has 7 padding byte(s) after field `valid`"));
    /// # Ok::<(), eshm::schema::LayoutError>(())
    /// ```
    pub fn struct_of(name: &str, fields: Vec<(String, Schema)>) -> Result<Schema, LayoutError> {
        check_name("type", name)?;
        if fields.is_empty() {
            return Err(LayoutError::Empty { ty: name.to_owned(), what: "fields" });
        }
        let mut out: Vec<Field> = Vec::with_capacity(fields.len());
        let (mut end, mut align) = (0usize, 1usize);
        for (field, schema) in fields {
            check_name("field", &field)?;
            if matches!(schema.kind, Kind::Slice { .. }) {
                return Err(invalid(format!(
                    "field `{field}` of `{name}` is a slice: only a topic's messages can be"
                )));
            }
            if out.iter().any(|f| f.name() == field) {
                return Err(LayoutError::Duplicate { ty: name.to_owned(), name: field });
            }
            let offset = end.next_multiple_of(schema.align());
            if let Some(prev) = out.last()
                && offset > end
            {
                return Err(LayoutError::Padding {
                    ty: name.to_owned(),
                    field: prev.name().to_owned(),
                    bytes: offset - end,
                });
            }
            align = align.max(schema.align());
            end = offset + schema.size();
            let offset = u32::try_from(offset)
                .map_err(|_| invalid(format!("`{name}` is larger than 4 GiB")))?;
            out.push(Field { name: Cow::Owned(field), offset, schema: SchemaRef::owned(schema) });
        }
        let size = end.next_multiple_of(align);
        if size > end {
            let last = out.last().expect("at least one field");
            return Err(LayoutError::Padding {
                ty: name.to_owned(),
                field: last.name().to_owned(),
                bytes: size - end,
            });
        }
        let size =
            u32::try_from(size).map_err(|_| invalid(format!("`{name}` is larger than 4 GiB")))?;
        checked(Schema {
            size,
            align: align as u32,
            kind: Kind::Struct { name: Cow::Owned(name.to_owned()), fields: Cow::Owned(out) },
        })
    }

    /// The schema of `[element; len]`.
    ///
    /// # Errors
    ///
    /// [`LayoutError::Schema`] when `len` is 0, the element is a slice, or the array is larger
    /// than 4 GiB.
    pub fn array_of(element: Schema, len: usize) -> Result<Schema, LayoutError> {
        if len == 0 {
            return Err(invalid("zero-length arrays are not messages (they hold no data)".into()));
        }
        if matches!(element.kind, Kind::Slice { .. }) {
            return Err(invalid("an array's element cannot be a slice".into()));
        }
        let size = u32::try_from(len)
            .ok()
            .and_then(|n| element.size.checked_mul(n))
            .ok_or_else(|| invalid("message types larger than 4 GiB are not supported".into()))?;
        checked(Schema {
            size,
            align: element.align,
            kind: Kind::Array { len: len as u32, element: SchemaRef::owned(element) },
        })
    }

    /// The schema of a fieldless enum `#[repr(repr)] enum name { variants }` (values given,
    /// in declaration order).
    ///
    /// # Errors
    ///
    /// [`LayoutError`] for no variants, a repeated name or value, a value that `repr` cannot
    /// hold, or a `repr` that is not an integer type.
    pub fn enum_of(
        name: &str,
        repr: Primitive,
        variants: Vec<(String, i64)>,
    ) -> Result<Schema, LayoutError> {
        check_name("type", name)?;
        if !repr.is_integer() {
            return Err(invalid(format!("`{name}` must be represented by an integer type")));
        }
        if variants.is_empty() {
            return Err(LayoutError::Empty { ty: name.to_owned(), what: "variants" });
        }
        let mut out: Vec<Variant> = Vec::with_capacity(variants.len());
        for (variant, value) in variants {
            check_name("variant", &variant)?;
            if out.iter().any(|v| v.name() == variant) {
                return Err(LayoutError::Duplicate { ty: name.to_owned(), name: variant });
            }
            if let Some(v) = out.iter().find(|v| v.value == value) {
                return Err(invalid(format!(
                    "`{name}`: `{variant}` repeats the value {value} of `{}`",
                    v.name()
                )));
            }
            if !repr.holds(value) {
                return Err(invalid(format!(
                    "`{name}`: `{variant}` = {value} does not fit {repr}"
                )));
            }
            out.push(Variant { name: Cow::Owned(variant), value });
        }
        checked(Schema {
            size: repr.size() as u32,
            align: repr.size() as u32,
            kind: Kind::Enum { name: Cow::Owned(name.to_owned()), repr, variants: Cow::Owned(out) },
        })
    }
}
