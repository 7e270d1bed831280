// Seven bytes of padding between `valid` and `value`.
#[derive(Clone, Copy, eshm::Message)]
#[repr(C)]
struct Sample {
    valid: bool,
    value: f64,
}

fn main() {}
