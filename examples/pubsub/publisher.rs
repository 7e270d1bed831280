//! Publishes an `Imu` message every 10 ms until stopped. Run it next to the `subscriber`
//! example, in two terminals:
//!
//! ```text
//! cargo run --example publisher            # terminal 1
//! cargo run --example subscriber           # terminal 2 (start them in any order)
//! ```
//!
//! Stop and restart either one: the subscriber re-attaches to a new publisher by itself, and a
//! new publisher takes the topic over from one that was killed. Arguments: `[TOPIC] [COUNT]`
//! (default `demo/imu`, and forever).

use eshm::Publisher;
use std::time::{Duration, Instant};

/// One inertial measurement (the same definition as in `subscriber.rs`: the two processes
/// agree on its layout through its fingerprint, checked when the subscriber attaches).
#[derive(Clone, Copy, Debug, eshm::Message)]
#[repr(C)]
struct Imu {
    stamp_ns: u64,
    accel: [f32; 3],
    gyro: [f32; 3],
    valid: bool,
    _pad: [u8; 7],
}

fn main() -> eshm::Result<()> {
    let topic = std::env::args().nth(1).unwrap_or_else(|| "demo/imu".to_owned());
    let count: u64 = std::env::args().nth(2).map_or(u64::MAX, |c| c.parse().expect("COUNT"));
    let mut publisher = match Publisher::<Imu>::create(&topic) {
        Err(eshm::Error::PublisherExists { pid, .. }) => {
            eprintln!("error: {topic:?} is already published by process {pid}; stop it first");
            std::process::exit(1);
        }
        other => other?,
    };
    println!("publishing on {topic:?} every 10 ms (Ctrl-C to stop)");
    let start = Instant::now();
    for n in 0..count {
        let t = start.elapsed().as_secs_f32();
        let imu = Imu {
            stamp_ns: start.elapsed().as_nanos() as u64,
            accel: [0.1 * t.sin(), 0.1 * t.cos(), 9.81],
            gyro: [0.0, 0.0, 0.5 * t.sin()],
            valid: true,
            _pad: [0; 7],
        };
        publisher.publish(&imu)?;
        if n % 100 == 0 {
            println!("published #{n}: accel {:?}", imu.accel);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}
