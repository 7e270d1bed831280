//! One `check_*` function per rule. Each reports what is wrong at the offending token and says
//! what to write instead; layout facts that need the compiler (padding, field traits) are
//! checked by the generated code (see `expand::layout`).

use crate::ast::{Container, Data, Field, Variant};
use crate::ctxt::Ctxt;
use syn::{GenericArgument, PathArguments, Type};

pub(crate) fn check(cx: &Ctxt, cont: &Container<'_>) {
    check_generics(cx, cont);
    match &cont.data {
        Data::Struct(fields) => {
            check_struct_repr(cx, cont);
            check_struct_fields(cx, cont, fields);
        }
        Data::Enum(variants) => {
            check_enum_repr(cx, cont);
            check_enum_variants(cx, cont, variants);
        }
    }
}

fn check_generics(cx: &Ctxt, cont: &Container<'_>) {
    let generics = &cont.original.generics;
    if generics.params.is_empty() && generics.where_clause.is_none() {
        return;
    }
    cx.error_spanned_by(
        generics,
        "generic types cannot derive `Message`: eshm proves at compile time that a message has \
         no padding, which it can only do for a concrete type; define one struct per \
         instantiation (e.g. `struct PointF32 { x: f32, y: f32 }`)",
    );
}

fn check_unsupported_repr_hints(cx: &Ctxt, cont: &Container<'_>) {
    for ident in &cont.repr.unsupported {
        cx.error_spanned_by(
            ident,
            format!(
                "`#[repr({ident})]` is not supported by `Message`; use `#[repr(C)]` on structs \
                 and one of u8, u16, u32, u64, i8, i16, i32, i64 on enums"
            ),
        );
    }
}

fn check_struct_repr(cx: &Ctxt, cont: &Container<'_>) {
    let repr = &cont.repr;
    check_unsupported_repr_hints(cx, cont);
    if let Some(span) = repr.packed {
        cx.syn_error(syn::Error::new(
            span,
            "`#[repr(packed)]` is not supported: packed fields are misaligned, which is slow \
             to read and makes references to them undefined behaviour; use `#[repr(C)]` and \
             make any padding an explicit field such as `_pad: [u8; 3]`",
        ));
    }
    if let Some(int) = &repr.int {
        cx.error_spanned_by(
            &int.ident,
            format!("`#[repr({})]` applies to enums; a struct needs `#[repr(C)]`", int.ident),
        );
    }
    if repr.c.is_none() && repr.transparent.is_none() && repr.packed.is_none() {
        let msg = "`Message` structs need `#[repr(C)]`: Rust's default layout may order fields \
                   differently in every build, so two processes could disagree on where each \
                   field is; add `#[repr(C)]` to the struct";
        match repr.attr {
            Some(span) => cx.syn_error(syn::Error::new(span, msg)),
            None => cx.error_spanned_by(cont.ident, msg),
        }
    }
}

fn check_struct_fields(cx: &Ctxt, cont: &Container<'_>, fields: &[Field<'_>]) {
    if fields.is_empty() {
        cx.error_spanned_by(
            cont.ident,
            format!(
                "`{}` has no fields: a zero-sized type carries no data and cannot be a message; \
                 add a field",
                cont.ident
            ),
        );
    }
    for field in fields {
        if let Some(msg) = forbidden_type(field.ty) {
            cx.error_spanned_by(field.ty, msg);
        }
    }
}

