#[derive(Clone, Copy, eshm::Message)]
#[repr(C)]
struct Raw {
    data: *const u8,
}

fn main() {}
