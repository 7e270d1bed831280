//! Zero-copy samples between real processes: a sample held in one process while the
//! publisher in another laps the ring a hundred times stays intact, and a reader in a third
//! receives every message or counts it lost; readers killed (SIGKILL) while they hold samples
//! give them back, fifty times over, while the publisher keeps publishing.
//!
//! Like `multiprocess.rs`, this binary has its own `main`: with `ESHM_TEST_CHILD_ROLE` set it
//! plays a child role.

use eshm::inspect::{self, Holding};
use eshm::schema::fnv1a64;
use eshm::segment::{SegmentKind, file_name, shm_dir};
use eshm::{Publisher, Subscriber};
use eshm_tests::{CHILD_PATIENCE, ChildProcess, field, read_parent_line, unique_name};
use std::time::{Duration, Instant};

/// 8 KiB messages: they live in a pool.
type Frame = [u64; 1024];

fn frame(seq: u64) -> Frame {
    std::array::from_fn(|i| seq << 16 | i as u64)
}

/// The sequence number of an intact frame (`None` if any word disagrees).
fn seq_of(f: &Frame) -> Option<u64> {
    let seq = f[0] >> 16;
    (*f == frame(seq)).then_some(seq)
}

fn hash(f: &Frame) -> u64 {
    fnv1a64(eshm::message::as_bytes(f))
}

// ---------------------------------------------------------------------------------------------
// Child roles.

/// `frame_publisher NAME COUNT`: on `first`, publishes frame 1 and says `first`; on `rest`,
/// frames 2 to COUNT as fast as it can, and says `published`; then waits to be released.
fn child_frame_publisher(args: &[String]) {
    let count: u64 = args[1].parse().unwrap();
    let mut publisher = Publisher::<Frame>::builder(&args[0]).capacity(8).create().unwrap();
    println!("ready");
    assert_eq!(read_parent_line(), "first");
    publisher.publish(&frame(1)).unwrap();
    println!("first");
    assert_eq!(read_parent_line(), "rest");
    for seq in 2..=count {
        publisher.publish(&frame(seq)).unwrap();
    }
    println!("published");
    eshm_tests::wait_for_parent();
}

/// `copier NAME LAST`: receives copies until frame LAST, checking that each is intact and
/// comes after the one before; prints `done received=R lost=L`.
fn child_copier(args: &[String]) {
    let last: u64 = args[1].parse().unwrap();
    let mut sub = Subscriber::<Frame>::open(&args[0]).unwrap();
    println!("ready");
    let (mut received, mut previous) = (0u64, 0u64);
    loop {
        let f = sub.recv_timeout(CHILD_PATIENCE).unwrap();
        let seq = seq_of(&f).expect("an intact frame");
        assert!(seq > previous, "frame {seq} after {previous}");
        previous = seq;
        received += 1;
        if seq == last {
            break;
        }
    }
    println!("done received={received} lost={}", sub.lost());
}

/// `holder NAME`: receives two frames in place, says `holding`, and keeps them until killed.
fn child_holder(args: &[String]) {
    let mut sub = Subscriber::<Frame>::builder(&args[0]).max_held(2).open().unwrap();
    println!("ready");
    let a = sub.recv_ref_timeout(CHILD_PATIENCE).unwrap();
    let b = sub.recv_ref_timeout(CHILD_PATIENCE).unwrap();
    assert!(a.is_in_place() && seq_of(&a).is_some() && seq_of(&b).is_some());
    println!("holding");
    eshm_tests::wait_for_parent();
    drop((a, b));
}

// ---------------------------------------------------------------------------------------------
// Tests.

fn holders(name: &str) -> Vec<Holding> {
    let info = inspect::info(SegmentKind::Topic, name).unwrap();
    info.pool.expect("a pooled topic").holders
}

