#[derive(Clone, Copy, eshm::Message)]
#[repr(C)]
struct Counter {
    count: usize,
}

fn main() {}
