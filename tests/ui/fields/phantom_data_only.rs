use std::marker::PhantomData;

#[derive(Clone, Copy, eshm::Message)]
#[repr(C)]
struct Marker {
    _kind: PhantomData<u32>,
}

fn main() {}
