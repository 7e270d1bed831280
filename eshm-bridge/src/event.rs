//! What a running bridge reports: one [`Event`] per change (a topic exposed or imported, a
//! peer connected, a conflict found), never one per message. `eshm bridge` prints each as a
//! line; counters are in the status file that `eshm info` reads (see `status`).

use std::fmt;

/// Something that happened in a running bridge.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A Zenoh peer (another bridge, or any Zenoh application) connected.
    PeerConnected {
        /// Its Zenoh id.
        id: String,
    },
    /// A Zenoh peer went away.
    PeerDisconnected {
        /// Its Zenoh id.
        id: String,
    },
    /// A local topic is now sent to other hosts.
    Exposing {
        /// The topic.
        topic: String,
        /// Its message type.
        type_name: String,
        /// The type's fingerprint.
        fingerprint: u64,
    },
    /// A local topic that the selection matches is not sent, and why.
    NotExposed {
        /// The topic.
        topic: String,
        /// Why (for instance: a bridge republishes it, which would echo it back).
        reason: String,
    },
    /// A local topic is no longer sent (it went away, or a bridge now republishes it).
    ExposeStopped {
        /// The topic.
        topic: String,
        /// Why.
        reason: String,
    },
    /// A remote topic is now republished here.
    Importing {
        /// The topic.
        topic: String,
        /// Its message type.
        type_name: String,
        /// The type's fingerprint.
        fingerprint: u64,
    },
    /// A remote topic is not republished: a live local process publishes the topic with
    /// another type. Its messages are dropped (and counted) until that publisher is gone.
    TypeConflict {
        /// The topic.
        topic: String,
        /// The local type.
        local_type: String,
        /// Its fingerprint.
        local_fingerprint: u64,
        /// The remote type.
        remote_type: String,
        /// Its fingerprint.
        remote_fingerprint: u64,
        /// Where they first differ.
        difference: String,
    },
    /// A remote topic is not republished: a live local process publishes it (with the same
    /// type). eshm topics have one publisher; its messages are dropped (and counted).
    PublisherConflict {
        /// The topic.
        topic: String,
        /// The local publisher.
        pid: u32,
    },
    /// A remote topic's schema could not be had from any bridge: its messages are dropped
    /// (and counted) until it can.
    SchemaUnavailable {
        /// The topic.
        topic: String,
        /// The fingerprint asked for.
        fingerprint: u64,
        /// Why.
        reason: String,
    },
    /// Something went wrong with one topic (a message refused, a segment unusable), or with
    /// the bridge's status file; the bridge carries on.
    Trouble {
        /// The topic (empty for the status file).
        topic: String,
        /// What happened.
        what: String,
    },
}

impl fmt::Display for Event {
    /// One line, starting with what happened: `exposing "robot/imu" Imu 0x...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::PeerConnected { id } => write!(f, "connected {id}"),
            Event::PeerDisconnected { id } => write!(f, "disconnected {id}"),
            Event::Exposing { topic, type_name, fingerprint } => {
                write!(f, "exposing {topic:?} {type_name:?} {fingerprint:#018x}")
            }
            Event::NotExposed { topic, reason } => write!(f, "not exposing {topic:?}: {reason}"),
            Event::ExposeStopped { topic, reason } => {
                write!(f, "stopped exposing {topic:?}: {reason}")
            }
            Event::Importing { topic, type_name, fingerprint } => {
                write!(f, "importing {topic:?} {type_name:?} {fingerprint:#018x}")
            }
            Event::TypeConflict {
                topic,
                local_type,
                local_fingerprint,
                remote_type,
                remote_fingerprint,
                difference,
            } => write!(
                f,
                "type conflict on {topic:?}: here {local_type:?} ({local_fingerprint:#018x}), \
                 remote {remote_type:?} ({remote_fingerprint:#018x}), {difference}; not \
                 republished while the local publisher lives"
            ),
            Event::PublisherConflict { topic, pid } => write!(
                f,
                "publisher conflict on {topic:?}: process {pid} publishes it here; not \
                 republished while it lives"
            ),
            Event::SchemaUnavailable { topic, fingerprint, reason } => write!(
                f,
                "no schema for {topic:?} ({fingerprint:#018x}): {reason}; its messages are dropped"
            ),
            Event::Trouble { topic, what } if topic.is_empty() => write!(f, "trouble: {what}"),
            Event::Trouble { topic, what } => write!(f, "trouble on {topic:?}: {what}"),
        }
    }
}
