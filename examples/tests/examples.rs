//! Every Rust example runs, briefly, and prints what it should (the `interop` example is run
//! by the Python tests).

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// The example binary `name`, which `cargo test` builds next to this test's.
fn example(name: &str) -> Command {
    let mut dir: PathBuf = std::env::current_exe().unwrap().parent().unwrap().to_owned();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let exe = dir.join("examples").join(name);
    assert!(exe.exists(), "{} is not built", exe.display());
    let mut cmd = Command::new(exe);
    cmd.env("ESHM_SHM_DIR", shm_dir());
    cmd
}

/// A segment directory of this test run's own.
fn shm_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("eshm-examples-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn stdout_of(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn example_quickstart_passes_every_message() {
    let out = stdout_of(&example("quickstart").output().unwrap());
    // Every message is received or counted lost (a scheduler stall on a loaded machine may
    // cost a few; the demo's own output says how many).
    let line = out.lines().find(|l| l.contains("] received ")).expect("a summary line");
    let count = |key: &str| -> u64 {
        line.split(key)
            .nth(1)
            .unwrap()
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(count("received ") + count("lost "), 20_000, "{out}");
}

#[test]
fn example_schema_prints_a_definition_and_a_fingerprint() {
    let out = stdout_of(&example("schema").output().unwrap());
    assert!(out.contains("struct") && out.contains("fingerprint"), "{out}");
}

#[test]
fn example_publisher_and_subscriber_talk() {
    let topic = format!("examples/imu/{}", std::process::id());
    let sub = example("subscriber").args([&topic, "50"]).stdout(Stdio::piped()).spawn().unwrap();
    let publisher = example("publisher").args([&topic, "100000"]).stdout(Stdio::null()).spawn();
    let out = stdout_of(&sub.wait_with_output().unwrap());
    let mut publisher = publisher.unwrap();
    publisher.kill().unwrap();
    publisher.wait().unwrap();
    assert!(out.contains("received #1:") && out.contains("received 50 messages"), "{out}");
}

#[test]
fn example_channel_master_and_slave_talk() {
    let name = format!("examples/control/{}", std::process::id());
    let slave = example("channel_slave").args([&name, "3"]).stdout(Stdio::piped()).spawn();
    let master = example("channel_master").args([&name, "3"]).output().unwrap();
    let slave_out = stdout_of(&slave.unwrap().wait_with_output().unwrap());
    let master_out = stdout_of(&master);
    assert!(
        slave_out.contains("request 2") && slave_out.contains("served 3 requests"),
        "{slave_out}"
    );
    assert!(master_out.contains("reply: done: request 2"), "{master_out}");
}

#[test]
fn example_channel_reconnect_survives_the_masters_kill() {
    let out = stdout_of(&example("channel_reconnect").output().unwrap());
    assert!(out.contains("[demo] killing the master with SIGKILL"), "{out}");
    assert!(out.contains("re-attached to master pid"), "{out}");
    assert!(out.contains("[demo] slave exited: exit status: 0"), "{out}");
}

#[test]
fn example_bench_prints_well_formed_results() {
    let out = example("bench")
        .args(["--quick", "--only", "pingpong"])
        .env("ESHM_BENCH_CASE", "8-spin")
        .output()
        .unwrap();
    let out = stdout_of(&out);
    let results: Vec<&str> = out.lines().filter(|l| l.starts_with("RESULT ")).collect();
    assert_eq!(results.len(), 3, "two floors and one case:\n{out}");
    for line in results {
        for key in ["impl=", "bench=", "payload=", "oneway_p50_ns=", "oneway_p99_ns="] {
            assert!(line.contains(key), "{line}");
        }
        let p50: f64 = line
            .split("oneway_p50_ns=")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(p50 > 0.0, "{line}");
    }
}

#[test]
fn example_dead_readers_leaves_no_reader_registered_asleep() {
    let out = stdout_of(&example("dead_readers").arg("--quick").output().unwrap());
    assert!(out.contains("killed 50 subscribers asleep"), "{out}");
    assert!(out.contains("readers registered asleep now:  0"), "{out}");
    assert!(out.lines().any(|l| l.starts_with("RESULT bench=dead_readers before_ns=")), "{out}");
}

#[test]
fn example_service_bench_prints_well_formed_results() {
    let out = example("service_bench")
        .args(["--quick", "--only", "latency"])
        .env("ESHM_BENCH_CASE", "service-blocking")
        .output()
        .unwrap();
    let out = stdout_of(&out);
    let results: Vec<&str> = out.lines().filter(|l| l.starts_with("RESULT ")).collect();
    assert_eq!(results.len(), 1, "one case:\n{out}");
    for key in
        ["bench=service_8b", "wait=blocking", "oneway_p50_ns=", "rtt_p50_ns=", "calls_per_s="]
    {
        assert!(results[0].contains(key), "{}", results[0]);
    }
}

#[test]
fn example_service_server_and_client_talk() {
    let name = format!("examples/calc/add/{}", std::process::id());
    // The client makes 3 calls, 4 in flight, then 200: the server answers 207, then exits.
    let server = example("service_server").args([&name, "207"]).stdout(Stdio::piped()).spawn();
    let client = example("service_client").args([&name, "200"]).output().unwrap();
    let server_out = stdout_of(&server.unwrap().wait_with_output().unwrap());
    let client_out = stdout_of(&client);
    for line in ["1 + 10 = 11", "3 + 30 = 33", "four calls in flight: [100, 101, 102, 103]"] {
        assert!(client_out.contains(line), "{client_out}");
    }
    assert!(client_out.contains("200 calls in "), "{client_out}");
    assert!(server_out.contains("client 0 call 1: 1 + 10 = 11"), "{server_out}");
    assert!(server_out.contains("served 207 calls"), "{server_out}");
}

#[test]
fn example_frames_checks_every_frame_in_place() {
    let out = stdout_of(&example("frames").arg("20").output().unwrap());
    let line = out.lines().find(|l| l.contains("checked")).expect("a summary line");
    assert!(line.contains("checked 20 frames") || line.contains("lost)"), "{out}");
    let checked: u64 =
        line.split("checked ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    let lost: u64 =
        line.split(", ").find_map(|p| p.strip_suffix(" lost)")).unwrap().parse().unwrap();
    assert_eq!(checked + lost, 20, "{out}");
    let in_place: u64 = line.split('(').nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    assert_eq!(in_place, checked, "every frame read in place: {out}");
}

#[test]
fn example_record_bench_prints_well_formed_results() {
    // It runs the `eshm` command, which `cargo test --workspace` builds next to the examples.
    let mut dir: PathBuf = std::env::current_exe().unwrap().parent().unwrap().to_owned();
    if dir.ends_with("deps") {
        dir.pop();
    }
    if !dir.join("eshm").exists() {
        eprintln!("skipped: build eshm-cli first (cargo build -p eshm-cli)");
        return;
    }
    let out = stdout_of(&example("record_bench").arg("--quick").output().unwrap());
    let results: Vec<&str> =
        out.lines().filter(|l| l.starts_with("RESULT bench=record ")).collect();
    assert_eq!(results.len(), 4, "{out}");
    for r in results {
        let value = |key: &str| -> f64 {
            let v = r.split(&format!(" {key}=")).nth(1).unwrap_or_else(|| panic!("{key} in {r}"));
            v.split(' ').next().unwrap().parse().unwrap()
        };
        // Everything published was recorded or counted lost: never more than published.
        assert!(value("lost") <= value("published"), "{r}");
        assert!(value("record_msgs_per_s") > 0.0 && value("publish_msgs_per_s") > 0.0, "{r}");
    }
}
