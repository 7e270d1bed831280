//! `eshm record`, `eshm play` and `eshm info FILE.mcap` against publishers and subscribers
//! in other processes, each test in a segment directory of its own (`ESHM_SHM_DIR`). What
//! third-party decoders make of the files is checked by `eshm-py/tests/test_mcap.py`.
//!
//! This binary has its own `main` (no libtest): with `ESHM_TEST_CHILD_ROLE` set it plays a
//! child role. Run one test with `cargo test -p eshm-cli --test record -- <substring>`.

use common::{Dir, Run};
use eshm::msg::{Pose, Quaternion, Vector3};
use eshm::{Message, Publisher, Subscriber};
use eshm_tests::{read_parent_line, wait_for_parent};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

mod common;

// ---------------------------------------------------------------------------------------------
// A message with nested structs, arrays of structs, a nested array and enums.

#[derive(Clone, Copy, Debug, PartialEq, Eq, eshm::Message)]
#[repr(u8)]
enum Gear {
    Park = 0,
    Drive = 1,
    Reverse = 7,
}

#[derive(Clone, Copy, Debug, PartialEq, eshm::Message)]
#[repr(C)]
struct Frame {
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

fn frame(i: u64) -> Frame {
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

/// `frames NAME COUNT`: creates topic NAME (`Frame`) and NAME/speed (`f64`); once the parent
/// says `go`, publishes COUNT of each, 10 ms apart; keeps them until released.
fn child_frames(args: &[String]) {
    let mut frames = Publisher::<Frame>::create(&args[0]).expect("create");
    let mut speed = Publisher::<f64>::create(&format!("{}/speed", args[0])).expect("create");
    println!("ready");
    if read_parent_line() == "go" {
        for i in 0..args[1].parse().unwrap() {
            frames.publish(&frame(i)).unwrap();
            speed.publish(&(i as f64 * 0.5)).unwrap();
            std::thread::sleep(Duration::from_millis(10));
        }
        println!("published");
    }
    wait_for_parent();
}

/// `publish TYPE NAME FROM COUNT`: publishes COUNT messages of TYPE (`pose` or `f64`) valued
/// FROM.. on NAME, 2 ms apart, then waits to be released.
fn child_publish(args: &[String]) {
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
        _ => {
            let mut p = Publisher::<f64>::create(&args[1]).expect("create");
            for i in from..from + count {
                p.publish(&(i as f64)).unwrap();
                std::thread::sleep(Duration::from_millis(2));
            }
            println!("published");
            wait_for_parent();
        }
    }
}

/// `burst NAME CAPACITY COUNT`: an `f64` topic with a ring of CAPACITY messages; once the
/// parent says `go`, publishes 0..COUNT at once.
fn child_burst(args: &[String]) {
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

/// `receive NAME COUNT`: a typed `Frame` subscriber; prints `match` if it receives
/// `frame(0..COUNT)` in order, else the first difference.
fn child_receive(args: &[String]) {
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
struct Background {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Background {
    fn start(dir: &Dir, args: &[&str]) -> Background {
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
        Background { child, lines, seen: Vec::new() }
    }

    /// Waits for a stderr line containing `text` (at most `CHILD_PATIENCE` in all: the
    /// progress lines keep coming).
    fn wait_for(&mut self, text: &str) -> String {
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

    fn signal(&self, signal: rustix::process::Signal) {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).unwrap();
        rustix::process::kill_process(pid, signal).unwrap();
    }

    /// Waits for it to exit; returns its status code, stdout and the whole of stderr.
    fn finish(mut self) -> (Option<i32>, String, String) {
        let status = self.child.wait().unwrap();
        let mut out = String::new();
        self.child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
        (status.code(), out, self.seen.join("\n"))
    }
}

fn info(dir: &Dir, file: &Path) -> Value {
    dir.eshm(&["info", file.to_str().unwrap(), "--json"]).json()
}

/// The channels of `info --json`, as (topic, type, messages).
fn channels(info: &Value) -> Vec<(String, String, u64)> {
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

fn file(dir: &Dir, name: &str) -> PathBuf {
    dir.path().join(name)
}

// ---------------------------------------------------------------------------------------------
// Tests.

fn nested_and_scalar_topics_are_recorded_and_played_to_a_typed_subscriber() {
    const N: u64 = 60;
    let dir = Dir::new("record-play");
    let out = file(&dir, "run.mcap");
    let mut publisher = dir.child("frames", &["robot/frame", &N.to_string()]);
    publisher.expect_line("ready");
    let mut rec = Background::start(&dir, &["record", "-o", out.to_str().unwrap(), "robot/**"]);
    rec.wait_for("2 topic(s) now");
    publisher.send("go");
    publisher.expect_line("published");
    rec.wait_for("recording 1.0 s | robot/frame ");
    rec.signal(rustix::process::Signal::INT);
    let (code, stdout, stderr) = rec.finish();
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.starts_with(&format!("recorded {} messages", 2 * N)), "{stdout}");
    assert!(stdout.contains(", 0 lost; interrupted"), "{stdout}");
    assert!(
        stderr.contains("recording ") && stderr.contains(" | robot/frame "),
        "a progress line: {stderr}"
    );
    drop(publisher);

    let info = info(&dir, &out);
    assert_eq!(info["finished"], true, "{info:#}");
    assert_eq!(info["messages"], 2 * N);
    assert_eq!(info["lost"], 0);
    assert_eq!(
        channels(&info),
        [
            ("robot/frame".to_owned(), "Frame".to_owned(), N),
            ("robot/frame/speed".to_owned(), "f64".to_owned(), N)
        ]
    );
    assert_eq!(
        info["channels"][0]["fingerprint"],
        format!("{:#018x}", Frame::SCHEMA.fingerprint())
    );
    assert_eq!(info["metadata"]["eshm.recording"]["stopped_by"], "signal");
    let text = dir.eshm(&["info", out.to_str().unwrap()]).expect(0).to_owned();
    assert!(text.contains("state        finished") && text.contains("robot/frame/speed"), "{text}");

    // Played into a typed subscriber, which is there first, at twice the speed.
    let span = info["duration_s"].as_f64().unwrap();
    let mut receiver = dir.child("receive", &["robot/frame", &N.to_string()]);
    receiver.expect_line("ready");
    let started = Instant::now();
    let play = dir.eshm(&["play", out.to_str().unwrap(), "--rate", "2"]);
    let took = started.elapsed().as_secs_f64();
    let said = play.expect(0);
    assert!(said.starts_with(&format!("played {} messages", 2 * N)), "{said}");
    assert_eq!(receiver.expect_line("match"), "match, lost 0");
    // Paced: never faster than --rate allows (a lower bound only: the machine is shared).
    assert!(took >= span / 2.0 * 0.8, "played {span:.3} s of recording in {took:.3} s at --rate 2");

    // Only some topics, and a pattern that matches none.
    let play = dir.eshm(&[
        "play",
        out.to_str().unwrap(),
        "--topics",
        "robot/frame/speed",
        "--rate",
        "100",
    ]);
    assert!(play.expect(0).starts_with(&format!("played {N} messages")), "{}", play.stdout);
    let play = dir.eshm(&["play", out.to_str().unwrap(), "--topics", "nothing/*"]);
    play.expect(3);
    assert!(
        play.stderr
            .contains("has no topic matching nothing/*; it has: robot/frame robot/frame/speed"),
        "{}",
        play.stderr
    );
    // --start/--end: seconds from the first message.
    let play = dir.eshm(&["play", out.to_str().unwrap(), "--start", "1000"]);
    assert!(play.expect(0).starts_with("played 0 messages"), "{}", play.stdout);
    let play = dir.eshm(&["play", out.to_str().unwrap(), "--end", "0", "--topics", "robot/frame"]);
    assert!(play.expect(0).starts_with("played 1 messages"), "{}", play.stdout);
    // --loop: round after round until Ctrl-C.
    let mut looping = Background::start(
        &dir,
        &["play", out.to_str().unwrap(), "--loop", "--rate", "50", "--topics", "robot/frame"],
    );
    looping.wait_for("playing 1.0 s | robot/frame ");
    looping.signal(rustix::process::Signal::INT);
    let (code, stdout, stderr) = looping.finish();
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let rounds: u64 =
        stdout.split(" rounds").next().unwrap().rsplit(' ').next().unwrap().parse().unwrap();
    assert!(rounds >= 2 && stdout.lines().next().unwrap().ends_with("; interrupted"), "{stdout}");
}

fn a_restart_continues_its_channel_and_a_type_change_starts_a_new_one() {
    let dir = Dir::new("record-restart");
    let out = file(&dir, "run.mcap");
    let mut rec = Background::start(&dir, &["record", "-o", out.to_str().unwrap(), "--overwrite"]);
    rec.wait_for("0 topic(s) now");
    // Three publishers in turn: two of Pose (a restart), then one of f64 (a new type).
    let mut first = dir.child("publish", &["pose", "t", "0", "5"]);
    first.expect_line("published");
    rec.wait_for("recording \"t\" (Pose)");
    first.kill();
    let mut second = dir.child("publish", &["pose", "t", "5", "5"]);
    second.expect_line("published");
    second.kill();
    // (Before the next publisher replaces it: a publisher of the old type that comes and goes
    // unseen before a type change is beyond what the recorder can count.)
    rec.wait_for("| total 10 msgs");
    let mut third = dir.child("publish", &["f64", "t", "10", "5"]);
    third.expect_line("published");
    rec.wait_for("recording \"t\" (f64)");
    // Everything published is received before the stop.
    rec.wait_for("| total 15 msgs");
    rec.signal(rustix::process::Signal::TERM);
    let (code, stdout, stderr) = rec.finish();
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stderr.contains("\"t\" was re-created with another type"), "{stderr}");
    assert!(stdout.contains("  t      Pose, f64        15"), "{stdout}");
    let info = info(&dir, &out);
    assert_eq!(
        channels(&info),
        [("t".to_owned(), "Pose".to_owned(), 10), ("t".to_owned(), "f64".to_owned(), 5)],
        "{info:#}"
    );

    // Played back: the topic ends with the last type, and its last value.
    let play = dir.eshm(&["play", out.to_str().unwrap()]);
    play.expect(6);
    assert!(play.stderr.contains("already has a live publisher"), "{}", play.stderr);
    third.kill();
    let play = dir.eshm(&["play", out.to_str().unwrap(), "--rate", "10"]);
    assert!(play.expect(0).contains("  t      Pose, f64        15"), "{}", play.stdout);
    let echo = dir.eshm(&["echo", "t", "--once", "--history", "1"]);
    assert_eq!(echo.expect(0).trim(), "14.0");
}

fn topics_that_appear_later_are_picked_up() {
    let dir = Dir::new("record-later");
    let out = file(&dir, "later.mcap");
    let mut rec =
        Background::start(&dir, &["record", "-o", out.to_str().unwrap(), "robot/*", "speed"]);
    rec.wait_for("0 topic(s) now");
    // Created after the recorder started, published at once: all messages are recorded
    // (the ring still holds them when the topic is found).
    let mut a = dir.child("publish", &["f64", "robot/a", "0", "20"]);
    let mut b = dir.child("publish", &["f64", "other/b", "0", "20"]);
    let mut c = dir.child("publish", &["pose", "speed", "0", "20"]);
    for p in [&mut a, &mut b, &mut c] {
        p.expect_line("published");
    }
    rec.wait_for("| total 40 msgs");
    rec.signal(rustix::process::Signal::INT);
    let (code, stdout, stderr) = rec.finish();
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let info = info(&dir, &out);
    assert_eq!(
        channels(&info)
            .into_iter()
            .map(|(t, _, n)| (t, n))
            .collect::<std::collections::BTreeMap<_, _>>(),
        [("robot/a".to_owned(), 20), ("speed".to_owned(), 20)].into_iter().collect()
    );
}

fn losses_are_counted_per_topic() {
    let dir = Dir::new("record-loss");
    let out = file(&dir, "loss.mcap");
    let mut p = dir.child("burst", &["fast", "4", "100"]);
    p.expect_line("ready");
    let mut rec = Background::start(&dir, &["record", "-o", out.to_str().unwrap(), "fast"]);
    rec.wait_for("1 topic(s) now");
    // The recorder stopped while 100 messages go through a ring of 4: it can read only the
    // last 4, and must count the other 96 as lost.
    rec.signal(rustix::process::Signal::STOP);
    p.send("go");
    p.expect_line("published");
    rec.signal(rustix::process::Signal::CONT);
    rec.wait_for("(96 lost) | total 4 msgs");
    rec.signal(rustix::process::Signal::INT);
    let (code, stdout, stderr) = rec.finish();
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("recorded 4 messages") && stdout.contains(", 96 lost;"), "{stdout}");
    assert!(stdout.contains("  fast   f64          4  0.00    96"), "{stdout}");
    let info = info(&dir, &out);
    assert_eq!(
        (&info["lost"], &info["lost_per_topic"]["fast"]),
        (&json!(96), &json!(96)),
        "{info:#}"
    );
    assert_eq!(info["metadata"]["eshm.recording"]["lost"], "96");
    assert_eq!(info["channels"][0]["lost"], 96);
    // Sequence numbers are eshm's: the gap shows where the loss was.
    let bytes = std::fs::read(&out).unwrap();
    let sequences: Vec<u32> =
        mcap::MessageStream::new(&bytes).unwrap().map(|m| m.unwrap().sequence).collect();
    assert_eq!(sequences, [97, 98, 99, 100]);
}

fn a_stop_records_what_was_published_before_it() {
    let dir = Dir::new("record-stop");
    let out = file(&dir, "stop.mcap");
    let mut p = dir.child("burst", &["burst", "64", "50"]);
    p.expect_line("ready");
    let mut rec = Background::start(&dir, &["record", "-o", out.to_str().unwrap(), "burst"]);
    rec.wait_for("1 topic(s) now");
    // Published while the recorder sleeps; Ctrl-C reaches it before it reads them.
    rec.signal(rustix::process::Signal::STOP);
    p.send("go");
    p.expect_line("published");
    rec.signal(rustix::process::Signal::INT);
    rec.signal(rustix::process::Signal::CONT);
    let (code, stdout, stderr) = rec.finish();
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.starts_with("recorded 50 messages") && stdout.contains(", 0 lost;"), "{stdout}");
    assert_eq!(info(&dir, &out)["messages"], 50);
}

fn duration_count_and_a_kill_end_a_recording() {
    let dir = Dir::new("record-end");
    let mut p = dir.child("publish", &["f64", "x", "0", "2000"]);
    // --count: exactly that many.
    let out = file(&dir, "count.mcap");
    let run = dir.eshm(&["record", "-o", out.to_str().unwrap(), "x", "--count", "5"]);
    assert!(
        run.expect(0).contains("recorded 5 messages") && run.stdout.contains("--count reached"),
        "{}",
        run.stdout
    );
    assert_eq!(info(&dir, &out)["messages"], 5);
    // --duration.
    let out2 = file(&dir, "duration.mcap");
    let run = dir.eshm(&["record", "-o", out2.to_str().unwrap(), "--duration", "0.3"]);
    assert!(run.expect(0).contains("--duration reached"), "{}", run.stdout);
    assert_eq!(info(&dir, &out2)["finished"], true);
    // An existing file is kept unless --overwrite.
    let run = dir.eshm(&["record", "-o", out.to_str().unwrap(), "--count", "1"]);
    run.expect(2);
    assert!(run.stderr.contains("(--overwrite replaces it)"), "{}", run.stderr);
    p.kill();

    // SIGKILL: no summary, but what was written before the last second is readable.
    let out3 = file(&dir, "killed.mcap");
    let mut p = dir.child("publish", &["f64", "y", "0", "100000"]);
    let mut rec = Background::start(&dir, &["record", "-o", out3.to_str().unwrap(), "y"]);
    rec.wait_for("recording 2.0 s");
    rec.wait_for("recording 3.0 s");
    rec.signal(rustix::process::Signal::KILL);
    let (code, _, _) = rec.finish();
    assert_eq!(code, None, "killed");
    p.kill();
    let run = dir.eshm(&["info", out3.to_str().unwrap(), "--json"]);
    run.expect(4);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["finished"], false);
    let readable = report["messages"].as_u64().unwrap();
    assert!(readable > 0, "{report:#}");
    let problem = report["problem"].as_str().unwrap();
    assert!(
        problem.contains("not finished") && problem.contains("messages are readable"),
        "{problem}"
    );
    assert!(run.stderr.contains("is not finished"), "{}", run.stderr);
    let play = dir.eshm(&["play", out3.to_str().unwrap(), "--rate", "1000"]);
    assert!(play.expect(0).starts_with(&format!("played {readable} messages")), "{}", play.stdout);
    assert!(play.stderr.contains("reading stopped after"), "{}", play.stderr);
}

