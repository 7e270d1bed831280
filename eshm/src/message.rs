//! The [`Message`] trait: types whose bytes mean the same thing in every process.

use crate::schema::{Primitive, Schema, ValidityError};

/// A plain-data type that can be copied byte for byte into shared memory and read back, as
/// the same value, by another process, whatever language or build it comes from.
///
/// Implemented for `u8`, `u16`, `u32`, `u64`, `i8`, `i16`, `i32`, `i64`, `f32`, `f64`, `bool`,
/// for `[T; N]` (with `N >= 1`) when `T` is a `Message`, and by `#[derive(Message)]` for
/// `#[repr(C)]` structs and fieldless enums with an integer `#[repr]`.
///
/// It is **not** implemented for `usize`/`isize` (a 32-bit and a 64-bit process on one machine
/// disagree on their width: use `u64`/`i64`), `char`, references, raw pointers, `Box`, `Vec`,
/// `String`, `Option`, tuples, function pointers or `PhantomData`: none of them means the same
/// thing in another process.
///
/// # Deriving
///
/// ```
/// #[derive(Clone, Copy, Debug, eshm::Message)]
/// #[repr(C)]
/// struct Imu {
///     stamp_ns: u64,
///     accel: [f32; 3],
///     gyro: [f32; 3],
///     valid: bool,
///     _pad: [u8; 7],
/// }
///
/// #[derive(Clone, Copy, Debug, PartialEq, eshm::Message)]
/// #[repr(u8)]
/// enum Mode { Idle = 0, Run = 1, Fault = 7 }
/// ```
///
/// The derive checks the layout at compile time and points at the offending field when it
/// cannot be shared. Generic structs and tuple structs are rejected: name the fields, and make
/// one concrete struct per instantiation.
///
/// # Error messages
///
/// Padding is the most common mistake. Its bytes are uninitialised, so they would leak
/// process memory into shared memory and make two equal values compare unequal:
///
/// ```compile_fail,E0277
/// #[derive(Clone, Copy, eshm::Message)]
/// #[repr(C)]
/// struct Sample { valid: bool, value: f64 }
/// ```
///
/// ```text
/// error[E0277]: `Sample` has 7 padding byte(s) after field `valid`
///  --> src/lib.rs:4:17
///   |
/// 4 | struct Sample { valid: bool, value: f64 }
///   |                 ^^^^^ 7 padding byte(s) follow this field
///   |
///   = note: padding bytes are uninitialised: they would copy stray process memory into shared memory and make equal messages differ
///   = note: make the padding explicit with a field after it, such as `_pad: [u8; 7]`, or reorder the fields from the largest alignment to the smallest
/// ```
///
/// Fix it by reordering the fields (`value` first, then `valid` and `_pad: [u8; 7]`) or by
/// naming the padding (`valid: bool, _pad: [u8; 7], value: f64`).
///
/// A field whose type cannot be shared gets a message at that field:
///
/// ```text
/// #[derive(Clone, Copy, eshm::Message)]
/// #[repr(C)]
/// struct Counter { count: usize }
/// ```
///
/// ```text
/// error: `usize` is not a message type: its width differs between 32- and 64-bit processes; use `u64` instead
///  --> src/lib.rs:4:25
///   |
/// 4 | struct Counter { count: usize }
///   |                         ^^^^^
/// ```
///
/// (The compiler's exact output for every rejected case is checked by the compile-fail suite,
/// `tests/ui/` in the repository: `fields/usize_field.rs` is this one.)
///
/// When a subscriber's type differs from the publisher's, opening the topic fails with
/// [`Error::TypeMismatch`](crate::Error::TypeMismatch), which names both types and the first
/// place where their layouts differ.
///
/// # Safety
///
/// Do not implement this trait by hand: derive it. The derive proves, at compile time, what an
/// implementation promises:
///
/// 1. `Self` has no padding and no uninitialised bytes.
/// 2. `Self` holds no pointer, reference, file descriptor or other value that is only
///    meaningful inside one process.
/// 3. [`SCHEMA`](Message::SCHEMA) describes `Self` exactly: its size, its alignment and, for a
///    struct, every field's name, offset and type.
/// 4. Every byte string of the right length that [`Schema::validate`] accepts is a valid
///    value of `Self`.
/// 5. The bytes of [`INIT`](Message::INIT) are [`Schema::init_bytes`].
///
/// # Why not bytemuck
///
/// `bytemuck::Pod` promises that every byte pattern is a valid value, which `bool` and enum
/// fields break, and `bytemuck::NoUninit` promises only items 1 and 2: neither carries the
/// schema (item 3) or validation against it (item 4), so eshm does not build on them; the two
/// small casts it needs ([`as_bytes`], [`from_bytes`]) are argued in place.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a message type: it cannot be sent through shared memory",
    label = "not an `eshm::Message`",
    note = "message types are fixed-width numbers, `bool`, arrays of messages, and `#[repr(C)]` structs or fieldless enums with `#[derive(eshm::Message)]`",
    note = "heap types (`Vec`, `String`, `Box`), references, pointers, `Option`, tuples and `usize` mean nothing in another process"
)]
pub unsafe trait Message: Copy + Send + Sync + 'static {
    /// The layout of `Self`, stored in every segment that carries it.
    const SCHEMA: &'static Schema;

    /// The value with every number zero, every `bool` false and every enum its first variant.
    const INIT: Self;

    #[doc(hidden)]
    fn only_derive_is_allowed_to_implement_this_trait()
    where
        Self: Sized;
}

