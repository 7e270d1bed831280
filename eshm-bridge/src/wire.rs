//! What travels with each message: the Zenoh attachment, 56 bytes, all integers little-endian.
//!
//! | offset | size | field |
//! |---:|---:|---|
//! | 0 | 1 | version of this layout: 1 |
//! | 1 | 7 | zero (reserved; readers ignore them) |
//! | 8 | 8 | `fingerprint`: the message type's schema fingerprint (`eshm::Schema::fingerprint`) |
//! | 16 | 8 | `seq`: the message's number in its stream, from 1 |
//! | 24 | 8 | `stamp_unix_ns`: when the exposing bridge received the message from its ring (`CLOCK_REALTIME`, ns since the Unix epoch) |
//! | 32 | 8 | `lost_at_source`: messages of the topic the exposing bridge's subscriber lost so far (overwritten in its ring before it read them, or published by a publisher it never saw) |
//! | 40 | 16 | `origin`: the exposing bridge's Zenoh id, which names the stream |
//!
//! A *stream* is one topic exposed by one running bridge: `seq` counts the messages the bridge
//! put on the topic's key, so a gap is exactly what the network lost, whatever happened on the
//! source host. A publisher that restarts there does not start a new stream (the bridge's
//! subscriber follows it); a bridge that restarts does (a new Zenoh id), and an importer then
//! starts counting afresh instead of seeing a gap. Losses before the network, on the source
//! host, travel as `lost_at_source`.
//!
//! The payload is the message's bytes, exactly as in the ring (for a slice topic, its elements).
//! The schema itself is not sent with messages: an importer that does not know the
//! fingerprint asks for it at `eshm/@schema/<fingerprint as 16 hex digits>`, where every bridge
//! answers with `eshm::Schema::encode` of the types it knows (see `key`).
//!
//! A longer attachment of version 1 is accepted (fields may be added at the end); another
//! version is refused.
//!
//! ## Batches (version 2)
//!
//! When an exposing bridge finds several messages of a topic waiting in its ring (a fast
//! publisher), it puts them as one Zenoh sample: one message per Zenoh put would cap the
//! bridge far below what a ring delivers. Such a sample's attachment is 64 bytes: the layout
//! above with version 2, where `seq` is the number of the batch's first message (the others
//! follow it: `seq + 1`, ...), `stamp_unix_ns` when the bridge received the first,
//! `lost_at_source` the count after the last; then, at offset 56, `count` (4 bytes: the
//! messages in the batch, at least 2) and 4 zero bytes. Its payload is the `count` messages
//! back to back, each a 4-byte length and then its bytes. A single waiting message still
//! travels alone with a version-1 attachment, so that a consumer that is not a bridge reads
//! one message per sample whenever the publisher is not faster than the network.

/// The attachment's length.
pub const ATTACHMENT_LEN: usize = 56;
/// The layout version of a single message's attachment.
pub const VERSION: u8 = 1;
/// The length of a batch's attachment.
pub const BATCH_ATTACHMENT_LEN: usize = 64;
/// The layout version of a batch's attachment.
pub const BATCH_VERSION: u8 = 2;

/// The fields of an attachment (see the [module docs](self)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// The schema fingerprint of the message type.
    pub fingerprint: u64,
    /// The message's number in its stream, from 1.
    pub seq: u64,
    /// When the exposing bridge received it (ns since the Unix epoch).
    pub stamp_unix_ns: u64,
    /// Messages lost on the source host so far.
    pub lost_at_source: u64,
    /// The exposing bridge's Zenoh id.
    pub origin: [u8; 16],
}

/// Why an attachment was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// Shorter than a version-1 attachment.
    #[error("an attachment of {0} bytes, not at least {ATTACHMENT_LEN}")]
    Short(usize),
    /// Another layout version.
    #[error(
        "attachment layout version {0}, this bridge reads versions {VERSION} and {BATCH_VERSION}"
    )]
    Version(u8),
    /// A batch's attachment shorter than [`BATCH_ATTACHMENT_LEN`].
    #[error("a batch attachment of {0} bytes, not at least {BATCH_ATTACHMENT_LEN}")]
    ShortBatch(usize),
    /// A batch that says it holds fewer than 2 messages.
    #[error("a batch of {0} message(s), not at least 2")]
    BatchCount(u32),
    /// A batch's payload that is not `count` length-prefixed messages.
    #[error("a batch payload of {len} bytes that does not hold its {count} messages")]
    BatchPayload {
        /// The payload's length.
        len: usize,
        /// The messages the attachment announced.
        count: u32,
    },
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

