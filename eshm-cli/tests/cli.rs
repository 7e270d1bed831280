//! The `eshm` command against real publishers, subscribers and channels in other processes,
//! each test in a segment directory of its own (`ESHM_SHM_DIR`).
//!
//! This binary has its own `main` (no libtest): with `ESHM_TEST_CHILD_ROLE` set it plays a
//! child role instead. Run one test with `cargo test -p eshm-cli --test cli -- <substring>`.

use common::{Dir, Run, entry};
use eshm::channel::{Channel, Role};
use eshm::msg::{Pose, Quaternion, Vector3};
use eshm::{Publisher, Subscriber};
use eshm_tests::{read_parent_line, wait_for_parent};
use serde_json::{Value, json};
use std::time::Duration;

mod common;

// ---------------------------------------------------------------------------------------------
// Child roles (they find the segment directory in their environment).

fn pose(i: u64) -> Pose {
    let f = i as f64;
    Pose { position: Vector3 { x: f, y: -f, z: 0.5 }, orientation: Quaternion::IDENTITY }
}

/// `publisher NAME COUNT`: creates a `Pose` topic; once the parent says `go`, publishes
/// `pose(0..COUNT)`; keeps the topic until the parent releases it.
fn child_publisher(args: &[String]) {
    let mut publisher = Publisher::<Pose>::create(&args[0]).expect("create");
    println!("ready");
    if read_parent_line() == "go" {
        for i in 0..args[1].parse().unwrap() {
            publisher.publish(&pose(i)).unwrap();
            std::thread::sleep(Duration::from_millis(2));
        }
        println!("published");
    }
    wait_for_parent();
}

/// `subscriber NAME`: receives one `Pose` and prints it.
fn child_subscriber(args: &[String]) {
    let mut sub = Subscriber::<Pose>::open(&args[0]).expect("subscribe");
    println!("ready");
    let p = sub.recv_timeout(Duration::from_secs(60)).expect("receive");
    println!("got x={} y={} z={} w={}", p.position.x, p.position.y, p.position.z, p.orientation.w);
}

/// `channel NAME`: both ends of a channel, one message from the master queued, until released.
fn child_channel(args: &[String]) {
    let master = Channel::open(&args[0], Role::Master).expect("open channel");
    let _slave = Channel::open(&args[0], Role::Slave).expect("attach to channel");
    master.write(b"hello").unwrap();
    println!("ready");
    wait_for_parent();
}

/// `slices NAME`: a `[u16]` topic of at most 1000 elements (inline) and a `[u8]` topic of at
/// most 1 MiB (pooled, NAME + "/frames"); once told `go`, publishes [1, 2, 3] and 0..20 on the
/// first and a 300 KiB frame on the second, holds two samples of the frames topic from a
/// subscriber of its own, prints `holding`, and keeps everything until released.
fn child_slices(args: &[String]) {
    let mut short = Publisher::<[u16]>::builder(&args[0]).max_len(1000).create().unwrap();
    let frames_name = format!("{}/frames", args[0]);
    let mut frames = Publisher::<[u8]>::builder(&frames_name).max_len(1 << 20).create().unwrap();
    let mut holder = Subscriber::<[u8]>::open(&frames_name).unwrap();
    println!("ready");
    if read_parent_line() == "go" {
        short.publish(&[1, 2, 3]).unwrap();
        short.publish(&(0..20).collect::<Vec<u16>>()).unwrap();
        frames.publish(&vec![7u8; 300 << 10]).unwrap();
        frames.publish(&[1, 2]).unwrap();
        let a = holder.recv_ref_timeout(Duration::from_secs(60)).unwrap();
        let b = holder.recv_ref_timeout(Duration::from_secs(60)).unwrap();
        println!("holding");
        wait_for_parent();
        drop((a, b));
    }
}

// ---------------------------------------------------------------------------------------------
// Tests.

