//! Choosing topics by name: exact names and shell-style patterns, as `eshm record`, `eshm play`
//! and `eshm bridge` take them.
//!
//! An argument with `*`, `?` or `[` in it is a pattern (rust-lang's `glob` matcher): `*` and
//! `?` match within one level of a `/`-separated name (`robot/*` matches `robot/imu`, not
//! `robot/arm/joint`), `**` as a whole level matches any number of levels (`robot/**`), and
//! `[abc]`, `[a-z]`, `[!a]` are character classes. Any other argument is a topic name, matched
//! exactly (and must be a valid one).
//!
//! ```
//! use eshm::select::Selection;
//!
//! let s = Selection::new(["robot/*", "speed"]).unwrap();
//! assert!(s.matches("robot/imu") && s.matches("speed"));
//! assert!(!s.matches("robot/arm/joint") && !s.matches("speed2"));
//! assert!(Selection::new(["cam["]).is_err());
//! ```

use crate::segment::{SegmentKind, file_name};

/// A set of topic names and patterns (it selects nothing when empty).
#[derive(Debug, Clone, Default)]
pub struct Selection {
    names: Vec<String>,
    patterns: Vec<(String, glob::Pattern)>,
}

/// An argument that is neither a valid pattern nor a valid topic name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{argument:?} is not a valid {}: {reason}", if is_pattern(argument) { "pattern" } else { "topic name" })]
pub struct InvalidSelection {
    /// The argument, as given.
    pub argument: String,
    /// Why it is refused.
    pub reason: String,
}

const OPTIONS: glob::MatchOptions = glob::MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: false,
};

/// Whether `arg` is a pattern (has `*`, `?` or `[` in it) rather than a name.
pub fn is_pattern(arg: &str) -> bool {
    arg.contains(['*', '?', '['])
}

impl Selection {
    /// The selection of `args`: names and patterns.
    ///
    /// # Errors
    ///
    /// [`InvalidSelection`] for the first argument that is an invalid pattern or topic name.
    pub fn new<I, S>(args: I) -> Result<Selection, InvalidSelection>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut s = Selection::default();
        for a in args {
            let a = a.as_ref();
            let invalid = |reason: String| InvalidSelection { argument: a.to_owned(), reason };
            if is_pattern(a) {
                let p = glob::Pattern::new(a).map_err(|e| invalid(e.to_string()))?;
                s.patterns.push((a.to_owned(), p));
            } else {
                file_name(SegmentKind::Topic, a).map_err(|e| invalid(e.to_string()))?;
                s.names.push(a.to_owned());
            }
        }
        Ok(s)
    }

    /// Whether it has no argument.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty() && self.patterns.is_empty()
    }

    /// Whether topic `name` is one of the names or matches one of the patterns.
    pub fn matches(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
            || self.patterns.iter().any(|(_, p)| p.matches_with(name, OPTIONS))
    }

    /// The arguments that select none of `names`.
    pub fn unmatched<'a>(&'a self, names: &[&str]) -> Vec<&'a str> {
        let exact = self.names.iter().filter(|n| !names.contains(&n.as_str())).map(String::as_str);
        let patterns = self
            .patterns
            .iter()
            .filter(|(_, p)| !names.iter().any(|n| p.matches_with(n, OPTIONS)))
            .map(|(a, _)| a.as_str());
        exact.chain(patterns).collect()
    }

    /// The names, in the order given.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }

    /// The patterns, in the order given.
    pub fn patterns(&self) -> impl Iterator<Item = &str> {
        self.patterns.iter().map(|(a, _)| a.as_str())
    }

    /// The arguments: the names, then the patterns.
    pub fn arguments(&self) -> Vec<&str> {
        self.names().chain(self.patterns()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_patterns() {
        let none = Selection::new::<_, &str>([]).unwrap();
        assert!(none.is_empty() && !none.matches("anything"));
        let s = Selection::new(["speed", "robot/*", "arm/**", "cam[0-9]"]).unwrap();
        assert!(!s.is_empty());
        assert!(s.matches("speed") && !s.matches("speed2"));
        assert!(s.matches("robot/imu") && !s.matches("robot/arm/joint") && !s.matches("robot"));
        assert!(s.matches("arm/joint") && s.matches("arm/joint/0"));
        assert!(s.matches("cam3") && !s.matches("cam10"));
        assert_eq!(s.unmatched(&["speed", "cam1"]), ["robot/*", "arm/**"]);
        assert_eq!(s.arguments(), ["speed", "robot/*", "arm/**", "cam[0-9]"]);
        assert_eq!(s.names().collect::<Vec<_>>(), ["speed"]);
        assert_eq!(s.patterns().count(), 3);
    }

    #[test]
    fn invalid_arguments_are_refused_with_their_reason() {
        let e = Selection::new(["ok", "["]).unwrap_err();
        assert_eq!(e.argument, "[");
        assert!(e.to_string().starts_with("\"[\" is not a valid pattern: "), "{e}");
        let e = Selection::new([""]).unwrap_err();
        assert!(e.to_string().starts_with("\"\" is not a valid topic name: "), "{e}");
        assert!(Selection::new(["bell\u{7}"]).is_err());
    }
}
