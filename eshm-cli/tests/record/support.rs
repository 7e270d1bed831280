//! What the `record` tests share: a message type with nested structs, arrays and enums, the
//! child roles that publish and receive, and `eshm` commands run in the background.

use super::common::Dir;
use eshm::msg::{Pose, Quaternion, Vector3};
use eshm::{Publisher, Subscriber};
use eshm_tests::{read_parent_line, wait_for_parent};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// A message with nested structs, arrays of structs, a nested array and enums.

#[derive(Clone, Copy, Debug, PartialEq, Eq, eshm::Message)]
#[repr(u8)]
pub(crate) enum Gear {
    Park = 0,
    Drive = 1,
    Reverse = 7,
}

#[derive(Clone, Copy, Debug, PartialEq, eshm::Message)]
#[repr(C)]
pub(crate) struct Frame {
    stamp_ns: u64,
    pose: Pose,
    corners: [Vector3; 2],
    pixels: [[u8; 3]; 4],
    gear: Gear,
    gears: [Gear; 2],
    valid: bool,
    level: i16,
    _pad: [u8; 6],
}

pub(crate) fn frame(i: u64) -> Frame {
    let f = i as f64;
    let gears = [Gear::Park, Gear::Drive, Gear::Reverse];
    Frame {
        stamp_ns: 1_000 + i,
        pose: Pose { position: Vector3 { x: f, y: -f, z: 0.5 }, orientation: Quaternion::IDENTITY },
        corners: [Vector3 { x: 1.0, y: 2.0, z: f }, Vector3 { x: -f, y: 0.0, z: 3.0 }],
        pixels: std::array::from_fn(|p| {
            std::array::from_fn(|c| (i as usize * 12 + p * 3 + c) as u8)
        }),
        gear: gears[i as usize % 3],
        gears: [gears[(i as usize + 1) % 3], gears[(i as usize + 2) % 3]],
        valid: i.is_multiple_of(2),
        level: -(i as i16) * 3,
        _pad: [0; 6],
    }
}

// ---------------------------------------------------------------------------------------------
// Child roles (they find the segment directory in their environment).

/// Message `i` of the `[f32]` slice topic (at most 8 elements): `i % 9` elements.
pub(crate) fn scan(i: u64) -> Vec<f32> {
    (0..i % 9).map(|j| i as f32 + j as f32 * 0.5).collect()
}

/// Message `i` of the `[Vector3]` slice topic (at most 3 elements): `i % 4` elements.
pub(crate) fn points(i: u64) -> Vec<Vector3> {
    (0..i % 4).map(|j| Vector3 { x: i as f64, y: j as f64, z: -1.0 }).collect()
}

/// `frames NAME COUNT`: creates topics NAME (`Frame`), NAME/speed (`f64`), and the slice
/// topics NAME/scan (`[f32]`, at most 8) and NAME/points (`[Vector3]`, at most 3); once the
/// parent says `go`, publishes COUNT of each, 10 ms apart; keeps them until released.
pub(crate) fn child_frames(args: &[String]) {
    let mut frames = Publisher::<Frame>::create(&args[0]).expect("create");
    let mut speed = Publisher::<f64>::create(&format!("{}/speed", args[0])).expect("create");
    let mut scans = Publisher::<[f32]>::builder(&format!("{}/scan", args[0]))
        .max_len(8)
        .create()
        .expect("create");
    let mut pointss = Publisher::<[Vector3]>::builder(&format!("{}/points", args[0]))
        .max_len(3)
        .create()
        .expect("create");
    println!("ready");
    if read_parent_line() == "go" {
        for i in 0..args[1].parse().unwrap() {
            frames.publish(&frame(i)).unwrap();
            speed.publish(&(i as f64 * 0.5)).unwrap();
            scans.publish(&scan(i)).unwrap();
            pointss.publish(&points(i)).unwrap();
            std::thread::sleep(Duration::from_millis(10));
        }
        println!("published");
    }
    wait_for_parent();
}

/// `publish TYPE NAME FROM COUNT`: publishes COUNT messages of TYPE (`pose`, `f64`, or `scanN`)
/// valued FROM.. on NAME, 2 ms apart, then waits to be released.
pub(crate) fn child_publish(args: &[String]) {
    let from: u64 = args[2].parse().unwrap();
    let count: u64 = args[3].parse().unwrap();
    match args[0].as_str() {
        "pose" => {
            let mut p = Publisher::<Pose>::create(&args[1]).expect("create");
            for i in from..from + count {
                let pose = Pose {
                    position: Vector3 { x: i as f64, ..Default::default() },
                    ..Default::default()
                };
                p.publish(&pose).unwrap();
                std::thread::sleep(Duration::from_millis(2));
            }
            println!("published");
            wait_for_parent();
        }
        "f64" => {
            let mut p = Publisher::<f64>::create(&args[1]).expect("create");
            for i in from..from + count {
                p.publish(&(i as f64)).unwrap();
                std::thread::sleep(Duration::from_millis(2));
            }
            println!("published");
            wait_for_parent();
        }
        // `scanN`: a `[f32]` topic of at most N elements, every message full.
        scan => {
            let max: usize = scan.strip_prefix("scan").and_then(|n| n.parse().ok()).expect("TYPE");
            let mut p =
                Publisher::<[f32]>::builder(&args[1]).max_len(max).create().expect("create");
            for i in from..from + count {
                p.publish(&vec![i as f32; max]).unwrap();
                std::thread::sleep(Duration::from_millis(2));
            }
            println!("published");
            wait_for_parent();
        }
    }
}