fn list_shows_topics_and_channels_with_their_owners() {
    let dir = Dir::new("list");
    assert_eq!(
        dir.eshm(&["list"]).expect(0).trim(),
        format!("no eshm topics or channels in {}", dir.path().display())
    );
    let mut publisher = dir.child("publisher", &["robot/pose", "0"]);
    publisher.expect_line("ready");
    let mut channel = dir.child("channel", &["robot/control"]);
    channel.expect_line("ready");

    let list = dir.eshm(&["list", "--json"]).json();
    let topic = entry(&list, "robot/pose");
    assert_eq!(topic["kind"], "topic");
    assert_eq!(topic["type"], "Pose");
    assert_eq!(topic["owner_pid"], json!(publisher.pid()));
    assert_eq!(topic["alive"], true);
    assert_eq!(topic["state"], "live");
    assert_eq!(topic["message_size"], 56);
    assert_eq!(
        topic["fingerprint"],
        format!("{:#018x}", <Pose as eshm::Message>::SCHEMA.fingerprint())
    );
    let chan = entry(&list, "robot/control");
    assert_eq!(
        (&chan["kind"], &chan["type"], &chan["alive"]),
        (&json!("channel"), &json!("bytes"), &json!(true))
    );
    assert_eq!(chan["owner_pid"], json!(channel.pid()));
    assert_eq!(chan["channel"]["master_to_slave"]["pending"], 1);
    assert_eq!(chan["channel"]["slave"]["pid"], json!(channel.pid()));
    assert_eq!(chan["channel"]["slave"]["alive"], true);

    let table = dir.eshm(&["list"]).expect(0).to_owned();
    assert!(table.starts_with("KIND"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("topic") && l.contains("robot/pose") && l.contains("Pose"))
    );
    let topics_only = dir.eshm(&["list", "--kind", "topic", "--json"]).json();
    assert_eq!(topics_only.as_array().unwrap().len(), 1);

    let info = dir.eshm(&["info", "robot/pose"]).expect(0).to_owned();
    assert!(info.contains(&format!("pid {} (alive)", publisher.pid())), "{info}");
    assert!(info.contains("struct Pose {  // 56 bytes, align 8"), "{info}");
    let info = dir.eshm(&["info", "robot/control", "--json"]).json();
    assert_eq!(info["channel"]["master"]["pid"], json!(channel.pid()));
    assert_eq!(info["channel"]["master_to_slave"]["bytes_written"], 5);
}

