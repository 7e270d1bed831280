#[derive(Clone, Copy, eshm::Message)]
#[repr(u8)]
enum Command {
    Stop,
    Move { speed: f32 },
}

fn main() {}
