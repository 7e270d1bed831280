//! The `eshm` command against what a hostile (or careless) local user can put in the segment
//! directory, which any user may write: FIFOs and symbolic links under segment names, names
//! with terminal escapes, segment files truncated under running tools. Nothing may hang, die,
//! or reach the terminal raw.
//!
//! Like `cli.rs`, this binary has its own `main`: with `ESHM_TEST_CHILD_ROLE` set it plays a
//! child role.

use common::{Dir, Run};
use eshm::Publisher;
use eshm_tests::{CHILD_PATIENCE, FirstError, repeat_until_released};
use rustix::fs::{FileType, Mode};
use std::io::{BufRead as _, BufReader, Read as _};
use std::os::unix::process::ExitStatusExt as _;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

mod common;

// ---------------------------------------------------------------------------------------------
// Child roles.

/// `steady_publisher NAME BASE`: publishes `BASE, BASE + 1, ...` (u64) every millisecond,
/// printing `ready` after the first, until the parent releases it; prints the first error.
fn child_steady_publisher(args: &[String]) {
    let mut publisher = Publisher::<u64>::create(&args[0]).expect("create");
    let base: u64 = args[1].parse().unwrap();
    publisher.publish(&base).unwrap();
    println!("ready");
    let (mut errors, mut i) = (FirstError::default(), 0);
    repeat_until_released(|| {
        i += 1;
        if let Err(e) = publisher.publish(&(base + i)) {
            errors.report(&e);
        }
        std::thread::sleep(Duration::from_millis(1));
    });
}

/// `first_message NAME`: waits for the topic and its first message (u64), prints `got`.
fn child_first_message(args: &[String]) {
    let mut sub = eshm::Subscriber::<u64>::open(&args[0]).expect("subscribe");
    sub.recv_timeout(CHILD_PATIENCE).expect("a message");
    println!("got");
}

// ---------------------------------------------------------------------------------------------
// Harness.

/// `eshm ARGS` run to completion, failing the test if it runs longer than [`CHILD_PATIENCE`]
/// (it hangs) or dies of a signal.
fn bounded(dir: &Dir, args: &[&str]) -> Run {
    let out = wait_bounded(spawn_eshm(dir, args), args);
    Run::from(out, args)
}

