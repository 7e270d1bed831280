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

/// The attachment's length.
pub const ATTACHMENT_LEN: usize = 56;
/// The layout version this bridge writes and reads.
pub const VERSION: u8 = 1;

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
    #[error("attachment layout version {0}, this bridge reads version {VERSION}")]
    Version(u8),
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
        let mut origin = [0u8; 16];
        origin.copy_from_slice(&bytes[40..56]);
        Ok(Header {
            fingerprint: u64_at(bytes, 8),
            seq: u64_at(bytes, 16),
            stamp_unix_ns: u64_at(bytes, 24),
            lost_at_source: u64_at(bytes, 32),
            origin,
        })
    }
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
    fn wire_id_text_matches_zenoh() {
        let zid = zenoh::session::ZenohId::default();
        assert_eq!(id_text(&zid.to_le_bytes()), zid.to_string());
        let mut one = [0u8; 16];
        one[0] = 0x1f;
        assert_eq!(id_text(&one), "1f");
        assert_eq!(id_text(&[0; 16]), "0");
    }
}
