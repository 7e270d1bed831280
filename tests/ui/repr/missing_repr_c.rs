// A struct without `#[repr(C)]`: Rust may reorder its fields.
#[derive(Clone, Copy, eshm::Message)]
struct Pose {
    x: f64,
    y: f64,
}

fn main() {}
