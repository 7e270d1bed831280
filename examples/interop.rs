//! The Rust side of the Python cross-language tests (`eshm-py/tests/test_cross_language.py`),
//! and a small demonstration that `eshm::msg` types travel between the two languages.
//!
//! ```text
//! interop publish NAME COUNT    # publishes COUNT Pose messages on NAME and COUNT Imu on NAME/imu
//! interop receive NAME COUNT    # receives COUNT Pose messages and prints them
//! interop slices NAME COUNT     # publishes COUNT messages on the slice topics NAME/scan and
//!                               # NAME/points, once a reader is on each
//! interop arrays NAME COUNT     # publishes COUNT frames on NAME/rgb ([[[u8; 3]; 640]; 480])
//!                               # and COUNT clouds on NAME/points ([f32], at most 1 << 20),
//!                               # one of each per line read from stdin, once a reader is on each
//! interop array-sums NAME COUNT # receives COUNT of each of those (in place), printing sums
//! ```
//!
//! Frame `i` of `arrays` holds byte `(i + k) % 251` at flat index `k`; cloud `i` holds
//! `1000 * i + 1` elements `i + j / 4`. `array-sums` prints `rgb SUM FIRST LAST` (the sum of
//! the bytes, the first and the last) and `points LEN SUM` for each message.
//!
//! Message `i` has `position = (i, 2i, -i)`, `orientation = (0.5, 0.5, 0.5, 0.5)`; its `Imu`
//! has `stamp_ns = 1000 + i`, angular velocity `(i, 0, 0)` and linear acceleration
//! `(0, 0, 9.81)`. Slice message `i` of NAME/scan (`[f32]`, at most 8) holds `i % 9`
//! elements `i + j / 2`; of NAME/points (`[Vector3]`, at most 3), `i % 4` elements
//! `(i, j, -1)`.

use eshm::msg::{Imu, Pose, Quaternion, Vector3};
use eshm::{Publisher, Subscriber};
use std::time::Duration;

/// A 640x480 RGB frame, as Python's `eshm.Array(eshm.u8, (480, 640, 3))`.
type Frame = [[[u8; 3]; 640]; 480];

fn frame(i: u64) -> Box<Frame> {
    let mut f: Box<Frame> = Box::new([[[0; 3]; 640]; 480]);
    for (k, b) in f.as_flattened_mut().as_flattened_mut().iter_mut().enumerate() {
        *b = ((i as usize + k) % 251) as u8;
    }
    f
}

fn cloud(i: u64) -> Vec<f32> {
    (0..1000 * i + 1).map(|j| i as f32 + j as f32 * 0.25).collect()
}

fn pose(i: u64) -> Pose {
    let f = i as f64;
    Pose {
        position: Vector3 { x: f, y: 2.0 * f, z: -f },
        orientation: Quaternion { x: 0.5, y: 0.5, z: 0.5, w: 0.5 },
    }
}

fn imu(i: u64) -> Imu {
    Imu {
        stamp_ns: 1000 + i,
        orientation: Quaternion::IDENTITY,
        angular_velocity: Vector3 { x: i as f64, y: 0.0, z: 0.0 },
        linear_acceleration: Vector3 { x: 0.0, y: 0.0, z: 9.81 },
    }
}

