//! Topic names as Zenoh key expressions, and back: topic `robot/pose` travels on key
//! `eshm/robot/pose`, and the schema of fingerprint `f` is asked for at `eshm/@schema/<f>`.
//!
//! An eshm topic name is any non-empty text without control characters; a key expression is
//! `/`-separated non-empty chunks where `*`, `$`, `#` and `?` have meanings (or are forbidden)
//! and a chunk starting with `@` is verbatim (wildcards never match it). So a topic's key is
//! its name with those characters, `%` itself, and every `/` that would make an empty chunk
//! (leading, trailing or doubled) percent-encoded (`%2A`, `%2F`, ...). Names made of letters,
//! digits, `_`, `-`, `.` and single `/`s, the usual ones, map to themselves. The mapping is
//! injective, and [`topic`] accepts only keys that [`key`] makes, so a remote peer cannot make
//! two keys land on one topic.

/// The first chunk of every key the bridge uses.
pub const PREFIX: &str = "eshm";

/// The key expression the schema queryable answers (a verbatim chunk: `eshm/**` does not
/// match it, so data subscribers never see schema traffic).
pub(crate) const SCHEMA_KEYS: &str = "eshm/@schema/*";

/// Whether `c` is percent-encoded wherever it is.
fn always_escaped(c: char) -> bool {
    matches!(c, '%' | '*' | '$' | '#' | '?')
}

/// The key expression that carries topic `name`: `eshm/` and the escaped name.
pub fn key(name: &str) -> String {
    let mut out = String::with_capacity(PREFIX.len() + 1 + name.len());
    out.push_str(PREFIX);
    out.push('/');
    escape_into(name, &mut out);
    out
}

/// `name` escaped as described in the module docs, appended to `out`.
pub(crate) fn escape_into(name: &str, out: &mut String) {
    let chars: Vec<char> = name.chars().collect();
    // Whether the next character starts a chunk (the start, or just after a literal '/').
    let mut chunk_start = true;
    for (i, &c) in chars.iter().enumerate() {
        let escape = match c {
            // A '/' stays a separator only between two non-empty chunks.
            '/' => chunk_start || chars.get(i + 1).is_none_or(|&next| next == '/'),
            '@' => chunk_start,
            c => always_escaped(c),
        };
        if escape {
            // Every escaped character is ASCII.
            out.push_str(&format!("%{:02X}", c as u32));
            chunk_start = false;
        } else {
            out.push(c);
            chunk_start = c == '/';
        }
    }
}

/// The topic that key `key` carries, if it is one that [`key`] makes.
pub fn topic(key: &str) -> Option<String> {
    let escaped = key.strip_prefix(PREFIX)?.strip_prefix('/')?;
    let bytes = escaped.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let name = String::from_utf8(out).ok()?;
    // Only the spelling `key` makes: anything else (an escape that was not needed, lowercase
    // hex) would be a second key for the same topic.
    (!name.is_empty() && self::key(&name) == key).then_some(name)
}

/// The key at which the schema of fingerprint `fingerprint` is asked for.
pub(crate) fn schema_key(fingerprint: u64) -> String {
    format!("{PREFIX}/@schema/{fingerprint:016x}")
}

/// The fingerprint a schema key asks for.
pub(crate) fn schema_fingerprint(key: &str) -> Option<u64> {
    let hex = key.strip_prefix(PREFIX)?.strip_prefix("/@schema/")?;
    if hex.len() != 16 {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use zenoh::key_expr::KeyExpr;

    const NAMES: &[&str] = &[
        "robot/pose",
        "a",
        "/leading",
        "trailing/",
        "a//b",
        "//",
        "/",
        "a///b/",
        "@verbatim/x",
        "x/@y/z@w",
        "100%/sure",
        "star*/$dollar/#hash?",
        "%2F",
        "spaces are fine/ünïcödé/日本",
        "eshm/nested",
    ];

    #[test]
    fn key_round_trips_and_is_a_valid_plain_key() {
        for &name in NAMES {
            let k = key(name);
            assert_eq!(topic(&k).as_deref(), Some(name), "{name:?} -> {k:?}");
            let ke = KeyExpr::try_from(k.clone())
                .unwrap_or_else(|e| panic!("{name:?} -> {k:?} is not a key expression: {e}"));
            // Not a wildcard, and not matched by the schema queryable.
            let schemas = KeyExpr::try_from(SCHEMA_KEYS).unwrap();
            assert!(!schemas.intersects(&ke), "{k:?}");
            assert!(KeyExpr::try_from("eshm/**").unwrap().includes(&ke), "{k:?}");
        }
    }

    #[test]
    fn key_leaves_usual_names_alone_and_escapes_the_rest() {
        assert_eq!(key("robot/arm-2/joint_0.pos"), "eshm/robot/arm-2/joint_0.pos");
        assert_eq!(key("a//b"), "eshm/a%2F/b");
        assert_eq!(key("/a/"), "eshm/%2Fa%2F");
        assert_eq!(key("@x/y@"), "eshm/%40x/y@");
        assert_eq!(key("5%*"), "eshm/5%25%2A");
    }

    #[test]
    fn topic_refuses_keys_key_does_not_make() {
        for k in [
            "eshm",
            "eshm/",
            "other/robot",
            "eshm/%2f",     // lowercase hex: a second spelling of "/"
            "eshm/%61",     // "a" needs no escape
            "eshm/%2",      // truncated escape
            "eshm/%zz",     // not hex
            "eshm/%FF%FE",  // not UTF-8
            "eshm/a%2Fb",   // a '/' that needs no escape
            "eshm/@schema", // a verbatim chunk
        ] {
            assert_eq!(topic(k), None, "{k:?}");
        }
    }

    #[test]
    fn schema_keys_round_trip() {
        for fp in [0, 1, 0xdead_beef_0bad_cafe, u64::MAX] {
            let k = schema_key(fp);
            assert_eq!(schema_fingerprint(&k), Some(fp));
            let ke = KeyExpr::try_from(k.clone()).unwrap();
            assert!(KeyExpr::try_from(SCHEMA_KEYS).unwrap().intersects(&ke), "{k}");
            assert!(!KeyExpr::try_from("eshm/**").unwrap().intersects(&ke), "{k}");
        }
        assert_eq!(schema_fingerprint("eshm/@schema/12"), None);
        assert_eq!(schema_fingerprint("eshm/robot/0000000000000001"), None);
    }
}
