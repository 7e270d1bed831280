#[derive(Clone, Copy, eshm::Message)]
#[repr(C)]
struct Ping;

fn main() {}
