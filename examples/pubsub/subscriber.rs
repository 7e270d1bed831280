//! Receives the `Imu` messages of the `publisher` example (see there for how to run both).
//! It may start before the publisher, and keeps working across publisher restarts.

use eshm::Subscriber;
use std::time::Duration;

/// Must match the publisher's definition (a mismatch is reported as `Error::TypeMismatch`,
/// naming both types and the first field that differs).
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
    let mut subscriber = Subscriber::<Imu>::open(&topic)?;
    println!("waiting for messages on {topic:?} (Ctrl-C to stop)");
    let mut received = 0u64;
    let mut connected = subscriber.is_connected();
    while received < count {
        match subscriber.recv_timeout(Duration::from_secs(1)) {
            Ok(imu) => {
                received += 1;
                if received % 100 == 1 {
                    println!(
                        "received #{received}: accel {:?}, gyro z {:+.3}",
                        imu.accel, imu.gyro[2]
                    );
                }
            }
            Err(eshm::RecvError::Timeout) => {}
            Err(e) => return Err(e.into()),
        }
        let now = subscriber.is_connected();
        if now != connected {
            println!(
                "{}",
                if now { "publisher connected" } else { "publisher gone; waiting for a new one" }
            );
            connected = now;
        }
        if subscriber.lost() > 0 && received.is_multiple_of(1000) {
            println!("lost so far: {}", subscriber.lost());
        }
    }
    println!("received {received} messages, lost {}", subscriber.lost());
    Ok(())
}
