//! `eshm list`, `info` and `call` against real service and action servers in other processes,
//! each test in a segment directory of its own (`ESHM_SHM_DIR`).
//!
//! This binary has its own `main` (no libtest): with `ESHM_TEST_CHILD_ROLE` set it plays a
//! child role instead. Run one test with `cargo test -p eshm-cli --test service -- <substring>`.

use common::{Dir, entry};
use eshm::action::ActionServer;
use eshm::msg::{Pose, Vector3};
use eshm::service::{Client, Server};
use eshm_tests::wait_for_parent;
use serde_json::json;
use std::time::Duration;

mod common;

// ---------------------------------------------------------------------------------------------
// Child roles (they find the segment directory in their environment).

/// `norm NAME`: serves `Vector3 -> f64` (the length), until released.
fn child_norm(args: &[String]) {
    let server = Server::spawn(&args[0], |v: &Vector3| (v.x * v.x + v.y * v.y + v.z * v.z).sqrt())
        .expect("create server");
    println!("ready");
    wait_for_parent();
    drop(server);
}

/// `negate NAME`: serves `Vector3 -> Vector3` (the opposite), until released.
fn child_negate(args: &[String]) {
    let server = Server::spawn(&args[0], |v: &Vector3| Vector3 { x: -v.x, y: -v.y, z: -v.z })
        .expect("create server");
    println!("ready");
    wait_for_parent();
    drop(server);
}

/// `square NAME`: serves `i64 -> i64`, until released.
fn child_square(args: &[String]) {
    let server = Server::spawn(&args[0], |x: &i64| x * x).expect("create server");
    println!("ready");
    wait_for_parent();
    drop(server);
}

/// `mute NAME`: a `u8 -> u8` service whose server never answers, until released.
fn child_mute(args: &[String]) {
    let _server = Server::<u8, u8>::create(&args[0]).expect("create server");
    println!("ready");
    wait_for_parent();
}

/// `action NAME`: an action server (`Pose -> f64 (Vector3)`) that takes no goal, until released.
fn child_action(args: &[String]) {
    let _server = ActionServer::<Pose, f64, Vector3>::create(&args[0]).expect("create action");
    println!("ready");
    wait_for_parent();
}

// ---------------------------------------------------------------------------------------------
// Tests.

fn list_and_info_show_services_and_actions_with_their_clients() {
    let dir = Dir::new("service-list");
    let mut norm = dir.child("norm", &["geometry/norm"]);
    norm.expect_line("ready");
    let mut action = dir.child("action", &["robot/move"]);
    action.expect_line("ready");
    // A client in this process (opened with the test's directory), with two calls served.
    let client = {
        let _dir = EnvDir::set(dir.path());
        Client::<Vector3, f64>::open("geometry/norm").unwrap()
    };
    for _ in 0..2 {
        let n = client.call(&Vector3 { x: 3.0, y: 4.0, z: 0.0 }, Duration::from_secs(60)).unwrap();
        assert_eq!(n, 5.0);
    }

    let list = dir.eshm(&["list", "--json"]).json();
    let svc = entry(&list, "geometry/norm");
    assert_eq!((&svc["kind"], &svc["type"]), (&json!("service"), &json!("Vector3 -> f64")));
    assert_eq!((&svc["owner_pid"], &svc["alive"]), (&json!(norm.pid()), &json!(true)));
    assert_eq!(svc["service"]["clients"], 1);
    assert_eq!(svc["service"]["client_pids"], json!([std::process::id()]));
    assert_eq!(svc["service"]["calls"], 2);
    assert_eq!(svc["service"]["types"], json!({"request": "Vector3", "response": "f64"}));
    let act = entry(&list, "robot/move");
    assert_eq!((&act["kind"], &act["type"]), (&json!("action"), &json!("Pose -> f64 (Vector3)")));
    assert_eq!(act["service"]["clients"], 0);

    let table = dir.eshm(&["list"]).expect(0).to_owned();
    assert!(
        table.lines().any(|l| l.starts_with("service")
            && l.contains("geometry/norm")
            && l.contains("Vector3 -> f64")
            && l.contains("1 client")
            && l.contains(&norm.pid().to_string())),
        "{table}"
    );
    assert!(table.lines().any(|l| l.starts_with("action") && l.contains("robot/move")), "{table}");
    let only = dir.eshm(&["list", "--kind", "service", "--json"]).json();
    assert_eq!(only.as_array().unwrap().len(), 1);

    let info = dir.eshm(&["info", "geometry/norm"]).expect(0).to_owned();
    assert!(info.contains(&format!("pid {} (alive)", norm.pid())), "{info}");
    assert!(info.contains("2 answered"), "{info}");
    assert!(info.contains("struct Vector3"), "{info}");
    drop(client);
    norm.release();
    action.release();
}