macro_rules! primitive {
    ($($t:ty => $p:ident, $init:expr;)*) => {$(
        // SAFETY: a primitive has no padding and no pointers (1, 2); its schema is the
        // primitive of the same width and alignment (3); `validate` accepts only 0 and 1 for
        // `bool` and every pattern for the numbers, all of which are valid (4); `INIT` is zero
        // or false, whose bytes are all zero (5).
        unsafe impl Message for $t {
            const SCHEMA: &'static Schema = &Schema::primitive(Primitive::$p);
            const INIT: Self = $init;
            fn only_derive_is_allowed_to_implement_this_trait() {}
        }
    )*};
}

primitive! {
    u8 => U8, 0;
    u16 => U16, 0;
    u32 => U32, 0;
    u64 => U64, 0;
    i8 => I8, 0;
    i16 => I16, 0;
    i32 => I32, 0;
    i64 => I64, 0;
    f32 => F32, 0.0;
    f64 => F64, 0.0;
    bool => Bool, false;
}

// SAFETY: an array of `T: Message` has no padding between elements (size is a multiple of
// alignment) and no pointers (1, 2); its schema is `N` elements of `T`'s schema with `T`'s
// alignment, as Rust lays arrays out (3); `validate` checks every element with `T`'s rules (4);
// `INIT` repeats `T::INIT`, whose bytes are `T`'s init bytes (5).
unsafe impl<T: Message, const N: usize> Message for [T; N] {
    const SCHEMA: &'static Schema = &Schema::array(T::SCHEMA, N);
    const INIT: Self = [T::INIT; N];
    fn only_derive_is_allowed_to_implement_this_trait() {}
}

/// The bytes of `value`, as they are written to shared memory.
///
/// ```
/// assert_eq!(eshm::message::as_bytes(&0x0102u16), &[2, 1]);
/// ```
pub fn as_bytes<T: Message>(value: &T) -> &[u8] {
    // SAFETY: `value` is a valid reference, so its `size_of::<T>()` bytes are readable for the
    // returned lifetime; by the `Message` contract (item 1) `T` has no padding, so every one of
    // those bytes is initialised, and `u8` has no alignment requirement.
    unsafe { std::slice::from_raw_parts(std::ptr::from_ref(value).cast::<u8>(), size_of::<T>()) }
}

/// Reads a `T` from `bytes`, checking the length and every `bool` and enum field first.
///
/// # Errors
///
/// [`ValidityError`] when the length differs from `size_of::<T>()` or a field holds a value
/// that is not valid for its type.
///
/// # Examples
///
/// ```
/// use eshm::message::from_bytes;
/// assert_eq!(from_bytes::<u16>(&[2, 1]), Ok(0x0102));
/// assert!(from_bytes::<bool>(&[2]).is_err());
/// assert!(from_bytes::<u32>(&[0; 3]).is_err());
/// ```
pub fn from_bytes<T: Message>(bytes: &[u8]) -> Result<T, ValidityError> {
    T::SCHEMA.validate(bytes)?;
    // SAFETY: `bytes` has exactly `size_of::<T>()` bytes (checked by `validate`, and the
    // `Message` contract makes `SCHEMA.size()` equal `size_of::<T>()`), and `validate`
    // accepted them, which by contract item 4 makes them a valid `T`; `read_unaligned` has no
    // alignment requirement.
    Ok(unsafe { bytes.as_ptr().cast::<T>().read_unaligned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitive_schemas_match_rust_layout() {
        fn check<T: Message>() {
            assert_eq!(T::SCHEMA.size(), size_of::<T>(), "{}", T::SCHEMA.type_name());
            assert_eq!(T::SCHEMA.align(), align_of::<T>(), "{}", T::SCHEMA.type_name());
            assert_eq!(as_bytes(&T::INIT), T::SCHEMA.init_bytes().as_slice());
        }
        check::<u8>();
        check::<u16>();
        check::<u32>();
        check::<u64>();
        check::<i8>();
        check::<i16>();
        check::<i32>();
        check::<i64>();
        check::<f32>();
        check::<f64>();
        check::<bool>();
        check::<[u16; 3]>();
        check::<[[bool; 2]; 5]>();
    }

    #[test]
    fn from_bytes_rejects_invalid_bools_in_nested_arrays() {
        let mut bytes = [0u8; 6];
        assert_eq!(from_bytes::<[[bool; 2]; 3]>(&bytes), Ok([[false; 2]; 3]));
        bytes[3] = 2;
        let err = from_bytes::<[[bool; 2]; 3]>(&bytes).unwrap_err();
        assert_eq!(err.to_string(), "`[1][1]` at byte 3 holds 2, which is not a valid bool");
    }

    #[test]
    fn array_type_names() {
        assert_eq!(<[[f32; 3]; 2]>::SCHEMA.type_name(), "[[f32; 3]; 2]");
    }
}
