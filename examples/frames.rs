//! Camera frames between two processes without copies: the publisher writes each frame
//! straight into shared memory (a loan), the subscriber reads it where it lies (a sample), and
//! frames vary in size (a `[u8]` topic with a maximum length).
//!
//! ```text
//! cargo run --release --example frames            # 300 frames of up to 1920x1080 RGB
//! cargo run --release --example frames -- 50      # 50 frames
//! ```
//!
//! The publisher alternates full-HD and VGA frames, each filled with a pattern the subscriber
//! (a second process, started by this one) checks byte for byte, in place. The subscriber holds
//! the previous frame while it checks the next one, as a tracker comparing two frames would:
//! the publisher never overwrites a frame that is held.

use eshm::{Publisher, Subscriber};
use std::process::Command;
use std::time::{Duration, Instant};

const ROLE_ENV: &str = "ESHM_FRAMES_ROLE";
const FULL_HD: (usize, usize) = (1920, 1080);
const VGA: (usize, usize) = (640, 480);
const MAX_LEN: usize = FULL_HD.0 * FULL_HD.1 * 3;

/// The frame of number `seq`: its size and the byte at `i`.
fn geometry(seq: u64) -> (usize, usize) {
    if seq.is_multiple_of(2) { FULL_HD } else { VGA }
}

fn pixel(seq: u64, i: usize) -> u8 {
    (seq as usize).wrapping_mul(31).wrapping_add(i / 4096) as u8
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let frames: u64 = args.next().map_or(Ok(300), |a| a.parse())?;
    let topic = args.next().unwrap_or_else(|| format!("frames/camera/{}", std::process::id()));
    if std::env::var_os(ROLE_ENV).is_some() {
        return subscriber(&topic, frames);
    }
    let mut publisher = Publisher::<[u8]>::builder(&topic).max_len(MAX_LEN).create()?;
    println!(
        "[publisher  pid {}] {frames} frames of up to {} MiB on {topic:?}, written in place{}",
        std::process::id(),
        MAX_LEN >> 20,
        if publisher.is_pooled() { "" } else { " (copied: small topic)" }
    );
    let mut child = Command::new(std::env::current_exe()?)
        .args([frames.to_string(), topic.clone()])
        .env(ROLE_ENV, "subscriber")
        .spawn()?;
    while eshm::inspect::info(eshm::segment::SegmentKind::Topic, &topic)?.readers == 0 {
        std::thread::sleep(Duration::from_millis(1));
    }
    let start = Instant::now();
    let mut bytes = 0;
    for seq in 0..frames {
        let (w, h) = geometry(seq);
        let mut frame = publisher.loan_slice(w * h * 3)?;
        for (i, b) in frame.iter_mut().enumerate() {
            *b = pixel(seq, i);
        }
        bytes += frame.len();
        frame.publish()?;
        // A camera's pace: the subscriber keeps up (the ring holds a few frames anyway).
        std::thread::sleep(Duration::from_millis(2));
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "[publisher  pid {}] wrote {frames} frames, {:.1} MiB, in {secs:.2} s",
        std::process::id(),
        bytes as f64 / (1 << 20) as f64
    );
    let status = child.wait()?;
    assert!(status.success(), "subscriber failed: {status}");
    Ok(())
}

fn subscriber(topic: &str, frames: u64) -> Result<(), Box<dyn std::error::Error>> {
    let mut sub = Subscriber::<[u8]>::open(topic)?;
    let (mut checked, mut in_place, mut previous) = (0u64, 0u64, None);
    let mut bytes = 0usize;
    let start = Instant::now();
    while checked + sub.lost() < frames {
        let frame = sub.recv_ref_timeout(Duration::from_secs(10))?;
        let seq = checked + sub.lost();
        let (w, h) = geometry(seq);
        assert_eq!(frame.len(), w * h * 3, "frame {seq} has its size");
        assert!(frame.iter().enumerate().all(|(i, &b)| b == pixel(seq, i)), "frame {seq} intact");
        in_place += u64::from(frame.is_in_place());
        bytes += frame.len();
        checked += 1;
        // Keep this frame until the next one is checked (two held at most: the default).
        previous = Some(frame);
    }
    drop(previous);
    println!(
        "[subscriber pid {}] checked {checked} frames byte for byte ({in_place} read in place, {} lost), {:.0} MiB/s",
        std::process::id(),
        sub.lost(),
        bytes as f64 / (1 << 20) as f64 / start.elapsed().as_secs_f64()
    );
    Ok(())
}
