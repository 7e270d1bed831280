//! `eshm`: see what is in shared memory, and poke at it, without writing code.
//!
//! Every topic's header carries the encoded schema of its message type, so this tool lists,
//! prints, measures and publishes on any topic without knowing its Rust type. The command is
//! this library's [`run`], called by the `eshm` binary and by the Python package's `eshm`
//! console script.

mod bridged;
mod command;
mod progress;
mod recording;
mod select;
mod show;
mod signals;
mod value;

use clap::{Args, Parser, Subcommand, ValueEnum};
use eshm::segment::SegmentKind;
use std::ffi::OsString;
use std::io::{self, Write as _};
use std::path::PathBuf;

/// The exit status of the command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// Success.
    Success = 0,
    /// A failure not listed below (including I/O errors).
    Failure = 1,
    /// Bad usage: an unknown option, an invalid name, value or JSON.
    Usage = 2,
    /// No such topic, channel, service or action (or no live server).
    NotFound = 3,
    /// A corrupt or incompatible segment.
    Corrupt = 4,
    /// Permission denied (another user's segment, or one writable by others).
    Permission = 5,
    /// Busy: a live process already publishes on the topic (or serves the service), or
    /// every client slot is taken.
    Busy = 6,
    /// Timed out (`--timeout`).
    Timeout = 7,
}

impl Exit {
    const ALL: [Exit; 8] = [
        Exit::Success,
        Exit::Failure,
        Exit::Usage,
        Exit::NotFound,
        Exit::Corrupt,
        Exit::Permission,
        Exit::Busy,
        Exit::Timeout,
    ];

    /// What the status means, in words.
    pub fn meaning(self) -> &'static str {
        match self {
            Exit::Success => "success",
            Exit::Failure => "failure not listed below (including I/O errors)",
            Exit::Usage => "bad usage: unknown option, invalid name, value or JSON",
            Exit::NotFound => "no such topic, channel, service or action (or no live server)",
            Exit::Corrupt => "a corrupt or incompatible segment",
            Exit::Permission => {
                "permission denied (another user's segment, or one writable by others)"
            }
            Exit::Busy => {
                "busy: a live process already publishes on the topic or serves the service"
            }
            Exit::Timeout => "timed out (--timeout)",
        }
    }

    /// The status as the process returns it.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The table at the end of `--help`.
    fn help() -> String {
        let mut s = "Exit status:".to_owned();
        for e in Exit::ALL {
            s += &format!("\n  {}  {}", e.code(), e.meaning());
        }
        s
    }
}

/// Inspect and use eshm topics, channels, services and actions in shared memory; record and
/// replay topics.
#[derive(Debug, Parser)]
#[command(name = "eshm", version, after_help = Exit::help())]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List every topic, channel, service and action on this machine.
    List(ListArgs),
    /// Show a segment's header in full, or what a recording (`run.mcap`) holds.
    ///
    /// For a topic, channel, service or action: owner, state, schemas, counters, clients. For
    /// a recording: its topics, types, message counts, duration and losses, and whether it was
    /// finished.
    Info(InfoArgs),
    /// Print a topic's messages, decoded through the schema in its header.
    Echo(EchoArgs),
    /// Measure a topic's message rate, interval statistics and losses, once a second.
    Hz(HzArgs),
    /// Publish messages on a topic: a primitive value, or JSON through the topic's schema.
    Pub(PubArgs),
    /// Record topics, whatever their types, to an MCAP file (Foxglove, Lichtblick, ROS 2 tools).
    #[command(after_help = RECORD_HELP)]
    Record(RecordArgs),
    /// Publish a recording's topics again, with their recorded types, at the recorded pace.
    #[command(after_help = PLAY_HELP)]
    Play(PlayArgs),
    /// Remove segments whose owner process is dead (never one whose owner is alive).
    Clean(CleanArgs),
    /// Carry topics to and from other hosts over Zenoh, with their types, until Ctrl-C.
    #[command(after_help = BRIDGE_HELP)]
    Bridge(BridgeArgs),
    /// Call a service once: the request as JSON (or a primitive value), the response printed.
    Call(CallArgs),
}

const BRIDGE_HELP: &str = "\
Patterns: `robot/*` matches one level (`robot/imu`), `robot/**` any number (`robot/arm/joint`),
`[a-z]` a character class; any other argument is a topic name. Topics that appear later are
included.

Each bridge prints a line when it is ready and one per change (`exposing`, `importing`,
`connected`, `type conflict`, ...). `eshm info TOPIC` shows what a bridge carried on a topic:
messages received, lost on the network (gaps in sequence numbers) and on the source host, and
dropped for type or publisher conflicts.

