#[derive(Clone, eshm::Message)]
#[repr(C)]
struct Reading {
    value: f64,
}

fn main() {}
