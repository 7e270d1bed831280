#[derive(Clone, Copy, eshm::Message)]
#[repr(C)]
struct Label {
    text: String,
}

fn main() {}
