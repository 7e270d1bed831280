//! Two hosts on one machine: two `eshm bridge` processes, each with its own segment directory
//! (`ESHM_SHM_DIR`), joined over TCP on loopback, and, where the machine allows it (root and
//! `ip netns`), across two network namespaces joined by a veth pair. Publishers, subscribers
//! (typed Rust ones, and a Python one when `.venv` has the eshm module) and the bridges are
//! child processes; every wait is for a line a child prints, with bounded patience, so nothing
//! depends on timing.
//!
//! A phase: the publisher on host A sends probes (marked messages) until every subscriber on
//! host B has printed `ready <phase>` (so the path through both bridges is up), then the
//! messages of the phase, which each subscriber checks one by one, in order, against what it
//! computes itself, and prints `done <phase>` after the last.

use eshm::msg::{Imu, Quaternion, Vector3};
use eshm::{Publisher, RecvError, Subscriber};
use eshm_tests::{CHILD_PATIENCE, ChildProcess, named_tests, read_parent_line, run_main};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Messages per topic and phase.
const N: u64 = 10_000;
/// The rings hold a whole phase: no subscriber loses a message however the scheduler runs it.
const CAPACITY: usize = 16_384;
/// The longest slice message, in elements.
const SCAN_MAX: usize = 128;

fn main() {
    run_main(
        &[
            ("bridge", role_bridge),
            ("cli", role_cli),
            ("publisher", role_publisher),
            ("sub_imu", role_sub_imu),
            ("sub_scan", role_sub_scan),
            ("f64_pub", role_f64_pub),
            ("f64_sub", role_f64_sub),
        ],
        named_tests![
            bridge_carries_typed_topics_between_hosts_through_restarts,
            bridge_reports_a_type_conflict_and_republishes_nothing,
            bridge_pair_exposing_and_importing_the_same_topics_never_echoes,
            bridge_across_network_namespaces,
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// Messages.

/// Message `i` (from 1) of phase `p` on `robot/imu`; `i == 0` is a probe.
fn imu(p: u64, i: u64) -> Imu {
    let f = i as f64;
    Imu {
        stamp_ns: i,
        orientation: Quaternion { x: p as f64, y: f * 0.5, z: -f, w: 1.0 },
        angular_velocity: Vector3 { x: f * 1e-3, y: (p * 10) as f64, z: 3.25 },
        linear_acceleration: Vector3 { x: 0.0, y: -f / 7.0, z: 9.81 },
    }
}

/// Message `i` of phase `p` on `robot/scan`: 2 to 101 elements, `[i, p, ...]`; `[0, p]` is a
/// probe.
fn scan(p: u64, i: u64) -> Vec<u32> {
    let len = if i == 0 { 2 } else { 2 + (i % 100) as usize };
    (0..len)
        .map(|k| match k {
            0 => i as u32,
            1 => p as u32,
            k => (i as u32).wrapping_mul(2_654_435_761).wrapping_add(k as u32),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Child roles.

/// `eshm bridge ARGS...`, through the CLI's library: the command users run.
fn role_bridge(args: &[String]) {
    let argv = ["eshm", "bridge"].into_iter().map(String::from).chain(args.iter().cloned());
    std::process::exit(eshm_cli::run(argv).code().into());
}

/// `eshm ARGS...` (for `info --json`).
fn role_cli(args: &[String]) {
    let argv = std::iter::once("eshm".to_owned()).chain(args.iter().cloned());
    std::process::exit(eshm_cli::run(argv).code().into());
}

/// Commands from the parent, one per line, on a thread (so probes can go on meanwhile).
fn parent_lines() -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        loop {
            let line = read_parent_line();
            let end = line.is_empty();
            if tx.send(line).is_err() || end {
                break;
            }
        }
    });
    rx
}

/// Publishes `robot/imu` and `robot/scan` on command: `probe P` (probes every 2 ms until the
/// next command), `run P N` (N messages, then `published P`), `conflict` (probes of `Imu` on
/// `robot/conflict` until the next command), `idle`.
fn role_publisher(_: &[String]) {
    let mut imus =
        Publisher::<Imu>::builder("robot/imu").capacity(CAPACITY).create().expect("imu topic");
    let mut scans = Publisher::<[u32]>::builder("robot/scan")
        .max_len(SCAN_MAX)
        .capacity(CAPACITY)
        .create()
        .expect("scan topic");
    let mut conflict: Option<Publisher<Imu>> = None;
    println!("started");
    let commands = parent_lines();
    let mut probing: Option<(bool, u64)> = None; // (on robot/conflict?, phase)
    loop {
        let command = match probing {
            Some(_) => match commands.recv_timeout(Duration::from_millis(2)) {
                Ok(c) => Some(c),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            },
            None => Some(commands.recv().unwrap_or_default()),
        };
        match command.as_deref().map(|c| c.split_whitespace().collect::<Vec<_>>()) {
            None => match probing {
                Some((false, p)) => {
                    imus.publish(&imu(p, 0)).expect("publish");
                    scans.publish(&scan(p, 0)).expect("publish");
                }
                Some((true, p)) => {
                    let topic = conflict.get_or_insert_with(|| {
                        Publisher::<Imu>::create("robot/conflict").expect("conflict topic")
                    });
                    topic.publish(&imu(p, 0)).expect("publish");
                }
                None => unreachable!(),
            },
            Some(words) => match words[..] {
                ["probe", p] => probing = Some((false, p.parse().expect("phase"))),
                ["conflict"] => probing = Some((true, 1)),
                ["idle"] => probing = None,
                ["run", p, n] => {
                    probing = None;
                    let (p, n): (u64, u64) = (p.parse().expect("phase"), n.parse().expect("n"));
                    for i in 1..=n {
                        imus.publish(&imu(p, i)).expect("publish");
                        scans.publish(&scan(p, i)).expect("publish");
                    }
                    println!("published {p}");
                }
                [] => return,
                _ => panic!("unknown command {words:?}"),
            },
        }
    }
}

/// What a subscriber does with each message: `ready P` on the first probe of phase P, then
/// checks messages 1, 2, ... of P in order, and `done P` after message `n`.
struct Checker<T> {
    n: u64,
    phase: u64,
    next: u64,
    expected: fn(u64, u64) -> T,
}

impl<T: PartialEq + std::fmt::Debug> Checker<T> {
    fn new(n: u64, expected: fn(u64, u64) -> T) -> Self {
        Checker { n, phase: 0, next: 1, expected }
    }

    /// `seq` and `phase` as the message says them.
    fn check(&mut self, seq: u64, phase: u64, got: &T) {
        if seq == 0 {
            if phase > self.phase {
                self.phase = phase;
                self.next = 1;
                println!("ready {phase}");
            }
            return;
        }
        let want = (self.expected)(self.phase, self.next);
        if *got != want {
            println!("error: phase {}: expected message {}, got {got:?}", self.phase, self.next);
            std::process::exit(1);
        }
        if self.next == self.n {
            println!("done {}", self.phase);
        }
        self.next += 1;
    }
}

fn count_arg(args: &[String]) -> u64 {
    args.first().map_or(N, |a| a.parse().expect("a count"))
}

fn role_sub_imu(args: &[String]) {
    let mut sub = Subscriber::<Imu>::open("robot/imu").expect("subscribe");
    let mut checker = Checker::new(count_arg(args), imu);
    println!("started");
    eshm_tests::repeat_until_released(|| match sub.recv_timeout(Duration::from_millis(100)) {
        Ok(m) => checker.check(m.stamp_ns, m.orientation.x as u64, &m),
        Err(RecvError::Timeout) => {}
        Err(e) => panic!("receive: {e}"),
    });
}

fn role_sub_scan(args: &[String]) {
    let mut sub = Subscriber::<[u32]>::open("robot/scan").expect("subscribe");
    let mut checker = Checker::new(count_arg(args), scan);
    println!("started");
    eshm_tests::repeat_until_released(|| match sub.recv_timeout(Duration::from_millis(100)) {
        Ok(m) => {
            assert!(m.len() >= 2, "a scan of {} elements", m.len());
            checker.check(u64::from(m[0]), u64::from(m[1]), &m);
        }
        Err(RecvError::Timeout) => {}
        Err(e) => panic!("receive: {e}"),
    });
}

/// Publishes f64 on topic `args[0]`: `probe` (-1.0 every 2 ms until the next command), `run N`
/// (1.0 to N, then `published`).
fn role_f64_pub(args: &[String]) {
    let mut publisher =
        Publisher::<f64>::builder(&args[0]).capacity(CAPACITY).create().expect("f64 topic");
    println!("started");
    let commands = parent_lines();
    let mut probing = false;
    loop {
        let command = if probing {
            match commands.recv_timeout(Duration::from_millis(2)) {
                Ok(c) => Some(c),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
        } else {
            Some(commands.recv().unwrap_or_default())
        };
        let Some(command) = command else {
            publisher.publish(&-1.0).expect("publish");
            continue;
        };
        match command.split_whitespace().collect::<Vec<_>>()[..] {
            ["probe"] => probing = true,
            ["run", n] => {
                probing = false;
                for i in 1..=n.parse::<u64>().expect("n") {
                    publisher.publish(&(i as f64)).expect("publish");
                }
                println!("published {}", publisher.published());
            }
            [] => return,
            ref other => panic!("unknown command {other:?}"),
        }
    }
}

/// Receives f64 on topic `args[0]`: `ready` at the first probe, `done` after 1.0 to `args[1]`
/// in order.
fn role_f64_sub(args: &[String]) {
    let n: u64 = args[1].parse().expect("n");
    let mut sub = Subscriber::<f64>::open(&args[0]).expect("subscribe");
    let mut checker = Checker::new(n, |_, i| i as f64);
    println!("started");
    eshm_tests::repeat_until_released(|| match sub.recv_timeout(Duration::from_millis(100)) {
        Ok(v) if v < 0.0 => checker.check(0, 1, &v),
        Ok(v) => checker.check(v as u64, 1, &v),
        Err(RecvError::Timeout) => {}
        Err(e) => panic!("receive: {e}"),
    });
}

// ---------------------------------------------------------------------------------------------
// The parent's tools.

/// A "host": a segment directory of its own.
struct Host {
    dir: PathBuf,
}

impl Host {
    fn new(label: &str) -> Host {
        let dir =
            PathBuf::from(format!("/dev/shm/eshm-bridge-test-{}-{label}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("host directory");
        Host { dir }
    }

    fn env(&self) -> [(&str, &str); 1] {
        [("ESHM_SHM_DIR", self.dir.to_str().expect("a UTF-8 path"))]
    }

    fn spawn(&self, role: &str, args: &[&str]) -> ChildProcess {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let mut child = ChildProcess::spawn_with_env(role, &args, &self.env());
        child.expect_line("started");
        child
    }

    /// Starts `eshm bridge ARGS` and waits until it is ready.
    fn bridge(&self, args: &[&str]) -> ChildProcess {
        self.bridge_under(&[], args)
    }

    /// [`bridge`](Self::bridge), run under `wrapper` (`ip netns exec NS`).
    fn bridge_under(&self, wrapper: &[&str], args: &[&str]) -> ChildProcess {
        let exe = std::env::current_exe().expect("current_exe");
        let mut command = match wrapper {
            [] => Command::new(&exe),
            [program, rest @ ..] => {
                let mut c = Command::new(program);
                c.args(rest).arg(&exe);
                c
            }
        };
        command
            .args(args)
            .args(["--no-multicast-scouting", "--capacity", &CAPACITY.to_string()])
            .envs(self.env())
            .env(eshm_tests::CHILD_ROLE_ENV, "bridge");
        let mut child = ChildProcess::from_command("bridge", command);
        child.expect_line("bridge ready");
        child
    }

    /// `eshm info TOPIC --json` on this host.
    fn info(&self, topic: &str) -> Value {
        let output = Command::new(std::env::current_exe().expect("current_exe"))
            .args(["info", topic, "--json"])
            .envs(self.env())
            .env(eshm_tests::CHILD_ROLE_ENV, "cli")
            .output()
            .expect("run eshm info");
        assert!(output.status.success(), "eshm info {topic}: {output:?}");
        serde_json::from_slice(&output.stdout).expect("eshm info prints JSON")
    }

    /// `eshm info TOPIC --json` once `ready` says the bridges' status files are far enough
    /// (they are written a few times a second); panics after [`CHILD_PATIENCE`].
    fn info_when(&self, topic: &str, ready: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + CHILD_PATIENCE;
        loop {
            let info = self.info(topic);
            if ready(&info) {
                return info;
            }
            assert!(Instant::now() < deadline, "eshm info {topic} never got there: {info:#}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A free TCP port on loopback (bound, read, released: a bridge started right after takes it;
/// losing the race makes that bridge fail to start, and the test with it).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port");
    listener.local_addr().expect("local address").port()
}

/// The entry of `info`'s `bridges` in role `role`, if any.
fn bridge_entry<'a>(info: &'a Value, role: &str) -> Option<&'a Value> {
    info["bridges"].as_array()?.iter().find(|b| b["role"] == role)
}

fn counter(entry: Option<&Value>, key: &str) -> u64 {
    entry.and_then(|e| e[key].as_u64()).unwrap_or(0)
}

/// The Python subscriber of `robot/imu` (the same checks as `sub_imu`), if `.venv` has eshm.
fn python_subscriber(host: &Host, n: u64) -> Option<ChildProcess> {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    let usable = python.exists()
        && Command::new(&python)
            .args(["-c", "import eshm, eshm.msg"])
            .output()
            .is_ok_and(|o| o.status.success());
    if !usable {
        assert!(
            std::env::var_os("ESHM_BRIDGE_REQUIRE_PYTHON").is_none(),
            "no Python with the eshm module at {}",
            python.display()
        );
        println!(
            "    (no Python subscriber: {} has no eshm module; ./test.sh builds it)",
            python.display()
        );
        return None;
    }
    let mut command = Command::new(python);
    command.args(["-c", PYTHON_SUBSCRIBER, "robot/imu", &n.to_string()]).envs(host.env());
    let mut child = ChildProcess::from_command("python sub_imu", command);
    child.expect_line("started");
    Some(child)
}

const PYTHON_SUBSCRIBER: &str = r#"
import sys
import eshm
from eshm import msg

topic, n = sys.argv[1], int(sys.argv[2])

def imu(p, i):
    f = float(i)
    return msg.Imu(
        stamp_ns=i,
        orientation=msg.Quaternion(x=float(p), y=f * 0.5, z=-f, w=1.0),
        angular_velocity=msg.Vector3(x=f * 1e-3, y=float(p * 10), z=3.25),
        linear_acceleration=msg.Vector3(x=0.0, y=-f / 7.0, z=9.81),
    )

sub = eshm.Subscriber(topic, msg.Imu, history=0)
phase, nxt = 0, 1
print("started", flush=True)
while True:
    try:
        m = sub.recv(timeout=1.0)
    except eshm.TimeoutError:
        continue
    if m.stamp_ns == 0:
        p = int(m.orientation.x)
        if p > phase:
            phase, nxt = p, 1
            print(f"ready {p}", flush=True)
        continue
    if m != imu(phase, nxt):
        print(f"error: phase {phase}: expected message {nxt}, got {m!r}", flush=True)
        sys.exit(1)
    if nxt == n:
        print(f"done {phase}", flush=True)
    nxt += 1
"#;

/// One phase: probes until every subscriber is ready, then `n` messages, all checked.
fn phase(publisher: &mut ChildProcess, subscribers: &mut [&mut ChildProcess], p: u64, n: u64) {
    publisher.send(&format!("probe {p}"));
    for s in subscribers.iter_mut() {
        s.expect_line(&format!("ready {p}"));
    }
    publisher.send(&format!("run {p} {n}"));
    publisher.expect_line(&format!("published {p}"));
    for s in subscribers.iter_mut() {
        s.expect_line(&format!("done {p}"));
    }
}

// ---------------------------------------------------------------------------------------------
// Tests.

/// 10,000 messages of a nested struct (`eshm::msg::Imu`) and of a slice topic (`[u32]`, 2 to
/// 101 elements) go from a Rust publisher on host A to typed Rust subscribers and a Python one
/// on host B, in order and equal; then the publisher on A restarts, then the bridge on B
/// (killed, and started again), and each time 10,000 more arrive the same way. `eshm info` on B
/// shows what the bridge imported, with no loss on the network.
fn bridge_carries_typed_topics_between_hosts_through_restarts() {
    let (a, b) = (Host::new("a"), Host::new("b"));
    let port = free_port();
    let listen = format!("tcp/127.0.0.1:{port}");
    let _bridge_a = a.bridge(&["--expose", "robot/**", "--listen", &listen]);
    let b_args = ["--import", "robot/**", "--connect", &listen, "--listen", "tcp/127.0.0.1:0"];
    let mut bridge_b = b.bridge(&b_args);
    bridge_b.expect_line("connected");

    let mut sub_imu = b.spawn("sub_imu", &[]);
    let mut sub_scan = b.spawn("sub_scan", &[]);
    let mut python = python_subscriber(&b, N);
    let mut publisher = a.spawn("publisher", &[]);
    let mut subs: Vec<&mut ChildProcess> = vec![&mut sub_imu, &mut sub_scan];
    subs.extend(python.as_mut());

    phase(&mut publisher, &mut subs, 1, N);
    let info =
        b.info_when("robot/imu", |i| counter(bridge_entry(i, "imported"), "republished") >= N);
    let imported = bridge_entry(&info, "imported").expect("imported by the bridge");
    assert_eq!(info["type"], "Imu");
    assert_eq!(imported["state"], "republishing");
    assert_eq!(imported["lost_network"], 0, "{info:#}");
    assert_eq!(imported["dropped_invalid"], 0, "{info:#}");
    assert_eq!(info["owner_pid"], imported["pid"], "the bridge publishes the topic on B");
    let exposed = a.info_when("robot/scan", |i| counter(bridge_entry(i, "exposed"), "sent") >= N);
    assert_eq!(bridge_entry(&exposed, "exposed").expect("exposed")["lost_at_source"], 0);

    // The publisher on A restarts (killed: its topics are taken over by the next one).
    publisher.kill();
    let mut publisher = a.spawn("publisher", &[]);
    phase(&mut publisher, &mut subs, 2, N);

    // The bridge on B restarts (killed: its topics are taken over by the next one).
    bridge_b.kill();
    let mut bridge_b = b.bridge(&b_args);
    bridge_b.expect_line("connected");
    phase(&mut publisher, &mut subs, 3, N);
    let info =
        b.info_when("robot/scan", |i| counter(bridge_entry(i, "imported"), "republished") >= N);
    let imported = bridge_entry(&info, "imported").expect("imported by the new bridge");
    assert_eq!(imported["pid"], bridge_b.pid(), "{info:#}");
    assert_eq!(imported["lost_network"], 0, "{info:#}");
    // Exactly the types published on A.
    for topic in ["robot/imu", "robot/scan"] {
        let (on_a, on_b) = (a.info(topic), b.info(topic));
        assert_eq!(on_a["fingerprint"], on_b["fingerprint"], "{topic}");
        assert_eq!(on_a["schema"], on_b["schema"], "{topic}");
        assert_eq!(on_a["message_size"], on_b["message_size"], "{topic}");
    }
}

/// Host B has a live local publisher of `robot/conflict` with type f64; host A publishes
/// `robot/conflict` as `Imu`. B's bridge reports the conflict, counts what it drops, and
/// publishes nothing on the local topic; once the local publisher is gone, it imports.
fn bridge_reports_a_type_conflict_and_republishes_nothing() {
    let (a, b) = (Host::new("a"), Host::new("b"));
    let listen = format!("tcp/127.0.0.1:{}", free_port());
    let _bridge_a = a.bridge(&["--expose", "robot/**", "--listen", &listen]);
    let mut bridge_b = b.bridge(&["--import", "robot/**", "--connect", &listen]);
    bridge_b.expect_line("connected");
    let mut local = b.spawn("f64_pub", &["robot/conflict"]);
    local.send("run 1");
    local.expect_line("published 1");
    let mut publisher = a.spawn("publisher", &[]);

    publisher.send("conflict");
    let line = bridge_b.expect_line_unless(
        "type conflict on \"robot/conflict\"",
        &["importing \"robot/conflict\"", "publisher conflict"],
    );
    assert!(line.contains("\"f64\"") && line.contains("\"Imu\""), "{line}");
    let info = b.info_when("robot/conflict", |i| {
        counter(bridge_entry(i, "imported"), "dropped_type_conflict") >= 1
    });
    let refused = bridge_entry(&info, "imported").expect("the bridge's view");
    assert_eq!(refused["state"], "type conflict", "{info:#}");
    assert_eq!(refused["republished"], 0, "{info:#}");
    // The local topic is the local publisher's, with its one message and its type.
    assert_eq!(info["owner_pid"], local.pid(), "{info:#}");
    assert_eq!(info["type"], "f64", "{info:#}");
    assert_eq!(info["published"], 1, "nothing else was published on it: {info:#}");

    // The local publisher goes (and its topic with it): the remote one is imported.
    local.finish("");
    bridge_b.expect_line("importing \"robot/conflict\" \"Imu\"");
    publisher.send("idle");
}

/// Two bridges that both expose and import `loop/**`, each host publishing one topic: each
/// topic arrives on the other host once, and neither bridge sends back what it imported (it
/// says so), nor receives its own messages.
fn bridge_pair_exposing_and_importing_the_same_topics_never_echoes() {
    const COUNT: u64 = 200;
    let (a, b) = (Host::new("a"), Host::new("b"));
    let listen = format!("tcp/127.0.0.1:{}", free_port());
    let both = ["--expose", "loop/**", "--import", "loop/**"];
    let mut bridge_a = a.bridge(&[&both[..], &["--listen", &listen]].concat());
    let mut bridge_b = b.bridge(&[&both[..], &["--connect", &listen]].concat());
    bridge_b.expect_line("connected");
    let count = COUNT.to_string();
    let mut sub_b = b.spawn("f64_sub", &["loop/a", &count]);
    let mut sub_a = a.spawn("f64_sub", &["loop/b", &count]);
    let mut pub_a = a.spawn("f64_pub", &["loop/a"]);
    let mut pub_b = b.spawn("f64_pub", &["loop/b"]);
    for (publisher, sub) in [(&mut pub_a, &mut sub_b), (&mut pub_b, &mut sub_a)] {
        publisher.send("probe");
        sub.expect_line("ready 1");
        publisher.send(&format!("run {COUNT}"));
        publisher.expect_line("published");
        sub.expect_line("done 1");
    }
    // Each bridge saw the topic it imported appear and did not expose it.
    bridge_b.expect_line_unless("not exposing \"loop/a\"", &["exposing \"loop/a\""]);
    bridge_a.expect_line_unless("not exposing \"loop/b\"", &["exposing \"loop/b\""]);

    for (host, mine, theirs) in [(&a, "loop/a", "loop/b"), (&b, "loop/b", "loop/a")] {
        // Everything this host published went out; nothing came back.
        let info = host.info_when(mine, |i| counter(bridge_entry(i, "exposed"), "sent") > COUNT);
        assert!(bridge_entry(&info, "imported").is_none(), "{mine} came back: {info:#}");
        // What it imported arrived once, never from itself, and is not sent back.
        let info =
            host.info_when(theirs, |i| counter(bridge_entry(i, "imported"), "republished") > COUNT);
        let imported = bridge_entry(&info, "imported").expect("imported");
        assert_eq!(imported["dropped_own"], 0, "{info:#}");
        assert_eq!(imported["duplicates"], 0, "{info:#}");
        assert_eq!(imported["dropped_publisher_conflict"], 0, "{info:#}");
        assert!(bridge_entry(&info, "exposed").is_none(), "{theirs} sent back: {info:#}");
    }
}

/// Namespaces that this test makes and deletes (also when it fails).
struct Namespaces(Vec<String>);

impl Drop for Namespaces {
    fn drop(&mut self) {
        for ns in &self.0 {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

fn ip(args: &[&str]) {
    let status = Command::new("ip").args(args).status().expect("run ip");
    assert!(status.success(), "ip {args:?}: {status}");
}

/// The first phase of the loopback test, with each bridge in a network namespace of its own,
/// joined by a veth pair (192.0.2.1 and .2, a documentation network that exists only there).
/// Skipped, with a line saying so, without root or `ip`.
fn bridge_across_network_namespaces() {
    let root = rustix::process::geteuid().is_root();
    let has_ip = Command::new("ip").arg("-V").output().is_ok_and(|o| o.status.success());
    if !root || !has_ip {
        println!("    skipped: needs root and `ip` (root: {root}, ip: {has_ip})");
        return;
    }
    let tag = std::process::id() % 100_000;
    let (ns_a, ns_b) = (format!("eshm{tag}a"), format!("eshm{tag}b"));
    let (veth_a, veth_b) = (format!("ve{tag}a"), format!("ve{tag}b"));
    let _namespaces = Namespaces(vec![ns_a.clone(), ns_b.clone()]);
    ip(&["netns", "add", &ns_a]);
    ip(&["netns", "add", &ns_b]);
    ip(&[
        "link", "add", &veth_a, "netns", &ns_a, "type", "veth", "peer", "name", &veth_b, "netns",
        &ns_b,
    ]);
    ip(&["-n", &ns_a, "addr", "add", "192.0.2.1/24", "dev", &veth_a]);
    ip(&["-n", &ns_b, "addr", "add", "192.0.2.2/24", "dev", &veth_b]);
    for (ns, dev) in [(&ns_a, &veth_a), (&ns_b, &veth_b)] {
        ip(&["-n", ns, "link", "set", dev, "up"]);
        ip(&["-n", ns, "link", "set", "lo", "up"]);
    }

    let (a, b) = (Host::new("a"), Host::new("b"));
    let in_a = ["ip", "netns", "exec", ns_a.as_str()];
    let in_b = ["ip", "netns", "exec", ns_b.as_str()];
    let _bridge_a =
        a.bridge_under(&in_a, &["--expose", "robot/**", "--listen", "tcp/192.0.2.1:7447"]);
    let mut bridge_b = b.bridge_under(
        &in_b,
        &[
            "--import",
            "robot/**",
            "--connect",
            "tcp/192.0.2.1:7447",
            "--listen",
            "tcp/192.0.2.2:7447",
        ],
    );
    bridge_b.expect_line("connected");
    let mut sub_imu = b.spawn("sub_imu", &[]);
    let mut sub_scan = b.spawn("sub_scan", &[]);
    let mut python = python_subscriber(&b, N);
    let mut publisher = a.spawn("publisher", &[]);
    let mut subs: Vec<&mut ChildProcess> = vec![&mut sub_imu, &mut sub_scan];
    subs.extend(python.as_mut());
    phase(&mut publisher, &mut subs, 1, N);
    let info =
        b.info_when("robot/imu", |i| counter(bridge_entry(i, "imported"), "republished") >= N);
    assert_eq!(bridge_entry(&info, "imported").expect("imported")["lost_network"], 0);
}
