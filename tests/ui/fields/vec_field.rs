#[derive(Clone, Copy, eshm::Message)]
#[repr(C)]
struct Cloud {
    points: Vec<f32>,
}

fn main() {}
