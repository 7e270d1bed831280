//! eshm messages as CDR payloads (the message encoding `cdr` of ROS 2 and Foxglove), and
//! back.
//!
//! A payload is the 4-byte encapsulation header `00 01 00 00` (CDR_LE: XCDR1, little-endian,
//! no options), then the body. In the body every primitive is aligned to its size (at most
//! 8), counted from the body's start; nested structs add no alignment or padding of their
//! own, and fixed arrays are their elements back to back.
//!
//! An eshm message without slices is its own CDR body: every primitive is aligned to its size
//! (from the start of the message, since each struct sits at a multiple of its alignment),
//! the fields tile their struct with no implicit padding (explicit `_pad` fields are `uint8`
//! arrays in the ros2msg text, see [`super::ros2msg`]), and messages are little-endian with
//! `bool` 0 or 1. [`Cdr::new`] checks that condition for a schema once; encoding is then the
//! header followed by the message's bytes, and decoding the payload minus the header.
//!
//! A slice topic's message (0 to `max_len` elements, back to back) is a CDR sequence: a `u32`
//! count (of leaves: arrays in the element are flattened, as in the ros2msg text), 4 bytes of
//! padding when the elements hold an 8-byte primitive and there is at least one, then the
//! elements, each of which is again its own CDR body.

use super::Unsupported;
use eshm::schema::{Kind, Schema};
use std::borrow::Cow;
use std::fmt;

/// The encapsulation header eshm writes: CDR_LE (representation id `0x0001`), options 0.
pub(crate) const HEADER: [u8; 4] = [0x00, 0x01, 0x00, 0x00];

/// Why a payload is not a message of the channel's schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CdrError {
    /// The payload's length is not the one the schema gives.
    Length {
        /// Payload bytes expected (header included).
        expected: usize,
        /// Payload bytes found.
        found: usize,
    },
    /// The encapsulation header is not CDR_LE.
    Representation([u8; 2]),
    /// A sequence whose count is not a whole number of elements.
    Partial {
        /// The count of leaves.
        count: u32,
        /// Leaves per element.
        per_element: u32,
    },
    /// A sequence of more elements than the slice's maximum.
    TooLong {
        /// Its elements.
        len: u64,
        /// The slice's maximum.
        max_len: u32,
    },
}

impl fmt::Display for CdrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CdrError::Length { expected, found } => {
                write!(f, "a payload of {found} bytes, where the schema gives {expected}")
            }
            CdrError::Representation(id) => write!(
                f,
                "CDR representation {:#06x}, where eshm reads only CDR_LE (0x0001)",
                u16::from_be_bytes(*id)
            ),
            CdrError::Partial { count, per_element } => write!(
                f,
                "a sequence of {count} values, not a whole number of {per_element}-value elements"
            ),
            CdrError::TooLong { len, max_len } => {
                write!(f, "a slice of {len} elements, over its maximum of {max_len}")
            }
        }
    }
}

/// How messages of one schema become CDR payloads, decided once per channel.
#[derive(Debug, Clone)]
pub(crate) struct Cdr {
    /// The message's size in eshm.
    size: usize,
    layout: Layout,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// The message's bytes are its CDR body.
    Identity,
    /// A slice topic: a count, maybe padding, then the elements' bytes (each its own body).
    Sequence {
        /// Size of one element.
        element_size: usize,
        /// Leaves (counted by CDR) per element: the product of its array lengths.
        per_element: u32,
        /// Whether the elements hold an 8-byte primitive (4 bytes of padding follow the count).
        align8: bool,
        /// The most elements a message holds.
        max_len: u32,
    },
}

