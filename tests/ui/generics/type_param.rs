#[derive(Clone, Copy, eshm::Message)]
#[repr(C)]
struct Point<T> {
    x: T,
    y: T,
}

fn main() {}
