// `#[repr(packed)]` misaligns fields.
#[derive(Clone, Copy, eshm::Message)]
#[repr(C, packed)]
struct Sample {
    flag: u8,
    value: u32,
}

fn main() {}
