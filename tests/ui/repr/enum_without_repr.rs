// An enum without an integer repr has a size the compiler picks.
#[derive(Clone, Copy, eshm::Message)]
enum Mode {
    Idle,
    Run,
}

fn main() {}
