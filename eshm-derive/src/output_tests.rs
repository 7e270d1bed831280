//! Expansion snapshots: what the derive generates for a few inputs, formatted by
//! prettyplease and compared with `output_tests/<case>.expanded.rs` (zerocopy's practice).
//! A change to the generated code shows up here as a readable diff. After an intended
//! change, regenerate the files with `ESHM_BLESS=1 cargo test -p eshm-derive`, and read the
//! diff before committing it.

use crate::expand::derive_message;
use std::path::PathBuf;

fn check(case: &str, input: proc_macro2::TokenStream) {
    let input: syn::DeriveInput = syn::parse2(input).expect("a derive input");
    let output = derive_message(&input).unwrap_or_else(|errors| {
        panic!("{case}: {}", errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))
    });
    let file: syn::File = syn::parse2(output).expect("the expansion parses as items");
    let pretty = prettyplease::unparse(&file);
    let path: PathBuf =
        [env!("CARGO_MANIFEST_DIR"), "src", "output_tests", &format!("{case}.expanded.rs")]
            .iter()
            .collect();
    if std::env::var_os("ESHM_BLESS").is_some() {
        std::fs::write(&path, &pretty).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (create it with ESHM_BLESS=1)", path.display()));
    assert!(
        pretty == expected,
        "the expansion of `{case}` changed; compare with {}:\n{pretty}",
        path.display()
    );
}

#[test]
fn output_struct_with_padding_checks() {
    check(
        "struct",
        quote::quote! {
            #[repr(C)]
            struct Imu {
                stamp_ns: u64,
                accel: [f32; 3],
                valid: bool,
                _pad: [u8; 3],
            }
        },
    );
}

#[test]
fn output_enum() {
    check(
        "enum",
        quote::quote! {
            #[repr(u8)]
            enum Mode { Idle = 0, Run, Fault = 7 }
        },
    );
}

#[test]
fn output_python_class_and_crate_path() {
    check(
        "python",
        quote::quote! {
            /// One reading (becomes the class's `__doc__`).
            #[eshm(python(module = "robot"), crate = "my_eshm")]
            #[repr(C)]
            struct Reading {
                /// The value, in volts (becomes the property's doc).
                value: f64,
            }
        },
    );
}