impl Cdr {
    /// The plan for messages of `schema`.
    ///
    /// # Errors
    ///
    /// [`Unsupported`] for a schema whose bytes are not their own CDR body and that this
    /// version cannot transcode (none that eshm's schema decoder accepts today).
    pub(crate) fn new(schema: &Schema) -> Result<Cdr, Unsupported> {
        let unsupported = |e| Unsupported::because(schema, e);
        let layout = match schema.kind() {
            Kind::Slice { element, max_len } => {
                // Elements are laid out as the elements of an array: each is its own body
                // once the first starts aligned.
                identity(element, 0).map_err(unsupported)?;
                if *max_len > 1 {
                    identity(element, element.size()).map_err(unsupported)?;
                }
                let mut per_element = 1u32;
                let mut leaf = element.get();
                while let Kind::Array { element, len } = leaf.kind() {
                    per_element = per_element.saturating_mul(*len);
                    leaf = element.get();
                }
                Layout::Sequence {
                    element_size: element.size(),
                    per_element,
                    align8: cdr_align(element) == 8,
                    max_len: *max_len,
                }
            }
            _ => {
                identity(schema, 0).map_err(unsupported)?;
                Layout::Identity
            }
        };
        Ok(Cdr { size: schema.size(), layout })
    }

    /// Whether the payload is [`HEADER`] followed by the message's own bytes (so a receive
    /// can write a message straight behind the header).
    pub(crate) fn is_identity(&self) -> bool {
        self.layout == Layout::Identity
    }

    /// The payload of `message` (the schema's size; for a slice, a whole number of elements
    /// up to its maximum), into `out`.
    pub(crate) fn encode(&self, message: &[u8], out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(&HEADER);
        match self.layout {
            Layout::Identity => {
                debug_assert_eq!(message.len(), self.size);
                out.extend_from_slice(message);
            }
            Layout::Sequence { element_size, per_element, align8, .. } => {
                debug_assert!(
                    message.len().is_multiple_of(element_size) && message.len() <= self.size
                );
                let len = message.len() / element_size;
                let count = u32::try_from(len).unwrap_or(u32::MAX).saturating_mul(per_element);
                out.extend_from_slice(&count.to_le_bytes());
                if align8 && len > 0 {
                    out.extend_from_slice(&[0; 4]);
                }
                out.extend_from_slice(message);
            }
        }
    }

    /// The message in `payload`.
    ///
    /// # Errors
    ///
    /// [`CdrError`] if the payload is not a CDR_LE message of the schema.
    pub(crate) fn decode<'p>(&self, payload: &'p [u8]) -> Result<Cow<'p, [u8]>, CdrError> {
        if payload.len() < HEADER.len() {
            return Err(CdrError::Length {
                expected: HEADER.len() + self.size,
                found: payload.len(),
            });
        }
        // The options (bytes 2 and 3) may carry the number of padding bytes at the end in
        // ROS 2's writers; eshm's payloads have none, and their length is checked exactly.
        if payload[..2] != HEADER[..2] {
            return Err(CdrError::Representation([payload[0], payload[1]]));
        }
        match self.layout {
            Layout::Identity => {
                let body = &payload[HEADER.len()..];
                if body.len() != self.size {
                    return Err(CdrError::Length {
                        expected: HEADER.len() + self.size,
                        found: payload.len(),
                    });
                }
                Ok(Cow::Borrowed(body))
            }
            Layout::Sequence { element_size, per_element, align8, max_len } => {
                let body = &payload[HEADER.len()..];
                let Some(count) = body.get(..4) else {
                    return Err(CdrError::Length {
                        expected: HEADER.len() + 4,
                        found: payload.len(),
                    });
                };
                let count = u32::from_le_bytes(count.try_into().expect("4 bytes"));
                if !count.is_multiple_of(per_element) {
                    return Err(CdrError::Partial { count, per_element });
                }
                let len = u64::from(count / per_element);
                if len > u64::from(max_len) {
                    return Err(CdrError::TooLong { len, max_len });
                }
                let start = if align8 && len > 0 { 8 } else { 4 };
                let expected = start + len as usize * element_size;
                if body.len() != expected {
                    return Err(CdrError::Length {
                        expected: HEADER.len() + expected,
                        found: payload.len(),
                    });
                }
                Ok(Cow::Borrowed(&body[start..]))
            }
        }
    }
}

