#[derive(Clone, Copy, eshm::Message)]
#[repr(C)]
#[eshm(rename = "Other")]
struct Sample {
    value: f64,
}

fn main() {}