fn echo_prints_each_message_decoded_through_the_header_schema() {
    let dir = Dir::new("echo");
    let mut publisher = dir.child("publisher", &["robot/pose", "5"]);
    publisher.expect_line("ready");
    let echo = dir
        .command(&["echo", "robot/pose", "--count", "5", "--json"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    dir.wait_for_reader("robot/pose");
    publisher.send("go");
    let out = echo.wait_with_output().unwrap();
    let run = Run::from(out, &["echo"]);
    let lines: Vec<Value> =
        run.expect(0).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let expected: Vec<Value> = (0..5)
        .map(|i| {
            let f = i as f64;
            json!({"position": {"x": f, "y": -f, "z": 0.5}, "orientation": {"x": 0.0, "y": 0.0, "z": 0.0, "w": 1.0}})
        })
        .collect();
    assert_eq!(lines, expected);
    // Keys in the order of the struct's fields.
    assert!(
        run.stdout.starts_with(r#"{"position":{"x":0.0,"y":-0.0,"z":0.5},"orientation""#),
        "{}",
        run.stdout
    );

    // Text, and history: the last message is still in the ring.
    let text = dir.eshm(&["echo", "robot/pose", "--once", "--history", "1"]);
    assert_eq!(
        text.expect(0).trim(),
        "Pose { position: Vector3 { x: 4.0, y: -4.0, z: 0.5 }, orientation: Quaternion { x: 0.0, y: 0.0, z: 0.0, w: 1.0 } }"
    );
    let quiet = dir.eshm(&["echo", "robot/pose", "--timeout", "0.05"]);
    quiet.expect(7);
    assert!(quiet.stderr.contains("no message on \"robot/pose\""), "{}", quiet.stderr);
}

fn slice_topics_are_shown_with_their_lengths_and_held_samples() {
    let dir = Dir::new("slices");
    let mut publisher = dir.child("slices", &["scan"]);
    publisher.expect_line("ready");
    let json = dir
        .command(&["echo", "scan", "--count", "2", "--json"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let text = dir
        .command(&["echo", "scan", "--count", "2"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    while dir.eshm(&["info", "scan", "--json"]).json()["readers"] != 2 {
        std::thread::sleep(Duration::from_millis(5));
    }
    publisher.send("go");
    publisher.expect_line("holding");
    let json = Run::from(json.wait_with_output().unwrap(), &["echo", "--json"]);
    let lines: Vec<Value> =
        json.expect(0).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines, [json!([1, 2, 3]), json!((0..20).collect::<Vec<u16>>())]);
    let text = Run::from(text.wait_with_output().unwrap(), &["echo"]);
    assert_eq!(
        text.expect(0),
        "len 3: [1, 2, 3]\nlen 20: [0, 1, 2, 3, 4, 5, 6, 7, ... (12 more)]\n"
    );
    let info = dir.eshm(&["info", "scan"]);
    assert!(info.expect(0).contains("messages of up to"), "{}", info.stdout);
    assert!(info.stdout.contains("[u16]  // 0 to 1000 elements"), "{}", info.stdout);
    // The frames topic: in a pool, two samples held by the child.
    let frames = dir.eshm(&["info", "scan/frames", "--json"]).json();
    assert_eq!(frames["type"], "[u8]");
    assert_eq!(frames["pool"]["held_samples"], 4);
    assert_eq!(
        frames["pool"]["holders"],
        json!([{"pid": publisher.pid(), "samples": 2, "alive": true}])
    );
    let text = dir.eshm(&["info", "scan/frames"]);
    assert!(text.expect(0).contains("samples held 2 of 4"), "{}", text.stdout);
    assert!(text.stdout.contains(&format!("held by    pid {}: 2 sample(s)", publisher.pid())));
    // Publishing onto a slice topic (its publisher dead, so that `pub` may take it over).
    publisher.kill();
    dir.eshm(&["pub", "scan", "--json", "[5, 6]"]).expect(0);
    let echoed = dir.eshm(&["echo", "scan", "--once", "--history", "1", "--json"]);
    assert_eq!(echoed.expect(0).trim(), "[5,6]");
    let too_many = dir.eshm(&["pub", "scan", "--json", &format!("{:?}", vec![0; 1001])]);
    assert!(too_many.stderr.contains("at most 1000 items"), "{}", too_many.stderr);
}

fn missing_names_fail_with_suggestions_unless_waited_for() {
    let dir = Dir::new("missing");
    let run = dir.eshm(&["echo", "robot/pose"]);
    run.expect(3);
    assert!(
        run.stderr.contains("no topic named \"robot/pose\" (there is none in"),
        "{}",
        run.stderr
    );

    // --wait: the topic may come later. The publisher starts only once `echo` says it waits
    // (so the topic is created after it), and without --history only a message published
    // after `echo` attached can reach it.
    let mut waiting = dir
        .command(&["echo", "robot/pose", "--wait", "--count", "2", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(waiting.stderr.take().unwrap());
    let mut said = String::new();
    std::io::BufRead::read_line(&mut stderr, &mut said).unwrap();
    assert!(said.starts_with("eshm: waiting for topic \"robot/pose\""), "{said}");
    let mut publisher = dir.child("publisher", &["robot/pose", "2"]);
    publisher.expect_line("ready");
    publisher.send("go");
    publisher.expect_line("published");
    let run = Run::from(waiting.wait_with_output().unwrap(), &["echo --wait"]);
    let xs: Vec<Value> = run
        .expect(0)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["position"]["x"].clone())
        .collect();
    assert_eq!(xs, [json!(0.0), json!(1.0)], "both messages, in order");

    for args in [&["echo", "robot/pos"][..], &["info", "robot/pos"], &["hz", "robot/poses"]] {
        let run = dir.eshm(args);
        run.expect(3);
        assert!(run.stderr.contains("did you mean \"robot/pose\"?"), "{}", run.stderr);
    }
    let run = dir.eshm(&["info", "robot/pose", "--kind", "channel"]);
    run.expect(3);
    assert!(run.stderr.contains("(there is a topic of that name)"), "{}", run.stderr);
    let long = "x".repeat(300);
    let run = dir.eshm(&["echo", &long]);
    run.expect(2);
    assert!(run.stderr.contains("more than the 255 a file name can hold"), "{}", run.stderr);
}

fn pub_json_reaches_a_typed_subscriber() {
    let dir = Dir::new("pub");
    let mut sub = dir.child("subscriber", &["robot/pose"]);
    sub.expect_line("ready");
    let run = dir.eshm(&[
        "pub",
        "robot/pose",
        "--type",
        "Pose",
        "--json",
        r#"{"position": {"x": 1.5, "y": -2}, "orientation": {"w": 1}}"#,
    ]);
    assert_eq!(run.expect(0).trim(), "published 1 message(s) of `Pose` on \"robot/pose\"");
    assert_eq!(sub.expect_line("got"), "got x=1.5 y=-2 z=0 w=1");

    // The topic stays (closed): a later pub --json needs no --type, and a subscriber that
    // arrives after it still gets the message.
    let mut sub = dir.child("subscriber", &["robot/pose"]);
    sub.expect_line("ready");
    dir.eshm(&["pub", "robot/pose", "--json", r#"{"position": {"z": 7}}"#]).expect(0);
    assert_eq!(sub.expect_line("got"), "got x=0 y=0 z=7 w=0");

    // Primitive topics, with the value on the command line.
    dir.eshm(&["pub", "speed", "--type", "f32", "--", "-2.5"]).expect(0);
    let echo = dir.eshm(&["echo", "speed", "--once", "--history", "1", "--json"]);
    assert_eq!(echo.expect(0).trim(), "-2.5");

    // Mistakes.
    let run = dir.eshm(&["pub", "robot/pose", "--type", "f64", "1"]);
    run.expect(4);
    assert!(run.stderr.contains("carries `Pose`, not `f64`"), "{}", run.stderr);
    let run = dir.eshm(&["pub", "robot/pose", "--json", r#"{"position": {"w": 1}}"#]);
    run.expect(2);
    assert!(run.stderr.contains("position: `Vector3` has no field `w`"), "{}", run.stderr);
    let run = dir.eshm(&["pub", "other", "--type", "Pos", "--json", "{}"]);
    run.expect(2);
    assert!(run.stderr.contains("did you mean `Pose`?"), "{}", run.stderr);
    let run = dir.eshm(&["pub", "speed", "--type", "u8", "300"]);
    run.expect(4); // the topic carries f32
    let run = dir.eshm(&["pub", "new", "--type", "u8", "300"]);
    run.expect(2);
    assert!(run.stderr.contains("300 is out of range for u8"), "{}", run.stderr);
    let run = dir.eshm(&["pub", "nothing", "--json", "1"]);
    run.expect(3);
    assert!(run.stderr.contains("give its type"), "{}", run.stderr);

    // A topic with a live publisher is its publisher's.
    let mut publisher = dir.child("publisher", &["busy", "0"]);
    publisher.expect_line("ready");
    let run = dir.eshm(&["pub", "busy", "--json", "{}"]);
    run.expect(6);
    assert!(run.stderr.contains(&publisher.pid().to_string()), "{}", run.stderr);
}

fn clean_removes_what_dead_owners_left_and_nothing_else() {
    let dir = Dir::new("clean");
    let mut live = dir.child("publisher", &["live", "0"]);
    live.expect_line("ready");
    let mut dead = dir.child("publisher", &["dead", "0"]);
    dead.expect_line("ready");
    dead.kill();
    assert_eq!(dir.files(), ["eshm.topic.dead", "eshm.topic.live"]);
    let list = dir.eshm(&["list", "--json"]).json();
    assert_eq!(
        (&entry(&list, "dead")["state"], &entry(&list, "dead")["alive"]),
        (&json!("dead"), &json!(false))
    );

    let dry = dir.eshm(&["clean", "--dry-run"]);
    let out = dry.expect(0);
    assert!(
        out.contains(&format!("would remove topic \"dead\": owner process {} is dead", dead.pid())),
        "{out}"
    );
    assert!(out.contains(&format!("(owner pid {} is alive)", live.pid())), "{out}");
    assert!(out.ends_with("would remove 1, kept 1, skipped 0, failed 0\n"), "{out}");
    assert_eq!(dir.files().len(), 2, "a dry run removes nothing");

    assert!(dir.eshm(&["clean"]).expect(0).ends_with("removed 1, kept 1, skipped 0, failed 0\n"));
    assert_eq!(dir.files(), ["eshm.topic.live"]);
    let list = dir.eshm(&["list", "--json"]).json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(entry(&list, "live")["alive"], true);
}

fn a_corrupt_segment_is_reported_not_trusted() {
    let dir = Dir::new("corrupt");
    let file = dir.path().join("eshm.topic.broken");
    std::fs::write(&file, vec![0xA5; 4096]).unwrap();
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();

    let list = dir.eshm(&["list", "--json"]).json();
    let broken = entry(&list, "broken");
    assert_eq!(broken["state"], "corrupt");
    assert!(broken["problem"].as_str().is_some_and(|p| !p.is_empty()), "{broken}");
    assert!(dir.eshm(&["list"]).expect(0).contains("corrupt"));

    let info = dir.eshm(&["info", "broken"]);
    assert!(info.expect(4).contains("problem"), "{}", info.stdout);
    let echo = dir.eshm(&["echo", "broken"]);
    echo.expect(4);
    assert!(echo.stderr.contains("unusable"), "{}", echo.stderr);

    let clean = dir.eshm(&["clean"]);
    clean.expect(1);
    assert!(clean.stderr.contains("--include-corrupt"), "{}", clean.stderr);
    assert!(
        dir.eshm(&["clean", "--include-corrupt"]).expect(0).contains("removed topic \"broken\"")
    );
    assert!(dir.files().is_empty());
}

fn hz_reports_the_rate_and_losses() {
    let dir = Dir::new("hz");
    let mut publisher = dir.child("publisher", &["robot/pose", "100"]);
    publisher.expect_line("ready");
    let hz = dir
        .command(&["hz", "robot/pose", "--count", "100"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    dir.wait_for_reader("robot/pose");
    publisher.send("go");
    let run = Run::from(hz.wait_with_output().unwrap(), &["hz"]);
    let out = run.expect(0);
    let last = out.lines().last().unwrap();
    assert!(last.starts_with("total: 100 messages in"), "{out}");
    assert!(last.ends_with(", 0 lost"), "{out}");
    let report = out.lines().rev().nth(1).unwrap();
    assert!(
        report.starts_with("rate ")
            && report.contains("jitter (std dev)")
            && report.ends_with("lost 0"),
        "{out}"
    );
}

fn a_segment_others_may_write_exits_with_status_5() {
    let dir = Dir::new("permission");
    dir.eshm(&["pub", "speed", "--type", "f64", "1.5"]).expect(0);
    let file = dir.path().join("eshm.topic.speed");
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o666)).unwrap();
    let echo = dir.eshm(&["echo", "speed", "--once", "--history", "1"]);
    echo.expect(5);
    assert!(echo.stderr.contains("its mode is 0666"), "{}", echo.stderr);
    let hz = dir.eshm(&["hz", "speed", "--count", "1"]);
    hz.expect(5);
}

/// Field 22 of `/proc/<pid>/stat`: when the process started.
fn start_time(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    stat[stat.rfind(')').unwrap() + 1..].split_whitespace().nth(19).unwrap().parse().unwrap()
}

/// `eshm info` shows what bridges' status files say about a topic (a running bridge, and the
/// last word of one that stopped), escapes what they contain, and ignores files of another
/// format or that name another process than their file name.
fn info_shows_what_bridges_say_about_a_topic() {
    let dir = Dir::new("bridged");
    dir.eshm(&["pub", "speed", "--type", "f64", "1.5"]).expect(0);
    let me = std::process::id();
    let imported = json!({ "speed": {
        "type": "f64", "fingerprint": "0x1", "state": "republishing", "received": 10,
        "republished": 9, "lost_network": 3, "lost_at_source": 2, "dropped_type_conflict": 0,
        "dropped_publisher_conflict": 0, "dropped_invalid": 1, "dropped_no_schema": 0,
        "dropped_own": 0, "duplicates": 0, "origins": ["ab"] } });
    let status = |pid: u32, start: u64, format: &str, id: &str, role: &str| json!({ "format": format, "pid": pid, "start_time": start, "id": id, role: imported });
    let plant = |file_pid: u32, v: Value| {
        std::fs::write(dir.path().join(format!("eshm.bridge.{file_pid}.json")), v.to_string())
            .unwrap();
    };
    let running = start_time(me);
    plant(me, status(me, running, "eshm-bridge-status/1", "\u{1b}[31mred", "imported"));
    // A bridge that stopped without removing its file (its start time is not this process's).
    plant(1, status(1, running + 1, "eshm-bridge-status/1", "old", "exposed"));
    // Not ours, or lying about its process: ignored.
    plant(2, status(2, 0, "something-else/1", "x", "imported"));
    plant(3, status(4, 0, "eshm-bridge-status/1", "x", "imported"));

    let text = dir.eshm(&["info", "speed"]).expect(0).to_owned();
    assert!(
        text.contains(&format!("imported by bridge pid {me} (running), id \\u{{1b}}[31mred"))
            && text.contains(
                "received 10, republished 9; lost on the network 3, lost on the source host 2"
            )
            && text.contains("invalid 1")
            && text.contains("exposed by bridge pid 1 (not running: its last status), id old"),
        "{text}"
    );
    assert!(!text.contains('\u{1b}'), "an escape reached the terminal: {text:?}");
    let bridges = dir.eshm(&["info", "speed", "--json"]).json()["bridges"].clone();
    let bridges = bridges.as_array().unwrap();
    assert_eq!(bridges.len(), 2, "{bridges:?}");
    assert_eq!(
        (&bridges[0]["pid"], &bridges[0]["alive"], &bridges[0]["role"]),
        (&json!(1), &json!(false), &json!("exposed"))
    );
    assert_eq!((&bridges[1]["alive"], &bridges[1]["lost_network"]), (&json!(true), &json!(3)));
}

fn main() {
    eshm_tests::run_main(
        &[
            ("publisher", child_publisher as eshm_tests::ChildRole),
            ("subscriber", child_subscriber),
            ("channel", child_channel),
            ("slices", child_slices),
        ],
        eshm_tests::named_tests![
            list_shows_topics_and_channels_with_their_owners,
            echo_prints_each_message_decoded_through_the_header_schema,
            slice_topics_are_shown_with_their_lengths_and_held_samples,
            missing_names_fail_with_suggestions_unless_waited_for,
            pub_json_reaches_a_typed_subscriber,
            clean_removes_what_dead_owners_left_and_nothing_else,
            a_corrupt_segment_is_reported_not_trusted,
            hz_reports_the_rate_and_losses,
            a_segment_others_may_write_exits_with_status_5,
            info_shows_what_bridges_say_about_a_topic,
        ],
    );
}
