//! eshm topics beyond one machine: a bridge that carries typed topics between hosts over
//! [Zenoh](https://zenoh.io), with their schemas.
//!
//! On each host a bridge *exposes* local topics (names or patterns such as `robot/**`, topics
//! that appear later included): it receives them from their rings and puts each message on the
//! Zenoh key `eshm/<topic>`. Another bridge *imports* remote topics: it republishes them on its
//! host through a local publisher of the remote type, so local subscribers, in Rust or Python,
//! receive exactly the types the remote side published. The command is `eshm bridge`; this
//! crate is the library behind it.
//!
//! ```no_run
//! use eshm_bridge::{Bridge, Config};
//!
//! // On the robot: send robot/**, receive base/**, wait for the base station on port 7447.
//! let config = Config::new().expose("robot/**").import("base/**").listen("tcp/0.0.0.0:7447");
//! let bridge = Bridge::start(config, |event| println!("{event}"))?;
//! // ... until the program ends:
//! bridge.stop();
//! # Ok::<(), eshm_bridge::Error>(())
//! ```
//!
//! # What travels
//!
//! Each message's bytes, as they are in the ring, with a 56-byte attachment: the schema
//! fingerprint, the message's number in its stream, the exposing bridge's receive time, how
//! many messages were lost on the source host, and the exposing bridge's id (layout in
//! [`wire`]). Schemas travel on request: an importer that meets a new fingerprint asks for it at
//! `eshm/@schema/<fingerprint>`, which every bridge answers for the types it knows, and checks
//! that what it gets has that fingerprint.
//!
//! # Guarantees and limits
//!
//! - **Types are checked, never guessed.** A message is republished only through a publisher
//!   of the schema its fingerprint names; a local topic of another type with a live publisher
//!   is a type conflict (reported once as an [`Event`], its messages counted and dropped); a
//!   payload of the wrong length or with invalid `bool` or enum values is refused.
//! - **Order.** Messages of one topic from one bridge arrive in order: each topic has one
//!   Zenoh publisher with `CongestionControl::Block` over a reliable link, and the importer
//!   republishes in arrival order.
//! - **Losses are counted where they happen:** on the source host (the exposing bridge fell a
//!   whole ring behind), on the network (gaps in the stream's numbers), and by local
//!   subscribers as usual. `eshm info` shows the first two on the imported topic (from the
//!   status file, see [`status`]). Zenoh keeps no history: messages put while no bridge
//!   imports the topic are gone, as on a local topic without subscribers.
//! - **No loops.** A bridge's subscribers accept only remote samples
//!   (`Locality::Remote`), a sample carrying the bridge's own id is dropped, and a topic that
//!   a live bridge publishes locally (because it imported it) is never exposed. Two bridges
//!   that expose and import the same patterns therefore never echo a message back. Messages
//!   are not relayed from bridge to bridge: Zenoh routes between hosts.
//! - **Restarts.** A publisher that restarts on the source host continues the stream; a
//!   bridge that restarts starts a new stream, and its local publishers are taken over by the
//!   next bridge, which local subscribers follow by themselves.
//! - Services and channels are not bridged (yet): topics only.
//! - Zenoh is used with its default configuration, or a configuration file; the bridge adds
//!   only listen and connect endpoints and, optionally, turns multicast scouting off.
//!
//! # Threads
//!
//! Zenoh runs its own threads (no async code here). The bridge adds three: one exposes (all
//! local topics, sleeping on all their rings at once, or polling them with
//! [`Config::busy_poll`]), one sets up imported topics (schema
//! queries may block), and one writes the status file and watches peers. Imported messages
//! are republished on Zenoh's receiving threads once their topic is set up.

mod config;
mod error;
mod event;
mod expose;
mod import;
pub mod key;
mod select;
pub mod status;
pub mod wire;

pub use config::Config;
pub use error::Error;
pub use event::Event;

/// Prints Zenoh's own log lines (connections, closed links, dropped messages) as the
/// `RUST_LOG` environment variable selects, e.g. `RUST_LOG=zenoh=info`; does nothing when it
/// is not set. For programs (`eshm bridge` calls it): a library installs no logger.
pub fn log_zenoh_from_env() {
    zenoh::try_init_log_from_env();
}

use import::Importer;
use select::Selection;
use status::{Snapshot, StatusFile};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
// Flags between this process's threads, not shared-memory protocols (which use eshm's shim).
#[allow(clippy::disallowed_types)]
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;
use zenoh::Wait as _;

/// How often the status file is brought up to date and the peers are looked at.
const HOUSEKEEPING: Duration = Duration::from_millis(250);

