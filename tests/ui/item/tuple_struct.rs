#[derive(Clone, Copy, eshm::Message)]
#[repr(C)]
struct Meters(f64);

fn main() {}
