#[derive(Clone, Copy, eshm::Message)]
#[repr(C)]
struct Boxed {
    value: Box<u64>,
}

fn main() {}
