//! One-way latency and throughput through two bridges on loopback, next to a plain Zenoh
//! publisher/subscriber pair with the same payloads, in the same run.
//!
//! ```text
//! cargo run -p eshm-bridge --profile release-nolto --example bridge_bench [-- --quick]
//! ```
//!
//! Every party is a process of its own (two Zenoh sessions in one process would share Zenoh's
//! runtime threads):
//!
//! - *zenoh*: a publisher session and a subscriber session (a callback, run on Zenoh's
//!   receiving thread: Zenoh's fastest way) joined over TCP on loopback,
//!   `CongestionControl::Block`, Zenoh's default configuration otherwise (multicast scouting
//!   off, explicit endpoints); for latency also *zenoh-fifo*, the same with Zenoh's default
//!   subscriber handler (a bounded channel the subscriber's own thread receives from: one
//!   thread hand-off, as the eshm subscriber at the end of the bridged path has);
//! - *bridge*: an eshm publisher on host A (its own `ESHM_SHM_DIR`), bridge A exposing its
//!   topic, bridge B importing it, over TCP on loopback with the same Zenoh settings, and an
//!   eshm subscriber on host B (blocking receives, eshm's default wait: spin 20 µs, then sleep);
//!   for latency also *bridge-poll*, the same with bridge A polling its topic
//!   (`Config::busy_poll`) and the subscriber busy-polling (`WaitStrategy::Spin`): no sleeping
//!   hand-off on either host, two cores kept busy.
//!
//! Each message starts with its number and the sender's `CLOCK_MONOTONIC` time; the receiver
//! takes the difference (one clock: one machine). Latency: one message every 1 ms (64 B) or
//! 5 ms (1 MiB), the first 10 % not counted; median, p99, p99.9. Throughput: the zenoh pair's
//! publisher sends as fast as `Block` lets it for 3 s; the bridge's eshm publisher, which has no
//! back-pressure, offers the rate the zenoh pair reached (and, in a second row, as fast as it
//! can), and what arrives at B is counted: messages/s over the receiving window, and the share
//! lost on the way (overwritten in a ring: the bridge could not keep up).

mod measure;

use eshm::{Publisher, RecvError, Subscriber, WaitStrategy};
use eshm_bridge::{Bridge, Config};
use eshm_tests::{CHILD_ROLE_ENV, ChildProcess};
use measure::{Mode, SendPlan, Tally, stamp};
use std::collections::HashMap;
use std::process::Command;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;
use zenoh::Wait as _;
use zenoh::qos::CongestionControl;

const TOPIC: &str = "bench/data";
const KEY: &str = "bench/data";
const MIB: usize = 1 << 20;
/// Throughput runs last this long.
const THROUGHPUT_FOR: Duration = Duration::from_secs(3);
/// A receiver that has received something and then nothing for this long is done.
const IDLE_END: Duration = Duration::from_secs(3);

/// Ring capacity on both hosts: 64 Ki small messages (4 MiB), eshm's default (16) of 1 MiB
/// ones. (An eshm publisher never waits; the plain Zenoh publisher is held back by `Block`.)
fn capacity(size: usize) -> usize {
    if size >= MIB { 16 } else { 1 << 16 }
}

fn zenoh_config(listen: Option<&str>, connect: Option<&str>) -> zenoh::Config {
    let mut c = zenoh::Config::default();
    let set = |c: &mut zenoh::Config, k: &str, v: &str| c.insert_json5(k, v).expect("config");
    set(&mut c, "scouting/multicast/enabled", "false");
    if let Some(l) = listen {
        set(&mut c, "listen/endpoints", &format!("[\"{l}\"]"));
    }
    if let Some(e) = connect {
        set(&mut c, "connect/endpoints", &format!("[\"{e}\"]"));
        set(&mut c, "listen/endpoints", "[\"tcp/127.0.0.1:0\"]");
    }
    c
}

