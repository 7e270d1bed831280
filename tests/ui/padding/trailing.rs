// Trailing padding: the struct is 16 bytes, its fields cover 12.
#[derive(Clone, Copy, eshm::Message)]
#[repr(C)]
struct Stamped {
    stamp_ns: u64,
    value: f32,
}

fn main() {}
