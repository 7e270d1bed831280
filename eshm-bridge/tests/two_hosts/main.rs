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

mod hosts;
mod roles;

use eshm_tests::{ChildProcess, named_tests, run_main};
use hosts::{Host, bridge_entry, counter, free_port, phase, republished, robot};
use roles::{
    role_bridge, role_cli, role_f64_pub, role_f64_sub, role_forger, role_publisher, role_sub_imu,
    role_sub_scan,
};
use std::process::Command;

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
            ("forger", role_forger),
        ],
        named_tests![
            bridge_carries_typed_topics_between_hosts_through_restarts,
            bridge_reports_a_type_conflict_and_republishes_nothing,
            bridge_refuses_malformed_messages_from_the_network,
            bridge_puts_a_waiting_burst_as_batches_and_every_message_arrives,
            bridge_busy_polling_never_sleeps_and_every_message_arrives,
            bridge_pair_exposing_and_importing_the_same_topics_never_echoes,
            bridge_across_network_namespaces,
        ],
    );
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

    let (mut publisher, mut subscribers) = robot(&a, &b);
    let mut subs: Vec<&mut ChildProcess> = subscribers.iter_mut().collect();

    phase(&mut publisher, &mut subs, 1, N);
    let info = republished(&b, "robot/imu", N);
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
    let info = republished(&b, "robot/scan", N);
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

/// A Zenoh peer that is not a bridge puts malformed messages on a topic's key: no
/// attachment, an unknown attachment version, a payload of the wrong length, a batch whose
/// payload does not hold the messages it announces. The bridge reports them, counts them, and
/// republishes only the good message and the three of the good batch, numbered without a gap.
fn bridge_refuses_malformed_messages_from_the_network() {
    let b = Host::new("b");
    let listen = format!("tcp/127.0.0.1:{}", free_port());
    let mut bridge_b = b.bridge(&["--import", "robot/**", "--listen", &listen]);
    let mut forger = ChildProcess::spawn("forger", &[listen]);
    forger.expect_line("started");
    forger.send("send");
    forger.expect_line("sent");
    bridge_b.expect_line("trouble on \"robot/forged\": messages from the network without eshm's");
    bridge_b.expect_line("trouble on \"robot/forged\": messages from the network are refused");
    bridge_b.expect_line(
        "trouble on \"robot/forged\": messages from the network are refused: a batch payload of",
    );
    let info = b.info_when("robot/forged", |i| {
        counter(bridge_entry(i, "imported"), "received") >= 8
            && counter(bridge_entry(i, "imported"), "republished") >= 4
    });
    let imported = bridge_entry(&info, "imported").expect("imported");
    assert_eq!(imported["dropped_invalid"], 4, "{info:#}");
    assert_eq!(imported["republished"], 4, "{info:#}");
    assert_eq!(
        (imported["lost_network"].as_u64(), imported["duplicates"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!((&info["type"], &info["published"]), (&"Imu".into(), &4.into()), "{info:#}");
}

/// Messages that wait together in the ring go as batches (version-2 samples, see `wire`):
/// the exposing bridge is stopped (SIGSTOP) while the publisher on host A publishes 5,000
/// messages, then continued; the subscriber on host B receives every one, in order, and the
/// bridge's counters show that they went in a few puts (at most 1,024 messages each).
fn bridge_puts_a_waiting_burst_as_batches_and_every_message_arrives() {
    use rustix::process::{Pid, Signal, kill_process};
    const COUNT: u64 = 5_000;
    let (a, b) = (Host::new("a"), Host::new("b"));
    let listen = format!("tcp/127.0.0.1:{}", free_port());
    let bridge_a = a.bridge(&["--expose", "burst/**", "--listen", &listen]);
    let mut bridge_b = b.bridge(&["--import", "burst/**", "--connect", &listen]);
    bridge_b.expect_line("connected");
    let mut sub = b.spawn("f64_sub", &["burst/x", &COUNT.to_string()]);
    let mut publisher = a.spawn("f64_pub", &["burst/x"]);
    publisher.send("probe");
    sub.expect_line("ready 1"); // a probe went through both bridges: the topic is exposed
    let pid = Pid::from_raw(bridge_a.pid() as i32).expect("a pid");
    kill_process(pid, Signal::STOP).expect("stop bridge A");
    publisher.send(&format!("run {COUNT}"));
    publisher.expect_line("published");
    kill_process(pid, Signal::CONT).expect("continue bridge A");
    sub.expect_line("done 1");
    let info = a.info_when("burst/x", |i| counter(bridge_entry(i, "exposed"), "sent") > COUNT);
    let exposed = bridge_entry(&info, "exposed");
    let (sent, puts) = (counter(exposed, "sent"), counter(exposed, "puts"));
    assert!(sent - puts >= COUNT - 10, "{sent} messages in {puts} puts: not batched: {info:#}");
    let info = republished(&b, "burst/x", COUNT + 1);
    let imported = bridge_entry(&info, "imported");
    assert_eq!(counter(imported, "lost_network"), 0, "{info:#}");
    assert_eq!(counter(imported, "duplicates"), 0, "{info:#}");
    assert_eq!(counter(imported, "republished"), counter(imported, "received"), "{info:#}");
}

/// With `--busy-poll` the exposing bridge finds messages by polling: it never registers as a
/// sleeper on the topic (a sleeping bridge does, between messages), and every message of a run
/// published one by one arrives on host B, in order, with no loss on the network.
fn bridge_busy_polling_never_sleeps_and_every_message_arrives() {
    const COUNT: u64 = 2_000;
    let (a, b) = (Host::new("a"), Host::new("b"));
    let listen = format!("tcp/127.0.0.1:{}", free_port());
    let bridge_a = a.bridge(&["--expose", "poll/**", "--listen", &listen, "--busy-poll"]);
    let mut bridge_b = b.bridge(&["--import", "poll/**", "--connect", &listen]);
    bridge_b.expect_line("connected");
    let mut sub = b.spawn("f64_sub", &["poll/x", &COUNT.to_string()]);
    let mut publisher = a.spawn("f64_pub", &["poll/x"]);
    publisher.send("probe");
    sub.expect_line("ready 1");
    publisher.send(&format!("run {COUNT}"));
    publisher.expect_line("published");
    sub.expect_line("done 1");
    let info = republished(&b, "poll/x", COUNT + 1);
    assert_eq!(counter(bridge_entry(&info, "imported"), "lost_network"), 0, "{info:#}");
    // Idle now: a sleeping bridge would be registered asleep on the topic.
    let info = a.info("poll/x");
    let sleepers = info["sleeping_reader_pids"].as_array().expect("sleeping_reader_pids");
    assert!(
        !sleepers.iter().any(|p| p.as_u64() == Some(u64::from(bridge_a.pid()))),
        "the polling bridge sleeps: {info:#}"
    );
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
        let info = republished(host, theirs, COUNT + 1);
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
    let (mut publisher, mut subscribers) = robot(&a, &b);
    let mut subs: Vec<&mut ChildProcess> = subscribers.iter_mut().collect();
    phase(&mut publisher, &mut subs, 1, N);
    let info = republished(&b, "robot/imu", N);
    assert_eq!(bridge_entry(&info, "imported").expect("imported")["lost_network"], 0);
}
