// Padding before a nested struct with a larger alignment.
#[derive(Clone, Copy, eshm::Message)]
#[repr(C)]
struct Inner {
    a: u64,
}

#[derive(Clone, Copy, eshm::Message)]
#[repr(C)]
struct Outer {
    tag: u16,
    inner: Inner,
}

fn main() {}