/// `eshm ARGS`, started with its output piped.
fn spawn_eshm(dir: &Dir, args: &[&str]) -> Child {
    dir.command(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run eshm")
}

fn wait_bounded(mut child: Child, args: &[&str]) -> std::process::Output {
    let deadline = Instant::now() + CHILD_PATIENCE;
    loop {
        if child.try_wait().unwrap().is_some() {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.signal().is_none(),
                "`eshm {}` died of signal {:?}",
                args.join(" "),
                out.status.signal()
            );
            return out;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("`eshm {}` hangs (still running after {CHILD_PATIENCE:?})", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A long-running `eshm` whose stdout lines arrive as they are printed.
struct Streaming {
    child: Child,
    lines: mpsc::Receiver<String>,
    args: Vec<String>,
}

impl Streaming {
    fn spawn(dir: &Dir, args: &[&str]) -> Streaming {
        let mut child = spawn_eshm(dir, args);
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Streaming { child, lines, args: args.iter().map(|s| s.to_string()).collect() }
    }

    /// The next stdout line that `matches`; panics if the command exits first.
    fn line_where(&mut self, matches: impl Fn(&str) -> bool) -> String {
        // Bounded in all, not per line: a command that prints on, never the line looked for,
        // fails the test instead of holding it forever.
        let end = std::time::Instant::now() + CHILD_PATIENCE;
        loop {
            let left = end.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if matches(&line) => return line,
                Ok(_) => {}
                Err(e) => {
                    let status = self.child.try_wait().unwrap();
                    let mut err = String::new();
                    if status.is_some() {
                        self.child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
                    }
                    panic!(
                        "`eshm {}`: no such line ({e}); exit {status:?}\n{err}",
                        self.args.join(" ")
                    )
                }
            }
        }
    }

    /// Interrupts it (Ctrl-C) and returns its stderr; it must exit, not die otherwise.
    fn interrupt(mut self) -> String {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).unwrap();
        rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
        let status = self.child.wait().unwrap();
        assert!(
            matches!(status.signal(), None | Some(2)),
            "`eshm {}` ended by {status}",
            self.args.join(" ")
        );
        let mut err = String::new();
        self.child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        err
    }
}

/// Asserts that `text` holds no control character but newlines and tabs.
fn assert_printable(what: &str, text: &str) {
    let bad: Vec<char> =
        text.chars().filter(|c| c.is_control() && !matches!(c, '\n' | '\t')).collect();
    assert!(bad.is_empty(), "{what} printed control characters {bad:?}:\n{text:?}");
}

fn mkfifo(dir: &Dir, file: &str) {
    rustix::fs::mknodat(
        rustix::fs::CWD,
        dir.path().join(file),
        FileType::Fifo,
        Mode::from_raw_mode(0o666),
        0,
    )
    .unwrap();
}

// ---------------------------------------------------------------------------------------------
// Tests.

/// FIFOs under a topic's and a channel's name: every command finishes (none opens them in a
/// blocking way or maps them), lists them as not segments, and only `--include-corrupt`
/// removes them.
fn fifos_under_segment_names_hang_no_command() {
    let dir = Dir::new("fifo");
    mkfifo(&dir, "eshm.topic.trap");
    mkfifo(&dir, "eshm.chan.trap2");

    let list = bounded(&dir, &["list", "--json"]).json();
    let states: Vec<(&str, &str)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap(), e["state"].as_str().unwrap()))
        .collect();
    assert_eq!(states, [("trap2", "corrupt"), ("trap", "corrupt")], "{list:#}");
    assert!(bounded(&dir, &["list"]).expect(0).contains("corrupt"));
    let info = bounded(&dir, &["info", "trap"]);
    assert!(info.expect(4).contains("FIFO"), "{}", info.stdout);
    bounded(&dir, &["info", "trap2", "--kind", "channel"]).expect(4);
    bounded(&dir, &["echo", "trap", "--once"]).expect(4);
    bounded(&dir, &["hz", "trap", "--count", "1"]).expect(4);
    bounded(&dir, &["pub", "trap", "--type", "u64", "1"]).expect(4);

    let dry = bounded(&dir, &["clean", "--dry-run"]);
    assert!(dry.expect(0).contains("skipped 2, failed 0"), "{}", dry.stdout);
    bounded(&dir, &["clean"]).expect(0);
    assert_eq!(dir.files(), ["eshm.chan.trap2", "eshm.topic.trap"]);
    let clean = bounded(&dir, &["clean", "--include-corrupt"]);
    assert!(clean.expect(0).contains("removed 2,"), "{}", clean.stdout);
    assert!(dir.files().is_empty());
}

/// A symbolic link under a topic's name: `clean` reports and skips it (exit 0, every run),
/// and `--include-corrupt` removes the link, never its target.
fn a_symlink_under_a_segment_name_is_skipped_and_only_the_link_removed() {
    let dir = Dir::new("symlink");
    let target = dir.path().join("precious.txt");
    std::fs::write(&target, b"keep me").unwrap();
    std::os::unix::fs::symlink(&target, dir.path().join("eshm.topic.link")).unwrap();

    for _ in 0..2 {
        let clean = bounded(&dir, &["clean"]);
        let out = clean.expect(0);
        assert!(out.contains("skipped") && out.contains("symbolic link"), "{out}");
    }
    let list = bounded(&dir, &["list", "--json"]).json();
    assert_eq!(list[0]["state"], "corrupt", "{list:#}");
    bounded(&dir, &["clean", "--include-corrupt"]).expect(0);
    assert_eq!(dir.files(), ["precious.txt"]);
    assert_eq!(std::fs::read(&target).unwrap(), b"keep me");
}

