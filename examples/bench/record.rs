//! How fast `eshm record` writes: a publisher in this process publishes as fast as it can
//! (then at half the rate the recorder kept up with) on one topic for a few seconds, while
//! the real `eshm record` command, in another process, writes the topic to an MCAP file. For
//! 64 B and 1 MiB messages it prints the publish rate next to what was recorded (messages/s,
//! MB/s of messages written) and lost (overwritten in the ring before the recorder read them).
//!
//! ```text
//! cargo build --release -p eshm-cli
//! cargo run --release --example record_bench              # files go to the temp directory
//! cargo run --release --example record_bench -- --dir /dev/shm --quick
//! ```
//!
//! Prints figures; asserts nothing. The 1 MiB messages are copied into the ring by the
//! publisher and out of it by the recorder (no zero-copy path yet), then written to the file.

use eshm::{Message, RawPublisher, Schema};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The `eshm` binary built next to this example (`target/<profile>/eshm`), or `$ESHM_BIN`.
fn eshm_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("ESHM_BIN") {
        return Some(path.into());
    }
    let exe = std::env::current_exe().ok()?;
    let path = exe.parent()?.parent()?.join("eshm");
    path.exists().then_some(path)
}

struct Outcome {
    published: u64,
    publish_secs: f64,
    recorded: u64,
    lost: u64,
    file_bytes: u64,
}

/// `eshm record` of topic `name` while this process publishes messages of `schema` for
/// `secs` seconds, at `rate` messages per second (`None`: as fast as it can).
fn run(eshm: &Path, dir: &Path, schema: &Schema, secs: f64, rate: Option<f64>) -> Outcome {
    let name = format!("eshm-bench/record/{}", std::process::id());
    let mut publisher = RawPublisher::create(&name, schema).expect("create the topic");
    let file = dir.join(format!("eshm-record-bench-{}.mcap", std::process::id()));
    let _ = std::fs::remove_file(&file);
    let mut recorder = Command::new(eshm)
        .args(["record", "-o"])
        .arg(&file)
        .arg(&name)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start eshm record");
    let mut stderr = BufReader::new(recorder.stderr.take().expect("piped"));
    let mut line = String::new();
    while !line.contains("topic(s) now") {
        line.clear();
        assert!(stderr.read_line(&mut line).expect("read") > 0, "eshm record exited");
    }
    // The progress lines are not needed; keep the pipe drained.
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));

    let mut message = vec![0u8; schema.size()];
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(secs);
    let mut published = 0u64;
    loop {
        if published.is_multiple_of(64) && Instant::now() >= end {
            break;
        }
        if let Some(rate) = rate {
            let due = start + Duration::from_secs_f64(published as f64 / rate);
            while Instant::now() < due {
                std::hint::spin_loop();
            }
        }
        message[..8].copy_from_slice(&published.to_le_bytes());
        publisher.publish_bytes(&message).expect("publish");
        published += 1;
    }
    let publish_secs = start.elapsed().as_secs_f64();
    // Ctrl-C: the recorder takes what is still in the ring, then finishes the file.
    let pid = rustix::process::Pid::from_raw(recorder.id() as i32).expect("pid");
    rustix::process::kill_process(pid, rustix::process::Signal::INT).expect("signal");
    let mut summary = String::new();
    recorder.stdout.take().expect("piped").read_to_string(&mut summary).expect("read");
    assert!(recorder.wait().expect("wait").success(), "eshm record failed: {summary}");
    let first = summary.lines().next().unwrap_or_default();
    let number_after = |key: &str, before: bool| -> u64 {
        let s = if before {
            first.split(key).next().and_then(|s| s.rsplit(' ').next())
        } else {
            first.split(key).nth(1).and_then(|s| s.split(' ').next())
        };
        s.and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("no {key:?} in {first:?}"))
    };
    let recorded = number_after("recorded ", false);
    let lost = number_after(" lost;", true);
    let file_bytes = std::fs::metadata(&file).map_or(0, |m| m.len());
    let _ = std::fs::remove_file(&file);
    Outcome { published, publish_secs, recorded, lost, file_bytes }
}

fn report(label: &str, size: usize, how: &str, o: &Outcome) {
    let secs = o.publish_secs;
    let mb = |n: u64| n as f64 * size as f64 / 1e6 / secs;
    println!(
        "{label:>6} {how:<22} published {:>10.0} msg/s  recorded {:>10.0} msg/s {:>8.1} MB/s  lost {:>9} ({:.1} %)  file {:.1} MB",
        o.published as f64 / secs,
        o.recorded as f64 / secs,
        mb(o.recorded),
        o.lost,
        100.0 * o.lost as f64 / o.published.max(1) as f64,
        o.file_bytes as f64 / 1e6,
    );
    println!(
        "RESULT bench=record payload={size} mode={} publish_msgs_per_s={:.0} record_msgs_per_s={:.0} record_mb_per_s={:.1} lost={} published={}",
        how.split_whitespace().next().unwrap_or("?"),
        o.published as f64 / secs,
        o.recorded as f64 / secs,
        mb(o.recorded),
        o.lost,
        o.published
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let dir = args
        .iter()
        .position(|a| a == "--dir")
        .and_then(|i| args.get(i + 1))
        .map_or_else(std::env::temp_dir, PathBuf::from);
    let Some(eshm) = eshm_binary() else {
        eprintln!(
            "the eshm binary is not built: cargo build --release -p eshm-cli (or set ESHM_BIN)"
        );
        std::process::exit(2);
    };
    println!("recorder: {}, files in {}", eshm.display(), dir.display());
    let cases: [(&str, &Schema, f64); 2] = [
        ("64 B", <[u64; 8] as Message>::SCHEMA, if quick { 0.5 } else { 3.0 }),
        ("1 MiB", <[u8; 1 << 20] as Message>::SCHEMA, if quick { 0.3 } else { 2.0 }),
    ];
    for (label, schema, secs) in cases {
        let flat_out = run(&eshm, &dir, schema, secs, None);
        report(label, schema.size(), "flat-out", &flat_out);
        let half = (flat_out.recorded as f64 / flat_out.publish_secs / 2.0).max(1.0);
        let paced = run(&eshm, &dir, schema, secs, Some(half));
        report(label, schema.size(), &format!("paced {half:.0}/s"), &paced);
    }
}