/// Plain Zenoh subscriber: `[endpoint, mode, end, handler]`; listens, and counts in its
/// callback (`callback`: on Zenoh's receiving thread, the fastest way) or from Zenoh's default
/// handler (`fifo`: a bounded channel that the subscriber's thread receives from).
fn role_zsub(args: &[String]) {
    let mode = Mode::parse(&args[1]);
    let end = args[2].parse().expect("end");
    let session = zenoh::open(zenoh_config(Some(&args[0]), None)).wait().expect("open");
    if args[3] == "fifo" {
        let sub = session.declare_subscriber(KEY).wait().expect("subscribe");
        println!("ready");
        let mut tally = Tally::new(mode, end);
        loop {
            let timeout = if tally.received > 0 { IDLE_END } else { Duration::from_secs(60) };
            match sub.recv_timeout(timeout) {
                Ok(Some(sample)) => {
                    tally.take(&sample.payload().to_bytes());
                    if tally.done {
                        break;
                    }
                }
                Ok(None) | Err(_) => break,
            }
        }
        tally.report();
        return;
    }
    let tally = Arc::new(Mutex::new(Tally::new(mode, end)));
    let (tx, done) = mpsc::channel::<()>();
    let t = tally.clone();
    let _sub = session
        .declare_subscriber(KEY)
        .callback(move |sample| {
            let mut t = t.lock().expect("tally");
            t.take(&sample.payload().to_bytes());
            if t.done {
                let _ = tx.send(());
            }
        })
        .wait()
        .expect("subscribe");
    println!("ready");
    wait_done(&tally, &done);
}