/// Sets `ESHM_SHM_DIR` for this process while alive (the tests of this binary run one at a
/// time, on the main thread).
struct EnvDir;

impl EnvDir {
    fn set(path: &std::path::Path) -> EnvDir {
        // SAFETY: `set_var` is unsafe because other threads may read the environment at the
        // same time; this test binary runs its tests one at a time, and no thread of this
        // process reads the environment meanwhile.
        unsafe { std::env::set_var(eshm::segment::SHM_DIR_ENV, path) };
        EnvDir
    }
}

impl Drop for EnvDir {
    fn drop(&mut self) {
        // SAFETY: as in `set`.
        unsafe { std::env::remove_var(eshm::segment::SHM_DIR_ENV) };
    }
}

fn call_prints_the_response_as_json_or_text() {
    let dir = Dir::new("service-call");
    let mut norm = dir.child("norm", &["geometry/norm"]);
    norm.expect_line("ready");
    let mut square = dir.child("square", &["calc/square"]);
    square.expect_line("ready");

    let out = dir.eshm(&["call", "geometry/norm", "--json", r#"{"x": 3, "y": 4}"#]);
    assert_eq!(out.expect(0).trim(), "5.0");
    let mut negate = dir.child("negate", &["geometry/negate"]);
    negate.expect_line("ready");
    let out = dir.eshm(&["call", "geometry/negate", "--json", r#"{"x": 1.5, "z": 2}"#]);
    let answer: serde_json::Value = serde_json::from_str(out.expect(0).trim()).expect("JSON");
    assert_eq!(answer, json!({"x": -1.5, "y": -0.0, "z": -2.0}));
    negate.release();
    assert_eq!(dir.eshm(&["call", "calc/square", "--json", "-12"]).expect(0).trim(), "144");
    assert_eq!(dir.eshm(&["call", "calc/square", "-12"]).expect(0).trim(), "144");

    // Usage errors: no request, bad JSON, a value for a struct type.
    let run = dir.eshm(&["call", "geometry/norm"]);
    run.expect(2);
    assert!(run.stderr.contains("--json"), "{}", run.stderr);
    dir.eshm(&["call", "geometry/norm", "--json", "{x"]).expect(2);
    dir.eshm(&["call", "geometry/norm", "--json", r#"{"w": 1}"#]).expect(2);
    norm.release();
    square.release();
}

fn call_fails_clearly_without_a_service_a_server_or_an_answer() {
    let dir = Dir::new("service-call-errors");
    let mut square = dir.child("square", &["calc/square"]);
    square.expect_line("ready");
    let run = dir.eshm(&["call", "calc/sqare", "2"]);
    run.expect(3);
    assert!(run.stderr.contains("did you mean \"calc/square\"?"), "{}", run.stderr);
    // A dead server's service: no live server.
    square.kill();
    let run = dir.eshm(&["call", "calc/square", "2"]);
    run.expect(3);
    assert!(run.stderr.contains("no live server"), "{}", run.stderr);
    // A server that never answers: timed out.
    let mut mute = dir.child("mute", &["mute"]);
    mute.expect_line("ready");
    let run = dir.eshm(&["call", "mute", "1", "--timeout", "0.05"]);
    run.expect(7);
    assert!(run.stderr.contains("no answer"), "{}", run.stderr);
    mute.release();
}

fn main() {
    eshm_tests::run_main(
        &[
            ("norm", child_norm as eshm_tests::ChildRole),
            ("square", child_square),
            ("negate", child_negate),
            ("mute", child_mute),
            ("action", child_action),
        ],
        eshm_tests::named_tests![
            list_and_info_show_services_and_actions_with_their_clients,
            call_prints_the_response_as_json_or_text,
            call_fails_clearly_without_a_service_a_server_or_an_answer,
        ],
    );
}
