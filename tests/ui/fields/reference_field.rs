#[derive(Clone, Copy, eshm::Message)]
#[repr(C)]
struct Borrowing {
    value: &'static u32,
}

fn main() {}
