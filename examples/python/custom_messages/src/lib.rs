//! Message types of a (made-up) robot, shared by its Rust and Python processes.
//!
//! The same structs are used from Rust (`eshm::Publisher<BatteryState>`) and, through the
//! extension module this crate builds, from Python (`robot_messages.BatteryState` with
//! `eshm.Publisher`). Build and install it with
//! `pip install ./examples/python/custom_messages` (or `maturin develop` in this directory).

use eshm::msg::Vector3;

/// The charge state of the battery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, eshm::Message)]
#[eshm(python(module = "robot_messages"))]
#[repr(u8)]
pub enum PowerSupply {
    /// Running on battery.
    Discharging = 0,
    /// Plugged in and charging.
    Charging = 1,
    /// Plugged in, full.
    Full = 2,
}

/// A battery report.
#[derive(Clone, Copy, Debug, PartialEq, eshm::Message)]
#[eshm(python(module = "robot_messages"))]
#[repr(C)]
pub struct BatteryState {
    /// When it was measured (ns, monotonic clock).
    pub stamp_ns: u64,
    /// Volts.
    pub voltage: f32,
    /// Amperes (negative while discharging).
    pub current: f32,
    /// Charge of each of the four cells, 0 to 1.
    pub cell_charge: [f32; 4],
    /// Charging state.
    pub supply: PowerSupply,
    /// Whether the battery reports a fault.
    pub fault: bool,
    /// Explicit padding: messages have none hidden.
    pub _pad: [u8; 6],
}

/// A wheel-odometry sample, nesting a standard message type.
#[derive(Clone, Copy, Debug, PartialEq, eshm::Message)]
#[eshm(python(module = "robot_messages"))]
#[repr(C)]
pub struct Odometry {
    /// When it was measured (ns).
    pub stamp_ns: u64,
    /// Travelled distance of the left and right wheels (m).
    pub wheels: [f64; 2],
    /// Linear velocity (m/s).
    pub velocity: Vector3,
}

/// The mode of a [`Sample`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, eshm::Message)]
#[eshm(python(module = "robot_messages"))]
#[repr(u8)]
pub enum Mode {
    /// Doing nothing.
    Idle = 0,
    /// Running.
    Run = 1,
    /// Stopped by a fault.
    Fault = 7,
}

/// One field of every kind a message can have (arrays of numbers and of messages, `bool`, an
/// enum, small signed integers): eshm's own Python tests use it.
#[derive(Clone, Copy, Debug, PartialEq, eshm::Message)]
#[eshm(python(module = "robot_messages"))]
#[repr(C)]
pub struct Sample {
    /// A time stamp (ns).
    pub stamp_ns: u64,
    /// Two points.
    pub points: [Vector3; 2],
    /// Three values.
    pub values: [f32; 3],
    /// Two counters.
    pub counts: [u16; 2],
    /// Whether the sample is valid.
    pub valid: bool,
    /// What the robot was doing.
    pub mode: Mode,
    /// A small signed number.
    pub small: i8,
    /// Explicit padding.
    pub _pad: [u8; 5],
}

/// A small image with a mode per row: a nested array and an array of enums (the MCAP
/// recording tests use it).
#[derive(Clone, Copy, Debug, PartialEq, eshm::Message)]
#[eshm(python(module = "robot_messages"))]
#[repr(C)]
pub struct Grid {
    /// A time stamp (ns).
    pub stamp_ns: u64,
    /// Two rows of two RGB pixels.
    pub pixels: [[[u8; 3]; 2]; 2],
    /// The mode of each row.
    pub modes: [Mode; 2],
    /// A signed level.
    pub level: i16,
}

eshm::python_module!(robot_messages, [BatteryState, Odometry, Sample, Grid]);
