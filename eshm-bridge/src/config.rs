//! What a bridge carries and how it reaches other hosts: [`Config`].

use crate::error::Error;
use eshm::pubsub::PublisherOptions;
use std::path::PathBuf;

/// A bridge's configuration: the topics it exposes and imports, and the few Zenoh settings a
/// bridge needs (everything else is Zenoh's default configuration, or a Zenoh configuration
/// file).
///
/// # Examples
///
/// ```
/// let config = eshm_bridge::Config::new()
///     .expose("robot/**")
///     .import("base/**")
///     .listen("tcp/0.0.0.0:7447")
///     .connect("tcp/base-station.local:7447");
/// # let _ = config;
/// ```
#[derive(Clone, Debug)]
pub struct Config {
    pub(crate) expose: Vec<String>,
    pub(crate) import: Vec<String>,
    listen: Vec<String>,
    connect: Vec<String>,
    multicast_scouting: bool,
    zenoh_config_file: Option<PathBuf>,
    capacity: Option<usize>,
    pub(crate) busy_poll: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config::new()
    }
}

impl Config {
    /// Nothing exposed or imported yet; Zenoh's defaults (a peer that listens on a random port
    /// of every interface and finds other peers by multicast scouting).
    pub fn new() -> Config {
        Config {
            expose: Vec::new(),
            import: Vec::new(),
            listen: Vec::new(),
            connect: Vec::new(),
            multicast_scouting: true,
            zenoh_config_file: None,
            capacity: None,
            busy_poll: false,
        }
    }

    /// Sends local topics that `pattern` selects (a topic name, or a shell-style pattern such as
    /// `robot/**`; see the crate docs) to the other bridges, including topics that appear later.
    pub fn expose(mut self, pattern: impl Into<String>) -> Self {
        self.expose.push(pattern.into());
        self
    }

    /// Republishes here the remote topics that `pattern` selects.
    pub fn import(mut self, pattern: impl Into<String>) -> Self {
        self.import.push(pattern.into());
        self
    }

    /// Listens on a Zenoh endpoint (`tcp/0.0.0.0:7447`); replaces Zenoh's default listener.
    pub fn listen(mut self, endpoint: impl Into<String>) -> Self {
        self.listen.push(endpoint.into());
        self
    }

    /// Connects to a Zenoh endpoint (another bridge, or a Zenoh router): `tcp/host:7447`.
    /// The connection is retried in the background while the other side is not there.
    pub fn connect(mut self, endpoint: impl Into<String>) -> Self {
        self.connect.push(endpoint.into());
        self
    }

    /// Whether to find other peers by multicast scouting (Zenoh's default: yes). Without it,
    /// only the `connect` endpoints (and the peers they tell of) are reached.
    pub fn multicast_scouting(mut self, enabled: bool) -> Self {
        self.multicast_scouting = enabled;
        self
    }

    /// Starts from a Zenoh configuration file (JSON5 or YAML) instead of Zenoh's defaults;
    /// `listen`, `connect` and `multicast_scouting(false)` still apply on top of it.
    pub fn zenoh_config_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.zenoh_config_file = Some(path.into());
        self
    }

    /// Messages the ring of each imported topic keeps (default: eshm's, see
    /// `eshm::pubsub::PublisherOptions::capacity`).
    pub fn capacity(mut self, messages: usize) -> Self {
        self.capacity = Some(messages);
        self
    }

    /// Whether the exposing side polls its topics without ever sleeping (default: no).
    ///
    /// A bridge that sleeps between messages is woken by the publisher of each one, which
    /// costs a wake-up (10-20 µs on a virtual machine) whenever messages come one at a time.
    /// Polling saves that, and keeps a core busy for as long as the bridge runs: for hosts
    /// with a core to spare. The subscribers on the importing host choose their own wait
    /// (`eshm::WaitStrategy::Spin` polls likewise).
    pub fn busy_poll(mut self, enabled: bool) -> Self {
        self.busy_poll = enabled;
        self
    }

    /// The options of the publishers of imported topics.
    pub(crate) fn publisher_options(&self) -> PublisherOptions {
        let options = PublisherOptions::default();
        match self.capacity {
            Some(n) => options.capacity(n),
            None => options,
        }
    }

    /// The Zenoh configuration.
    pub(crate) fn zenoh(&self) -> Result<zenoh::Config, Error> {
        let mut c = match &self.zenoh_config_file {
            Some(path) => zenoh::Config::from_file(path).map_err(|e| {
                let e = e.to_string();
                Error::Config(format!("{}: {}", path.display(), crate::error::zenoh_text(&e)))
            })?,
            None => zenoh::Config::default(),
        };
        let set = |c: &mut zenoh::Config, key: &str, value: String| {
            c.insert_json5(key, &value).map_err(|e| {
                let e = e.to_string();
                Error::Config(format!("{key} = {value}: {}", crate::error::zenoh_text(&e)))
            })
        };
        let list = |v: &[String]| serde_json::to_string(v).expect("strings serialise");
        if !self.listen.is_empty() {
            set(&mut c, "listen/endpoints", list(&self.listen))?;
        }
        if !self.connect.is_empty() {
            set(&mut c, "connect/endpoints", list(&self.connect))?;
        }
        if !self.multicast_scouting {
            set(&mut c, "scouting/multicast/enabled", "false".to_owned())?;
        }
        Ok(c)
    }
}
