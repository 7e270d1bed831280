//! eshm topics in MCAP files: what `eshm record` writes and `eshm play` and `eshm info` read.
//!
//! Each topic of one message type is one MCAP channel, named as the topic (`robot/imu`),
//! with
//!
//! - a schema record, encoding `ros2msg`, made from the eshm schema ([`ros2msg`]), which
//!   Foxglove, Lichtblick and `mcap-ros2-support` decode messages with;
//! - message encoding `cdr` ([`cdr`]: the 4-byte CDR_LE header and the message's own bytes;
//!   for a slice topic, a count before the elements);
//! - channel metadata that gives the exact type back: `eshm.schema` (the eshm schema's
//!   encoding, lowercase hex), `eshm.fingerprint` (`0x` and 16 hex digits) and `eshm.type`
//!   (the type's name, for people). `eshm play` decodes `eshm.schema`, checks it against
//!   `eshm.fingerprint`, and publishes with that schema, never with the ros2msg text.
//!
//! A topic re-created with another message type continues in a new channel of the same
//! topic name. The file's metadata records are `eshm.recording` (who recorded what, when,
//! and why it stopped) and `eshm.lost` (messages lost per topic: overwritten in the ring
//! before the recorder read them).
//!
//! A slice topic (messages of 0 to `max_len` elements) is a message with one field, `data`, a
//! bounded sequence (`float32[<=1024] data`), written as a CDR sequence; a topic re-created
//! with a larger maximum continues in a new channel.

pub(crate) mod cdr;
pub(crate) mod file;
pub(crate) mod names;
pub(crate) mod report;
pub(crate) mod ros2msg;
pub(crate) mod writer;

use eshm::Schema;
use std::collections::BTreeMap;
use std::fmt;

/// Channel metadata key: the eshm schema's encoding, in lowercase hex.
pub(crate) const SCHEMA_KEY: &str = "eshm.schema";
/// Channel metadata key: the eshm fingerprint, `0x` and 16 lowercase hex digits.
pub(crate) const FINGERPRINT_KEY: &str = "eshm.fingerprint";
/// Channel metadata key: the type's name (`Imu`, `f64`, `[u8; 16]`).
pub(crate) const TYPE_KEY: &str = "eshm.type";
/// Name of the metadata record that describes the recording.
pub(crate) const RECORDING: &str = "eshm.recording";
/// Name of the metadata record that counts lost messages per topic.
pub(crate) const LOST: &str = "eshm.lost";
/// The schema encoding of ros2msg schema records.
pub(crate) const SCHEMA_ENCODING: &str = "ros2msg";
/// The message encoding of eshm channels.
pub(crate) const MESSAGE_ENCODING: &str = "cdr";

/// A message type this version cannot record (a kind of schema newer than it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unsupported {
    type_name: String,
    reason: Option<String>,
}

impl Unsupported {
    pub(crate) fn new(schema: &Schema) -> Unsupported {
        Unsupported { type_name: schema.type_name(), reason: None }
    }

    pub(crate) fn because(schema: &Schema, reason: String) -> Unsupported {
        Unsupported { type_name: schema.type_name(), reason: Some(reason) }
    }
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "messages of `{}` cannot be written as CDR by this version", self.type_name)?;
        match &self.reason {
            Some(reason) => write!(f, ": {reason}"),
            None => write!(f, " (a kind of type it does not know)"),
        }
    }
}

/// Everything a channel of one message type needs: its schema record, its metadata and how
/// its messages become CDR.
#[derive(Debug, Clone)]
pub(crate) struct ChannelSpec {
    pub(crate) definition: ros2msg::Definition,
    pub(crate) metadata: BTreeMap<String, String>,
    pub(crate) cdr: cdr::Cdr,
}

impl ChannelSpec {
    /// The channel of messages of `schema`.
    ///
    /// # Errors
    ///
    /// [`Unsupported`] for a type this version cannot write as CDR.
    pub(crate) fn new(schema: &Schema) -> Result<ChannelSpec, Unsupported> {
        let definition = ros2msg::definition(schema)?;
        let cdr = cdr::Cdr::new(schema)?;
        let metadata = BTreeMap::from([
            (SCHEMA_KEY.to_owned(), hex(&schema.encode())),
            (FINGERPRINT_KEY.to_owned(), format!("{:#018x}", schema.fingerprint())),
            (TYPE_KEY.to_owned(), schema.type_name()),
        ]);
        Ok(ChannelSpec { definition, metadata, cdr })
    }
}

/// The eshm schema a channel's metadata carries, checked against its fingerprint.
///
/// # Errors
///
/// A sentence saying what is missing or wrong.
pub(crate) fn channel_schema(metadata: &BTreeMap<String, String>) -> Result<Schema, String> {
    let (Some(encoded), Some(fingerprint)) =
        (metadata.get(SCHEMA_KEY), metadata.get(FINGERPRINT_KEY))
    else {
        return Err(format!(
            "it has no eshm schema (channel metadata {SCHEMA_KEY} and {FINGERPRINT_KEY}): \
             it was not recorded by eshm"
        ));
    };
    let bytes = unhex(encoded).ok_or_else(|| format!("its {SCHEMA_KEY} is not hexadecimal"))?;
    let schema =
        Schema::decode(&bytes).map_err(|e| format!("its {SCHEMA_KEY} does not decode: {e}"))?;
    let found = format!("{:#018x}", schema.fingerprint());
    if !found.eq_ignore_ascii_case(fingerprint) {
        return Err(format!(
            "its schema's fingerprint is {found}, but its {FINGERPRINT_KEY} says {}: the file \
             was altered or damaged",
            crate::show::safe(fingerprint)
        ));
    }
    Ok(schema)
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The bytes of hex text (either case), `None` if it is not hex.
pub(crate) fn unhex(text: &str) -> Option<Vec<u8>> {
    let digits = text.as_bytes();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks(2)
        .map(|pair| {
            let s = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(s, 16).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use eshm::Message;
    use eshm::msg::Imu;

    #[test]
    fn channel_metadata_gives_the_exact_schema_back() {
        let spec = ChannelSpec::new(Imu::SCHEMA).unwrap();
        assert_eq!(spec.metadata[TYPE_KEY], "Imu");
        assert_eq!(spec.metadata[FINGERPRINT_KEY], format!("{:#018x}", Imu::SCHEMA.fingerprint()));
        assert_eq!(&channel_schema(&spec.metadata).unwrap(), Imu::SCHEMA);

        let mut altered = spec.metadata.clone();
        altered.insert(FINGERPRINT_KEY.into(), "0x0000000000000001".into());
        assert!(channel_schema(&altered).unwrap_err().contains("altered or damaged"));
        let mut bad = spec.metadata.clone();
        bad.insert(SCHEMA_KEY.into(), "0z".into());
        assert_eq!(channel_schema(&bad).unwrap_err(), "its eshm.schema is not hexadecimal");
        bad.insert(SCHEMA_KEY.into(), "02".into());
        assert!(channel_schema(&bad).unwrap_err().starts_with("its eshm.schema does not decode"));
        assert!(channel_schema(&BTreeMap::new()).unwrap_err().contains("not recorded by eshm"));
    }

    #[test]
    fn hex_round_trips() {
        assert_eq!(hex(&[0, 0xab, 0x10]), "00ab10");
        assert_eq!(unhex("00AB10"), Some(vec![0, 0xab, 0x10]));
        assert_eq!(unhex("0"), None);
        assert_eq!(unhex("é0"), None);
    }
}
