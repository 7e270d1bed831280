//! The Rust side of the Python cross-language tests (`eshm-py/tests/test_cross_language.py`),
//! and a small demonstration that `eshm::msg` types travel between the two languages.
//!
//! ```text
//! interop publish NAME COUNT    # publishes COUNT Pose messages on NAME and COUNT Imu on NAME/imu
//! interop receive NAME COUNT    # receives COUNT Pose messages and prints them
//! interop slices NAME COUNT     # publishes COUNT messages on the slice topics NAME/scan and
//!                               # NAME/points, once a reader is on each
//! ```
//!
//! Message `i` has `position = (i, 2i, -i)`, `orientation = (0.5, 0.5, 0.5, 0.5)`; its `Imu`
//! has `stamp_ns = 1000 + i`, angular velocity `(i, 0, 0)` and linear acceleration
//! `(0, 0, 9.81)`. Slice message `i` of NAME/scan (`[f32]`, at most 8) holds `i % 9`
//! elements `i + j / 2`; of NAME/points (`[Vector3]`, at most 3), `i % 4` elements
//! `(i, j, -1)`.

use eshm::msg::{Imu, Pose, Quaternion, Vector3};
use eshm::{Publisher, Subscriber};
use std::time::Duration;

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
        other => {
            eprintln!("unknown command {other:?}");
            std::process::exit(2);
        }
    }
    Ok(())
}
