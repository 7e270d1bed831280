//! The child processes: publishers and subscribers of the test topics, and the `eshm`
//! command (`bridge`, `info`) run through the CLI's library.

use crate::{CAPACITY, N, SCAN_MAX};
use eshm::msg::{Imu, Quaternion, Vector3};
use eshm::{Publisher, RecvError, Subscriber};
use eshm_tests::read_parent_line;
use std::sync::mpsc;
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// Messages.

/// Message `i` (from 1) of phase `p` on `robot/imu`; `i == 0` is a probe.
pub(crate) fn imu(p: u64, i: u64) -> Imu {
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
pub(crate) fn scan(p: u64, i: u64) -> Vec<u32> {
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
pub(crate) fn role_bridge(args: &[String]) {
    let argv = ["eshm", "bridge"].into_iter().map(String::from).chain(args.iter().cloned());
    std::process::exit(eshm_cli::run(argv).code().into());
}

/// `eshm ARGS...` (for `info --json`).
pub(crate) fn role_cli(args: &[String]) {
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
pub(crate) fn role_publisher(_: &[String]) {
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

pub(crate) fn role_sub_imu(args: &[String]) {
    let mut sub = Subscriber::<Imu>::open("robot/imu").expect("subscribe");
    let mut checker = Checker::new(count_arg(args), imu);
    println!("started");
    eshm_tests::repeat_until_released(|| match sub.recv_timeout(Duration::from_millis(100)) {
        Ok(m) => checker.check(m.stamp_ns, m.orientation.x as u64, &m),
        Err(RecvError::Timeout) => {}
        Err(e) => panic!("receive: {e}"),
    });
}

pub(crate) fn role_sub_scan(args: &[String]) {
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
pub(crate) fn role_f64_pub(args: &[String]) {
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
pub(crate) fn role_f64_sub(args: &[String]) {
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

/// A Zenoh peer that is not a bridge (connecting to `args[0]`): it answers the schema query
/// for `Imu` like a bridge, and on `send` puts on `robot/forged`'s key: a message without an
/// attachment, one with an attachment of an unknown layout version, one whose payload is 10
/// bytes (shorter than an `Imu`), a good one, a good batch of three (`wire` version 2), and a
/// batch that announces three messages and holds two. Prints `sent`.
pub(crate) fn role_forger(args: &[String]) {
    use eshm_bridge::wire::Header;
    use zenoh::Wait as _;

    let mut config = zenoh::Config::default();
    let mut set = |key: &str, value: &str| config.insert_json5(key, value).expect("config");
    set("scouting/multicast/enabled", "false");
    set("connect/endpoints", &format!("[\"{}\"]", args[0]));
    set("listen/endpoints", "[\"tcp/127.0.0.1:0\"]");
    let session = zenoh::open(config).wait().expect("open a session");
    let schema = <Imu as eshm::Message>::SCHEMA;
    let fingerprint = schema.fingerprint();
    let encoded = schema.encode();
    let _queryable = session
        .declare_queryable(format!("eshm/@schema/{fingerprint:016x}"))
        .callback(move |q| {
            let _ = q.reply(q.key_expr().clone(), encoded.clone()).wait();
        })
        .wait()
        .expect("queryable");
    let publisher = session.declare_publisher("eshm/robot/forged").wait().expect("publisher");
    while !publisher.matching_status().wait().expect("matching status").matching() {
        std::thread::sleep(Duration::from_millis(10));
    }
    println!("started");
    let origin = session.zid().to_le_bytes();
    let header = |seq| Header { fingerprint, seq, stamp_unix_ns: 0, lost_at_source: 0, origin };
    let good = eshm::message::as_bytes(&imu(1, 1)).to_vec();
    let mut other_version = header(1).encode();
    other_version[0] = 9;
    if read_parent_line() == "send" {
        let put = |payload: Vec<u8>, attachment: Option<[u8; 56]>| {
            publisher.put(payload).attachment(attachment.map(Vec::from)).wait().expect("put");
        };
        put(good.clone(), None);
        put(good.clone(), Some(other_version));
        put(vec![0xA5; 10], Some(header(1).encode()));
        put(good, Some(header(2).encode()));
        // A batch of three (messages 3, 4 and 5), then one that says three and holds two.
        let mut batch = Vec::new();
        for i in 2..=4 {
            eshm_bridge::wire::push_record(&mut batch, eshm::message::as_bytes(&imu(1, i)));
        }
        let attach = |h: Header, n| Some(h.encode_batch(n).to_vec());
        publisher.put(batch.clone()).attachment(attach(header(3), 3)).wait().expect("put");
        let short = batch[..batch.len() / 3 * 2].to_vec();
        publisher.put(short).attachment(attach(header(6), 3)).wait().expect("put");
        println!("sent");
    }
    eshm_tests::wait_for_parent();
}