impl Header {
    /// The attachment's bytes.
    pub fn encode(&self) -> [u8; ATTACHMENT_LEN] {
        let mut out = [0u8; ATTACHMENT_LEN];
        out[0] = VERSION;
        out[8..16].copy_from_slice(&self.fingerprint.to_le_bytes());
        out[16..24].copy_from_slice(&self.seq.to_le_bytes());
        out[24..32].copy_from_slice(&self.stamp_unix_ns.to_le_bytes());
        out[32..40].copy_from_slice(&self.lost_at_source.to_le_bytes());
        out[40..56].copy_from_slice(&self.origin);
        out
    }

    /// The fields of an attachment.
    ///
    /// # Errors
    ///
    /// [`WireError`] for a short attachment or another layout version.
    pub fn decode(bytes: &[u8]) -> Result<Header, WireError> {
        if bytes.len() < ATTACHMENT_LEN {
            return Err(WireError::Short(bytes.len()));
        }
        if bytes[0] != VERSION {
            return Err(WireError::Version(bytes[0]));
        }
        Ok(Header::fields(bytes))
    }

    fn fields(bytes: &[u8]) -> Header {
        let mut origin = [0u8; 16];
        origin.copy_from_slice(&bytes[40..56]);
        Header {
            fingerprint: u64_at(bytes, 8),
            seq: u64_at(bytes, 16),
            stamp_unix_ns: u64_at(bytes, 24),
            lost_at_source: u64_at(bytes, 32),
            origin,
        }
    }

    /// The attachment of a batch of `count` messages (at least 2) whose first is this header's.
    pub fn encode_batch(&self, count: u32) -> [u8; BATCH_ATTACHMENT_LEN] {
        let mut out = [0u8; BATCH_ATTACHMENT_LEN];
        out[..ATTACHMENT_LEN].copy_from_slice(&self.encode());
        out[0] = BATCH_VERSION;
        out[56..60].copy_from_slice(&count.to_le_bytes());
        out
    }

    /// The fields of an attachment of either version, and the number of messages the sample
    /// holds (1 for version 1).
    ///
    /// # Errors
    ///
    /// [`WireError`] for a short attachment, another version, or a batch of fewer than 2.
    pub fn decode_any(bytes: &[u8]) -> Result<(Header, u32), WireError> {
        match bytes.first() {
            Some(&BATCH_VERSION) => {
                if bytes.len() < BATCH_ATTACHMENT_LEN {
                    return Err(WireError::ShortBatch(bytes.len()));
                }
                let count = u32::from_le_bytes(bytes[56..60].try_into().expect("4 bytes"));
                if count < 2 {
                    return Err(WireError::BatchCount(count));
                }
                Ok((Header::fields(bytes), count))
            }
            _ => Header::decode(bytes).map(|h| (h, 1)),
        }
    }
}

/// Appends one message to a batch's payload: its length (4 bytes), then its bytes.
///
/// # Panics
///
/// For a message of 4 GiB or more.
pub fn push_record(payload: &mut Vec<u8>, message: &[u8]) {
    let len = u32::try_from(message.len()).expect("a message under 4 GiB");
    payload.extend_from_slice(&len.to_le_bytes());
    payload.extend_from_slice(message);
}

/// The `count` messages of a batch's payload.
///
/// # Errors
///
/// [`WireError::BatchPayload`] unless the payload is exactly `count` length-prefixed messages.
pub fn records(payload: &[u8], count: u32) -> Result<Vec<&[u8]>, WireError> {
    let bad = || WireError::BatchPayload { len: payload.len(), count };
    let mut out = Vec::with_capacity((count as usize).min(payload.len() / 4));
    let mut rest = payload;
    for _ in 0..count {
        let (len, tail) = rest.split_first_chunk::<4>().ok_or_else(bad)?;
        let len = u32::from_le_bytes(*len) as usize;
        if tail.len() < len {
            return Err(bad());
        }
        let (message, tail) = tail.split_at(len);
        out.push(message);
        rest = tail;
    }
    if rest.is_empty() { Ok(out) } else { Err(bad()) }
}

