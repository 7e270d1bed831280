//! Compile-fail (and one compile-pass) cases for `#[derive(Message)]`.
//!
//! Each `ui/<category>/<case>.rs` holds one mistake; its `.stderr` is what the compiler prints
//! and is regenerated with `TRYBUILD=overwrite cargo test -p eshm-tests --test ui`, never edited
//! by hand.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/*/*.rs");
    t.pass("ui-pass/*.rs");
}
