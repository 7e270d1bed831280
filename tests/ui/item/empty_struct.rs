#[derive(Clone, Copy, eshm::Message)]
#[repr(C)]
struct Nothing {}

fn main() {}
