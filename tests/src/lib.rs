//! Shared pieces of the eshm integration tests: message types defined in another crate (for the
//! derive's pass cases), a self-checking message, unique names, and a harness that runs the
//! current test binary again as a child process in a given role.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
#[allow(clippy::disallowed_types)] // a process-local counter, not shared memory
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Re-export, so that a test can name eshm through another path (`#[eshm(crate = "...")]`).
pub use eshm;

/// Message types defined in a module of this crate, used as fields by other crates.
pub mod geometry {
    /// A 2-D vector.
    #[derive(Clone, Copy, Debug, PartialEq, eshm::Message)]
    #[repr(C)]
    pub struct Vec2 {
        /// Horizontal component.
        pub x: f32,
        /// Vertical component.
        pub y: f32,
    }
}

/// A 64-byte message that carries its own checksum, so that a torn read (bytes from two
/// messages) is detected by the receiver.
#[derive(Clone, Copy, Debug, PartialEq, eshm::Message)]
#[repr(C)]
pub struct Stamped {
    /// Which publisher process sent it (1, 2, ... across restarts).
    pub generation: u64,
    /// Sequence number within the generation, from 1.
    pub seq: u64,
    /// Words derived from `seq`.
    pub payload: [u64; 5],
    /// A hash of everything above.
    pub checksum: u64,
}

fn mix(x: u64) -> u64 {
    // splitmix64's finaliser.
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Stamped {
    /// Message `seq` of publisher `generation`.
    pub fn new(generation: u64, seq: u64) -> Stamped {
        let payload = std::array::from_fn(|i| mix(seq ^ ((i as u64) << 56) ^ generation));
        let mut m = Stamped { generation, seq, payload, checksum: 0 };
        m.checksum = m.expected_checksum();
        m
    }

    fn expected_checksum(&self) -> u64 {
        let mut h = mix(self.generation ^ mix(self.seq));
        for w in self.payload {
            h = mix(h ^ w);
        }
        h
    }

    /// Whether every word agrees with the others (no torn read, no corruption).
    pub fn is_intact(&self) -> bool {
        *self == Stamped::new(self.generation, self.seq)
            && self.checksum == self.expected_checksum()
    }
}

/// A name no other test (or test run) uses.
#[allow(clippy::disallowed_types)] // a process-local counter, not shared memory
pub fn unique_name(what: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!("eshm-test/{what}/{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// Environment variable that tells a re-executed test binary which child role to play.
pub const CHILD_ROLE_ENV: &str = "ESHM_TEST_CHILD_ROLE";

/// A child process running this test binary in a role; killed when dropped.
#[derive(Debug)]
pub struct ChildProcess {
    child: Child,
    lines: mpsc::Receiver<String>,
    role: String,
}

/// For child roles: the next line the parent sends ([`ChildProcess::send`]), without the
/// newline; empty once the parent has closed stdin.
pub fn read_parent_line() -> String {
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    line.trim_end().to_owned()
}

/// For child roles that must stay alive until the parent is done with them: blocks until the
/// parent closes the child's stdin (or exits).
pub fn wait_for_parent() {
    let mut sink = String::new();
    while std::io::stdin().read_line(&mut sink).is_ok_and(|n| n > 0) {}
}

/// For child roles that work until the parent closes their stdin: calls `step` over and over
/// until then.
pub fn repeat_until_released(mut step: impl FnMut()) {
    let (released, done) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        wait_for_parent();
        let _ = released.send(());
    });
    while matches!(done.try_recv(), Err(mpsc::TryRecvError::Empty)) {
        step();
    }
}

/// Prints the first error it is given as `error: ...` (for the parent to read), and no more.
#[derive(Debug, Default)]
pub struct FirstError(bool);

impl FirstError {
    /// Reports `e` if it is the first.
    pub fn report(&mut self, e: &dyn std::fmt::Display) {
        if !std::mem::replace(&mut self.0, true) {
            println!("error: {e}");
        }
    }
}

/// How long any single wait on a child may take before the test fails (instead of hanging).
pub const CHILD_PATIENCE: Duration = Duration::from_secs(120);

impl ChildProcess {
    /// Runs the current executable again with `role` and `args` (the binary's `main` must
    /// dispatch on [`CHILD_ROLE_ENV`]).
    pub fn spawn(role: &str, args: &[String]) -> ChildProcess {
        ChildProcess::spawn_with_env(role, args, &[])
    }

    /// [`spawn`](Self::spawn), with extra environment variables (`ESHM_SHM_DIR`, say).
    pub fn spawn_with_env(role: &str, args: &[String], env: &[(&str, &str)]) -> ChildProcess {
        let exe = std::env::current_exe().expect("current_exe");
        let mut command = Command::new(exe);
        command.args(args).envs(env.iter().copied()).env(CHILD_ROLE_ENV, role);
        ChildProcess::from_command(role, command)
    }

    /// Runs `command` (another program, or this one under a wrapper such as `ip netns exec`)
    /// as a child named `role`, with its stdin and stdout piped as for [`spawn`](Self::spawn).
    pub fn from_command(role: &str, mut command: Command) -> ChildProcess {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn child `{role}`: {e}"));
        let stdout: ChildStdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        ChildProcess { child, lines, role: role.to_owned() }
    }

    /// The child's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for a line of the child's stdout starting with `prefix` and returns it. Panics if
    /// the child exits first or prints none within [`CHILD_PATIENCE`].
    pub fn expect_line(&mut self, prefix: &str) -> String {
        self.expect_line_unless(prefix, &[])
    }

    /// [`expect_line`](Self::expect_line), but panics as soon as a line starting with one of
    /// `forbidden` comes first.
    pub fn expect_line_unless(&mut self, prefix: &str, forbidden: &[&str]) -> String {
        let deadline = Instant::now() + CHILD_PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.starts_with(prefix) => return line,
                Ok(line) if forbidden.iter().any(|f| line.starts_with(f)) => {
                    panic!("child `{}` printed {line:?} before a {prefix:?} line", self.role)
                }
                Ok(_) => {}
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!(
                        "child `{}` printed no {prefix:?} line within {CHILD_PATIENCE:?}",
                        self.role
                    )
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    panic!("child `{}` exited before printing {prefix:?}", self.role)
                }
            }
        }
    }

    /// Sends one line to the child's stdin (see [`read_parent_line`]).
    pub fn send(&mut self, line: &str) {
        use std::io::Write as _;
        let stdin = self.child.stdin.as_mut().expect("stdin not released yet");
        writeln!(stdin, "{line}").and_then(|()| stdin.flush()).expect("write to child stdin");
    }

    /// Closes the child's stdin: a child in [`wait_for_parent`] goes on.
    pub fn release(&mut self) {
        drop(self.child.stdin.take());
    }

    /// Kills the child with SIGKILL and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for the child to exit successfully and returns its last stdout line starting
    /// with `prefix`. Panics on a non-zero exit, or if it runs longer than [`CHILD_PATIENCE`].
    pub fn finish(mut self, prefix: &str) -> String {
        self.release();
        let deadline = Instant::now() + CHILD_PATIENCE;
        let mut last = String::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    if line.starts_with(prefix) {
                        last = line;
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!("child `{}` still running after {CHILD_PATIENCE:?}", self.role)
                }
            }
        }
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for child") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "child `{}` still running after {CHILD_PATIENCE:?}",
                self.role
            );
            std::thread::sleep(Duration::from_millis(2));
        };
        assert!(status.success(), "child `{}` failed: {status}", self.role);
        last
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Parses `key=value` pairs from a line such as `done received=10 lost=2`.
pub fn field(line: &str, key: &str) -> u64 {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no `{key}=` in {line:?}"))
        .parse()
        .unwrap_or_else(|e| panic!("bad `{key}` in {line:?}: {e}"))
}

