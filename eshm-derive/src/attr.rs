//! `#[repr(...)]` and `#[eshm(...)]`, parsed into typed, spanned values.

use crate::ctxt::Ctxt;
use crate::symbol::{self, CRATE, ESHM, PYTHON, REPR};
use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Attribute, Ident, LitInt, LitStr};

/// An integer type usable as an enum representation.
#[derive(Clone)]
pub(crate) struct IntRepr {
    pub(crate) ident: Ident,
    /// The `eshm::schema::Primitive` variant name (`U8`, `I32`, ...).
    pub(crate) primitive: &'static str,
}

/// What `#[repr(...)]` attributes say; each hint keeps the span of its token.
#[derive(Default)]
pub(crate) struct Repr {
    /// The first `repr` attribute, for "add `#[repr(C)]`" style errors.
    pub(crate) attr: Option<Span>,
    pub(crate) c: Option<Span>,
    pub(crate) transparent: Option<Span>,
    pub(crate) packed: Option<Span>,
    pub(crate) align: Option<Span>,
    pub(crate) int: Option<IntRepr>,
    /// `usize`/`isize`/`u128`/`i128` and anything else eshm does not support.
    pub(crate) unsupported: Vec<Ident>,
}

/// `#[eshm(...)]` on the type.
#[derive(Default)]
pub(crate) struct ContainerAttrs {
    /// `crate = "path"`: where the `eshm` crate is (default `::eshm`).
    pub(crate) crate_path: Option<syn::Path>,
    /// `python`: also generate a Python class.
    pub(crate) python: Option<Span>,
    /// `python(module = "...")`: the Python module the class says it belongs to.
    pub(crate) python_module: Option<LitStr>,
}

fn int_repr(ident: &Ident) -> Option<&'static str> {
    Some(match ident.to_string().as_str() {
        "u8" => "U8",
        "u16" => "U16",
        "u32" => "U32",
        "u64" => "U64",
        "i8" => "I8",
        "i16" => "I16",
        "i32" => "I32",
        "i64" => "I64",
        _ => return None,
    })
}

impl Repr {
    pub(crate) fn from_attrs(cx: &Ctxt, attrs: &[Attribute]) -> Repr {
        let mut repr = Repr::default();
        for attr in attrs.iter().filter(|a| a.path() == REPR) {
            repr.attr.get_or_insert(attr.span());
            let result = attr.parse_nested_meta(|meta| {
                let Some(ident) = meta.path.get_ident().cloned() else {
                    return Err(meta.error("unrecognised repr hint"));
                };
                let name = ident.to_string();
                match name.as_str() {
                    "C" => repr.c = Some(ident.span()),
                    "transparent" => repr.transparent = Some(ident.span()),
                    "packed" => {
                        if meta.input.peek(syn::token::Paren) {
                            let content;
                            syn::parenthesized!(content in meta.input);
                            content.parse::<LitInt>()?;
                        }
                        repr.packed = Some(ident.span());
                    }
                    "align" => {
                        let content;
                        syn::parenthesized!(content in meta.input);
                        content.parse::<LitInt>()?;
                        repr.align = Some(ident.span());
                    }
                    _ => match int_repr(&ident) {
                        Some(primitive) => repr.int = Some(IntRepr { ident, primitive }),
                        None => repr.unsupported.push(ident),
                    },
                }
                Ok(())
            });
            if let Err(err) = result {
                cx.syn_error(err);
            }
        }
        repr
    }
}

impl ContainerAttrs {
    pub(crate) fn from_attrs(cx: &Ctxt, attrs: &[Attribute]) -> ContainerAttrs {
        let mut out = ContainerAttrs::default();
        let mut crate_seen = false;
        for attr in attrs.iter().filter(|a| a.path() == ESHM) {
            let result = attr.parse_nested_meta(|meta| {
                if meta.path == CRATE {
                    let lit: LitStr = meta.value()?.parse()?;
                    if crate_seen {
                        cx.error_spanned_by(&meta.path, "duplicate eshm attribute `crate`");
                    }
                    crate_seen = true;
                    match lit.parse::<syn::Path>() {
                        Ok(path) => out.crate_path = Some(path),
                        Err(_) => cx.error_spanned_by(
                            &lit,
                            format!(
                                "`{}` is not a path; write e.g. `crate = \"::eshm\"`",
                                lit.value()
                            ),
                        ),
                    }
                } else if meta.path == PYTHON {
                    if out.python.is_some() {
                        cx.error_spanned_by(&meta.path, "duplicate eshm attribute `python`");
                    }
                    out.python = Some(meta.path.span());
                    if meta.input.peek(syn::token::Paren) {
                        meta.parse_nested_meta(|inner| {
                            if inner.path.is_ident("module") {
                                out.python_module = Some(inner.value()?.parse()?);
                                Ok(())
                            } else {
                                Err(inner
                                    .error("unknown `python` option; expected `module = \"...\"`"))
                            }
                        })?;
                    }
                } else {
                    let key = meta.path.get_ident().map(ToString::to_string).unwrap_or_default();
                    cx.error_spanned_by(
                        &meta.path,
                        format!(
                            "unknown eshm attribute `{key}`; expected one of: {}",
                            symbol::list(symbol::CONTAINER_KEYS)
                        ),
                    );
                    // Skip a value or a parenthesised list, so that parsing goes on.
                    if meta.input.peek(syn::Token![=]) {
                        meta.value()?.parse::<proc_macro2::TokenStream>()?;
                    } else if meta.input.peek(syn::token::Paren) {
                        let _content;
                        syn::parenthesized!(_content in meta.input);
                    }
                }
                Ok(())
            });
            if let Err(err) = result {
                cx.syn_error(err);
            }
        }
        out
    }
}

/// Reports `#[eshm(...)]` where no key is accepted (fields and variants).
pub(crate) fn reject_eshm_attrs(cx: &Ctxt, attrs: &[Attribute], on: &str) {
    for attr in attrs.iter().filter(|a| a.path() == ESHM) {
        cx.error_spanned_by(attr, format!("`#[eshm(...)]` is not accepted on {on}"));
    }
}
