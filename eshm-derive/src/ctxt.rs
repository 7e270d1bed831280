//! Error accumulator: every check reports here, and all errors are emitted together.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use std::cell::RefCell;
use std::fmt::Display;

/// Collects errors while the input is checked. [`Ctxt::check`] must be called before it is
/// dropped, so that no error can be forgotten.
pub(crate) struct Ctxt {
    errors: RefCell<Option<Vec<syn::Error>>>,
}

impl Ctxt {
    pub(crate) fn new() -> Ctxt {
        Ctxt { errors: RefCell::new(Some(Vec::new())) }
    }

    /// An error whose span covers `tokens`.
    pub(crate) fn error_spanned_by<T: ToTokens, M: Display>(&self, tokens: T, msg: M) {
        self.syn_error(syn::Error::new_spanned(tokens.into_token_stream(), msg));
    }

    pub(crate) fn syn_error(&self, err: syn::Error) {
        self.errors.borrow_mut().as_mut().expect("Ctxt used after check").push(err);
    }

    /// All errors reported, combined into one, or `Ok` if there were none.
    pub(crate) fn check(self) -> Result<(), Vec<syn::Error>> {
        let errors = self.errors.borrow_mut().take().expect("Ctxt checked twice");
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }
}

impl Drop for Ctxt {
    fn drop(&mut self) {
        if !std::thread::panicking() && self.errors.borrow().is_some() {
            panic!("eshm-derive bug: Ctxt dropped without check()");
        }
    }
}

pub(crate) fn to_compile_errors(errors: Vec<syn::Error>) -> TokenStream {
    let errors = errors.iter().map(syn::Error::to_compile_error);
    quote!(#(#errors)*)
}