/// `burst NAME CAPACITY COUNT`: an `f64` topic with a ring of CAPACITY messages; once the
/// parent says `go`, publishes 0..COUNT at once.
pub(crate) fn child_burst(args: &[String]) {
    let capacity = args[1].parse().unwrap();
    let mut p = Publisher::<f64>::builder(&args[0]).capacity(capacity).create().expect("create");
    println!("ready");
    if read_parent_line() == "go" {
        for i in 0..args[2].parse().unwrap() {
            p.publish(&(i as f64)).unwrap();
        }
        println!("published");
    }
    wait_for_parent();
}

/// `receive_slices NAME COUNT`: typed subscribers of NAME/scan and NAME/points; prints
/// `match` if they receive `scan(0..COUNT)` and `points(0..COUNT)` in order.
pub(crate) fn child_receive_slices(args: &[String]) {
    let mut scans = Subscriber::<[f32]>::open(&format!("{}/scan", args[0])).expect("subscribe");
    let mut pointss =
        Subscriber::<[Vector3]>::open(&format!("{}/points", args[0])).expect("subscribe");
    println!("ready");
    let patience = Duration::from_secs(60);
    for i in 0..args[1].parse().unwrap() {
        let (s, p) =
            (scans.recv_timeout(patience).unwrap(), pointss.recv_timeout(patience).unwrap());
        if s != scan(i) || p != points(i) {
            println!("mismatch at {i}: {s:?} {p:?}");
            return;
        }
    }
    println!("match, lost {}", scans.lost() + pointss.lost());
}

/// `receive NAME COUNT`: a typed `Frame` subscriber; prints `match` if it receives
/// `frame(0..COUNT)` in order, else the first difference.
pub(crate) fn child_receive(args: &[String]) {
    let mut sub = Subscriber::<Frame>::open(&args[0]).expect("subscribe");
    println!("ready");
    for i in 0..args[1].parse().unwrap() {
        let got = sub.recv_timeout(Duration::from_secs(60)).expect("receive");
        if got != frame(i) {
            println!("mismatch at {i}: {got:?}");
            return;
        }
    }
    println!("match, lost {}", sub.lost());
}

// ---------------------------------------------------------------------------------------------
// Helpers.

/// An `eshm` command running in the background, its stderr lines collected as they come.
pub(crate) struct Background {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    /// Waited for: nothing to kill when dropped.
    done: bool,
}

impl Drop for Background {
    /// A test that fails on the way leaves no command running.
    fn drop(&mut self) {
        if !self.done {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Background {
    pub(crate) fn start(dir: &Dir, args: &[&str]) -> Background {
        let mut child =
            dir.command(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Background { child, lines, seen: Vec::new(), done: false }
    }

    /// Waits for a stderr line containing `text` (at most `CHILD_PATIENCE` in all: the
    /// progress lines keep coming).
    pub(crate) fn wait_for(&mut self, text: &str) -> String {
        let deadline = Instant::now() + eshm_tests::CHILD_PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(text) {
                        return line;
                    }
                }
                Err(e) => panic!("no stderr line with {text:?} ({e}); so far: {:#?}", self.seen),
            }
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn signal(&self, signal: rustix::process::Signal) {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).unwrap();
        rustix::process::kill_process(pid, signal).unwrap();
    }

    /// Waits for it to exit; returns its status code, stdout and the whole of stderr.
    pub(crate) fn finish(mut self) -> (Option<i32>, String, String) {
        let status = self.child.wait().unwrap();
        self.done = true;
        let mut out = String::new();
        self.child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
        (status.code(), out, self.seen.join("\n"))
    }
}

pub(crate) fn info(dir: &Dir, file: &Path) -> Value {
    dir.eshm(&["info", file.to_str().unwrap(), "--json"]).json()
}

/// The channels of `info --json`, as (topic, type, messages).
pub(crate) fn channels(info: &Value) -> Vec<(String, String, u64)> {
    info["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["topic"].as_str().unwrap().to_owned(),
                c["type"].as_str().unwrap().to_owned(),
                c["messages"].as_u64().unwrap(),
            )
        })
        .collect()
}

pub(crate) fn file(dir: &Dir, name: &str) -> PathBuf {
    dir.path().join(name)
}