fn wait_for_reader(name: &str) -> eshm::Result<()> {
    while eshm::inspect::info(eshm::segment::SegmentKind::Topic, name)?.readers == 0 {
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

/// `array-sums`: receives `count` frames and clouds in place, printing their sums.
fn array_sums(name: &str, count: u64) -> eshm::Result<()> {
    let mut rgb = Subscriber::<Frame>::open(&format!("{name}/rgb"))?;
    let mut points = Subscriber::<[f32]>::open(&format!("{name}/points"))?;
    println!("ready");
    for _ in 0..count {
        let f = rgb.recv_ref_timeout(Duration::from_secs(30))?;
        let bytes = f.as_flattened().as_flattened();
        let sum: u64 = bytes.iter().map(|&b| u64::from(b)).sum();
        println!("rgb {sum} {} {}", bytes[0], bytes[bytes.len() - 1]);
        drop(f);
        let p = points.recv_ref_timeout(Duration::from_secs(30))?;
        let sum: f64 = p.iter().map(|&x| f64::from(x)).sum();
        println!("points {} {sum}", p.len());
    }
    Ok(())
}

fn main() -> eshm::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, name, count) = match args.as_slice() {
        [c, n, k] => (c.as_str(), n.clone(), k.parse::<u64>().expect("COUNT")),
        _ => {
            eprintln!("usage: interop publish|receive|slices NAME COUNT");
            std::process::exit(2);
        }
    };
    match command {
        "publish" => {
            let imu_name = format!("{name}/imu");
            let mut poses = Publisher::<Pose>::create(&name)?;
            let mut imus = Publisher::<Imu>::create(&imu_name)?;
            println!("ready");
            wait_for_reader(&name)?;
            wait_for_reader(&imu_name)?;
            for i in 0..count {
                poses.publish(&pose(i))?;
                imus.publish(&imu(i))?;
            }
            println!("published {count}");
            // Keep the topics until the reader has them all (it closes our stdin when done).
            let _ = std::io::stdin().read_line(&mut String::new());
        }
        "receive" => {
            let mut sub = Subscriber::<Pose>::open(&name)?;
            println!("ready");
            for _ in 0..count {
                let p = sub.recv_timeout(Duration::from_secs(30))?;
                let o = p.orientation;
                println!(
                    "pose {} {} {} {} {} {} {}",
                    p.position.x, p.position.y, p.position.z, o.x, o.y, o.z, o.w
                );
            }
        }
        "slices" => {
            let (scan_name, points_name) = (format!("{name}/scan"), format!("{name}/points"));
            let mut scans = Publisher::<[f32]>::builder(&scan_name).max_len(8).create()?;
            let mut points = Publisher::<[Vector3]>::builder(&points_name).max_len(3).create()?;
            println!("ready");
            wait_for_reader(&scan_name)?;
            wait_for_reader(&points_name)?;
            for i in 0..count {
                let scan: Vec<f32> = (0..i % 9).map(|j| i as f32 + j as f32 * 0.5).collect();
                scans.publish(&scan)?;
                let p: Vec<Vector3> =
                    (0..i % 4).map(|j| Vector3 { x: i as f64, y: j as f64, z: -1.0 }).collect();
                points.publish(&p)?;
            }
            println!("published {count}");
            let _ = std::io::stdin().read_line(&mut String::new());
        }
        "arrays" => {
            let (rgb_name, points_name) = (format!("{name}/rgb"), format!("{name}/points"));
            let mut rgb = Publisher::<Frame>::create(&rgb_name)?;
            let mut points = Publisher::<[f32]>::builder(&points_name).max_len(1 << 20).create()?;
            println!("ready");
            wait_for_reader(&rgb_name)?;
            wait_for_reader(&points_name)?;
            for i in 0..count {
                if std::io::stdin().read_line(&mut String::new()).unwrap_or(0) == 0 {
                    break;
                }
                rgb.publish(&frame(i))?;
                points.publish(&cloud(i))?;
                println!("sent {i}");
            }
            let _ = std::io::stdin().read_line(&mut String::new());
        }
        "array-sums" => {
            // A thread with room on its stack: a debug build of the typed subscriber of a
            // 900 KiB array may keep more than one on the stack.
            let worker = std::thread::Builder::new().stack_size(64 << 20);
            worker
                .spawn(move || array_sums(&name, count))
                .expect("a thread")
                .join()
                .expect("array-sums")?;
        }
        other => {
            eprintln!("unknown command {other:?}");
            std::process::exit(2);
        }
    }
    Ok(())
}
