#[derive(Clone, Copy, eshm::Message)]
#[repr(C)]
#[eshm(crate = "::eshm", crate = "::eshm")]
struct Sample {
    value: f64,
}

fn main() {}