/// Files crafted with the `mcap` crate: what `play` refuses, and what it skips.
fn play_refuses_altered_files_and_skips_foreign_channels() {
    use std::collections::BTreeMap;
    let dir = Dir::new("record-crafted");
    let write = |name: &str, metadata: BTreeMap<String, String>, payload: &[u8]| {
        let path = file(&dir, name);
        let mut w = mcap::WriteOptions::new()
            .create(std::io::BufWriter::new(std::fs::File::create(&path).unwrap()))
            .unwrap();
        let schema = w.add_schema("eshm/msg/Float64", "ros2msg", b"float64 data\n").unwrap();
        let ch = w.add_channel(schema, "speed", "cdr", &metadata).unwrap();
        let header = mcap::records::MessageHeader {
            channel_id: ch,
            sequence: 1,
            log_time: 1,
            publish_time: 1,
        };
        w.write_to_known_channel(&header, payload).unwrap();
        w.write_to_known_channel(
            &mcap::records::MessageHeader { log_time: 2, ..header },
            &[0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 4, 64],
        )
        .unwrap();
        w.finish().unwrap();
        path
    };
    let eshm_metadata = |fingerprint: u64| {
        BTreeMap::from([
            ("eshm.schema".to_owned(), "010a".to_owned()),
            ("eshm.fingerprint".to_owned(), format!("{fingerprint:#018x}")),
        ])
    };
    let good = <f64 as Message>::SCHEMA.fingerprint();
    // A payload of the wrong length is skipped and counted; the other message plays.
    let short = write("short.mcap", eshm_metadata(good), &[0, 1, 0, 0, 1]);
    let play = dir.eshm(&["play", short.to_str().unwrap()]);
    assert!(
        play.expect(0).starts_with("played 1 messages") && play.stdout.contains(", 1 skipped"),
        "{}",
        play.stdout
    );
    assert!(
        play.stderr.contains("a payload of 5 bytes, where the schema gives 12"),
        "{}",
        play.stderr
    );
    assert_eq!(dir.eshm(&["echo", "speed", "--once", "--history", "1"]).expect(0).trim(), "2.5");
    // A schema that is not the one its fingerprint names: refused, nothing published.
    let altered =
        write("altered.mcap", eshm_metadata(good ^ 1), &[0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    let play = dir.eshm(&["play", altered.to_str().unwrap()]);
    play.expect(4);
    assert!(play.stderr.contains("altered or damaged; refusing to play it"), "{}", play.stderr);
    // A channel from another tool: skipped, said so.
    let foreign = write("foreign.mcap", BTreeMap::new(), &[0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    let play = dir.eshm(&["play", foreign.to_str().unwrap()]);
    assert!(play.expect(0).starts_with("played 0 messages"), "{}", play.stdout);
    assert!(
        play.stderr.contains("not playing channel 1 (\"speed\"): it has no eshm schema"),
        "{}",
        play.stderr
    );
}

fn info_tells_recordings_from_topics() {
    let dir = Dir::new("record-info");
    let not_mcap = file(&dir, "notes.txt");
    std::fs::write(&not_mcap, "hello").unwrap();
    let run = dir.eshm(&["info", not_mcap.to_str().unwrap()]);
    run.expect(4);
    assert!(run.stderr.contains("is not an MCAP file"), "{}", run.stderr);
    // The magic, then garbage: nothing readable, said so; nothing played.
    let garbage = file(&dir, "garbage.mcap");
    let mut bytes = mcap::MAGIC.to_vec();
    bytes.extend((0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    std::fs::write(&garbage, bytes).unwrap();
    let run = dir.eshm(&["info", garbage.to_str().unwrap()]);
    assert!(
        run.expect(4).contains("NOT FINISHED") && run.stdout.contains("0 messages are readable"),
        "{}",
        run.stdout
    );
    let play = dir.eshm(&["play", garbage.to_str().unwrap()]);
    assert!(play.expect(0).starts_with("played 0 messages"), "{}", play.stdout);
    let run = dir.eshm(&["info", "missing.mcap"]);
    run.expect(3);
    assert!(run.stderr.contains("cannot open missing.mcap"), "{}", run.stderr);
    // `--kind` makes it a topic name, whatever it looks like.
    let run: Run = dir.eshm(&["info", "missing.mcap", "--kind", "topic"]);
    run.expect(3);
    assert!(run.stderr.contains("no topic named \"missing.mcap\""), "{}", run.stderr);
}

fn main() {
    eshm_tests::run_main(
        &[
            ("frames", child_frames as eshm_tests::ChildRole),
            ("publish", child_publish),
            ("receive", child_receive),
            ("burst", child_burst),
        ],
        eshm_tests::named_tests![
            nested_and_scalar_topics_are_recorded_and_played_to_a_typed_subscriber,
            a_restart_continues_its_channel_and_a_type_change_starts_a_new_one,
            topics_that_appear_later_are_picked_up,
            losses_are_counted_per_topic,
            a_stop_records_what_was_published_before_it,
            duration_count_and_a_kill_end_a_recording,
            play_refuses_altered_files_and_skips_foreign_channels,
            info_tells_recordings_from_topics,
        ],
    );
}