/// The largest alignment CDR gives a primitive of `schema` (each is aligned to its size, at
/// most 8).
fn cdr_align(schema: &Schema) -> usize {
    match schema.kind() {
        Kind::Primitive(p) => p.size().min(8),
        Kind::Enum { repr, .. } => repr.size().min(8),
        Kind::Array { element, .. } | Kind::Slice { element, .. } => cdr_align(element),
        Kind::Struct { fields, .. } => {
            fields.iter().map(|f| cdr_align(f.schema())).max().unwrap_or(1)
        }
        _ => 8,
    }
}

/// Checks that `schema`, at byte `base` of the message, lays out as CDR does: every
/// primitive aligned to its size (capped at 8, as XCDR1 caps it) and no byte that belongs to
/// no field.
fn identity(schema: &Schema, base: usize) -> Result<(), String> {
    let aligned = |size: usize, what: &str| {
        if base.is_multiple_of(size.min(8)) {
            Ok(())
        } else {
            Err(format!("{what} at byte {base} is not aligned to {}", size.min(8)))
        }
    };
    match schema.kind() {
        Kind::Primitive(p) => aligned(p.size(), p.name()),
        Kind::Enum { repr, .. } => aligned(repr.size(), repr.name()),
        Kind::Array { element, len } => {
            // Elements repeat every `element.size()` bytes: if the first two are laid out as
            // CDR wants, so is every later one.
            identity(element, base)?;
            if *len > 1 { identity(element, base + element.size()) } else { Ok(()) }
        }
        Kind::Struct { name, fields } => {
            let mut end = 0;
            for f in fields.iter() {
                if f.offset() != end {
                    return Err(format!(
                        "`{name}` has {} unnamed bytes before `{}`",
                        f.offset().abs_diff(end),
                        f.name()
                    ));
                }
                identity(f.schema(), base + f.offset())?;
                end = f.offset() + f.schema().size();
            }
            if end != schema.size() {
                return Err(format!(
                    "`{name}` has {} unnamed bytes at its end",
                    schema.size() - end
                ));
            }
            Ok(())
        }
        // (A slice, only ever a root, is `Layout::Sequence`.)
        _ => Err(format!("`{}` is a kind of type this version does not know", schema.type_name())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eshm::Message;
    use eshm::msg::Imu;

    #[derive(Clone, Copy, Debug, PartialEq, eshm::Message)]
    #[repr(C)]
    struct Inner {
        x: u8,
        _pad: [u8; 7],
        y: f64,
    }

    #[derive(Clone, Copy, Debug, PartialEq, eshm::Message)]
    #[repr(C)]
    struct Outer {
        a: u64,
        inner: [Inner; 2],
        flags: [[bool; 2]; 3],
        small: i8,
        _pad: u8,
        level: i16,
        _pad2: [u8; 6],
    }

    #[test]
    fn messages_without_slices_are_their_own_body() {
        let value = Outer {
            a: 1,
            inner: [Inner { x: 2, _pad: [0; 7], y: 0.5 }, Inner { x: 3, _pad: [0; 7], y: -1.0 }],
            flags: [[true, false]; 3],
            small: -4,
            _pad: 0,
            level: -300,
            _pad2: [0; 6],
        };
        let bytes = eshm::message::as_bytes(&value);
        let cdr = Cdr::new(Outer::SCHEMA).unwrap();
        assert!(cdr.is_identity());
        let mut payload = Vec::new();
        cdr.encode(bytes, &mut payload);
        assert_eq!(&payload[..4], &HEADER);
        assert_eq!(&payload[4..], bytes);
        assert_eq!(cdr.decode(&payload).unwrap().as_ref(), bytes);
        for schema in [Imu::SCHEMA, <f64 as Message>::SCHEMA, <[[u16; 3]; 2] as Message>::SCHEMA] {
            assert!(Cdr::new(schema).unwrap().is_identity());
        }
    }

    #[test]
    fn foreign_payloads_are_refused() {
        let cdr = Cdr::new(<u32 as Message>::SCHEMA).unwrap();
        assert_eq!(
            cdr.decode(&[0, 1, 0, 0, 1, 2, 3]),
            Err(CdrError::Length { expected: 8, found: 7 })
        );
        assert_eq!(cdr.decode(&[0, 1]), Err(CdrError::Length { expected: 8, found: 2 }));
        // Trailing bytes too: the payload is exactly one message.
        assert_eq!(
            cdr.decode(&[0, 1, 0, 0, 1, 2, 3, 4, 5]),
            Err(CdrError::Length { expected: 8, found: 9 })
        );
        assert_eq!(cdr.decode(&[0, 0, 0, 0, 1, 2, 3, 4]), Err(CdrError::Representation([0, 0])));
        assert_eq!(
            CdrError::Representation([0, 7]).to_string(),
            "CDR representation 0x0007, where eshm reads only CDR_LE (0x0001)"
        );
        // Options bytes are not eshm's business.
        assert_eq!(cdr.decode(&[0, 1, 0, 3, 1, 2, 3, 4]).unwrap().as_ref(), [1, 2, 3, 4]);
    }

    /// Slice topics are CDR sequences. The expected bytes follow the CDR rules that
    /// `mcap-ros2-support`'s and rosbags' encoders were checked to follow (see the research
    /// notes): a `u32` count, then (for 8-byte elements, when there are any) 4 bytes of
    /// padding, then the elements.
    #[test]
    fn slices_are_sequences() {
        let u64s = Cdr::new(&Schema::slice(<u64 as Message>::SCHEMA.clone(), 4).unwrap()).unwrap();
        assert!(!u64s.is_identity());
        let mut payload = Vec::new();
        u64s.encode(&5u64.to_le_bytes(), &mut payload);
        assert_eq!(payload, [0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(u64s.decode(&payload).unwrap().as_ref(), 5u64.to_le_bytes());
        u64s.encode(&[], &mut payload);
        assert_eq!(payload, [0, 1, 0, 0, 0, 0, 0, 0], "no padding after an empty count");
        assert!(u64s.decode(&payload).unwrap().is_empty());
        // Four-byte elements need no padding; arrays in them count their values.
        let triples =
            Cdr::new(&Schema::slice(<[f32; 3] as Message>::SCHEMA.clone(), 2).unwrap()).unwrap();
        let two: Vec<u8> =
            [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0].iter().flat_map(|f| f.to_le_bytes()).collect();
        triples.encode(&two, &mut payload);
        assert_eq!(&payload[..8], [0, 1, 0, 0, 6, 0, 0, 0]);
        assert_eq!(&payload[8..], two.as_slice());
        assert_eq!(triples.decode(&payload).unwrap().as_ref(), two.as_slice());
        // What play refuses: a count that splits an element, too many elements, a wrong length.
        let mut partial = payload.clone();
        partial[4] = 5;
        assert_eq!(triples.decode(&partial), Err(CdrError::Partial { count: 5, per_element: 3 }));
        let mut long = payload.clone();
        long[4] = 9;
        assert_eq!(triples.decode(&long), Err(CdrError::TooLong { len: 3, max_len: 2 }));
        assert_eq!(
            triples.decode(&payload[..payload.len() - 1]),
            Err(CdrError::Length { expected: 32, found: 31 })
        );
        assert_eq!(
            triples.decode(&[0, 1, 0, 0, 0]),
            Err(CdrError::Length { expected: 8, found: 5 })
        );
        // A struct with an f64 in it is 8-aligned.
        let inner = Cdr::new(&Schema::slice(Inner::SCHEMA.clone(), 3).unwrap()).unwrap();
        let one = Inner { x: 9, _pad: [0; 7], y: 0.5 };
        inner.encode(eshm::message::as_bytes(&one), &mut payload);
        assert_eq!(&payload[4..12], [1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&payload[12..], eshm::message::as_bytes(&one));
    }
}