/// `[("name", name as fn()), ...]` for [`run_main`]'s list of tests.
#[macro_export]
macro_rules! named_tests {
    ($($test:ident),* $(,)?) => { &[$((stringify!($test), $test as fn())),*] };
}

/// A child role: runs in the child process, with its command-line arguments.
pub type ChildRole = fn(&[String]);

/// Unless `ESHM_SHM_DIR` names one already, makes a segment directory for this run and points
/// `ESHM_SHM_DIR` at it, for the tests and every child they start: what the tests leave (topics
/// outlive their publishers; a killed server leaves its segments) stays out of `/dev/shm`.
fn own_segment_directory() -> Option<std::path::PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    if std::env::var_os("ESHM_SHM_DIR").is_some() {
        return None;
    }
    let dir = std::env::temp_dir().join(format!("eshm-tests-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir); // a directory of an earlier run with this pid
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .expect("creating the tests' segment directory");
    // SAFETY: called from `run_main` before any test runs, while `main` is this process's only
    // thread (the harness starts none, and no test has started one yet), so no other thread
    // reads or writes the environment while it changes.
    unsafe { std::env::set_var("ESHM_SHM_DIR", &dir) };
    Some(dir)
}

/// The `main` of a multi-process test binary (`harness = false`): plays the child role named
/// by [`CHILD_ROLE_ENV`] if it is set, with the command-line arguments; otherwise runs the
/// tests whose name contains the first non-option argument (all without one) one after the
/// other, libtest-style, and exits with status 1 if any failed. `--list` lists them.
/// The tests run in a segment directory of their own (removed when they all pass).
pub fn run_main(roles: &[(&str, ChildRole)], tests: &[(&str, fn())]) {
    // A run started in the background (`./test.sh &` without job control) inherits SIGINT
    // ignored, and so would every child: the tests that stop a command with Ctrl-C would wait
    // for good. Children inherit the default disposition instead.
    // SAFETY: `SIG_DFL` installs no handler (no code of ours runs on the signal), and this runs
    // first in `main`, before this process starts any thread.
    unsafe { libc::signal(libc::SIGINT, libc::SIG_DFL) };
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Ok(role) = std::env::var(CHILD_ROLE_ENV) {
        let (_, play) = roles
            .iter()
            .find(|(name, _)| *name == role)
            .unwrap_or_else(|| panic!("unknown child role {role}"));
        play(&args);
        return;
    }
    if args.iter().any(|a| a == "--list") {
        for (name, _) in tests {
            println!("{name}: test");
        }
        return;
    }
    let own_dir = own_segment_directory();
    let filter = args.iter().find(|a| !a.starts_with('-'));
    let selected: Vec<_> =
        tests.iter().filter(|(n, _)| filter.is_none_or(|f| n.contains(f.as_str()))).collect();
    println!("\nrunning {} tests", selected.len());
    let mut failed = Vec::new();
    for (name, test) in &selected {
        let start = Instant::now();
        let outcome = std::panic::catch_unwind(test);
        let verdict = if outcome.is_ok() { "ok" } else { "FAILED" };
        println!("test {name} ... {verdict} ({:.1} s)", start.elapsed().as_secs_f64());
        if outcome.is_err() {
            failed.push(*name);
        }
    }
    if failed.is_empty() {
        if let Some(dir) = own_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        println!("\ntest result: ok. {} passed", selected.len());
    } else {
        if let Some(dir) = own_dir {
            println!("the segments the tests left are in {}", dir.display());
        }
        println!("\ntest result: FAILED. failures: {failed:?}");
        std::process::exit(1);
    }
}
