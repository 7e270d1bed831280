//! Compile-time layout checks, each spanned at the token it is about, so that the compiler's
//! error points there: one padding check per field (with the field's name carried by a marker
//! type so that the message can say which field). Each field's `Message` bound is checked where
//! the schema names `<Field as Message>::SCHEMA`, spanned at the field type, and `Copy` by the
//! `Message` impl itself (its supertrait), whose error suggests `#[derive(Copy)]`: one error.

use crate::ast::Field;
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Ident, Path};

pub(crate) fn struct_checks(krate: &Path, ident: &Ident, fields: &[Field<'_>]) -> TokenStream {
    // Padding after field i = start of field i+1 (or the struct's end) minus end of field i.
    let pad_consts = fields.iter().enumerate().map(|(i, f)| {
        let name = format_ident!("__ESHM_PADDING_AFTER_{}", i);
        let this = f.ident;
        let ty = f.ty;
        let next = match fields.get(i + 1) {
            Some(next) => {
                let next = next.ident;
                quote!(::core::mem::offset_of!(#ident, #next))
            }
            None => quote!(::core::mem::size_of::<#ident>()),
        };
        quote! {
            const #name: usize =
                #next - (::core::mem::offset_of!(#ident, #this) + ::core::mem::size_of::<#ty>());
        }
    });
    // The marker type is named after the field and declared in its own block, where it can
    // shadow nothing the check uses: the check names only a function and a constant, which live
    // in the value namespace, while the marker is a type.
    let pad_checks = fields.iter().enumerate().map(|(i, f)| {
        let name = format_ident!("__ESHM_PADDING_AFTER_{}", i);
        let marker = f.ident;
        let span = f.original.span();
        quote_spanned! {span=>
            {
                enum #marker {}
                __eshm_assert_no_padding::<#marker, { #name }>();
            }
        }
    });
    quote! {
        fn __eshm_assert_no_padding<F, const N: usize>()
        where
            (): #krate::__private::PaddingFree<#ident, F, N>,
        {
        }
        #(#pad_consts)*
        fn __eshm_layout_checks() {
            #(#pad_checks)*
        }
    }
}
