//! The Rust side of the tests of message types declared in Python
//! (`eshm-py/tests/test_declare_interop.py`): the derive of the structs those tests declare as
//! `eshm.Message` classes, publishing and receiving them.
//!
//! ```text
//! declared publish NAME COUNT   # once a reader is on NAME, publishes COUNT Tracks (the ring
//!                               # holds them all), prints "published COUNT", waits for stdin
//! declared receive NAME COUNT   # receives COUNT Tracks, each checked against track(i);
//!                               # prints "received COUNT" (exit 0) or the first difference
//!                               # (exit 1)
//! declared fingerprint          # prints the fingerprints of Mode, Imu and Track
//! declared modes NAME COUNT     # as publish, on a topic of `Mode` itself: the modes
//!                               # [Idle, Streaming, Fault][i % 3]
//! declared receive-modes NAME COUNT  # as receive, for those modes
//! ```
//!
//! `track(i)` is `pose = ((i, -i, 0.5), (0, 0, 0, 1))`; `imus[k]` (k = 0, 1) has
//! `stamp_ns = 2^40 + 2i + k`, `accel = (i, k, -1.5)`, `gyro = (0.25, i % 7, k)`,
//! `valid = (i + k) is even`, `mode = [Idle, Streaming, Fault][(i + k) % 3]`, `_pad = 0`;
//! `grid[r][c] = i - 5000 + 3r + c`; `seq = i`.

use eshm::msg::{Pose, Quaternion, Vector3};
use eshm::{Message, Publisher, Subscriber};
use std::time::Duration;

/// What the sensor is doing.
#[derive(Clone, Copy, Debug, PartialEq, eshm::Message)]
#[repr(u8)]
enum Mode {
    Idle = 0,
    Streaming = 1,
    Fault = 255,
}

/// One inertial measurement (the struct of issue 14, with a mode).
#[derive(Clone, Copy, Debug, PartialEq, eshm::Message)]
#[repr(C)]
struct Imu {
    stamp_ns: u64,
    accel: [f32; 3],
    gyro: [f32; 3],
    valid: bool,
    mode: Mode,
    _pad: [u8; 6],
}

/// A nested standard message, an array of messages and a two-dimensional array.
#[derive(Clone, Copy, Debug, PartialEq, eshm::Message)]
#[repr(C)]
struct Track {
    pose: Pose,
    imus: [Imu; 2],
    grid: [[i16; 3]; 2],
    seq: u32,
}

fn track(i: u64) -> Track {
    let f = i as f64;
    let imu = |k: u64| Imu {
        stamp_ns: (1 << 40) + 2 * i + k,
        accel: [i as f32, k as f32, -1.5],
        gyro: [0.25, (i % 7) as f32, k as f32],
        valid: (i + k).is_multiple_of(2),
        mode: [Mode::Idle, Mode::Streaming, Mode::Fault][((i + k) % 3) as usize],
        _pad: [0; 6],
    };
    let cell = |r: i64, c: i64| (i as i64 - 5000 + 3 * r + c) as i16;
    Track {
        pose: Pose {
            position: Vector3 { x: f, y: -f, z: 0.5 },
            orientation: Quaternion { x: 0.0, y: 0.0, z: 0.0, w: 1.0 },
        },
        imus: [imu(0), imu(1)],
        grid: [[cell(0, 0), cell(0, 1), cell(0, 2)], [cell(1, 0), cell(1, 1), cell(1, 2)]],
        seq: i as u32,
    }
}

fn mode(i: u64) -> Mode {
    [Mode::Idle, Mode::Streaming, Mode::Fault][(i % 3) as usize]
}

fn wait_for_reader(name: &str) -> eshm::Result<()> {
    while eshm::inspect::info(eshm::segment::SegmentKind::Topic, name)?.readers == 0 {
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

/// Publishes messages `make(0)` to `make(count - 1)` on `name` once a reader is attached, in a
/// ring that holds them all, then keeps the topic until the reader has everything (it closes
/// our stdin when done).
fn publish_all<T: Message>(name: &str, count: &str, make: fn(u64) -> T) -> eshm::Result<()> {
    let count: u64 = count.parse().expect("COUNT");
    let capacity = usize::try_from(count).expect("COUNT").max(1);
    let mut publisher = Publisher::<T>::builder(name).capacity(capacity).create()?;
    println!("ready");
    wait_for_reader(name)?;
    for i in 0..count {
        publisher.publish(&make(i))?;
    }
    println!("published {count}");
    let _ = std::io::stdin().read_line(&mut String::new());
    Ok(())
}

fn main() -> eshm::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [c] if c == "fingerprint" => {
            println!("Mode {:#018x}", Mode::SCHEMA.fingerprint());
            println!("Imu {:#018x}", Imu::SCHEMA.fingerprint());
            println!("Track {:#018x}", Track::SCHEMA.fingerprint());
        }
        [c, name, count] if c == "publish" => publish_all(name, count, track)?,
        [c, name, count] if c == "receive" => {
            let count: u64 = count.parse().expect("COUNT");
            let mut subscriber = Subscriber::<Track>::open(name)?;
            println!("ready");
            for i in 0..count {
                match subscriber.recv_timeout(Duration::from_secs(60)) {
                    Ok(_) if subscriber.lost() > 0 => {
                        println!("lost {} before message {i}", subscriber.lost());
                        std::process::exit(1);
                    }
                    Ok(got) if got == track(i) => {}
                    Ok(got) => {
                        println!("message {i} differs: got {got:?}, expected {:?}", track(i));
                        std::process::exit(1);
                    }
                    Err(e) => {
                        println!("error at message {i}: {e}");
                        std::process::exit(1);
                    }
                }
            }
            println!("received {count}");
        }
        [c, name, count] if c == "modes" => publish_all(name, count, mode)?,
        [c, name, count] if c == "receive-modes" => {
            let count: u64 = count.parse().expect("COUNT");
            let mut subscriber = Subscriber::<Mode>::open(name)?;
            println!("ready");
            for i in 0..count {
                let got = subscriber.recv_timeout(Duration::from_secs(60))?;
                if got != mode(i) || subscriber.lost() > 0 {
                    println!("message {i}: got {got:?}, lost {}", subscriber.lost());
                    std::process::exit(1);
                }
            }
            println!("received {count}");
        }
        _ => {
            eprintln!(
                "usage: declared publish|receive|modes|receive-modes NAME COUNT | declared fingerprint"
            );
            std::process::exit(2);
        }
    }
    Ok(())
}
