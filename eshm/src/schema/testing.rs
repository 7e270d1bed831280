//! Owned-schema builders for tests (the public constructors are `'static`-only).
use super::*;

pub(crate) fn array(element: Schema, len: u32) -> Schema {
    Schema {
        size: element.size * len,
        align: element.align,
        kind: Kind::Array { element: SchemaRef::owned(element), len },
    }
}

pub(crate) fn structure(name: &str, fields: Vec<(&str, Schema)>) -> Schema {
    let mut offset = 0u32;
    let mut align = 1u32;
    let mut out = Vec::new();
    for (n, s) in fields {
        assert_eq!(offset % s.align, 0, "test schema would need padding");
        align = align.max(s.align);
        let size = s.size;
        out.push(Field { name: Cow::Owned(n.to_owned()), offset, schema: SchemaRef::owned(s) });
        offset += size;
    }
    assert_eq!(offset % align, 0, "test schema would need trailing padding");
    Schema {
        size: offset,
        align,
        kind: Kind::Struct { name: Cow::Owned(name.to_owned()), fields: Cow::Owned(out) },
    }
}

pub(crate) fn enumeration(name: &str, repr: Primitive, variants: &[(&str, i64)]) -> Schema {
    Schema {
        size: repr.size() as u32,
        align: repr.size() as u32,
        kind: Kind::Enum {
            name: Cow::Owned(name.to_owned()),
            repr,
            variants: Cow::Owned(
                variants
                    .iter()
                    .map(|(n, v)| Variant { name: Cow::Owned((*n).to_owned()), value: *v })
                    .collect(),
            ),
        },
    }
}
