//! What the benchmarks share (`bench`, and `service_bench` through `#[path]`): pinning,
//! child processes, statistics, timing loops, and the floor (one atomic word bounced between
//! two processes, measured in the same run as the rows it is compared with).
#![allow(dead_code)] // each benchmark uses its own part

use eshm::WaitStrategy;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// The environment variable that tells a child which role to play.
pub(crate) const ROLE_ENV: &str = "ESHM_BENCH_ROLE";
pub(crate) const CPU_A: usize = 0;
pub(crate) const CPU_B: usize = 1;

pub(crate) fn pin(cpu: usize) {
    let mut set = rustix::thread::CpuSet::new();
    set.set(cpu % rustix::thread::CpuSet::MAX_CPU);
    if let Err(e) = rustix::thread::sched_setaffinity(None, &set) {
        eprintln!("warning: cannot pin to CPU {cpu}: {e}");
    }
}

pub(crate) struct Stats {
    pub(crate) n: usize,
    pub(crate) p50: f64,
    pub(crate) p99: f64,
    pub(crate) p999: f64,
    pub(crate) mean: f64,
}

impl Stats {
    /// Percentiles and mean of samples in ns, each multiplied by `scale`.
    pub(crate) fn of(mut samples: Vec<u64>, scale: f64) -> Stats {
        samples.sort_unstable();
        let n = samples.len();
        let q = |p: f64| samples[((p * n as f64).ceil() as usize).clamp(1, n) - 1] as f64 * scale;
        let mean = samples.iter().map(|&v| v as f64).sum::<f64>() / n as f64 * scale;
        Stats { n, p50: q(0.5), p99: q(0.99), p999: q(0.999), mean }
    }

    /// From round-trip samples in ns, as one-way figures.
    pub(crate) fn one_way(rtt: Vec<u64>) -> Stats {
        Stats::of(rtt, 0.5)
    }
}

pub(crate) fn spawn(role: &str, args: &[String]) -> Child {
    Command::new(std::env::current_exe().expect("current exe"))
        .args(args)
        .env(ROLE_ENV, role)
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .spawn()
        .expect("spawn benchmark child")
}

pub(crate) fn wait_ok(mut child: Child) {
    let status = child.wait().expect("wait for child");
    assert!(status.success(), "benchmark child failed: {status}");
}

/// Runs `round(i)` for `i` in `1..=warmup + iters` and returns how long each of the last
/// `iters` rounds took, in ns.
pub(crate) fn time_rounds(warmup: usize, iters: usize, mut round: impl FnMut(u64)) -> Vec<u64> {
    let mut stamps = Vec::with_capacity(iters + 1);
    for i in 1..=(warmup + iters) as u64 {
        if i as usize == warmup + 1 {
            stamps.push(Instant::now());
        }
        round(i);
        if i as usize > warmup {
            stamps.push(Instant::now());
        }
    }
    stamps.windows(2).map(|p| (p[1] - p[0]).as_nanos() as u64).collect()
}

pub(crate) fn wait_strategy(mode: &str) -> WaitStrategy {
    match mode {
        "spin" => WaitStrategy::Spin,
        "park" => WaitStrategy::Park,
        _ => WaitStrategy::default(),
    }
}

// The floor: one atomic word, bounced.

pub(crate) struct Word {
    _map: memmap2::MmapMut,
    ptr: *const AtomicU64,
    pub(crate) path: String,
}

impl Word {
    pub(crate) fn open(path: &str, create: bool) -> Word {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(create)
            .truncate(false)
            .open(path)
            .expect("floor file");
        if create {
            file.set_len(4096).expect("size floor file");
        }
        // SAFETY: the file is ours (created just now, or by our parent for this run) and is
        // only ever accessed through the atomic below, in both processes.
        let mut map = unsafe { memmap2::MmapMut::map_mut(&file) }.expect("map floor file");
        let ptr = map.as_mut_ptr().cast::<AtomicU64>().cast_const();
        Word { _map: map, ptr, path: path.to_owned() }
    }

    pub(crate) fn get(&self, index: usize) -> &AtomicU64 {
        assert!(index < 512);
        // SAFETY: the mapping is 4096 bytes (512 words, `index` is below that).
        let ptr = unsafe { self.ptr.add(index) };
        // SAFETY: in bounds (above), aligned (page-aligned base, 8-byte steps), valid while
        // `self` keeps the mapping, and accessed only atomically by both processes.
        unsafe { &*ptr }
    }
}

/// Word (in 8-byte units) of the answer: the same cache line as the question (`lines` = 1), or
/// the next line (`lines` = 2, as with two topics, which are two lines).
pub(crate) fn answer_word(lines: &str) -> usize {
    if lines == "2" { 8 } else { 0 }
}

pub(crate) fn floor_child(args: &[String]) {
    pin(CPU_B);
    let word = Word::open(&args[0], false);
    let total: u64 = args[1].parse().unwrap();
    let (ask, answer) = (word.get(0), word.get(answer_word(&args[2])));
    answer.store(1, Ordering::Release); // ready
    for i in 1..=total {
        while ask.load(Ordering::Acquire) != 2 * i {}
        answer.store(2 * i + 1, Ordering::Release);
    }
}

/// One-way latency of the bare ping-pong of one atomic word (`lines` = 1: question and answer
/// in one cache line, the absolute floor) or of two words in two lines (`lines` = 2: what any
/// transport with one line per direction pays).
pub(crate) fn floor(iters: usize, lines: &str) -> Stats {
    let path = format!("/dev/shm/eshm-bench-floor-{}", std::process::id());
    let word = Word::open(&path, true);
    let (ask, answer) = (word.get(0), word.get(answer_word(lines)));
    ask.store(0, Ordering::Release);
    answer.store(0, Ordering::Release);
    let warmup = iters / 10;
    let child = spawn("floor", &[path.clone(), (warmup + iters).to_string(), lines.to_owned()]);
    pin(CPU_A);
    while answer.load(Ordering::Acquire) != 1 {
        std::thread::yield_now();
    }
    let rounds = time_rounds(warmup, iters, |i| {
        ask.store(2 * i, Ordering::Release);
        while answer.load(Ordering::Acquire) != 2 * i + 1 {}
    });
    wait_ok(child);
    let _ = std::fs::remove_file(&word.path);
    Stats::one_way(rounds)
}
