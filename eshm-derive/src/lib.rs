//! `#[derive(Message)]` for [eshm](https://docs.rs/eshm). Use it through `eshm::Message`;
//! the generated code refers only to `::eshm` (or the path given by `#[eshm(crate = "...")]`).
//!
//! The derive follows serde's pipeline: the input is parsed into a checked model (`ast` and
//! `attr`), every rule in `check` adds its errors to one `ctxt::Ctxt` so that all of them are
//! reported at once, and only a clean model is expanded (`expand`).

mod ast;
mod attr;
mod check;
mod ctxt;
mod expand;
#[cfg(test)]
mod output_tests;
mod symbol;

use proc_macro::TokenStream;

/// Derives `eshm::Message` for a `#[repr(C)]` struct with named fields or a fieldless enum
/// with an integer `#[repr]`. See the documentation of `eshm::Message`.
#[proc_macro_derive(Message, attributes(eshm))]
pub fn derive_message(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    expand::derive_message(&input).unwrap_or_else(ctxt::to_compile_errors).into()
}
