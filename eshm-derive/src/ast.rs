//! The derive's model of its input, built from `syn::DeriveInput`.

use crate::attr::{self, ContainerAttrs, Repr};
use crate::ctxt::Ctxt;
use syn::{DeriveInput, Ident, Type};

pub(crate) struct Container<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) attrs: ContainerAttrs,
    pub(crate) repr: Repr,
    pub(crate) data: Data<'a>,
    pub(crate) original: &'a DeriveInput,
}

pub(crate) enum Data<'a> {
    Struct(Vec<Field<'a>>),
    Enum(Vec<Variant<'a>>),
}

pub(crate) struct Field<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) ty: &'a Type,
    pub(crate) original: &'a syn::Field,
}

pub(crate) struct Variant<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) original: &'a syn::Variant,
}

impl<'a> Container<'a> {
    /// The model, or `None` (with errors in `cx`) when the item's shape cannot be a message at
    /// all: unions, tuple structs and unit structs.
    pub(crate) fn from_ast(cx: &Ctxt, input: &'a DeriveInput) -> Option<Container<'a>> {
        let attrs = ContainerAttrs::from_attrs(cx, &input.attrs);
        let repr = Repr::from_attrs(cx, &input.attrs);
        let data = match &input.data {
            syn::Data::Struct(data) => match &data.fields {
                syn::Fields::Named(named) => Data::Struct(
                    named
                        .named
                        .iter()
                        .map(|f| {
                            attr::reject_eshm_attrs(cx, &f.attrs, "fields");
                            Field {
                                ident: f.ident.as_ref().expect("named field"),
                                ty: &f.ty,
                                original: f,
                            }
                        })
                        .collect(),
                ),
                syn::Fields::Unnamed(fields) => {
                    cx.error_spanned_by(
                        fields,
                        "tuple structs cannot derive `Message`: name the fields \
                         (`struct Pair { a: u32, b: u32 }`), so that other processes and \
                         Python can refer to them",
                    );
                    return None;
                }
                syn::Fields::Unit => {
                    cx.error_spanned_by(
                        &input.ident,
                        "unit structs cannot derive `Message`: a message must carry data; \
                         add at least one field",
                    );
                    return None;
                }
            },
            syn::Data::Enum(data) => Data::Enum(
                data.variants
                    .iter()
                    .map(|v| {
                        attr::reject_eshm_attrs(cx, &v.attrs, "variants");
                        Variant { ident: &v.ident, original: v }
                    })
                    .collect(),
            ),
            syn::Data::Union(data) => {
                cx.error_spanned_by(
                    data.union_token,
                    "unions cannot derive `Message`: a reader could not tell which field is \
                     valid; use a struct with a tag field, or a fixed byte array",
                );
                return None;
            }
        };
        Some(Container { ident: &input.ident, attrs, repr, data, original: input })
    }
}
