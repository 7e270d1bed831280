//! Large messages written and read in place: 1, 4 and 16 MiB ping-pong where the writer writes
//! every byte through a loan and the reader reads every byte of a sample held in place, next
//! to the touch floor of the same run (the same bytes written by one process and read by the
//! other through a raw mapping, handed over with one atomic word, two buffers per direction);
//! and the byte channel's 1 MiB round trip in place at both ends.
//!
//! RESULT lines use the peers harness's names (`bench=pingpong_pubsub ... touch=1`,
//! `impl=floor bench=pingpong_touch`), so that iceoryx2's `--touch=1` rows of the same run sit
//! next to them.

use super::{CPU_A, CPU_B, Stats, pin, spawn, time_rounds, topic, wait_ok, wait_strategy};
use eshm::channel::{Channel, Role};
use eshm::{Publisher, Subscriber};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Writes `byte` into every byte of `buf` (the producer's part).
#[inline(never)]
fn touch_write(buf: &mut [u8], byte: u8) {
    buf.fill(byte);
}

/// Reads every byte of `buf` (the consumer's part), a word at a time.
#[inline(never)]
fn touch_read(buf: &[u8]) -> u64 {
    let (words, rest) = buf.as_chunks::<8>();
    let sum = words.iter().fold(0u64, |a, w| a.wrapping_add(u64::from_ne_bytes(*w)));
    std::hint::black_box(rest.iter().fold(sum, |a, &b| a.wrapping_add(u64::from(b))))
}

/// The size label of the peers harness: `1MiB`.
fn size_label(bytes: usize) -> String {
    super::label(bytes).replace(' ', "")
}

// ---------------------------------------------------------------------------------------------
// The touch floor.

/// A mapped region: a control page (the handover word at 0, the child's "ready" word at 64),
/// then `2 * slots` buffers of `size` bytes (A's, then B's).
struct Region {
    map: memmap2::MmapMut,
    size: usize,
}

impl Region {
    fn open(path: &str, size: usize, slots: usize, create: bool) -> Region {
        let len = 4096 + 2 * slots * size.next_multiple_of(4096);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(create)
            .truncate(false)
            .open(path)
            .expect("touch floor file");
        if create {
            file.set_len(len as u64).expect("size the touch floor file");
        }
        // SAFETY: the file is this run's own; both processes access the control words only
        // atomically, and each buffer is written by one side and read by the other only after
        // the handover word says so (Release/Acquire).
        let map = unsafe { memmap2::MmapMut::map_mut(&file) }.expect("map the touch floor");
        Region { map, size }
    }

    fn word(&self, at: usize) -> &AtomicU64 {
        assert!(at + 8 <= 4096 && at.is_multiple_of(8));
        // SAFETY: `at` is inside the control page (asserted), so the pointer stays in the
        // mapping.
        let ptr = unsafe { self.map.as_ptr().add(at) }.cast::<AtomicU64>();
        // SAFETY: in bounds, 8-aligned in a page-aligned mapping, valid while `self` keeps the
        // mapping, and only accessed atomically by both processes.
        unsafe { &*ptr }
    }

    /// Buffer `i` (A's are `0..slots`, B's `slots..2 * slots`).
    fn buf(&mut self, i: usize) -> &mut [u8] {
        let start = 4096 + i * self.size.next_multiple_of(4096);
        &mut self.map[start..start + self.size]
    }
}

fn touch_floor_child(args: &[String]) {
    pin(CPU_B);
    let (size, slots, total) =
        (args[1].parse().unwrap(), args[2].parse().unwrap(), args[3].parse::<u64>().unwrap());
    let mut r = Region::open(&args[0], size, slots, false);
    r.word(64).store(1, Ordering::Release);
    let mut acc = 0u64;
    for i in 0..total {
        while r.word(0).load(Ordering::Acquire) != 2 * i + 1 {}
        let k = i as usize % slots;
        acc = acc.wrapping_add(touch_read(r.buf(k)));
        touch_write(r.buf(slots + k), i as u8);
        r.word(0).store(2 * i + 2, Ordering::Release);
    }
    std::hint::black_box(acc);
}

/// Round trips of the touch floor (two buffers per direction, used alternately).
fn touch_floor(size: usize, iters: usize) -> Vec<u64> {
    let slots = 2;
    let path = format!("/dev/shm/eshm-bench-touch-{}", std::process::id());
    let mut r = Region::open(&path, size, slots, true);
    let warmup = (iters / 10).max(10);
    let total = warmup + iters;
    let child = spawn(
        "touch-floor",
        &[path.clone(), size.to_string(), slots.to_string(), total.to_string()],
    );
    pin(CPU_A);
    while r.word(64).load(Ordering::Acquire) != 1 {
        std::thread::yield_now();
    }
    let mut acc = 0u64;
    let rounds = time_rounds(warmup, iters, |round| {
        let i = round - 1; // the child counts from 0
        let k = i as usize % slots;
        touch_write(r.buf(k), i as u8);
        r.word(0).store(2 * i + 1, Ordering::Release);
        while r.word(0).load(Ordering::Acquire) != 2 * i + 2 {}
        acc = acc.wrapping_add(touch_read(r.buf(slots + k)));
    });
    std::hint::black_box(acc);
    wait_ok(child);
    let _ = std::fs::remove_file(&path);
    rounds
}

// ---------------------------------------------------------------------------------------------
// Publish/subscribe in place.

/// A topic of `size`-byte frames for ping-pong: one message in the ring (a ping-pong never has
/// more in flight), so that the writer cycles through as few blocks as the floor's buffers.
fn frames(name: &str, size: usize) -> Publisher<[u8]> {
    Publisher::<[u8]>::builder(name).max_len(size).capacity(1).create().expect("frames topic")
}

fn subscribe(name: &str) -> Subscriber<[u8]> {
    Subscriber::<[u8]>::builder(name)
        .wait_strategy(wait_strategy("spin"))
        .open()
        .expect("frames subscriber")
}

fn zero_copy_echo_child(args: &[String]) {
    pin(CPU_B);
    let (size, total) = (args[2].parse().unwrap(), args[3].parse::<u64>().unwrap());
    let mut sub = subscribe(&args[0]);
    let mut publisher = frames(&args[1], size);
    for i in 0..total {
        let frame = sub.recv_ref().expect("receive ping");
        assert!(frame.is_in_place());
        assert_eq!(frame[0], i as u8, "the ping carries its number");
        touch_read(&frame);
        drop(frame);
        let mut out = publisher.loan_slice(size).expect("loan");
        touch_write(&mut out, i as u8);
        out.publish().expect("publish pong");
    }
}

/// Round trips of a zero-copy ping-pong of `size`-byte frames.
fn zero_copy_pingpong(size: usize, iters: usize) -> Vec<u64> {
    let (ping, pong) = (topic(&format!("zc-ping-{size}")), topic(&format!("zc-pong-{size}")));
    let warmup = (iters / 10).max(10);
    let total = warmup + iters;
    let mut publisher = frames(&ping, size);
    let mut sub = subscribe(&pong);
    let child =
        spawn("zero-copy-echo", &[ping.clone(), pong.clone(), size.to_string(), total.to_string()]);
    pin(CPU_A);
    super::wait_for_reader(&ping);
    let rounds = time_rounds(warmup, iters, |round| {
        let i = round - 1; // the echo side counts from 0
        let mut out = publisher.loan_slice(size).expect("loan");
        touch_write(&mut out, i as u8);
        out.publish().expect("publish ping");
        let back = sub.recv_ref().expect("receive pong");
        assert_eq!(back[size - 1], i as u8, "the pong carries the ping's number");
        touch_read(&back);
    });
    wait_ok(child);
    rounds
}

// ---------------------------------------------------------------------------------------------
// The byte channel in place.

fn open_channel(name: &str, role: Role, size: usize) -> Channel {
    Channel::builder(name)
        .role(role)
        .max_message(size)
        .capacity(4 * size)
        .wait_strategy(wait_strategy("spin"))
        .read_timeout(Duration::from_secs(60))
        .write_timeout(Duration::from_secs(60))
        .open()
        .expect("open channel")
}

fn channel_in_place_child(args: &[String]) {
    pin(CPU_B);
    let (size, total) = (args[1].parse().unwrap(), args[2].parse::<u64>().unwrap());
    let ch = open_channel(&args[0], Role::Slave, size);
    for i in 0..total {
        let got = ch.read_ref().expect("read");
        assert_eq!(got[0], i as u8);
        touch_read(&got);
        drop(got);
        let mut out = ch.loan(size).expect("loan");
        touch_write(&mut out, i as u8);
        out.commit().expect("commit");
    }
}

fn channel_in_place(size: usize, iters: usize) -> Vec<u64> {
    let name = topic(&format!("channel-in-place-{size}"));
    let warmup = (iters / 10).max(10);
    let total = warmup + iters;
    let ch = open_channel(&name, Role::Master, size);
    let child = spawn("channel-in-place", &[name.clone(), size.to_string(), total.to_string()]);
    pin(CPU_A);
    let rounds = time_rounds(warmup, iters, |round| {
        let i = round - 1; // the slave counts from 0
        let mut out = ch.loan(size).expect("loan");
        touch_write(&mut out, i as u8);
        out.commit().expect("commit");
        let back = ch.read_ref().expect("read");
        assert_eq!(back[size - 1], i as u8);
        touch_read(&back);
    });
    wait_ok(child);
    rounds
}

// ---------------------------------------------------------------------------------------------

/// The child roles of this part.
pub(super) fn child(role: &str, args: &[String]) -> bool {
    match role {
        "touch-floor" => touch_floor_child(args),
        "zero-copy-echo" => zero_copy_echo_child(args),
        "channel-in-place" => channel_in_place_child(args),
        _ => return false,
    }
    true
}

fn row(what: &str, size: usize, s: &Stats, floor: Option<&Stats>) {
    let x = floor.map_or(String::from("-"), |f| format!("{:.2}", s.p50 / f.p50));
    println!(
        "{what:<28} {:>7} {:>11.1} {:>11.1} {:>11.1} {:>11.1} {:>8}",
        size_label(size),
        s.p50 / 1e3,
        s.p99 / 1e3,
        s.p999 / 1e3,
        s.mean / 1e3,
        x
    );
}

fn result(imp: &str, bench: &str, size: usize, variant: &str, s: &Stats, floor: Option<&Stats>) {
    let floor = floor.map_or(String::new(), |f| {
        format!(" touch_floor_p50_ns={:.1} x_touch_floor={:.3}", f.p50, s.p50 / f.p50)
    });
    println!(
        "RESULT impl={imp} bench={bench} payload={} {variant} n={} oneway_p50_ns={:.1} oneway_p99_ns={:.1} oneway_p999_ns={:.1} oneway_mean_ns={:.1}{floor}",
        size_label(size),
        s.n,
        s.p50,
        s.p99,
        s.p999,
        s.mean
    );
}

/// Runs the part: each size's floor right before its eshm row.
pub(super) fn run(quick: bool) {
    println!(
        "\nlarge messages, written and read in place (every byte), one-way = round trip / 2, µs:"
    );
    println!(
        "{:<28} {:>7} {:>11} {:>11} {:>11} {:>11} {:>8}",
        "", "payload", "p50", "p99", "p99.9", "mean", "x floor"
    );
    let scale = |n: usize| if quick { (n / 10).max(20) } else { n };
    let mut pubsub_1mib = None;
    for (size, iters) in [(1 << 20, 5_000), (4 << 20, 1_000), (16 << 20, 200)] {
        let floor = Stats::one_way(touch_floor(size, scale(iters)));
        row("touch floor (raw mapping)", size, &floor, None);
        result("floor", "pingpong_touch", size, "pause=0 slots=2", &floor, None);
        let s = Stats::one_way(zero_copy_pingpong(size, scale(iters)));
        row("eshm pub/sub, loan + sample", size, &s, Some(&floor));
        result("eshm", "pingpong_pubsub", size, "wait=busy_poll touch=1", &s, Some(&floor));
        if size == 1 << 20 {
            pubsub_1mib = Some(s);
        }
    }
    let size = 1 << 20;
    let s = Stats::one_way(channel_in_place(size, scale(5_000)));
    let pubsub = pubsub_1mib.expect("the 1 MiB row ran");
    row("eshm channel, loan + read_ref", size, &s, None);
    println!("  (x the pub/sub row of the same size: {:.2})", s.p50 / pubsub.p50);
    let variant = format!("wait=busy_poll touch=1 x_pubsub={:.3}", s.p50 / pubsub.p50);
    result("eshm", "pingpong_channel", size, &variant, &s, None);
}
