// A field whose type exists but does not derive `Message` (here hidden behind an alias, so only
// the compiler, not the derive, can tell).
#[derive(Clone, Copy)]
#[repr(C)]
struct Plain {
    x: f32,
}

type Alias = Plain;

#[derive(Clone, Copy, eshm::Message)]
#[repr(C)]
struct Wrapper {
    inner: Alias,
}

fn main() {}