/// Why a field type, as written, can never be a message (`None` if it might be one; the
/// generated code then checks `Message` for real).
fn forbidden_type(ty: &Type) -> Option<String> {
    let not = |what: &str, why: &str, instead: &str| {
        Some(format!("{what} is not a message type: {why}; {instead}"))
    };
    match ty {
        Type::Array(array) => forbidden_type(&array.elem),
        Type::Group(group) => forbidden_type(&group.elem),
        Type::Paren(paren) => forbidden_type(&paren.elem),
        Type::Reference(r) if matches!(&*r.elem, Type::Path(p) if p.path.is_ident("str")) => not(
            "`&str`",
            "it points to text in the sending process's memory",
            "use a fixed-size byte array `[u8; N]` holding UTF-8 (with a length field)",
        ),
        Type::Reference(_) => not(
            "a reference",
            "it points into the sending process's memory, which other processes cannot see",
            "store the value itself, or an index into data that is itself in the message",
        ),
        Type::Ptr(_) => not(
            "a raw pointer",
            "it points into one process's address space and means nothing in another",
            "store the value itself, or an offset or index instead",
        ),
        Type::FnPtr(_) => not(
            "a function pointer",
            "code addresses differ between processes",
            "send a number that selects the function (a fieldless `#[repr(u8)]` enum works well)",
        ),
        Type::Tuple(tuple) if tuple.elems.is_empty() => {
            not("`()`", "it carries no data", "remove the field")
        }
        Type::Tuple(_) => not(
            "a tuple",
            "Rust does not specify the layout of tuples",
            "use a `#[repr(C)]` struct with named fields that derives `Message`",
        ),
        Type::Slice(_) => not(
            "a slice",
            "its length is not fixed",
            "use a fixed-size array `[T; N]`, with a length field if the count varies",
        ),
        Type::TraitObject(_) | Type::ImplTrait(_) => not(
            "a trait object",
            "its size and layout are not known",
            "use a concrete message type",
        ),
        Type::Never(_) => not("`!`", "it has no values", "remove the field"),
        Type::Path(path) if path.qself.is_none() => {
            let last = path.path.segments.last()?;
            let name = last.ident.to_string();
            let generic_arg = || match &last.arguments {
                PathArguments::AngleBracketed(args) => args.args.iter().find_map(|a| match a {
                    GenericArgument::Type(t) => Some(quote::quote!(#t).to_string()),
                    _ => None,
                }),
                _ => None,
            };
            match name.as_str() {
                "usize" | "isize" if path.path.segments.len() == 1 => {
                    let fixed = if name == "usize" { "u64" } else { "i64" };
                    not(
                        &format!("`{name}`"),
                        "its width differs between 32- and 64-bit processes",
                        &format!("use `{fixed}` instead"),
                    )
                }
                "u128" | "i128" if path.path.segments.len() == 1 => not(
                    &format!("`{name}`"),
                    "its alignment differs between compilers and languages",
                    "use `[u64; 2]` instead",
                ),
                "char" if path.path.segments.len() == 1 => not(
                    "`char`",
                    "not every `u32` is a valid `char`, and other languages have no such type",
                    "use `u32` (or `[u8; 4]` holding UTF-8)",
                ),
                "str" if path.path.segments.len() == 1 => not(
                    "`str`",
                    "its length is not fixed",
                    "use a fixed-size byte array `[u8; N]` holding UTF-8",
                ),
                "String" | "CString" | "OsString" => not(
                    &format!("`{name}`"),
                    "it owns heap memory that other processes cannot see",
                    "use a fixed-size byte array `[u8; N]` holding UTF-8 (with a length field)",
                ),
                "Vec" | "VecDeque" | "Box" | "Rc" | "Arc" | "HashMap" | "BTreeMap" | "HashSet"
                | "BTreeSet" | "Cow" | "PathBuf" | "LinkedList" | "BinaryHeap" => not(
                    &format!("`{name}`"),
                    "it owns heap memory that other processes cannot see",
                    &match generic_arg() {
                        Some(t) => format!("use a fixed-size array such as `[{t}; N]` instead"),
                        None => "use a fixed-size array `[T; N]` instead".to_owned(),
                    },
                ),
                "Option" => not(
                    "`Option`",
                    "its layout is not specified for every payload type",
                    &match generic_arg() {
                        Some(t) => format!(
                            "store a `{t}` and a `bool` (or `u8`) field that says whether it is set"
                        ),
                        None => "store the value and a `bool` flag field".to_owned(),
                    },
                ),
                "PhantomData" => not(
                    "`PhantomData`",
                    "it is zero-sized and carries no data",
                    "remove the field (message types cannot be generic)",
                ),
                _ => None,
            }
        }
        _ => None,
    }
}

fn check_enum_repr(cx: &Ctxt, cont: &Container<'_>) {
    let repr = &cont.repr;
    check_unsupported_repr_hints(cx, cont);
    for (span, hint) in
        [(repr.packed, "packed"), (repr.align, "align"), (repr.transparent, "transparent")]
    {
        if let Some(span) = span {
            cx.syn_error(syn::Error::new(
                span,
                format!("`#[repr({hint})]` is not supported on `Message` enums; use only an integer repr such as `#[repr(u8)]`"),
            ));
        }
    }
    if let Some(span) = repr.c {
        cx.syn_error(syn::Error::new(
            span,
            "`#[repr(C)]` enums have a platform-dependent size; give the enum an explicit \
             integer representation such as `#[repr(u8)]` or `#[repr(u32)]` instead",
        ));
    } else if repr.int.is_none() {
        let msg = "`Message` enums need an integer representation such as `#[repr(u8)]`: without \
                   it, Rust chooses the size and other processes cannot know it";
        match repr.attr {
            Some(span) => cx.syn_error(syn::Error::new(span, msg)),
            None => cx.error_spanned_by(cont.ident, msg),
        }
    }
}

fn check_enum_variants(cx: &Ctxt, cont: &Container<'_>, variants: &[Variant<'_>]) {
    if variants.is_empty() {
        cx.error_spanned_by(
            cont.ident,
            format!(
                "`{}` has no variants, so no value can ever be sent; add a variant",
                cont.ident
            ),
        );
    }
    for variant in variants {
        if !matches!(variant.original.fields, syn::Fields::Unit) {
            cx.error_spanned_by(
                &variant.original.fields,
                format!(
                    "variant `{}` carries data: only fieldless enums can derive `Message`; \
                     use a struct with a `#[repr(u8)]` tag enum field and one field per payload",
                    variant.ident
                ),
            );
        }
    }
}
