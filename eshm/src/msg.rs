//! A standard set of message types for robotics, usable from Rust and, as `eshm.msg`, from
//! Python. Units follow ROS conventions: metres, radians, seconds, nanoseconds.
//!
//! ```
//! use eshm::msg::{Pose, Quaternion, Vector3};
//! let pose = Pose { position: Vector3 { x: 1.0, y: 2.0, z: 0.0 }, orientation: Quaternion::IDENTITY };
//! assert_eq!(size_of::<Pose>(), 56);
//! assert_eq!(eshm::msg::schema("Pose").map(|s| s.size()), Some(56));
//! ```

use crate::schema::Schema;

/// Calls `$m!(Vector3, Quaternion, ...)` with every type of this module: the one list of them.
macro_rules! with_types {
    ($m:ident) => {
        $m! { Vector3, Quaternion, Pose, Twist, Imu }
    };
}
#[cfg(feature = "python")]
pub(crate) use with_types;

macro_rules! all {
    ($($t:ident),*) => {
        /// Every type of this module with its name, in the order of the module.
        pub const ALL: &[(&str, &Schema)] = &[$((stringify!($t), <$t as crate::Message>::SCHEMA)),*];
    };
}
with_types!(all);

/// The schema of the type of this module called `name`.
pub fn schema(name: &str) -> Option<&'static Schema> {
    ALL.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// A 3-D vector.
#[derive(Clone, Copy, Debug, Default, PartialEq, eshm::Message)]
#[cfg_attr(feature = "python", eshm(python(module = "eshm.msg")))]
#[repr(C)]
pub struct Vector3 {
    /// X component.
    pub x: f64,
    /// Y component.
    pub y: f64,
    /// Z component.
    pub z: f64,
}

/// A rotation as a unit quaternion.
#[derive(Clone, Copy, Debug, Default, PartialEq, eshm::Message)]
#[cfg_attr(feature = "python", eshm(python(module = "eshm.msg")))]
#[repr(C)]
pub struct Quaternion {
    /// X component.
    pub x: f64,
    /// Y component.
    pub y: f64,
    /// Z component.
    pub z: f64,
    /// W (scalar) component.
    pub w: f64,
}

impl Quaternion {
    /// No rotation.
    pub const IDENTITY: Quaternion = Quaternion { x: 0.0, y: 0.0, z: 0.0, w: 1.0 };
}

/// A position and an orientation.
#[derive(Clone, Copy, Debug, Default, PartialEq, eshm::Message)]
#[cfg_attr(feature = "python", eshm(python(module = "eshm.msg")))]
#[repr(C)]
pub struct Pose {
    /// Position, in metres.
    pub position: Vector3,
    /// Orientation.
    pub orientation: Quaternion,
}

/// A velocity: linear and angular.
#[derive(Clone, Copy, Debug, Default, PartialEq, eshm::Message)]
#[cfg_attr(feature = "python", eshm(python(module = "eshm.msg")))]
#[repr(C)]
pub struct Twist {
    /// Linear velocity, in metres per second.
    pub linear: Vector3,
    /// Angular velocity, in radians per second.
    pub angular: Vector3,
}

/// One inertial measurement.
#[derive(Clone, Copy, Debug, Default, PartialEq, eshm::Message)]
#[cfg_attr(feature = "python", eshm(python(module = "eshm.msg")))]
#[repr(C)]
pub struct Imu {
    /// When it was measured (`CLOCK_MONOTONIC`, ns, unless the sender says otherwise).
    pub stamp_ns: u64,
    /// Orientation estimate.
    pub orientation: Quaternion,
    /// Angular velocity, in radians per second.
    pub angular_velocity: Vector3,
    /// Linear acceleration, in metres per second squared.
    pub linear_acceleration: Vector3,
}
