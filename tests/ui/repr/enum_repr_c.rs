// `#[repr(C)]` on an enum gives a platform-dependent size.
#[derive(Clone, Copy, eshm::Message)]
#[repr(C)]
enum Mode {
    Idle,
    Run,
}

fn main() {}
