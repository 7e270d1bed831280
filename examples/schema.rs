//! Prints the schema and fingerprint of a derived message type.
//!
//! ```text
//! cargo run --example schema
//! ```

use eshm::Message;

/// One inertial measurement.
#[derive(Clone, Copy, Debug, eshm::Message)]
#[repr(C)]
struct Imu {
    stamp_ns: u64,
    accel: [f32; 3],
    gyro: [f32; 3],
    valid: bool,
    mode: Mode,
    _pad: [u8; 6],
}

/// What the sensor is doing.
#[derive(Clone, Copy, Debug, eshm::Message)]
#[repr(u8)]
enum Mode {
    Idle = 0,
    Streaming = 1,
}

fn main() {
    let schema = Imu::SCHEMA;
    println!("{schema:#}");
    println!("fingerprint: {:#018x}", schema.fingerprint());
    println!("encoding ({} bytes): {:02x?}", schema.encoded_len(), schema.encode());
    let _ = (Mode::Idle, Mode::Streaming);
}
