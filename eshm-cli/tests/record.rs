//! `eshm record`, `eshm play` and `eshm info FILE.mcap` against publishers and subscribers
//! in other processes, each test in a segment directory of its own (`ESHM_SHM_DIR`). What
//! third-party decoders make of the files is checked by `eshm-py/tests/test_mcap.py`.
//!
//! This binary has its own `main` (no libtest): with `ESHM_TEST_CHILD_ROLE` set it plays a
//! child role. Run one test with `cargo test -p eshm-cli --test record -- <substring>`.

use common::{Dir, Run};
use eshm::Message;
use serde_json::{Value, json};
use std::time::Instant;
use support::{Background, Frame, channels, file, info};

mod common;
#[path = "record/support.rs"]
mod support;

// ---------------------------------------------------------------------------------------------
// Tests.

fn nested_scalar_and_slice_topics_are_recorded_and_played_to_typed_subscribers() {
    const N: u64 = 60;
    let dir = Dir::new("record-play");
    let out = file(&dir, "run.mcap");
    let mut publisher = dir.child("frames", &["robot/frame", &N.to_string()]);
    publisher.expect_line("ready");
    let mut rec = Background::start(&dir, &["record", "-o", out.to_str().unwrap(), "robot/**"]);
    rec.wait_for("4 topic(s) now");
    publisher.send("go");
    publisher.expect_line("published");
    rec.wait_for("recording 1.0 s | robot/frame ");
    rec.signal(rustix::process::Signal::INT);
    let (code, stdout, stderr) = rec.finish();
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.starts_with(&format!("recorded {} messages", 4 * N)), "{stdout}");
    assert!(stdout.contains(", 0 lost; interrupted"), "{stdout}");
    drop(publisher);

    let info = info(&dir, &out);
    assert_eq!(info["finished"], true, "{info:#}");
    assert_eq!(info["messages"], 4 * N);
    assert_eq!(info["lost"], 0);
    let topic = |t: &str, ty: &str| (t.to_owned(), ty.to_owned(), N);
    assert_eq!(
        channels(&info),
        [
            topic("robot/frame", "Frame"),
            topic("robot/frame/points", "[Vector3]"),
            topic("robot/frame/scan", "[f32]"),
            topic("robot/frame/speed", "f64"),
        ]
    );
    assert_eq!(
        info["channels"][0]["fingerprint"],
        format!("{:#018x}", Frame::SCHEMA.fingerprint())
    );
    assert_eq!(info["channels"][2]["schema_name"], "eshm/msg/Float32Seq");
    assert_eq!(info["metadata"]["eshm.recording"]["stopped_by"], "signal");
    let text = dir.eshm(&["info", out.to_str().unwrap()]).expect(0).to_owned();
    assert!(text.contains("state        finished") && text.contains("robot/frame/speed"), "{text}");

    // Played into typed subscribers, which are there first, at twice the speed.
    let span = info["duration_s"].as_f64().unwrap();
    let mut receiver = dir.child("receive", &["robot/frame", &N.to_string()]);
    receiver.expect_line("ready");
    let mut slices = dir.child("receive_slices", &["robot/frame", &N.to_string()]);
    slices.expect_line("ready");
    let started = Instant::now();
    let play = dir.eshm(&["play", out.to_str().unwrap(), "--rate", "2"]);
    let took = started.elapsed().as_secs_f64();
    let said = play.expect(0);
    assert!(said.starts_with(&format!("played {} messages", 4 * N)), "{said}");
    assert_eq!(receiver.expect_line("match"), "match, lost 0");
    assert_eq!(slices.expect_line("match"), "match, lost 0");
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
        play.stderr.contains(
            "has no topic matching nothing/*; it has: robot/frame robot/frame/points robot/frame/scan robot/frame/speed"
        ),
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