/// A bridge id (a Zenoh id's bytes) as text, as Zenoh prints ids: the little-endian number in
/// lowercase hex.
pub(crate) fn id_text(id: &[u8; 16]) -> String {
    format!("{:x}", u128::from_le_bytes(*id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_header_round_trips_at_the_documented_offsets() {
        let h = Header {
            fingerprint: 0x0102_0304_0506_0708,
            seq: 9,
            stamp_unix_ns: 1_700_000_000_000_000_000,
            lost_at_source: 3,
            origin: std::array::from_fn(|i| i as u8 + 0xa0),
        };
        let bytes = h.encode();
        assert_eq!(bytes[0], 1);
        assert_eq!(&bytes[1..8], &[0; 7]);
        assert_eq!(&bytes[8..16], &[8, 7, 6, 5, 4, 3, 2, 1]);
        assert_eq!(bytes[16], 9);
        assert_eq!(bytes[32], 3);
        assert_eq!(bytes[40], 0xa0);
        assert_eq!(Header::decode(&bytes), Ok(h));
        // Longer (a later minor addition) is fine; shorter or another version is not.
        let mut longer = bytes.to_vec();
        longer.extend_from_slice(&[0xff; 8]);
        assert_eq!(Header::decode(&longer), Ok(h));
        assert_eq!(Header::decode(&bytes[..55]), Err(WireError::Short(55)));
        let mut v2 = bytes;
        v2[0] = 2;
        assert_eq!(Header::decode(&v2), Err(WireError::Version(2)));
    }

    #[test]
    fn wire_batches_round_trip_and_malformed_ones_are_refused() {
        let h = Header {
            fingerprint: 5,
            seq: 11,
            stamp_unix_ns: 3,
            lost_at_source: 2,
            origin: [9; 16],
        };
        let attachment = h.encode_batch(3);
        assert_eq!(attachment[0], 2);
        assert_eq!(&attachment[56..64], &[3, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(Header::decode_any(&attachment), Ok((h, 3)));
        assert_eq!(Header::decode_any(&h.encode()), Ok((h, 1)));
        assert_eq!(Header::decode(&attachment), Err(WireError::Version(2)), "v1 readers refuse");
        assert_eq!(Header::decode_any(&attachment[..60]), Err(WireError::ShortBatch(60)));
        assert_eq!(Header::decode_any(&h.encode_batch(1)), Err(WireError::BatchCount(1)));
        let mut v3 = attachment;
        v3[0] = 3;
        assert_eq!(Header::decode_any(&v3), Err(WireError::Version(3)));

        let mut payload = Vec::new();
        for m in [&b"ab"[..], b"", b"xyz"] {
            push_record(&mut payload, m);
        }
        assert_eq!(payload.len(), 3 * 4 + 5);
        assert_eq!(records(&payload, 3), Ok(vec![&b"ab"[..], b"", b"xyz"]));
        let bad = |len, count| Err(WireError::BatchPayload { len, count });
        assert_eq!(records(&payload, 2), bad(17, 2), "bytes left over");
        assert_eq!(records(&payload, 4), bad(17, 4), "one missing");
        assert_eq!(records(&payload[..16], 3), bad(16, 3), "the last one cut");
        assert_eq!(records(&[1, 0, 0], 1), bad(3, 1), "a cut length");
    }

    #[test]
    fn wire_id_text_matches_zenoh() {
        let zid = zenoh::session::ZenohId::default();
        assert_eq!(id_text(&zid.to_le_bytes()), zid.to_string());
        let mut one = [0u8; 16];
        one[0] = 0x1f;
        assert_eq!(id_text(&one), "1f");
        assert_eq!(id_text(&[0; 16]), "0");
    }
}
