//! Code generation for a checked [`Container`]. Everything is wrapped in `const _: () = {...}`
//! and refers to the `eshm` crate by an absolute path, so the output neither depends on nor
//! pollutes the caller's scope.

mod layout;
mod message;
mod python;

use crate::ast::{Container, Data};
use crate::check;
use crate::ctxt::Ctxt;
use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

pub(crate) fn derive_message(input: &DeriveInput) -> Result<TokenStream, Vec<syn::Error>> {
    let cx = Ctxt::new();
    let Some(cont) = Container::from_ast(&cx, input) else {
        cx.check()?;
        unreachable!("from_ast returns None only after reporting an error");
    };
    check::check(&cx, &cont);
    cx.check()?;

    let krate: syn::Path =
        cont.attrs.crate_path.clone().unwrap_or_else(|| syn::parse_quote!(::eshm));
    let (checks, body) = match &cont.data {
        Data::Struct(fields) => (
            layout::struct_checks(&krate, cont.ident, fields),
            message::struct_impl(&krate, cont.ident, fields),
        ),
        Data::Enum(variants) => {
            let repr = cont.repr.int.as_ref().expect("checked: enums have an integer repr");
            (TokenStream::new(), message::enum_impl(&krate, cont.ident, repr, variants))
        }
    };
    let python = cont.attrs.python.map(|span| match &cont.data {
        Data::Struct(fields) => python::struct_class(
            &krate,
            cont.ident,
            &cont.original.attrs,
            fields,
            cont.attrs.python_module.as_ref(),
            span,
        ),
        Data::Enum(variants) => {
            python::enum_field(&krate, cont.ident, &cont.original.attrs, variants)
        }
    });
    Ok(quote! {
        #[doc(hidden)]
        #[allow(non_upper_case_globals, non_camel_case_types, non_snake_case, unused_qualifications, dead_code)]
        const _: () = {
            #checks
            #body
            #python
        };
    })
}