Example, two hosts:
  robot$ eshm bridge --expose 'robot/**' --import 'base/**' --listen tcp/0.0.0.0:7447
  base$  eshm bridge --expose 'base/**' --import 'robot/**' --connect tcp/robot:7447

Without --listen and --connect, Zenoh's defaults apply: bridges on one network find each other
by multicast scouting. A topic a bridge imports is never exposed again (no echo), and a remote
topic whose type differs from a live local publisher's is reported and not republished.";

const RECORD_HELP: &str = "\
Each topic of one message type is an MCAP channel: a ros2msg schema and CDR messages that
Foxglove and Lichtblick decode, and the exact eshm schema in the channel's metadata. A topic
re-created with another type continues in a new channel; a publisher's restart does not.
Log time = receive time (the ring carries no publish time, so publish time = log time too).
Lost messages (overwritten before the recorder read them) are counted per topic, in the
summary and in the file's eshm.lost metadata. Ctrl-C or SIGTERM finishes the file; after a
SIGKILL, the messages up to the last second are still readable (see `eshm info`).

Examples:
  eshm record -o run.mcap                      every topic, until Ctrl-C
  eshm record -o run.mcap robot/imu 'cam/*'    a topic, and a pattern
  eshm record -o run.mcap --duration 10";

const PLAY_HELP: &str = "\
Each channel's type is its eshm schema (from the channel metadata, checked against its
fingerprint), so typed subscribers receive what was published. --start and --end are seconds
from the recording's first message. Topics stay (closed) after play ends, as `eshm pub` leaves
them; `eshm clean` removes them. Files with compressed chunks must be decompressed first
(`mcap decompress`).

Examples:
  eshm play run.mcap
  eshm play run.mcap --rate 2 --topics robot/imu
  eshm play run.mcap --start 5 --end 10 --loop";

/// Topic, channel, service or action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum KindArg {
    /// A publish/subscribe topic.
    Topic,
    /// A duplex byte channel.
    Channel,
    /// A request/response service.
    Service,
    /// An action (goals with feedback).
    Action,
}