/// Waits until the tally is done, or idle after its first message; then reports.
fn wait_done(tally: &Mutex<Tally>, done: &mpsc::Receiver<()>) {
    let mut last = 0;
    loop {
        match done.recv_timeout(IDLE_END) {
            Ok(()) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let t = tally.lock().expect("tally");
                if t.received > 0 && t.received == last {
                    break;
                }
                last = t.received;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    tally.lock().expect("tally").report();
}

/// Plain Zenoh publisher: `[endpoint, size, mode, count, rate]`: connects, probes until the
/// parent says `go`, then sends.
fn role_zpub(args: &[String]) {
    let plan = SendPlan::parse(&args[1..]);
    let session = zenoh::open(zenoh_config(None, Some(&args[0]))).wait().expect("open");
    let publisher = session
        .declare_publisher(KEY)
        .congestion_control(CongestionControl::Block)
        .wait()
        .expect("publisher");
    probe_until_go(|buf| publisher.put(buf.to_vec()).wait().expect("put"), plan.size);
    let last = plan.run(|buf| publisher.put(buf.to_vec()).wait().expect("put"));
    println!("sent last={last}");
    eshm_tests::wait_for_parent();
}

/// Sends a probe every 10 ms until the parent sends a line (`go`).
fn probe_until_go(mut send: impl FnMut(&[u8]), size: usize) {
    let (tx, go) = mpsc::channel();
    std::thread::spawn(move || {
        eshm_tests::read_parent_line();
        let _ = tx.send(());
    });
    let mut buf = vec![0u8; size];
    println!("probing");
    loop {
        stamp(&mut buf, 0);
        send(&buf);
        if go.recv_timeout(Duration::from_millis(10)).is_ok() {
            return;
        }
    }
}

/// An eshm publisher on host A: `[size, mode, count, rate]`, as `zpub`.
fn role_epub(args: &[String]) {
    let plan = SendPlan::parse(args);
    let mut publisher = Publisher::<[u8]>::builder(TOPIC)
        .max_len(plan.size)
        .capacity(capacity(plan.size))
        .create()
        .expect("topic");
    probe_until_go(|buf| publisher.publish(buf).expect("publish"), plan.size);
    let last = plan.run(|buf| publisher.publish(buf).expect("publish"));
    println!("sent last={last}");
    eshm_tests::wait_for_parent();
}

/// An eshm subscriber on host B: `[mode, end, wait]` (`wait`: `spin` to busy-poll, anything
/// else for eshm's default wait).
fn role_esub(args: &[String]) {
    let mut tally = Tally::new(Mode::parse(&args[0]), args[1].parse().expect("end"));
    let wait = if args[2] == "spin" { WaitStrategy::Spin } else { WaitStrategy::default() };
    let mut sub = Subscriber::<[u8]>::builder(TOPIC).wait_strategy(wait).open().expect("subscribe");
    println!("ready");
    loop {
        let timeout = if tally.received > 0 { IDLE_END } else { Duration::from_secs(60) };
        // In place for pooled (large) messages; a copy of small ones.
        match sub.recv_ref_timeout(timeout) {
            Ok(msg) => {
                tally.take(&msg);
                if tally.done {
                    break;
                }
            }
            Err(RecvError::Timeout) => break,
            Err(e) => panic!("receive: {e}"),
        }
    }
    tally.report();
    println!("lost_here={}", sub.lost());
}

/// A bridge: `[expose|import, endpoint to listen on or connect to, message size, poll|sleep]`.
fn role_bridge(args: &[String]) {
    let size: usize = args[2].parse().expect("size");
    let config = Config::new()
        .multicast_scouting(false)
        .capacity(capacity(size))
        .busy_poll(args[3] == "poll");
    let config = match args[0].as_str() {
        "expose" => config.expose("bench/**").listen(&args[1]),
        _ => config.import("bench/**").connect(&args[1]).listen("tcp/127.0.0.1:0"),
    };
    let bridge = Bridge::start(config, |e| println!("{e}")).expect("bridge");
    println!("ready");
    eshm_tests::wait_for_parent();
    bridge.stop();
}

// ---------------------------------------------------------------------------------------------
// The orchestra.

fn spawn(role: &str, args: &[String], env: &[(&str, &str)]) -> ChildProcess {
    ChildProcess::spawn_with_env(role, args, env)
}

fn port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// A result line's fields.
fn fields(line: &str) -> HashMap<String, f64> {
    line.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .filter_map(|(k, v)| Some((k.to_owned(), v.parse().ok()?)))
        .collect()
}

/// One plain Zenoh run (`handler`: see `role_zsub`): the receiver's result line.
fn run_zenoh(size: usize, mode: Mode, count: u64, rate: f64, handler: &str) -> String {
    let endpoint = format!("tcp/127.0.0.1:{}", port());
    let m = if mode == Mode::Latency { "latency" } else { "throughput" };
    let end = if mode == Mode::Latency { count } else { u64::MAX };
    let mut sub =
        spawn("zsub", &[endpoint.clone(), m.into(), end.to_string(), handler.into()], &[]);
    sub.expect_line("ready");
    let args = [endpoint, size.to_string(), m.into(), count.to_string(), rate.to_string()];
    let mut publisher = spawn("zpub", &args, &[]);
    publisher.expect_line("probing");
    sub.expect_line("primed");
    publisher.send("go");
    let sent = publisher.expect_line("sent");
    let result = sub.finish("result");
    format!("{result} {sent}")
}

/// One bridged run (`poll`: bridge A busy-polls and the subscriber spins): the receiver's
/// result line.
fn run_bridge(size: usize, mode: Mode, count: u64, rate: f64, poll: bool) -> String {
    let dirs: Vec<String> = ["a", "b"]
        .iter()
        .map(|h| format!("/dev/shm/eshm-bridge-bench-{}-{h}", std::process::id()))
        .collect();
    for d in &dirs {
        let _ = std::fs::remove_dir_all(d);
        std::fs::create_dir_all(d).expect("host directory");
    }
    let (env_a, env_b) =
        ([("ESHM_SHM_DIR", dirs[0].as_str())], [("ESHM_SHM_DIR", dirs[1].as_str())]);
    let endpoint = format!("tcp/127.0.0.1:{}", port());
    let m = if mode == Mode::Latency { "latency" } else { "throughput" };
    let end = if mode == Mode::Latency { count } else { u64::MAX };
    let (wait, bridge_wait) = if poll { ("spin", "poll") } else { ("default", "sleep") };
    let args = ["expose".into(), endpoint.clone(), size.to_string(), bridge_wait.into()];
    let mut bridge_a = spawn("bridge", &args, &env_a);
    bridge_a.expect_line("ready");
    let args = ["import".into(), endpoint, size.to_string(), bridge_wait.into()];
    let mut bridge_b = spawn("bridge", &args, &env_b);
    bridge_b.expect_line("ready");
    bridge_b.expect_line("connected");
    let mut sub = spawn("esub", &[m.into(), end.to_string(), wait.into()], &env_b);
    sub.expect_line("ready");
    let args = [size.to_string(), m.into(), count.to_string(), rate.to_string()];
    let mut publisher = spawn("epub", &args, &env_a);
    publisher.expect_line("probing");
    sub.expect_line("primed");
    publisher.send("go");
    let sent = publisher.expect_line("sent");
    let result = sub.expect_line("result");
    let lost = sub.finish("lost_here");
    let losses = where_lost(&dirs);
    drop((publisher, bridge_a, bridge_b));
    for d in &dirs {
        let _ = std::fs::remove_dir_all(d);
    }
    format!("{result} {sent} {lost} {losses}")
}

/// Where messages were lost on the way, from the bridges' status files (written a few times a
/// second; the receiver has been idle for seconds when this is read): overwritten in host A's
/// ring before bridge A took them, and missing from bridge B's streams.
fn where_lost(dirs: &[String]) -> String {
    let status = |dir: &str| -> serde_json::Value {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("eshm.bridge."))
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .find_map(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default()
    };
    let (a, b) = (status(&dirs[0]), status(&dirs[1]));
    let count = |v: &serde_json::Value, side: &str, field: &str| {
        v[side][TOPIC][field].as_u64().map_or("?".to_owned(), |n| n.to_string())
    };
    format!(
        "lost_source={} lost_network={} puts={}",
        count(&a, "exposed", "lost_at_source"),
        count(&b, "imported", "lost_network"),
        count(&a, "exposed", "puts")
    )
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Ok(role) = std::env::var(CHILD_ROLE_ENV) {
        match role.as_str() {
            "zsub" => role_zsub(&args),
            "zpub" => role_zpub(&args),
            "epub" => role_epub(&args),
            "esub" => role_esub(&args),
            "bridge" => role_bridge(&args),
            other => panic!("unknown role {other}"),
        }
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let git = |a: &[&str]| {
        Command::new("git")
            .args(a)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    println!("# eshm-bridge benchmark: one-way latency and throughput, bridged vs plain Zenoh");
    println!("# commit {}", git(&["rev-parse", "--short", "HEAD"]).unwrap_or_default());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("# load average at start: {}", load.trim());
    println!(
        "# cores {}, ZENOH_RUNTIME={:?}, zenoh 1.10 (transport_tcp), TCP on loopback, multicast scouting off",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::env::var("ZENOH_RUNTIME").ok()
    );
    // `--size N --mode M --path P --rate R`: one run only (for profiling).
    let opt = |name: &str| args.iter().position(|a| a == name).map(|i| args[i + 1].clone());
    if let (Some(size), Some(mode)) = (opt("--size"), opt("--mode")) {
        let (size, mode) = (size.parse().expect("size"), Mode::parse(&mode));
        let rate: f64 = opt("--rate").map_or(0.0, |r| r.parse().expect("rate"));
        let line = match opt("--path").as_deref() {
            Some("zenoh") => run_zenoh(size, mode, 1000, rate, "callback"),
            Some("zenoh-fifo") => run_zenoh(size, mode, 1000, rate, "fifo"),
            Some("bridge-poll") => run_bridge(size, mode, 1000, rate, true),
            _ => run_bridge(size, mode, 1000, rate, false),
        };
        println!("{line}");
        return;
    }
    for size in [64, MIB] {
        let count = match (size, quick) {
            (64, false) => 5000,
            (64, true) => 1000,
            (_, false) => 1000,
            (_, true) => 200,
        };
        let z = run_zenoh(size, Mode::Latency, count, 0.0, "callback");
        println!("RESULT path=zenoh size={size} mode=latency {z}");
        let f = run_zenoh(size, Mode::Latency, count, 0.0, "fifo");
        println!("RESULT path=zenoh-fifo size={size} mode=latency {f}");
        let b = run_bridge(size, Mode::Latency, count, 0.0, false);
        println!("RESULT path=bridge size={size} mode=latency {b}");
        let bp = run_bridge(size, Mode::Latency, count, 0.0, true);
        println!("RESULT path=bridge-poll size={size} mode=latency {bp}");
        let (z, f, b, bp) = (fields(&z), fields(&f), fields(&b), fields(&bp));
        for p in ["p50_us", "p99_us", "p999_us"] {
            println!(
                "RATIO size={size} latency {p} bridge/zenoh = {:.2} (bridge/zenoh-fifo = {:.2}; \
                 bridge-poll/zenoh = {:.2})",
                b[p] / z[p],
                b[p] / f[p],
                bp[p] / z[p]
            );
        }

        let z = run_zenoh(size, Mode::Throughput, 0, 0.0, "callback");
        println!("RESULT path=zenoh size={size} mode=throughput {z}");
        let zf = fields(&z);
        let offered = zf["rate"];
        let b = run_bridge(size, Mode::Throughput, 0, offered, false);
        println!("RESULT path=bridge size={size} mode=throughput offered={offered:.0} {b}");
        // The rate received, against the zenoh pair's, and the share of what was sent lost.
        let ratio = |b: &str| {
            let bf = fields(b);
            (bf["rate"] / offered, (1.0 - bf["received"] / bf["last"].max(1.0)) * 100.0, bf["last"])
        };
        let (r, lost, _) = ratio(&b);
        println!(
            "RATIO size={size} throughput at zenoh's rate: bridge/zenoh = {r:.2} (lost {lost:.1} %)"
        );
        let b = run_bridge(size, Mode::Throughput, 0, 0.0, false);
        println!("RESULT path=bridge size={size} mode=throughput offered=max {b}");
        let (r, lost, sent) = ratio(&b);
        println!(
            "RATIO size={size} throughput unpaced: bridge/zenoh = {r:.2} (lost {lost:.1} % of {sent} offered)"
        );
    }
}
