//! The fixed-width scalar types.

use std::fmt;

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
    pub(super) const fn holds(self, value: i64) -> bool {
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

/// A value of a primitive type, as [`Primitive::read`] gives it and [`Primitive::write`]
/// takes it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scalar {
    /// A `bool`.
    Bool(bool),
    /// An unsigned integer (`u8` to `u64`).
    Unsigned(u64),
    /// A signed integer (`i8` to `i64`).
    Signed(i64),
    /// A float (`f32`, widened exactly, or `f64`).
    Float(f64),
}

impl fmt::Display for Scalar {
    /// As Rust prints the value: `true`, `-3`, `2.5`, `1.0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Bool(b) => write!(f, "{b}"),
            Scalar::Unsigned(v) => write!(f, "{v}"),
            Scalar::Signed(v) => write!(f, "{v}"),
            Scalar::Float(v) => write!(f, "{v:?}"),
        }
    }
}

/// Why [`Primitive::write`] refused a value.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ScalarError {
    /// An integer outside the type's range.
    #[error("{value} is out of range for {ty} ({min} to {max})")]
    Range {
        /// The value given.
        value: i128,
        /// The type.
        ty: Primitive,
        /// Its smallest value.
        min: i128,
        /// Its largest value.
        max: i128,
    },
    /// A value of another kind (a float for an integer, a number for a `bool`, ...).
    #[error("expected {}, got {got}", ty.describe_value())]
    Kind {
        /// The type.
        ty: Primitive,
        /// The value given.
        got: Scalar,
    },
}

impl Primitive {
    /// What a value of this type is, in words: `true or false`, `an integer (u8)`,
    /// `a number (f64)`.
    pub fn describe_value(self) -> String {
        match self {
            Primitive::Bool => "true or false".to_owned(),
            Primitive::F32 | Primitive::F64 => format!("a number ({self})"),
            _ => format!("an integer ({self})"),
        }
    }

    /// Reads a value of this type from the first [`size`](Self::size) bytes of `bytes`
    /// (little-endian). A `bool` byte other than 0 reads as `true`: validate first (see
    /// [`Schema::validate`](super::Schema::validate)) to refuse it.
    ///
    /// # Panics
    ///
    /// If `bytes` is shorter than the type.
    ///
    /// ```
    /// use eshm::schema::{Primitive, Scalar};
    /// assert_eq!(Primitive::I16.read(&(-3i16).to_le_bytes()), Scalar::Signed(-3));
    /// assert_eq!(Primitive::F32.read(&2.5f32.to_le_bytes()), Scalar::Float(2.5));
    /// ```
    pub fn read(self, bytes: &[u8]) -> Scalar {
        let n = self.size();
        let mut le = [0u8; 8];
        le[..n].copy_from_slice(&bytes[..n]);
        let raw = u64::from_le_bytes(le);
        match self {
            Primitive::Bool => Scalar::Bool(raw != 0),
            Primitive::F32 => Scalar::Float(f64::from(f32::from_bits(raw as u32))),
            Primitive::F64 => Scalar::Float(f64::from_bits(raw)),
            Primitive::U8 | Primitive::U16 | Primitive::U32 | Primitive::U64 => {
                Scalar::Unsigned(raw)
            }
            signed => Scalar::Signed(signed.read_integer(bytes).expect("an integer type")),
        }
    }

    /// Writes `value` as this type into the first [`size`](Self::size) bytes of `out`
    /// (little-endian). Integers must be in range; an integer is accepted for a float type
    /// (converted), a float for `f32` is rounded to the nearest `f32`.
    ///
    /// # Errors
    ///
    /// [`ScalarError::Range`] for an integer out of range, [`ScalarError::Kind`] for a value
    /// of another kind.
    ///
    /// # Panics
    ///
    /// If `out` is shorter than the type.
    ///
    /// ```
    /// use eshm::schema::{Primitive, Scalar};
    /// let mut out = [0u8; 2];
    /// Primitive::U16.write(Scalar::Signed(513), &mut out).unwrap();
    /// assert_eq!(out, [1, 2]);
    /// let err = Primitive::U8.write(Scalar::Signed(256), &mut out).unwrap_err();
    /// assert_eq!(err.to_string(), "256 is out of range for u8 (0 to 255)");
    /// ```
    pub fn write(self, value: Scalar, out: &mut [u8]) -> Result<(), ScalarError> {
        let n = self.size();
        let kind = || ScalarError::Kind { ty: self, got: value };
        let bytes: [u8; 8] = match (self, value) {
            (Primitive::Bool, Scalar::Bool(b)) => [u8::from(b), 0, 0, 0, 0, 0, 0, 0],
            (Primitive::Bool, _) | (_, Scalar::Bool(_)) => return Err(kind()),
            (Primitive::F32, v) => {
                let [a, b, c, d] = (as_f64(v).ok_or_else(kind)? as f32).to_le_bytes();
                [a, b, c, d, 0, 0, 0, 0]
            }
            (Primitive::F64, v) => as_f64(v).ok_or_else(kind)?.to_bits().to_le_bytes(),
            (_, Scalar::Float(_)) => return Err(kind()),
            (int, Scalar::Unsigned(v)) => int.integer_bytes(i128::from(v))?,
            (int, Scalar::Signed(v)) => int.integer_bytes(i128::from(v))?,
        };
        out[..n].copy_from_slice(&bytes[..n]);
        Ok(())
    }

    /// The little-endian bytes of integer `v` as this integer type, if it fits.
    fn integer_bytes(self, v: i128) -> Result<[u8; 8], ScalarError> {
        let (min, max) = self.integer_range().expect("called for integer types");
        if v < min || v > max {
            return Err(ScalarError::Range { value: v, ty: self, min, max });
        }
        let mut out = [0u8; 8];
        out.copy_from_slice(&v.to_le_bytes()[..8]);
        Ok(out)
    }
}

/// A number as `f64` (integers converted); `None` for a `bool`.
fn as_f64(v: Scalar) -> Option<f64> {
    match v {
        Scalar::Float(f) => Some(f),
        Scalar::Signed(i) => Some(i as f64),
        Scalar::Unsigned(u) => Some(u as f64),
        Scalar::Bool(_) => None,
    }
}
