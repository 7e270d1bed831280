//! Attribute names, as constants (serde's `Symbol`).

use std::fmt;
use syn::{Ident, Path};

#[derive(Copy, Clone)]
pub(crate) struct Symbol(pub(crate) &'static str);

pub(crate) const ESHM: Symbol = Symbol("eshm");
pub(crate) const REPR: Symbol = Symbol("repr");
pub(crate) const CRATE: Symbol = Symbol("crate");
pub(crate) const PYTHON: Symbol = Symbol("python");

/// The keys accepted in `#[eshm(...)]` on a type, for "expected one of" messages.
pub(crate) const CONTAINER_KEYS: &[Symbol] = &[CRATE, PYTHON];

impl PartialEq<Symbol> for Ident {
    fn eq(&self, word: &Symbol) -> bool {
        self == word.0
    }
}

impl PartialEq<Symbol> for &Ident {
    fn eq(&self, word: &Symbol) -> bool {
        *self == word.0
    }
}

impl PartialEq<Symbol> for Path {
    fn eq(&self, word: &Symbol) -> bool {
        self.is_ident(word.0)
    }
}

impl PartialEq<Symbol> for &Path {
    fn eq(&self, word: &Symbol) -> bool {
        self.is_ident(word.0)
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// "`crate`, `python`" for error messages.
pub(crate) fn list(symbols: &[Symbol]) -> String {
    symbols.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
}
