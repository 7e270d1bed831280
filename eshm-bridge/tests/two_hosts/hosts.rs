//! The parent's tools: hosts (a segment directory each), bridges and the Python subscriber
//! started on them, `eshm info` read as JSON.

use crate::CAPACITY;
use eshm_tests::{CHILD_PATIENCE, ChildProcess};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A "host": a segment directory of its own.
pub(crate) struct Host {
    dir: PathBuf,
}

impl Host {
    pub(crate) fn new(label: &str) -> Host {
        let dir =
            PathBuf::from(format!("/dev/shm/eshm-bridge-test-{}-{label}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("host directory");
        Host { dir }
    }

    pub(crate) fn env(&self) -> [(&str, &str); 1] {
        [("ESHM_SHM_DIR", self.dir.to_str().expect("a UTF-8 path"))]
    }

    pub(crate) fn spawn(&self, role: &str, args: &[&str]) -> ChildProcess {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let mut child = ChildProcess::spawn_with_env(role, &args, &self.env());
        child.expect_line("started");
        child
    }

    /// Starts `eshm bridge ARGS` and waits until it is ready.
    pub(crate) fn bridge(&self, args: &[&str]) -> ChildProcess {
        self.bridge_under(&[], args)
    }

    /// [`bridge`](Self::bridge), run under `wrapper` (`ip netns exec NS`).
    pub(crate) fn bridge_under(&self, wrapper: &[&str], args: &[&str]) -> ChildProcess {
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

    /// `eshm info TOPIC --json` on this host; panics if there is no such topic.
    pub(crate) fn info(&self, topic: &str) -> Value {
        self.try_info(topic).unwrap_or_else(|output| panic!("eshm info {topic}: {output:?}"))
    }

    /// `eshm info TOPIC --json` on this host, or the failed command's output.
    fn try_info(&self, topic: &str) -> Result<Value, std::process::Output> {
        let output = Command::new(std::env::current_exe().expect("current_exe"))
            .args(["info", topic, "--json"])
            .envs(self.env())
            .env(eshm_tests::CHILD_ROLE_ENV, "cli")
            .output()
            .expect("run eshm info");
        if !output.status.success() {
            return Err(output);
        }
        Ok(serde_json::from_slice(&output.stdout).expect("eshm info prints JSON"))
    }

    /// `eshm info TOPIC --json` once the topic exists and `ready` says the bridges' status
    /// files are far enough (they are written a few times a second); panics after
    /// [`CHILD_PATIENCE`]. A bridge creates an imported topic when its first good message
    /// arrives, which may be after the lines a test waited for.
    pub(crate) fn info_when(&self, topic: &str, ready: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + CHILD_PATIENCE;
        loop {
            let info = self.try_info(topic);
            if let Ok(info) = &info
                && ready(info)
            {
                return info.clone();
            }
            assert!(Instant::now() < deadline, "eshm info {topic} never got there: {info:#?}");
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
pub(crate) fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port");
    listener.local_addr().expect("local address").port()
}

/// The entry of `info`'s `bridges` in role `role`, if any.
pub(crate) fn bridge_entry<'a>(info: &'a Value, role: &str) -> Option<&'a Value> {
    info["bridges"].as_array()?.iter().find(|b| b["role"] == role)
}

pub(crate) fn counter(entry: Option<&Value>, key: &str) -> u64 {
    entry.and_then(|e| e[key].as_u64()).unwrap_or(0)
}

/// The robot of the two-host tests: the publisher of `robot/imu` and `robot/scan` on host
/// `a` (`role_publisher`), and on host `b` their typed subscribers and, when `.venv` has the
/// eshm module, the Python one (each checks `N` messages per phase).
pub(crate) fn robot(a: &Host, b: &Host) -> (ChildProcess, Vec<ChildProcess>) {
    let mut subscribers = vec![b.spawn("sub_imu", &[]), b.spawn("sub_scan", &[])];
    subscribers.extend(python_subscriber(b, crate::N));
    (a.spawn("publisher", &[]), subscribers)
}

/// `eshm info TOPIC --json` on `host` once its importing bridge has republished `n` messages
/// of it.
pub(crate) fn republished(host: &Host, topic: &str, n: u64) -> Value {
    host.info_when(topic, |i| counter(bridge_entry(i, "imported"), "republished") >= n)
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
pub(crate) fn phase(
    publisher: &mut ChildProcess,
    subscribers: &mut [&mut ChildProcess],
    p: u64,
    n: u64,
) {
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
