//! What a topic carries: one message type `T` per message, or a slice `[T]` of 0 to `max_len`
//! of them (a variable-length topic).

use crate::error::{Error, Result};
use crate::message::{self, Message};
use crate::schema::Schema;

mod sealed {
    pub trait Sealed {}
    impl<T: crate::Message> Sealed for T {}
    impl<T: crate::Message> Sealed for [T] {}
}

/// What a topic carries: a [`Message`] type `T`, every message one `T`; or `[T]`, every
/// message 0 to `max_len` of them (a variable-length topic, whose maximum length its publisher
/// sets at creation).
///
/// Implemented for every `T: Message` and every `[T]`; not implementable outside eshm.
///
/// ```
/// use eshm::{Publisher, Subscriber};
/// # let name = format!("doc/payload/{}", std::process::id());
/// let mut subscriber = Subscriber::<[f32]>::open(&name)?;
/// let mut publisher = Publisher::<[f32]>::builder(&name).max_len(1024).create()?;
/// publisher.publish(&[1.0, 2.0, 3.0])?;
/// publisher.publish(&[])?;
/// assert_eq!(subscriber.try_recv()?, Some(vec![1.0, 2.0, 3.0]));
/// assert_eq!(subscriber.try_recv()?, Some(vec![]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Payload: sealed::Sealed + Send + Sync + 'static {
    /// The message type: `T` for both `T` and `[T]`.
    type Element: Message;
    /// What a copying receive returns: `T`, or `Vec<T>`.
    type Owned: Send + 'static;
    /// Whether this is a slice.
    #[doc(hidden)]
    const IS_SLICE: bool;

    /// The bytes of a value.
    #[doc(hidden)]
    fn payload_bytes(&self) -> &[u8];

    #[doc(hidden)]
    /// The value in `len` bytes at `ptr`.
    ///
    /// # Safety
    /// `ptr` is aligned for `Self::Element` and readable for `len` bytes during `'a`, which
    /// nothing writes then; `len` is the element size (`T`) or a multiple of it (`[T]`), and
    /// the bytes passed [`Schema::validate`].
    unsafe fn from_raw<'a>(ptr: *const u8, len: usize) -> &'a Self;

    #[doc(hidden)]
    /// The value in `len` bytes at `ptr`, mutably.
    ///
    /// # Safety
    /// As [`from_raw`](Self::from_raw), and nothing else reads or writes the bytes during `'a`.
    unsafe fn from_raw_mut<'a>(ptr: *mut u8, len: usize) -> &'a mut Self;

    /// An owned value, borrowed as `Self`.
    #[doc(hidden)]
    fn borrow_owned(owned: &Self::Owned) -> &Self;

    /// An owned value from its elements (exactly one, for `T`).
    #[doc(hidden)]
    fn owned_from_vec(items: Vec<Self::Element>) -> Self::Owned;
}

impl<T: Message> Payload for T {
    type Element = T;
    type Owned = T;
    const IS_SLICE: bool = false;

    #[inline(always)]
    fn payload_bytes(&self) -> &[u8] {
        message::as_bytes(self)
    }

    /// # Safety
    /// As [`Payload::from_raw`].
    #[inline(always)]
    unsafe fn from_raw<'a>(ptr: *const u8, len: usize) -> &'a T {
        debug_assert_eq!(len, size_of::<T>());
        // SAFETY: the caller guarantees alignment, `size_of::<T>()` readable bytes that are a
        // valid `T`, and that nothing writes them for `'a`.
        unsafe { &*ptr.cast::<T>() }
    }

    /// # Safety
    /// As [`Payload::from_raw_mut`].
    #[inline(always)]
    unsafe fn from_raw_mut<'a>(ptr: *mut u8, len: usize) -> &'a mut T {
        debug_assert_eq!(len, size_of::<T>());
        // SAFETY: as in `from_raw`, and the caller guarantees exclusive access for `'a`.
        unsafe { &mut *ptr.cast::<T>() }
    }

    fn borrow_owned(owned: &T) -> &T {
        owned
    }

    fn owned_from_vec(items: Vec<T>) -> T {
        items[0]
    }
}

impl<T: Message> Payload for [T] {
    type Element = T;
    type Owned = Vec<T>;
    const IS_SLICE: bool = true;

    #[inline(always)]
    fn payload_bytes(&self) -> &[u8] {
        slice_bytes(self)
    }

    /// # Safety
    /// As [`Payload::from_raw`].
    #[inline(always)]
    unsafe fn from_raw<'a>(ptr: *const u8, len: usize) -> &'a [T] {
        debug_assert!(len.is_multiple_of(size_of::<T>()));
        // SAFETY: the caller guarantees alignment, `len` readable bytes forming
        // `len / size_of::<T>()` valid `T`s (message types are never zero-sized), and that
        // nothing writes them for `'a`.
        unsafe { std::slice::from_raw_parts(ptr.cast::<T>(), len / size_of::<T>()) }
    }

    /// # Safety
    /// As [`Payload::from_raw_mut`].
    #[inline(always)]
    unsafe fn from_raw_mut<'a>(ptr: *mut u8, len: usize) -> &'a mut [T] {
        debug_assert!(len.is_multiple_of(size_of::<T>()));
        // SAFETY: as in `from_raw`, and the caller guarantees exclusive access for `'a`.
        unsafe { std::slice::from_raw_parts_mut(ptr.cast::<T>(), len / size_of::<T>()) }
    }

    fn borrow_owned(owned: &Vec<T>) -> &[T] {
        owned
    }

    fn owned_from_vec(items: Vec<T>) -> Vec<T> {
        items
    }
}

/// The bytes of a slice of messages.
pub(crate) fn slice_bytes<T: Message>(items: &[T]) -> &[u8] {
    // SAFETY: `items` is a valid slice, so its `size_of_val(items)` bytes are readable for the
    // returned lifetime; `T: Message` has no padding (contract item 1), so all are initialised.
    unsafe { std::slice::from_raw_parts(items.as_ptr().cast::<u8>(), size_of_val(items)) }
}

/// The schema of a topic of `P`s: `P`'s own, or the slice of `max_len` elements (which a slice
/// topic must be given).
pub(crate) fn topic_schema<P: Payload + ?Sized>(max_len: Option<usize>) -> Result<Schema> {
    let element = P::Element::SCHEMA;
    if !P::IS_SLICE {
        return Ok(element.clone());
    }
    let max_len = max_len.ok_or(Error::InvalidCapacity {
        what: "a slice topic's max_len (set it with `builder(name).max_len(n)`)",
        requested: 0,
        min: 1,
        max: u64::from(u32::MAX),
    })?;
    Schema::slice(element.clone(), max_len).map_err(|_| Error::InvalidCapacity {
        what: "a slice topic's max_len (its largest message must fit in 4 GiB)",
        requested: max_len as u64,
        min: 1,
        max: (u32::MAX as usize / element.size()) as u64,
    })
}
