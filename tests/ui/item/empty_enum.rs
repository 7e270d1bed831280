#[derive(Clone, Copy, eshm::Message)]
#[repr(u8)]
enum Never {}

fn main() {}
