//! The MCAP file `eshm record` writes: one channel per topic and message type, messages as
//! CDR payloads, a chunk closed every second (so that a recorder killed with SIGKILL loses at
//! most the last second), and at the end the metadata records, the summary and the footer.

use super::{ChannelSpec, LOST, MESSAGE_ENCODING, RECORDING, SCHEMA_ENCODING, Unsupported};
use crate::{Exit, Failure};
use eshm::Schema;
use mcap::records::{MessageHeader, Metadata};
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// A channel of the file, as [`Writer::channel`] hands it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChannelRef(usize);

#[derive(Debug)]
struct Channel {
    id: u16,
    topic: String,
    type_name: String,
    spec: ChannelSpec,
}

/// An MCAP file being written.
pub(crate) struct Writer {
    inner: mcap::Writer<BufWriter<File>>,
    path: PathBuf,
    channels: Vec<Channel>,
    /// Channels by (topic, fingerprint).
    by_type: HashMap<(String, u64), ChannelRef>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("path", &self.path)
            .field("channels", &self.channels.len())
            .finish()
    }
}

fn failed(path: &Path, what: &str, e: impl std::fmt::Display) -> Failure {
    Failure::new(
        Exit::Failure,
        format!("{}: {what}: {e}", crate::show::safe(&path.display().to_string())),
    )
}

impl Writer {
    /// Creates the file (refusing an existing one unless `overwrite`) and writes its header.
    ///
    /// # Errors
    ///
    /// A [`Failure`] if the file exists or cannot be created.
    pub(crate) fn create(path: &Path, overwrite: bool) -> Result<Writer, Failure> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true);
        if overwrite {
            options.create(true).truncate(true);
        } else {
            options.create_new(true);
        }
        let file = options.open(path).map_err(|e| {
            let hint = if e.kind() == std::io::ErrorKind::AlreadyExists {
                " (--overwrite replaces it)"
            } else {
                ""
            };
            Failure::usage(format!(
                "cannot create {}: {e}{hint}",
                crate::show::safe(&path.display().to_string())
            ))
        })?;
        let inner = mcap::WriteOptions::new()
            // Not "ros2": that profile requires ROS 2 QoS metadata on every channel, and this
            // is not ROS 2 data.
            .profile("")
            .library(concat!("eshm/", env!("CARGO_PKG_VERSION")))
            .create(BufWriter::with_capacity(1 << 20, file))
            .map_err(|e| failed(path, "cannot write", e))?;
        Ok(Writer { inner, path: path.to_owned(), channels: Vec::new(), by_type: HashMap::new() })
    }

    /// The channel for messages of `schema` on `topic`: the one already there, or a new one.
    ///
    /// # Errors
    ///
    /// `Err(Ok(unsupported))` for a type this version cannot write, `Err(Err(failure))` if
    /// writing fails.
    pub(crate) fn channel(
        &mut self,
        topic: &str,
        schema: &Schema,
    ) -> Result<ChannelRef, Result<Unsupported, Failure>> {
        let key = (topic.to_owned(), schema.fingerprint());
        if let Some(c) = self.by_type.get(&key) {
            return Ok(*c);
        }
        let spec = ChannelSpec::new(schema).map_err(Ok)?;
        let schema_id = self
            .inner
            .add_schema(&spec.definition.name, SCHEMA_ENCODING, spec.definition.text.as_bytes())
            .map_err(|e| Err(failed(&self.path, "cannot write a schema", e)))?;
        let id = self
            .inner
            .add_channel(schema_id, topic, MESSAGE_ENCODING, &spec.metadata)
            .map_err(|e| Err(failed(&self.path, "cannot write a channel", e)))?;
        let c = ChannelRef(self.channels.len());
        self.channels.push(Channel {
            id,
            topic: topic.to_owned(),
            type_name: schema.type_name(),
            spec,
        });
        self.by_type.insert(key, c);
        Ok(c)
    }

    /// The CDR plan of a channel.
    pub(crate) fn cdr(&self, c: ChannelRef) -> &super::cdr::Cdr {
        &self.channels[c.0].spec.cdr
    }

    /// The topic and type name of a channel.
    pub(crate) fn describe(&self, c: ChannelRef) -> (&str, &str) {
        let ch = &self.channels[c.0];
        (&ch.topic, &ch.type_name)
    }

    /// The type names of each topic's channels, in the order they appeared (`Pose`, or
    /// `Pose, Twist` for a topic re-created with another type).
    pub(crate) fn types(&self) -> BTreeMap<String, String> {
        let mut out: BTreeMap<String, String> = BTreeMap::new();
        for ch in &self.channels {
            let entry = out.entry(ch.topic.clone()).or_default();
            if !entry.is_empty() {
                entry.push_str(", ");
            }
            entry.push_str(&ch.type_name);
        }
        out
    }

    /// Writes one message: `payload` is its CDR payload, `log_time` its receive time (ns since
    /// the Unix epoch), which is also its publish time (eshm messages carry none).
    ///
    /// # Errors
    ///
    /// A [`Failure`] if writing fails.
    pub(crate) fn write(
        &mut self,
        c: ChannelRef,
        sequence: u32,
        log_time: u64,
        payload: &[u8],
    ) -> Result<(), Failure> {
        let header = MessageHeader {
            channel_id: self.channels[c.0].id,
            sequence,
            log_time,
            publish_time: log_time,
        };
        self.inner
            .write_to_known_channel(&header, payload)
            .map_err(|e| failed(&self.path, "cannot write", e))
    }

    /// Closes the current chunk and hands it to the operating system: what is written so far
    /// survives this process being killed.
    ///
    /// # Errors
    ///
    /// A [`Failure`] if writing fails.
    pub(crate) fn flush(&mut self) -> Result<(), Failure> {
        self.inner.flush().map_err(|e| failed(&self.path, "cannot write", e))
    }

    /// Writes the metadata records (`recording`: who recorded what and how it ended; `lost`:
    /// per topic), the summary and the footer, and syncs the file to disk.
    ///
    /// # Errors
    ///
    /// A [`Failure`] if writing fails.
    pub(crate) fn finish(
        mut self,
        recording: BTreeMap<String, String>,
        lost: BTreeMap<String, String>,
    ) -> Result<(), Failure> {
        let path = self.path.clone();
        let metadata = [(RECORDING, recording), (LOST, lost)];
        for (name, metadata) in metadata {
            self.inner
                .write_metadata(&Metadata { name: name.to_owned(), metadata })
                .map_err(|e| failed(&path, "cannot write metadata", e))?;
        }
        self.inner.finish().map_err(|e| failed(&path, "cannot finish", e))?;
        let file = self
            .inner
            .into_inner()
            .into_inner()
            .map_err(|e| failed(&path, "cannot write", e.error()))?;
        file.sync_all().map_err(|e| failed(&path, "cannot sync", e))
    }
}
