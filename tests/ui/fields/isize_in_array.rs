#[derive(Clone, Copy, eshm::Message)]
#[repr(C)]
struct Deltas {
    values: [isize; 4],
}

fn main() {}