/// What the bridge's threads share.
pub(crate) struct Shared {
    /// This bridge's Zenoh id.
    pub(crate) id: [u8; 16],
    pub(crate) events: Box<dyn Fn(&Event) + Send + Sync>,
    #[allow(clippy::disallowed_types)]
    stop: AtomicBool,
    /// Rung to wake the exposing thread (when stopping).
    pub(crate) doorbell: eshm::wait::Doorbell,
    /// The encoded schemas this bridge knows, by fingerprint (it answers queries for them).
    pub(crate) schemas: Mutex<HashMap<u64, Vec<u8>>>,
    /// Topics this bridge publishes locally (imported): never exposed. Only grows.
    imported: Mutex<HashSet<String>>,
    /// The number of topics in `imported`: Release after an insert, so that a thread that sees
    /// a message of an imported topic's publisher sees the topic marked.
    #[allow(clippy::disallowed_types)]
    imported_count: AtomicUsize,
    /// The exposing side's counters, copied there every 100 ms.
    pub(crate) exposed: Mutex<BTreeMap<String, status::Exposed>>,
}

impl Shared {
    #[allow(clippy::disallowed_types)]
    fn new(id: [u8; 16], events: Box<dyn Fn(&Event) + Send + Sync>) -> Shared {
        Shared {
            id,
            events,
            stop: AtomicBool::new(false),
            doorbell: eshm::wait::Doorbell::new(),
            schemas: Mutex::new(HashMap::new()),
            imported: Mutex::new(HashSet::new()),
            imported_count: AtomicUsize::new(0),
            exposed: Mutex::new(BTreeMap::new()),
        }
    }

    pub(crate) fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Marks `name` as a topic this bridge publishes.
    pub(crate) fn mark_imported(&self, name: &str) {
        let mut set = self.imported.lock().expect("imported topics");
        if set.insert(name.to_owned()) {
            self.imported_count.fetch_add(1, Ordering::Release);
        }
    }

    /// How many topics are marked (changes whenever one is added).
    pub(crate) fn imported_count(&self) -> usize {
        self.imported_count.load(Ordering::Acquire)
    }

    pub(crate) fn is_imported(&self, name: &str) -> bool {
        self.imported.lock().expect("imported topics").contains(name)
    }

    pub(crate) fn imported_topics(&self) -> HashSet<String> {
        self.imported.lock().expect("imported topics").clone()
    }
}

/// A running bridge. It runs until [`stop`](Bridge::stop)ped or dropped.
pub struct Bridge {
    session: zenoh::Session,
    shared: Arc<Shared>,
    importer: Arc<Importer>,
    subscribers: Vec<zenoh::pubsub::Subscriber<()>>,
    queryable: Option<zenoh::query::Queryable<()>>,
    threads: Vec<JoinHandle<()>>,
    /// Dropped to stop the housekeeping thread.
    housekeeping: Option<mpsc::Sender<()>>,
    status_path: PathBuf,
}

impl std::fmt::Debug for Bridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bridge").field("id", &self.id()).finish_non_exhaustive()
    }
}

