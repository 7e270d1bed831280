#[derive(Clone, Copy, eshm::Message)]
#[repr(C)]
struct Sample {
    #[eshm(skip)]
    value: f64,
}

fn main() {}
