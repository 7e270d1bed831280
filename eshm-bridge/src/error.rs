//! What can stop a bridge from starting (once running, trouble with single topics or messages
//! is reported as an [`Event`](crate::Event) and counted, never fatal).

use std::path::PathBuf;

/// Why a bridge could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A topic pattern or name given to `expose` or `import` is not valid.
    #[error("{pattern:?} is not a valid topic pattern or name: {reason}")]
    InvalidPattern {
        /// The argument.
        pattern: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Neither topics to expose nor topics to import were given.
    #[error("nothing to do: give topics to expose, to import, or both")]
    NothingToDo,
    /// The Zenoh configuration is not valid (an endpoint, or the configuration file).
    #[error("zenoh configuration: {0}")]
    Config(String),
    /// Zenoh failed (opening the session: a port already in use, say).
    #[error("zenoh: {0}")]
    Zenoh(String),
    /// An eshm call failed.
    #[error(transparent)]
    Eshm(#[from] eshm::Error),
    /// The status file could not be written.
    #[error("status file {}: {source}", path.display())]
    Status {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// A Zenoh error (zenoh's errors are boxed trait objects, kept here as their text).
    pub(crate) fn zenoh(what: &str, e: impl std::fmt::Display) -> Error {
        Error::Zenoh(format!("{what}: {}", zenoh_text(&e.to_string())))
    }
}

/// Zenoh's error text without the source location it appends (` at /path/file.rs:123.`).
pub(crate) fn zenoh_text(text: &str) -> &str {
    match text.rfind(" at /") {
        Some(at) if text.ends_with('.') && text[at..].contains(".rs:") => &text[..at],
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn error_zenoh_text_drops_the_source_location() {
        let t = "Unicast not supported for bogus protocol at /root/.cargo/x/src/lib.rs:183.";
        assert_eq!(super::zenoh_text(t), "Unicast not supported for bogus protocol");
        assert_eq!(super::zenoh_text("plain"), "plain");
        assert_eq!(super::zenoh_text("look at /tmp first."), "look at /tmp first.");
    }
}
