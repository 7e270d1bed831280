//! Schemas in words: the readable definition `eshm info` prints, and where two differ.

use super::{Kind, Schema};
use std::collections::HashSet;
use std::fmt;

impl Schema {
    /// A readable, Rust-like definition of the type and of every struct and enum it contains,
    /// with offsets and sizes, as `eshm info` prints it.
    pub fn definition(&self) -> String {
        let mut out = String::new();
        let mut seen = HashSet::new();
        self.define(&mut out, &mut seen);
        if out.is_empty() {
            out = format!("{}  // {} bytes, align {}\n", self.type_name(), self.size, self.align);
        }
        out
    }

    fn define(&self, out: &mut String, seen: &mut HashSet<String>) {
        use std::fmt::Write as _;
        match &self.kind {
            Kind::Primitive(_) => {}
            Kind::Array { element, .. } => element.define(out, seen),
            Kind::Slice { element, max_len } => {
                element.define(out, seen);
                let _ = writeln!(
                    out,
                    "[{}]  // 0 to {max_len} elements of {} bytes, align {}",
                    element.type_name(),
                    element.size,
                    element.align
                );
            }
            Kind::Struct { name, fields } => {
                if !seen.insert(name.to_string()) {
                    return;
                }
                for f in fields.iter() {
                    f.schema().define(out, seen);
                }
                let _ = writeln!(
                    out,
                    "#[repr(C)]\nstruct {name} {{  // {} bytes, align {}",
                    self.size, self.align
                );
                for f in fields.iter() {
                    let decl = format!("{}: {},", f.name(), f.schema().type_name());
                    let _ = writeln!(out, "    {decl:<32} // offset {}", f.offset());
                }
                out.push_str("}\n");
            }
            Kind::Enum { name, repr, variants } => {
                if !seen.insert(name.to_string()) {
                    return;
                }
                let _ = writeln!(out, "#[repr({repr})]\nenum {name} {{");
                for v in variants.iter() {
                    let _ = writeln!(out, "    {} = {},", v.name(), v.value);
                }
                out.push_str("}\n");
            }
        }
    }

    /// Where `self` and `other` first differ, in words (`None` when they are equal). Used in
    /// [`Error::TypeMismatch`](crate::Error::TypeMismatch).
    ///
    /// ```
    /// use eshm::Message;
    /// let diff = <[f32; 3]>::SCHEMA.first_difference(<[f64; 3]>::SCHEMA).unwrap();
    /// assert_eq!(diff, "element type: `f32` here, `f64` there");
    /// ```
    pub fn first_difference(&self, other: &Schema) -> Option<String> {
        self.diff(other, "")
    }

    fn diff(&self, other: &Schema, at: &str) -> Option<String> {
        let here =
            |what: &str| if at.is_empty() { what.to_owned() } else { format!("{at}: {what}") };
        match (&self.kind, &other.kind) {
            (Kind::Struct { name: a, fields: fa }, Kind::Struct { name: b, fields: fb }) => {
                if a != b {
                    return Some(here(&format!("type name: `{a}` here, `{b}` there")));
                }
                for (i, (x, y)) in fa.iter().zip(fb.iter()).enumerate() {
                    let path = if at.is_empty() {
                        format!("field `{}`", x.name())
                    } else {
                        format!("{at}.{}", x.name())
                    };
                    if x.name() != y.name() {
                        return Some(here(&format!(
                            "field {i} is `{}` here, `{}` there",
                            x.name(),
                            y.name()
                        )));
                    }
                    if x.offset != y.offset {
                        return Some(format!(
                            "{path}: offset {} here, {} there",
                            x.offset, y.offset
                        ));
                    }
                    if let Some(d) = x.schema().diff(y.schema(), &path) {
                        return Some(d);
                    }
                }
                if fa.len() != fb.len() {
                    let (more, n) =
                        if fa.len() > fb.len() { ("here", fb.len()) } else { ("there", fa.len()) };
                    let extra = if fa.len() > fb.len() { &fa[n] } else { &fb[n] };
                    return Some(here(&format!(
                        "{} fields here, {} there (extra field `{}` {more})",
                        fa.len(),
                        fb.len(),
                        extra.name()
                    )));
                }
            }
            (Kind::Array { element: a, len: la }, Kind::Array { element: b, len: lb }) => {
                if la != lb {
                    return Some(here(&format!(
                        "array length: {la} here, {lb} there (`{}` vs `{}`)",
                        self.type_name(),
                        other.type_name()
                    )));
                }
                if a.type_name() != b.type_name() {
                    let p = if at.is_empty() {
                        "element type".to_owned()
                    } else {
                        format!("{at} element type")
                    };
                    return Some(format!(
                        "{p}: `{}` here, `{}` there",
                        a.type_name(),
                        b.type_name()
                    ));
                }
                let p = if at.is_empty() { "element".to_owned() } else { format!("{at}[..]") };
                return a.diff(b, &p);
            }
            (
                Kind::Enum { name: a, repr: ra, variants: va },
                Kind::Enum { name: b, repr: rb, variants: vb },
            ) => {
                if a != b {
                    return Some(here(&format!("type name: `{a}` here, `{b}` there")));
                }
                if ra != rb {
                    return Some(here(&format!("enum `{a}` repr: {ra} here, {rb} there")));
                }
                if va != vb {
                    return Some(here(&format!("enum `{a}` has different variants")));
                }
            }
            (Kind::Slice { element: a, max_len: la }, Kind::Slice { element: b, max_len: lb }) => {
                if a.type_name() != b.type_name() {
                    return Some(format!(
                        "element type: `{}` here, `{}` there",
                        a.type_name(),
                        b.type_name()
                    ));
                }
                if let Some(d) = a.diff(b, "element") {
                    return Some(d);
                }
                if la != lb {
                    return Some(format!("max length: {la} here, {lb} there"));
                }
            }
            (Kind::Primitive(a), Kind::Primitive(b)) if a == b => {}
            _ => {
                return Some(here(&format!(
                    "type: `{}` here, `{}` there",
                    self.type_name(),
                    other.type_name()
                )));
            }
        }
        if self.size != other.size || self.align != other.align {
            return Some(here(&format!(
                "size/align: {}/{} here, {}/{} there",
                self.size, self.align, other.size, other.align
            )));
        }
        None
    }
}

impl fmt::Display for Schema {
    /// The type name; `{:#}` prints the full [`definition`](Schema::definition).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() { f.write_str(&self.definition()) } else { f.write_str(&self.type_name()) }
    }
}
