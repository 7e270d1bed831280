#[derive(Clone, Copy, eshm::Message)]
#[repr(C)]
struct Key {
    code: char,
}

fn main() {}