/// A sample held here while the publisher (another process) laps its ring of eight 100 times:
/// its bytes hash the same before and after; a copying reader (a third process) receives
/// every frame intact and in order, or counts it lost.
fn a_held_sample_stays_intact_while_the_publisher_laps_the_ring() {
    let name = unique_name("held-lapped");
    let count = 1 + 8 * 100;
    let mut copier = ChildProcess::spawn("copier", &[name.clone(), count.to_string()]);
    copier.expect_line("ready");
    let mut publisher = ChildProcess::spawn("frame_publisher", &[name.clone(), count.to_string()]);
    publisher.expect_line("ready");
    let mut holder = Subscriber::<Frame>::open(&name).unwrap();
    publisher.send("first");
    publisher.expect_line("first");
    let held = holder.recv_ref_timeout(CHILD_PATIENCE).unwrap();
    assert!(held.is_in_place());
    assert_eq!(seq_of(&held), Some(1));
    let before = hash(&held);
    publisher.send("rest");
    publisher.expect_line("published");
    assert_eq!(hash(&held), before, "the held frame changed");
    assert_eq!(seq_of(&held), Some(1));
    let done = copier.finish("done");
    assert_eq!(field(&done, "received") + field(&done, "lost"), count, "{done}");
    // The holder itself lost what the ring no longer holds, and goes on with the oldest left.
    let next = holder.recv_ref_timeout(CHILD_PATIENCE).unwrap();
    assert!(seq_of(&next).is_some_and(|s| s > count - 8), "{:?}", seq_of(&next));
    assert_eq!(holder.lost() + 1, seq_of(&next).unwrap() - 1);
    drop((held, next));
    publisher.release();
}

/// Fifty readers, one after the other, each killed (SIGKILL) while it holds two samples: the
/// publisher goes on publishing, every new reader gets its samples (the dead ones' hold slots
/// come back: the topic has only four), `eshm info` names each holder, and at the end nothing
/// is held and nothing is left behind.
fn readers_killed_holding_samples_give_them_back() {
    let name = unique_name("killed-holders");
    let mut publisher = Publisher::<Frame>::builder(&name).held_samples(4).create().unwrap();
    let mut seq = 0u64;
    let mut publish = |publisher: &mut Publisher<Frame>| {
        seq += 1;
        publisher.publish(&frame(seq)).unwrap();
    };
    for cycle in 0..50 {
        let mut holder = ChildProcess::spawn("holder", std::slice::from_ref(&name));
        holder.expect_line("ready");
        publish(&mut publisher);
        publish(&mut publisher);
        holder.expect_line("holding");
        let held = holders(&name);
        assert!(
            held.iter().any(|h| h.pid == holder.pid() && h.samples == 2 && h.alive),
            "cycle {cycle}: {held:?}"
        );
        holder.kill();
        for _ in 0..3 {
            publish(&mut publisher);
        }
    }
    // The last holder's samples come back too: the publisher looks for dead holders while it
    // publishes.
    let deadline = Instant::now() + CHILD_PATIENCE;
    while !holders(&name).is_empty() {
        assert!(Instant::now() < deadline, "still held: {:?}", holders(&name));
        publish(&mut publisher);
        std::thread::sleep(Duration::from_millis(5));
    }
    let file = file_name(SegmentKind::Topic, &name).unwrap();
    let prefix = "eshm.tmp.";
    let leftovers: Vec<String> = std::fs::read_dir(shm_dir())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|f| {
            *f == file || f.starts_with(prefix) && f.contains(&std::process::id().to_string())
        })
        .collect();
    assert_eq!(leftovers, [file], "only the topic's own file");
}

fn main() {
    eshm_tests::run_main(
        &[
            ("frame_publisher", child_frame_publisher as eshm_tests::ChildRole),
            ("copier", child_copier),
            ("holder", child_holder),
        ],
        eshm_tests::named_tests![
            a_held_sample_stays_intact_while_the_publisher_laps_the_ring,
            readers_killed_holding_samples_give_them_back,
        ],
    );
}