impl From<KindArg> for SegmentKind {
    fn from(k: KindArg) -> SegmentKind {
        match k {
            KindArg::Topic => SegmentKind::Topic,
            KindArg::Channel => SegmentKind::Channel,
            KindArg::Service => SegmentKind::Service,
            KindArg::Action => SegmentKind::Action,
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Print a JSON array of objects instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
    /// Only topics, channels, services or actions.
    #[arg(long, value_enum)]
    pub(crate) kind: Option<KindArg>,
}

#[derive(Debug, Args)]
pub(crate) struct InfoArgs {
    /// The topic or channel name, as the program that made it wrote it; or a recording: a
    /// name ending in `.mcap` (unless --kind is given), or an existing file when no topic or
    /// channel has that name.
    pub(crate) name: String,
    /// Which one, when segments of several kinds share the name.
    #[arg(long, value_enum)]
    pub(crate) kind: Option<KindArg>,
    /// Print a JSON object instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct EchoArgs {
    /// The topic.
    pub(crate) name: String,
    /// Print one message, then exit.
    #[arg(long, conflicts_with = "count")]
    pub(crate) once: bool,
    /// Print N messages, then exit.
    #[arg(long, value_name = "N")]
    pub(crate) count: Option<u64>,
    /// One JSON object per line, keys named as the struct's fields.
    #[arg(long)]
    pub(crate) json: bool,
    /// Wait for the topic to appear instead of failing when it does not exist.
    #[arg(long)]
    pub(crate) wait: bool,
    /// Give up (exit status 7) after this many seconds without a message.
    #[arg(long, value_name = "SECONDS")]
    pub(crate) timeout: Option<f64>,
    /// Also print up to N messages published before starting (those still in the ring).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub(crate) history: u64,
}

#[derive(Debug, Args)]
pub(crate) struct HzArgs {
    /// The topic.
    pub(crate) name: String,
    /// Intervals the statistics cover (the most recent ones).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub(crate) window: usize,
    /// Stop after this many seconds (default: until interrupted).
    #[arg(long, value_name = "SECONDS")]
    pub(crate) duration: Option<f64>,
    /// Stop after this many messages.
    #[arg(long, value_name = "N")]
    pub(crate) count: Option<u64>,
    /// Wait for the topic to appear instead of failing when it does not exist.
    #[arg(long)]
    pub(crate) wait: bool,
}

#[derive(Debug, Args)]
pub(crate) struct PubArgs {
    /// The topic.
    pub(crate) name: String,
    /// The value, for a primitive type (`--type f64 2.5`, `--type bool true`).
    #[arg(allow_hyphen_values = true)]
    pub(crate) value: Option<String>,
    /// The message type: a primitive (u8 ... i64, f32, f64, bool) or a type of eshm::msg
    /// (Vector3, Quaternion, Pose, Twist, Imu). Default: the existing topic's type.
    #[arg(long = "type", value_name = "TYPE")]
    pub(crate) ty: Option<String>,
    /// The message as JSON, encoded through the type's schema; missing fields are zero.
    #[arg(long, value_name = "JSON", conflicts_with = "value")]
    pub(crate) json: Option<String>,
    /// How many times to publish it.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub(crate) count: u64,
    /// Messages per second when publishing more than one.
    #[arg(long, value_name = "HZ", default_value_t = 10.0)]
    pub(crate) rate: f64,
    /// Messages the topic's ring keeps, when this creates it.
    #[arg(long, value_name = "N")]
    pub(crate) capacity: Option<usize>,
}

#[derive(Debug, Args)]
#[cfg_attr(not(feature = "bridge"), allow(dead_code))]
pub(crate) struct BridgeArgs {
    /// Send these local topics to other hosts (a name or a pattern; repeatable).
    #[arg(long, value_name = "PATTERN")]
    pub(crate) expose: Vec<String>,
    /// Republish these remote topics here (a name or a pattern; repeatable).
    #[arg(long, value_name = "PATTERN")]
    pub(crate) import: Vec<String>,
    /// Listen on this Zenoh endpoint, e.g. tcp/0.0.0.0:7447 (repeatable; default: a random
    /// port on every interface).
    #[arg(long, value_name = "ENDPOINT")]
    pub(crate) listen: Vec<String>,
    /// Connect to this Zenoh endpoint, e.g. tcp/robot.local:7447 (repeatable; retried while
    /// the other side is not there).
    #[arg(long, value_name = "ENDPOINT")]
    pub(crate) connect: Vec<String>,
    /// Do not look for other bridges by multicast: only --connect endpoints (and the peers
    /// they tell of).
    #[arg(long)]
    pub(crate) no_multicast_scouting: bool,
    /// Start from this Zenoh configuration file (JSON5 or YAML) instead of Zenoh's defaults.
    #[arg(long, value_name = "FILE")]
    pub(crate) zenoh_config: Option<std::path::PathBuf>,
    /// Messages the ring of each imported topic keeps.
    #[arg(long, value_name = "N")]
    pub(crate) capacity: Option<usize>,
    /// Poll the exposed topics without ever sleeping: one wake-up less per message when
    /// messages come one at a time, and a core kept busy.
    #[arg(long)]
    pub(crate) busy_poll: bool,
}

#[derive(Debug, Args)]
pub(crate) struct CallArgs {
    /// The service.
    pub(crate) name: String,
    /// The request, for a primitive request type (`eshm call calc/square 7`).
    #[arg(allow_hyphen_values = true)]
    pub(crate) value: Option<String>,
    /// The request as JSON, encoded through the service's request type (missing fields are
    /// zero); the response is printed as JSON too.
    #[arg(long, value_name = "JSON", conflicts_with = "value")]
    pub(crate) json: Option<String>,
    /// Give up (exit status 7) after this many seconds without an answer.
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0)]
    pub(crate) timeout: f64,
}

#[derive(Debug, Args)]
pub(crate) struct RecordArgs {
    /// Topics to record: names, or shell patterns (quote them): `*` and `?` match within one
    /// `/`-separated level, `**` any number of levels, `[a-z]` a class. None: every topic.
    /// Topics that appear while recording are picked up.
    #[arg(value_name = "TOPIC|PATTERN")]
    pub(crate) topics: Vec<String>,
    /// The MCAP file to write.
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: PathBuf,
    /// Replace the file if it exists.
    #[arg(long)]
    pub(crate) overwrite: bool,
    /// Stop after this many seconds (default: until Ctrl-C or SIGTERM).
    #[arg(long, value_name = "SECONDS")]
    pub(crate) duration: Option<f64>,
    /// Stop after this many messages, over all topics.
    #[arg(long, value_name = "N")]
    pub(crate) count: Option<u64>,
}

#[derive(Debug, Args)]
pub(crate) struct PlayArgs {
    /// The MCAP file recorded by `eshm record`.
    #[arg(value_name = "FILE")]
    pub(crate) file: PathBuf,
    /// Only these topics: names or patterns, as for `record`.
    #[arg(long, value_name = "TOPIC", num_args = 1..)]
    pub(crate) topics: Vec<String>,
    /// Speed factor: 2 plays twice as fast as recorded, 0.5 at half speed.
    #[arg(long, value_name = "FACTOR", default_value_t = 1.0)]
    pub(crate) rate: f64,
    /// Play again from the start when the end is reached, until Ctrl-C.
    #[arg(long = "loop")]
    pub(crate) repeat: bool,
    /// Skip the messages logged in the recording's first SECONDS.
    #[arg(long, value_name = "SECONDS")]
    pub(crate) start: Option<f64>,
    /// Skip the messages logged more than SECONDS after the recording's first one.
    #[arg(long, value_name = "SECONDS")]
    pub(crate) end: Option<f64>,
}

