//! `eshm`: see what is in shared memory, and poke at it, without writing code.
//!
//! Every topic's header carries the encoded schema of its message type, so this tool lists,
//! prints, measures and publishes on any topic without knowing its Rust type.

mod commands;
mod show;
mod value;

use clap::{Args, Parser, Subcommand, ValueEnum};
use eshm::segment::SegmentKind;
use std::io::{self, Write as _};
use std::process::ExitCode;

const EXIT_CODES: &str = "\
Exit status:
  0  success
  1  failure not listed below (including I/O errors)
  2  bad usage: unknown option, invalid name, value or JSON
  3  no such topic or channel
  4  a corrupt or incompatible segment
  5  permission denied (another user's segment, or one writable by others)
  6  busy: a live process already publishes on the topic
  7  timed out (--timeout)";

/// Inspect and use eshm topics and channels in shared memory.
#[derive(Debug, Parser)]
#[command(name = "eshm", version, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List every topic and channel on this machine.
    List(ListArgs),
    /// Show a topic's or channel's header in full: owner, state, schema, counters.
    Info(InfoArgs),
    /// Print a topic's messages, decoded through the schema in its header.
    Echo(EchoArgs),
    /// Measure a topic's message rate, interval statistics and losses, once a second.
    Hz(HzArgs),
    /// Publish messages on a topic: a primitive value, or JSON through the topic's schema.
    Pub(PubArgs),
    /// Remove segments whose owner process is dead (never one whose owner is alive).
    Clean(CleanArgs),
}

/// Topic or channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum KindArg {
    /// A publish/subscribe topic.
    Topic,
    /// A duplex byte channel.
    Channel,
}

impl From<KindArg> for SegmentKind {
    fn from(k: KindArg) -> SegmentKind {
        match k {
            KindArg::Topic => SegmentKind::Topic,
            KindArg::Channel => SegmentKind::Channel,
        }
    }
}

#[derive(Debug, Args)]
struct ListArgs {
    /// Print a JSON array of objects instead of a table.
    #[arg(long)]
    json: bool,
    /// Only topics, or only channels.
    #[arg(long, value_enum)]
    kind: Option<KindArg>,
}

#[derive(Debug, Args)]
struct InfoArgs {
    /// The topic or channel name, as the program that made it wrote it.
    name: String,
    /// Which one, when a topic and a channel share the name.
    #[arg(long, value_enum)]
    kind: Option<KindArg>,
    /// Print a JSON object instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct EchoArgs {
    /// The topic.
    name: String,
    /// Print one message, then exit.
    #[arg(long, conflicts_with = "count")]
    once: bool,
    /// Print N messages, then exit.
    #[arg(long, value_name = "N")]
    count: Option<u64>,
    /// One JSON object per line, keys named as the struct's fields.
    #[arg(long)]
    json: bool,
    /// Wait for the topic to appear instead of failing when it does not exist.
    #[arg(long)]
    wait: bool,
    /// Give up (exit status 7) after this many seconds without a message.
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<f64>,
    /// Also print up to N messages published before starting (those still in the ring).
    #[arg(long, value_name = "N", default_value_t = 0)]
    history: u64,
}

#[derive(Debug, Args)]
struct HzArgs {
    /// The topic.
    name: String,
    /// Intervals the statistics cover (the most recent ones).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    window: usize,
    /// Stop after this many seconds (default: until interrupted).
    #[arg(long, value_name = "SECONDS")]
    duration: Option<f64>,
    /// Stop after this many messages.
    #[arg(long, value_name = "N")]
    count: Option<u64>,
    /// Wait for the topic to appear instead of failing when it does not exist.
    #[arg(long)]
    wait: bool,
}

#[derive(Debug, Args)]
struct PubArgs {
    /// The topic.
    name: String,
    /// The value, for a primitive type (`--type f64 2.5`, `--type bool true`).
    #[arg(allow_hyphen_values = true)]
    value: Option<String>,
    /// The message type: a primitive (u8 ... i64, f32, f64, bool) or a type of eshm::msg
    /// (Vector3, Quaternion, Pose, Twist, Imu). Default: the existing topic's type.
    #[arg(long = "type", value_name = "TYPE")]
    ty: Option<String>,
    /// The message as JSON, encoded through the type's schema; missing fields are zero.
    #[arg(long, value_name = "JSON", conflicts_with = "value")]
    json: Option<String>,
    /// How many times to publish it.
    #[arg(long, value_name = "N", default_value_t = 1)]
    count: u64,
    /// Messages per second when publishing more than one.
    #[arg(long, value_name = "HZ", default_value_t = 10.0)]
    rate: f64,
    /// Messages the topic's ring keeps, when this creates it.
    #[arg(long, value_name = "N")]
    capacity: Option<usize>,
}

#[derive(Debug, Args)]
struct CleanArgs {
    /// Only list what would be removed.
    #[arg(long)]
    dry_run: bool,
    /// Also remove segments whose header is unreadable (their owner cannot be known).
    #[arg(long)]
    include_corrupt: bool,
}

/// A failure, with the exit status it maps to.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) code: u8,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(code: u8, message: impl Into<String>) -> Failure {
        Failure { code, message: message.into() }
    }

    pub(crate) fn usage(message: impl Into<String>) -> Failure {
        Failure::new(2, message)
    }
}

impl From<eshm::Error> for Failure {
    fn from(e: eshm::Error) -> Failure {
        use eshm::Error as E;
        let code = match &e {
            E::InvalidName { .. } | E::InvalidArgument(_) | E::InvalidMessage { .. } => 2,
            E::NotFound { .. } => 3,
            E::Corrupt { .. } | E::LayoutVersion { .. } | E::TypeMismatch { .. } => 4,
            E::Permission { .. } => 5,
            E::PublisherExists { .. } | E::RoleTaken { .. } => 6,
            E::Timeout => 7,
            _ => 1,
        };
        Failure::new(code, e.to_string())
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Failure {
        // `eshm echo topic | head`: the reader left, which ends the command, successfully.
        let code = if e.kind() == io::ErrorKind::BrokenPipe { 0 } else { 1 };
        Failure::new(code, e.to_string())
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::List(a) => commands::list(a.json, a.kind.map(Into::into)),
        Command::Info(a) => commands::info(&a.name, a.kind.map(Into::into), a.json),
        Command::Echo(a) => commands::echo(&a),
        Command::Hz(a) => commands::hz(&a),
        Command::Pub(a) => commands::publish(&a),
        Command::Clean(a) => commands::clean(a.dry_run, a.include_corrupt),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) if f.code == 0 => ExitCode::SUCCESS,
        Err(f) => {
            let _ = io::stdout().flush();
            eprintln!("eshm: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}