/// Names that would set the window title and clear the screen of whoever lists them: refused
/// at creation, never parsed from file names, and escaped wherever the command echoes input.
fn names_with_terminal_escapes_never_reach_the_terminal() {
    let dir = Dir::new("escapes");
    let evil = "\u{1b}]0;owned\u{7}\u{1b}[2Jx";
    // Creation refuses it.
    let create = bounded(&dir, &["pub", evil, "--type", "u64", "1"]);
    assert_ne!(create.code, 0);
    assert_printable("pub", &create.stderr);
    assert!(dir.files().is_empty());
    // Planted files, raw and percent-encoded, next to a real topic.
    std::fs::write(dir.path().join(format!("eshm.topic.{evil}")), vec![0u8; 4096]).unwrap();
    std::fs::write(dir.path().join("eshm.topic.%1B]0;owned%07x"), vec![0u8; 4096]).unwrap();
    bounded(&dir, &["pub", "fine", "--type", "u64", "1"]).expect(0);
    for args in [
        &["list"][..],
        &["list", "--json"],
        &["clean", "--dry-run", "--include-corrupt"],
        &["info", evil],
        &["echo", evil, "--once"],
        &["hz", "fin\u{1b}[2J", "--count", "1"],
    ] {
        let run = bounded(&dir, args);
        assert_printable(&args.join(" "), &run.stdout);
        assert_printable(&args.join(" "), &run.stderr);
    }
    let list = bounded(&dir, &["list", "--json"]).json();
    assert_eq!(list.as_array().unwrap().len(), 1, "only the real topic: {list:#}");
}

/// Whether `line` is a number in `range` (a value `eshm echo` printed).
fn value_in(line: &str, range: std::ops::Range<u64>) -> bool {
    line.trim().parse::<u64>().is_ok_and(|v| range.contains(&v))
}

/// A topic's file truncated under `eshm echo`, `eshm hz` and `eshm pub`: none dies. The
/// readers report it (at most once) and go on with the topic's next publisher; `pub` stops
/// with the corrupt-segment status.
fn a_truncated_topic_kills_no_command() {
    let dir = Dir::new("truncate");
    let mut first = dir.child("steady_publisher", &["t", "1000000"]);
    first.expect_line("ready");
    let mut echo = Streaming::spawn(&dir, &["echo", "t"]);
    let mut hz = Streaming::spawn(&dir, &["hz", "t"]);
    // A value of the first publisher (from 1000000), then one of the second (from 2000000):
    // whatever the ring overwrote while echo was not looking.
    echo.line_where(|l| value_in(l, 1_000_000..2_000_000));
    while bounded(&dir, &["info", "t", "--json"]).json()["readers"] != 2 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let file = dir.path().join("eshm.topic.t");
    std::fs::OpenOptions::new().write(true).open(&file).unwrap().set_len(0).unwrap();
    assert!(first.expect_line("error:").contains("truncated"));

    let mut second = dir.child("steady_publisher", &["t", "2000000"]);
    second.expect_line("ready");
    echo.line_where(|l| value_in(l, 2_000_000..u64::MAX));
    hz.line_where(|l| l.starts_with("rate"));
    // Whether echo reads the cut pages (and says so, once) or finds the next publisher's file
    // first depends on when it looks; either way it goes on.
    let err = echo.interrupt();
    let reports = err.matches("waiting for the topic's next publisher").count();
    assert!(reports <= 1, "{err}");
    assert!(reports == 0 || err.contains("truncated") || err.contains("shorter"), "{err}");
    hz.interrupt();
    second.release();
    first.release();

    // `eshm pub` publishing when its file is cut.
    let publishing = dir
        .command(&["pub", "p", "--type", "u64", "7", "--count", "1000000", "--rate", "1000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let file = dir.path().join("eshm.topic.p");
    // Publishing has begun once a message arrives.
    dir.child("first_message", &["p"]).finish("got");
    std::fs::OpenOptions::new().write(true).open(&file).unwrap().set_len(0).unwrap();
    let out = Run::from(wait_bounded(publishing, &["pub"]), &["pub"]);
    out.expect(4);
    assert!(out.stderr.contains("truncated"), "{}", out.stderr);
}

fn main() {
    eshm_tests::run_main(
        &[
            ("steady_publisher", child_steady_publisher as eshm_tests::ChildRole),
            ("first_message", child_first_message),
        ],
        eshm_tests::named_tests![
            fifos_under_segment_names_hang_no_command,
            a_symlink_under_a_segment_name_is_skipped_and_only_the_link_removed,
            names_with_terminal_escapes_never_reach_the_terminal,
            a_truncated_topic_kills_no_command,
        ],
    );
}
