//! `unsafe impl Message`: the schema and the initial value.
//!
//! Why the generated `unsafe impl`s are sound: `check` accepted only `#[repr(C)]` (or
//! `transparent`) structs with named fields and no generics, or fieldless enums with an integer
//! repr; `layout` emits `__eshm_layout_checks` in the same `const` block, which fails to
//! compile unless the type is `Copy` and no padding byte lies between or after the fields, and
//! the schema below names `<Field as Message>::SCHEMA` for every field, which fails to compile
//! unless every field type is a `Message` (so has no padding, pointers or accepted-but-invalid
//! bit patterns). The schema states the layout with `offset_of!`, `size_of` and `align_of`, so it is
//! exact by construction, and `INIT` is built from the fields' own `INIT`s.

use crate::ast::{Field, Variant};
use crate::attr::IntRepr;
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Ident, Path};

pub(crate) fn struct_impl(krate: &Path, ident: &Ident, fields: &[Field<'_>]) -> TokenStream {
    let name = ident.unraw().to_string();
    let schema_fields = fields.iter().map(|f| {
        let fname = f.ident.unraw().to_string();
        let fident = f.ident;
        let ty = f.ty;
        let schema = quote_spanned!(ty.span()=> <#ty as #krate::Message>::SCHEMA);
        quote! {
            #krate::schema::Field::new(#fname, ::core::mem::offset_of!(#ident, #fident), #schema)
        }
    });
    let init_fields = fields.iter().map(|f| {
        let fident = f.ident;
        let ty = f.ty;
        quote_spanned!(ty.span()=> #fident: <#ty as #krate::Message>::INIT)
    });
    quote! {
        // A `const` item of its own: a temporary list passed to a `const fn` would not live
        // for `'static` (the elements have drop glue, so they are not promoted).
        const __ESHM_FIELDS: &[#krate::schema::Field] = &[#(#schema_fields),*];

        #[automatically_derived]
        #[doc = " # Safety: `#[derive(eshm::Message)]` checked the rules that make this sound."]
        // SAFETY: a `#[repr(C)]` struct of `Message` fields (promise 2), tiled without padding and
        // `Copy` (1, by `layout::struct_checks` in this `const _`); SCHEMA from `offset_of!` and
        // each field's SCHEMA (3), so `validate` checks every field (4); INIT field by field (5).
        unsafe impl #krate::Message for #ident {
            const SCHEMA: &'static #krate::Schema = &#krate::Schema::structure(
                #name,
                ::core::mem::size_of::<#ident>(),
                ::core::mem::align_of::<#ident>(),
                __ESHM_FIELDS,
            );
            const INIT: Self = #ident { #(#init_fields),* };
            fn only_derive_is_allowed_to_implement_this_trait() {}
        }
    }
}

pub(crate) fn enum_impl(
    krate: &Path,
    ident: &Ident,
    repr: &IntRepr,
    variants: &[Variant<'_>],
) -> TokenStream {
    let name = ident.unraw().to_string();
    let primitive = format_ident!("{}", repr.primitive);
    let schema_variants = variants.iter().map(|v| {
        let vname = v.ident.unraw().to_string();
        let vident = v.ident;
        quote!(#krate::schema::Variant::new(#vname, #ident::#vident as i64))
    });
    let first = variants[0].ident;
    quote! {
        const __ESHM_VARIANTS: &[#krate::schema::Variant] = &[#(#schema_variants),*];

        #[automatically_derived]
        #[doc = " # Safety: `#[derive(eshm::Message)]` checked the rules that make this sound."]
        // SAFETY: `check` accepted only a fieldless enum with an integer repr, so the value is
        // exactly that integer (no padding, no pointers: promises 1-2); SCHEMA names that repr
        // and every variant's discriminant (3), so `validate` accepts only those values (4);
        // INIT is the first variant, whose integer `init_bytes` writes (5).
        unsafe impl #krate::Message for #ident {
            const SCHEMA: &'static #krate::Schema = &#krate::Schema::enumeration(
                #name,
                #krate::schema::Primitive::#primitive,
                __ESHM_VARIANTS,
            );
            const INIT: Self = #ident::#first;
            fn only_derive_is_allowed_to_implement_this_trait() {}
        }
    }
}
