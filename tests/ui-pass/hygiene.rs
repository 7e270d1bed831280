// The generated code uses absolute paths only: it compiles without the prelude, next to items
// that shadow common names, and with eshm reached through another path.
#![no_implicit_prelude]

#[allow(dead_code)]
struct Option;
#[allow(dead_code)]
struct Copy;
#[allow(dead_code)]
mod core {}

#[derive(::core::clone::Clone, ::core::marker::Copy, ::eshm::Message)]
#[repr(C)]
#[allow(non_snake_case)]
struct Prelude {
    // Field names that collide with types the derive uses.
    u64: u64,
    usize_count: u32,
    __EshmSelf: u32,
    __eshm_assert_no_padding: u64,
}

#[derive(::core::clone::Clone, ::core::marker::Copy, ::eshm_tests::eshm::Message)]
#[eshm(crate = "::eshm_tests::eshm")]
#[repr(C)]
struct ThroughReexport {
    value: f32,
}

fn main() {
    let _ = <Prelude as ::eshm::Message>::SCHEMA;
    let _ = <ThroughReexport as ::eshm::Message>::SCHEMA;
}
