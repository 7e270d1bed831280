#[derive(Clone, Copy, eshm::Message)]
#[repr(C)]
struct Named {
    id: u32,
    name: &'static str,
}

fn main() {}
