#[derive(Clone, Copy, eshm::Message)]
#[repr(C)]
struct Big {
    id: u128,
}

fn main() {}
