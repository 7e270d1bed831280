//! ros2msg names made from eshm's: field, constant and type names that both the ROS 2 parser
//! (`rosidl_adapter`, which `mcap-ros2-support` vendors) and Foxglove's (`@foxglove/rosmsg`)
//! accept. eshm names are Rust identifiers; ros2msg rejects a leading underscore (`_pad`),
//! uppercase in field names (`accelX`), double and trailing underscores and leading digits.
//! The exact eshm names travel beside the ros2msg text, in the channel's `eshm.schema`.

use std::collections::HashSet;

/// The words of an identifier: runs of ASCII letters and digits, also split at camel-case
/// humps (`accelX` -> `accel`, `X`; `HTTPServer` -> `HTTP`, `Server`). Everything else
/// (underscores, non-ASCII letters) separates words.
fn words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut out: Vec<String> = Vec::new();
    let mut word = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            continue;
        }
        if c.is_ascii_uppercase() && !word.is_empty() {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(char::is_ascii_lowercase);
            if prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next_lower)
            {
                out.push(std::mem::take(&mut word));
            }
        }
        word.push(c);
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// A legal ros2msg field name (`^[a-z](?:_?[a-z0-9]+)*$`): `accelX` -> `accel_x`, `_pad` ->
/// `pad`, `__reserved` -> `reserved`, `0` -> `f0`.
pub(crate) fn field(name: &str) -> String {
    let mut s = words(name).join("_").to_ascii_lowercase();
    if !s.starts_with(|c: char| c.is_ascii_lowercase()) {
        s.insert(0, 'f');
    }
    s
}

/// A legal ros2msg constant name (`^[A-Z](?:_?[A-Z0-9]+)*$`) for variant `variant` of the
/// enum in the field whose ros2msg name is `field`: `mode`, `RunningFast` ->
/// `MODE_RUNNING_FAST`. (`field` starts with a letter, so the result does.)
pub(crate) fn constant(field: &str, variant: &str) -> String {
    let mut parts = words(field);
    let variant = words(variant);
    if variant.is_empty() {
        parts.push("VALUE".to_owned());
    }
    parts.extend(variant);
    parts.join("_").to_ascii_uppercase()
}

/// A legal ros2msg type name (`^[A-Z][A-Za-z0-9]*$`): `imu_v2` -> `ImuV2`, `Vec3` -> `Vec3`,
/// `3d` -> `T3d`.
pub(crate) fn type_name(name: &str) -> String {
    let mut s: String = words(name)
        .iter()
        .map(|w| {
            let mut cs = w.chars();
            let first = cs.next().map(|c| c.to_ascii_uppercase());
            first.into_iter().chain(cs).collect::<String>()
        })
        .collect();
    if !s.starts_with(|c: char| c.is_ascii_uppercase()) {
        s.insert(0, 'T');
    }
    s
}

/// Hands out names unique within one scope (the fields and constants of one message, or the
/// types of one schema): the first `pad` stays `pad`, the next is `pad_2` (or, with
/// `separator` "", `Pad2`), skipping any name already taken.
#[derive(Debug, Default)]
pub(crate) struct Unique {
    taken: HashSet<String>,
}

impl Unique {
    /// `wanted` if it is free, else `wanted` + separator + the first free number from 2.
    pub(crate) fn claim(&mut self, wanted: String, separator: &str) -> String {
        let mut name = wanted.clone();
        let mut n = 2u32;
        while self.taken.contains(&name) {
            name = format!("{wanted}{separator}{n}");
            n += 1;
        }
        self.taken.insert(name.clone());
        name
    }

    /// Whether `name` was handed out.
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.taken.contains(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The field-name rule both parsers apply (the stricter, Foxglove's, spelled out).
    fn legal_field(s: &str) -> bool {
        let b = s.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_lowercase()
            && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
            && !s.contains("__")
            && !s.ends_with('_')
    }

    #[test]
    fn field_names_become_legal() {
        for (eshm, ros) in [
            ("stamp_ns", "stamp_ns"),
            ("_pad", "pad"),
            ("_pad0", "pad0"),
            ("__reserved", "reserved"),
            ("accelX", "accel_x"),
            ("HTTPServer", "http_server"),
            ("pad_", "pad"),
            ("a__b", "a_b"),
            ("0", "f0"),
            ("_1", "f1"),
            ("größe", "gr_e"),
            ("ß", "f"),
            ("class", "class"),
        ] {
            assert_eq!(field(eshm), ros, "{eshm}");
            assert!(legal_field(ros), "{ros}");
        }
    }

    #[test]
    fn constant_and_type_names_become_legal() {
        assert_eq!(constant("mode", "RunningFast"), "MODE_RUNNING_FAST");
        assert_eq!(constant("drive_mode", "Idle"), "DRIVE_MODE_IDLE");
        assert_eq!(constant("f0", "_"), "F0_VALUE");
        assert_eq!(type_name("imu_v2"), "ImuV2");
        assert_eq!(type_name("Vec3"), "Vec3");
        assert_eq!(type_name("3d"), "T3d");
        assert_eq!(type_name("_"), "T");
    }

    #[test]
    fn unique_names_get_numbers() {
        let mut u = Unique::default();
        assert_eq!(u.claim("pad".into(), "_"), "pad");
        assert_eq!(u.claim("pad_2".into(), "_"), "pad_2");
        assert_eq!(u.claim("pad".into(), "_"), "pad_3");
        assert!(u.contains("pad_3") && !u.contains("pad_4"));
    }
}