fn a_slice_topic_with_longer_messages_continues_in_a_new_channel() {
    let dir = Dir::new("record-longer");
    let out = file(&dir, "longer.mcap");
    let mut rec = Background::start(&dir, &["record", "-o", out.to_str().unwrap(), "s"]);
    rec.wait_for("0 topic(s) now");
    let mut short = dir.child("publish", &["scan4", "s", "0", "5"]);
    short.expect_line("published");
    rec.wait_for("| total 5 msgs");
    short.kill();
    // Same element type, larger maximum: the old channel's schema could not replay these.
    let mut long = dir.child("publish", &["scan8", "s", "5", "5"]);
    long.expect_line("published");
    rec.wait_for("| total 10 msgs");
    rec.signal(rustix::process::Signal::INT);
    let (code, stdout, stderr) = rec.finish();
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stderr.contains("\"s\" was re-created with longer messages"), "{stderr}");
    let info = info(&dir, &out);
    let fingerprints: Vec<&str> = info["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["fingerprint"].as_str().unwrap())
        .collect();
    assert_eq!(channels(&info), [("s".into(), "[f32]".into(), 5), ("s".into(), "[f32]".into(), 5)]);
    assert_ne!(fingerprints[0], fingerprints[1]);
    long.kill();
    let play = dir.eshm(&["play", out.to_str().unwrap(), "--rate", "10"]);
    assert!(play.expect(0).starts_with("played 10 messages"), "{}", play.stdout);
    let echo = dir.eshm(&["echo", "s", "--once", "--history", "1", "--json"]);
    assert_eq!(echo.expect(0).trim(), "[9.0,9.0,9.0,9.0,9.0,9.0,9.0,9.0]");
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

/// CPU time (user + system) process `pid` has used, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The fields after the command name (which is in parentheses and may hold spaces).
    let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    ticks as f64 / rustix::param::clock_ticks_per_second() as f64
}

fn a_topic_in_trouble_is_reported_once_and_waited_out() {
    let dir = Dir::new("record-trouble");
    let out = file(&dir, "trouble.mcap");
    let mut p = dir.child("publish", &["f64", "x", "0", "100000"]);
    let mut rec = Background::start(&dir, &["record", "-o", out.to_str().unwrap(), "x"]);
    rec.wait_for("| total ");
    // The publisher dies (leaving its topic), then another process truncates the topic's
    // file under the recorder.
    p.kill();
    let segment = std::fs::OpenOptions::new().write(true).open(dir.path().join("eshm.topic.x"));
    segment.unwrap().set_len(4096).unwrap();
    rec.wait_for("is not a valid eshm segment");
    // It waits for the topic's next publisher, without spinning on the failing receive (a
    // bound on CPU time, which a loaded machine can only make smaller).
    let before = cpu_seconds(rec.pid());
    std::thread::sleep(std::time::Duration::from_secs(1));
    let used = cpu_seconds(rec.pid()) - before;
    assert!(used < 0.5, "the recorder used {used:.2} s of CPU in 1 s while the topic was broken");
    rec.signal(rustix::process::Signal::INT);
    let (code, stdout, stderr) = rec.finish();
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let reports = stderr.matches("is not a valid eshm segment").count();
    assert!((1..=3).contains(&reports), "reported once (or once per reason): {stderr}");
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
            ("frames", support::child_frames as eshm_tests::ChildRole),
            ("publish", support::child_publish),
            ("receive", support::child_receive),
            ("burst", support::child_burst),
            ("receive_slices", support::child_receive_slices),
        ],
        eshm_tests::named_tests![
            nested_scalar_and_slice_topics_are_recorded_and_played_to_typed_subscribers,
            a_restart_continues_its_channel_and_a_type_change_starts_a_new_one,
            a_slice_topic_with_longer_messages_continues_in_a_new_channel,
            topics_that_appear_later_are_picked_up,
            losses_are_counted_per_topic,
            a_stop_records_what_was_published_before_it,
            a_topic_in_trouble_is_reported_once_and_waited_out,
            duration_count_and_a_kill_end_a_recording,
            play_refuses_altered_files_and_skips_foreign_channels,
            info_tells_recordings_from_topics,
        ],
    );
}