#[derive(Debug, Args)]
pub(crate) struct CleanArgs {
    /// Only list what would be removed.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Also remove segments whose header is unreadable (their owner cannot be known).
    #[arg(long)]
    pub(crate) include_corrupt: bool,
}

/// A failure, with the exit status it maps to.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) exit: Exit,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(exit: Exit, message: impl Into<String>) -> Failure {
        Failure { exit, message: message.into() }
    }

    pub(crate) fn usage(message: impl Into<String>) -> Failure {
        Failure::new(Exit::Usage, message)
    }
}

impl From<eshm::Error> for Failure {
    fn from(e: eshm::Error) -> Failure {
        use eshm::Error as E;
        let exit = match &e {
            E::InvalidName { .. }
            | E::InvalidCapacity { .. }
            | E::ChannelSizes { .. }
            | E::ZeroDuration { .. }
            | E::WrongSize { .. }
            | E::InvalidMessage { .. }
            | E::MessageTooLarge { .. } => Exit::Usage,
            E::NotFound { .. } | E::NoMaster { .. } | E::NoServer { .. } | E::ServerGone { .. } => {
                Exit::NotFound
            }
            E::Corrupt { .. } | E::LayoutVersion { .. } | E::TypeMismatch { .. } => Exit::Corrupt,
            E::Permission { .. } => Exit::Permission,
            E::PublisherExists { .. }
            | E::RoleTaken { .. }
            | E::ServerExists { .. }
            | E::TooManyClients { .. } => Exit::Busy,
            E::Timeout => Exit::Timeout,
            _ => Exit::Failure,
        };
        Failure::new(exit, e.to_string())
    }
}

impl From<eshm::RecvError> for Failure {
    fn from(e: eshm::RecvError) -> Failure {
        eshm::Error::from(e).into()
    }
}

impl From<eshm::CallError> for Failure {
    fn from(e: eshm::CallError) -> Failure {
        eshm::Error::from(e).into()
    }
}

impl From<eshm::PublishError> for Failure {
    fn from(e: eshm::PublishError) -> Failure {
        eshm::Error::from(e).into()
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Failure {
        // `eshm echo topic | head`: the reader left, which ends the command, successfully.
        let exit =
            if e.kind() == io::ErrorKind::BrokenPipe { Exit::Success } else { Exit::Failure };
        Failure::new(exit, e.to_string())
    }
}

pub(crate) type Outcome = Result<(), Failure>;

/// The closest of `candidates` to `word`, if it is close enough to be a likely typo.
pub(crate) fn suggest<'a>(
    word: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// Every topic and channel, as the JSON array `eshm list --json` prints (for the Python
/// module's `eshm.list()`).
///
/// # Errors
///
/// As [`eshm::inspect::list`].
pub fn list_json() -> eshm::Result<String> {
    let infos = eshm::inspect::list()?;
    let array = serde_json::Value::Array(infos.iter().map(show::to_json).collect());
    Ok(array.to_string())
}

/// Runs the command line `args` (the program name first, as `std::env::args_os` gives it):
/// parses it, runs the command, prints its errors on stderr, and returns the exit status.
pub fn run<I, T>(args: I) -> Exit
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { Exit::Usage } else { Exit::Success };
        }
    };
    let result = match cli.command {
        Command::List(a) => command::list::run(a.json, a.kind.map(Into::into)),
        Command::Info(a) => command::info::run(&a.name, a.kind.map(Into::into), a.json),
        Command::Echo(a) => command::echo::run(&a),
        Command::Hz(a) => command::hz::run(&a),
        Command::Pub(a) => command::publish::run(&a),
        Command::Record(a) => command::record::run(&a),
        Command::Play(a) => command::play::run(&a),
        Command::Clean(a) => command::clean::run(a.dry_run, a.include_corrupt),
        Command::Bridge(a) => command::bridge::run(&a),
        Command::Call(a) => command::call::run(&a),
    };
    match result {
        Ok(()) => Exit::Success,
        Err(f) if f.exit == Exit::Success => Exit::Success,
        Err(f) => {
            let _ = io::stdout().flush();
            eprintln!("eshm: {}", f.message);
            f.exit
        }
    }
}
