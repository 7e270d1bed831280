#[derive(Clone, Copy, eshm::Message)]
#[repr(C)]
struct Maybe {
    value: Option<u32>,
}

fn main() {}
