#[derive(Clone, Copy, eshm::Message)]
#[repr(C)]
struct View<'a> {
    data: &'a [u8; 4],
}

fn main() {}