impl Bridge {
    /// Opens a Zenoh session as `config` says and starts bridging; every change is reported
    /// to `on_event` (called from the bridge's threads and Zenoh's; keep it short).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPattern`], [`Error::NothingToDo`], [`Error::Config`] for the
    /// configuration; [`Error::Zenoh`] if the session cannot be opened (a port in use, say);
    /// [`Error::Status`] if the status file cannot be written.
    pub fn start(
        config: Config,
        on_event: impl Fn(&Event) + Send + Sync + 'static,
    ) -> Result<Bridge, Error> {
        let expose = Selection::new(&config.expose)?;
        let import = Selection::new(&config.import)?;
        if expose.is_empty() && import.is_empty() {
            return Err(Error::NothingToDo);
        }
        let session = zenoh::open(config.zenoh()?)
            .wait()
            .map_err(|e| Error::zenoh("opening a session", e))?;
        let shared = Arc::new(Shared::new(session.zid().to_le_bytes(), Box::new(on_event)));
        // Before anything is imported: other bridges on this host learn this one's pid.
        status::remove_stale();
        let importer =
            Arc::new(Importer::new(shared.clone(), import.clone(), config.publisher_options()));
        let mut housekeeper = Housekeeper {
            session: session.clone(),
            shared: shared.clone(),
            importer: importer.clone(),
            file: StatusFile::new(),
            expose: expose.arguments(),
            import: import.arguments(),
            peers: BTreeSet::new(),
        };
        housekeeper.write_status()?;
        let status_path = housekeeper.file.path().to_owned();

        let answering = shared.clone();
        let queryable = session
            .declare_queryable(key::SCHEMA_KEYS)
            .callback(move |query| answer(&answering, &query))
            .wait()
            .map_err(|e| Error::zenoh("declaring the schema queryable", e))?;
        let subscribers = if import.is_empty() {
            Vec::new()
        } else {
            importer.subscribe(&session).map_err(|e| Error::zenoh("declaring a subscriber", e))?
        };

        let (stop_housekeeping, stopped) = mpsc::channel::<()>();
        let mut threads = Vec::new();
        let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.to_owned())
                .spawn(f)
                .map_err(|e| Error::Zenoh(format!("cannot start a thread: {e}")))
        };
        if !import.is_empty() {
            let (importer, session) = (importer.clone(), session.clone());
            threads.push(spawn("eshm-import", Box::new(move || importer.resolve(&session)))?);
        }
        if !expose.is_empty() {
            let exposer =
                expose::Exposer::new(shared.clone(), session.clone(), expose, config.busy_poll);
            threads.push(spawn("eshm-expose", Box::new(move || exposer.run()))?);
        }
        threads.push(spawn("eshm-status", Box::new(move || housekeeper.run(&stopped)))?);
        Ok(Bridge {
            session,
            shared,
            importer,
            subscribers,
            queryable: Some(queryable),
            threads,
            housekeeping: Some(stop_housekeeping),
            status_path,
        })
    }

    /// This bridge's Zenoh id, as Zenoh prints it.
    pub fn id(&self) -> String {
        self.session.zid().to_string()
    }

    /// The status file this bridge writes (see [`status`]).
    pub fn status_path(&self) -> &Path {
        &self.status_path
    }

    /// Stops bridging: no more messages are sent or received, the local publishers of imported
    /// topics are closed (their subscribers wait for the next publisher, such as a restarted
    /// bridge), the status file is removed and the Zenoh session closed.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if self.housekeeping.is_none() {
            return;
        }
        self.shared.stop.store(true, Ordering::Relaxed);
        self.shared.doorbell.ring();
        self.importer.stop();
        self.subscribers.clear();
        self.queryable = None;
        drop(self.housekeeping.take());
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        self.importer.close();
        let _ = self.session.close().wait();
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Answers a schema query with the encoded schema, if this bridge knows it.
fn answer(shared: &Shared, query: &zenoh::query::Query) {
    let Some(fp) = key::schema_fingerprint(query.key_expr().as_str()) else { return };
    let encoded = shared.schemas.lock().expect("schemas").get(&fp).cloned();
    if let Some(encoded) = encoded {
        let _ = query.reply(query.key_expr().clone(), encoded).wait();
    }
}

/// The status file and the peers, looked at every [`HOUSEKEEPING`].
struct Housekeeper {
    session: zenoh::Session,
    shared: Arc<Shared>,
    importer: Arc<Importer>,
    file: StatusFile,
    expose: Vec<String>,
    import: Vec<String>,
    peers: BTreeSet<String>,
}

impl Housekeeper {
    fn run(mut self, stopped: &mpsc::Receiver<()>) {
        let mut reported: Option<String> = None;
        while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(HOUSEKEEPING) {
            self.look_at_peers();
            if let Err(e) = self.write_status() {
                let text = e.to_string();
                if reported.as_deref() != Some(&text) {
                    let what = format!("the status file cannot be written: {text}");
                    (self.shared.events)(&Event::Trouble { topic: String::new(), what });
                    reported = Some(text);
                }
            }
        }
        // The file goes with `self.file`.
    }

    fn look_at_peers(&mut self) {
        let now: BTreeSet<String> =
            self.session.info().peers_zid().wait().map(|id| id.to_string()).collect();
        for id in now.difference(&self.peers) {
            (self.shared.events)(&Event::PeerConnected { id: id.clone() });
        }
        for id in self.peers.difference(&now) {
            (self.shared.events)(&Event::PeerDisconnected { id: id.clone() });
        }
        self.peers = now;
    }

    fn write_status(&mut self) -> Result<(), Error> {
        let exposed = self.shared.exposed.lock().expect("exposed counters").clone();
        let imported = self.importer.stats();
        let peers: Vec<String> = self.peers.iter().cloned().collect();
        let id = wire::id_text(&self.shared.id);
        self.file.write(&Snapshot {
            id: &id,
            expose: &self.expose,
            import: &self.import,
            peers: &peers,
            exposed: &exposed,
            imported: &imported,
        })
    }
}
