use super::testing;
use super::*;
use proptest::prelude::*;

/// Arbitrary valid schemas: primitives, arrays, enums and padding-free structs (fields
/// sorted by decreasing alignment, then filled to a multiple of the struct's alignment).
fn arb_schema() -> impl Strategy<Value = Schema> {
    let leaf =
        prop_oneof![(0usize..11).prop_map(|i| Schema::primitive(Primitive::ALL[i])), arb_enum(),];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            (inner.clone(), 1u32..5).prop_map(|(s, n)| testing::array(s, n)),
            (prop::collection::vec(inner, 1..6), "[A-Z][a-z]{0,6}").prop_map(|(mut fs, name)| {
                fs.sort_by_key(|s| std::cmp::Reverse(s.align));
                let align = fs.iter().map(|s| s.align).max().unwrap();
                let size: u32 = fs.iter().map(|s| s.size).sum();
                let mut fields: Vec<(String, Schema)> =
                    fs.into_iter().enumerate().map(|(i, s)| (format!("f{i}"), s)).collect();
                for k in 0..(size.next_multiple_of(align) - size) {
                    fields.push((format!("_pad{k}"), Schema::primitive(Primitive::U8)));
                }
                let fields = fields.iter().map(|(n, s)| (n.as_str(), s.clone())).collect();
                testing::structure(&name, fields)
            }),
        ]
    })
}

fn arb_enum() -> impl Strategy<Value = Schema> {
    let reprs = [Primitive::U8, Primitive::I8, Primitive::U16, Primitive::I32, Primitive::U64];
    (0usize..reprs.len(), prop::collection::btree_set(-128i64..128, 1..5)).prop_map(
        move |(r, values)| {
            let repr = reprs[r];
            let variants: Vec<(String, i64)> = values
                .into_iter()
                .map(|v| if repr.is_signed() { v } else { v.abs() })
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .enumerate()
                .map(|(i, v)| (format!("V{i}"), v))
                .collect();
            let v: Vec<(&str, i64)> = variants.iter().map(|(n, v)| (n.as_str(), *v)).collect();
            testing::enumeration("E", repr, &v)
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn schema_round_trips(schema in arb_schema()) {
        let bytes = schema.encode();
        prop_assert_eq!(bytes.len(), schema.encoded_len());
        let decoded = Schema::decode(&bytes).unwrap();
        prop_assert_eq!(decoded.fingerprint(), fnv1a64(&bytes));
        prop_assert_eq!(decoded.fingerprint(), schema.fingerprint());
        prop_assert_eq!(&decoded, &schema);
        prop_assert_eq!(decoded.init_bytes(), schema.init_bytes());
        prop_assert!(schema.validate(&schema.init_bytes()).is_ok());
    }

    #[test]
    fn schema_decode_never_panics_on_garbage(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = Schema::decode(&bytes);
        let mut prefixed = vec![ENCODING_VERSION];
        prefixed.extend_from_slice(&bytes);
        if let Ok(s) = Schema::decode(&prefixed) {
            // Anything accepted is canonical.
            prop_assert_eq!(s.encode(), prefixed);
        }
    }

    #[test]
    fn schema_decode_never_panics_on_mutations(
        schema in arb_schema(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = schema.encode();
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if let Ok(s) = Schema::decode(&bytes) {
            prop_assert_eq!(s.encode(), bytes.clone());
            // Validating arbitrary payloads against an accepted schema never panics (a
            // mutated length can describe gigabytes: only try the small ones).
            if s.size() <= 1 << 16 {
                let payload: Vec<u8> = (0..s.size()).map(|i| (i * 37) as u8).collect();
                let _ = s.validate(&payload);
            }
            let _ = s.definition();
        }
        let _ = Schema::decode(&bytes[..cut.index(bytes.len())]);
    }

    #[test]
    fn schema_validate_never_panics(schema in arb_schema(), seed in any::<u64>()) {
        let mut x = seed;
        let payload: Vec<u8> = (0..schema.size()).map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            (x >> 56) as u8
        }).collect();
        let _ = schema.validate(&payload);
        prop_assert!(schema.validate(&payload[..payload.len().saturating_sub(1)]).is_err());
    }
}

#[test]
fn schema_diff_reports_extra_fields() {
    let a = testing::structure("S", vec![("a", Schema::primitive(Primitive::U32))]);
    let b = testing::structure(
        "S",
        vec![("a", Schema::primitive(Primitive::U32)), ("b", Schema::primitive(Primitive::U32))],
    );
    assert_eq!(a.first_difference(&b).unwrap(), "1 fields here, 2 there (extra field `b` there)");
}
