#[derive(Clone, Copy, eshm::Message)]
#[repr(C)]
union Bits {
    i: u32,
    f: f32,
}

fn main() {}
