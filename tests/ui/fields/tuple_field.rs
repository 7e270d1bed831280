#[derive(Clone, Copy, eshm::Message)]
#[repr(C)]
struct Pair {
    both: (f32, f32),
}

fn main() {}
