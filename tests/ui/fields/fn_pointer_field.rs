#[derive(Clone, Copy, eshm::Message)]
#[repr(C)]
struct Callback {
    on_event: fn(u32) -> u32,
}

fn main() {}
