//! Which topics `record` and `play` take: names, and shell-style patterns.
//!
//! An argument with `*`, `?` or `[` in it is a pattern (rust-lang's `glob` matcher): `*` and
//! `?` match within one level of a `/`-separated name (`robot/*` matches `robot/imu`, not
//! `robot/arm/joint`), `**` as a whole level matches any number of levels (`robot/**`), and
//! `[abc]`, `[a-z]`, `[!a]` are character classes. Any other argument is a topic name,
//! matched exactly. No argument at all selects every topic.

use crate::Failure;
use eshm::segment::SegmentKind;

/// A selection of topics.
#[derive(Debug)]
pub(crate) struct Selection {
    names: Vec<String>,
    patterns: Vec<(String, glob::Pattern)>,
}

const OPTIONS: glob::MatchOptions = glob::MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: false,
};

impl Selection {
    /// The selection the arguments give (every topic, if there are none).
    ///
    /// # Errors
    ///
    /// A usage [`Failure`] for an invalid pattern or topic name.
    pub(crate) fn new(args: &[String]) -> Result<Selection, Failure> {
        let mut s = Selection { names: Vec::new(), patterns: Vec::new() };
        for a in args {
            if a.contains(['*', '?', '[']) {
                let p = glob::Pattern::new(a).map_err(|e| {
                    Failure::usage(format!(
                        "{:?} is not a valid pattern: {e}",
                        crate::show::safe(a)
                    ))
                })?;
                s.patterns.push((a.clone(), p));
            } else {
                eshm::segment::file_name(SegmentKind::Topic, a)?;
                s.names.push(a.clone());
            }
        }
        Ok(s)
    }

    /// Whether every topic is selected.
    pub(crate) fn is_all(&self) -> bool {
        self.names.is_empty() && self.patterns.is_empty()
    }

    /// Whether topic `name` is selected.
    pub(crate) fn matches(&self, name: &str) -> bool {
        self.is_all()
            || self.names.iter().any(|n| n == name)
            || self.patterns.iter().any(|(_, p)| p.matches_with(name, OPTIONS))
    }

    /// The arguments that select none of `names`.
    pub(crate) fn unmatched<'a>(&'a self, names: &[&str]) -> Vec<&'a str> {
        let exact = self.names.iter().filter(|n| !names.contains(&n.as_str())).map(String::as_str);
        let patterns = self
            .patterns
            .iter()
            .filter(|(_, p)| !names.iter().any(|n| p.matches_with(n, OPTIONS)))
            .map(|(a, _)| a.as_str());
        exact.chain(patterns).collect()
    }

    /// The arguments, for the recording's metadata.
    pub(crate) fn arguments(&self) -> Vec<&str> {
        self.names
            .iter()
            .map(String::as_str)
            .chain(self.patterns.iter().map(|(a, _)| a.as_str()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(args: &[&str]) -> Selection {
        Selection::new(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn names_and_patterns() {
        assert!(sel(&[]).is_all() && sel(&[]).matches("anything/at/all"));
        let s = sel(&["speed", "robot/*", "arm/**", "cam[0-9]"]);
        assert!(s.matches("speed") && !s.matches("speed2"));
        assert!(s.matches("robot/imu") && !s.matches("robot/arm/joint") && !s.matches("robot"));
        assert!(s.matches("arm/joint") && s.matches("arm/joint/0"));
        assert!(s.matches("cam3") && !s.matches("cam10"));
        assert_eq!(s.unmatched(&["speed", "cam1"]), ["robot/*", "arm/**"]);
        assert_eq!(s.arguments(), ["speed", "robot/*", "arm/**", "cam[0-9]"]);
        assert!(Selection::new(&["[".to_owned()]).is_err());
        assert!(Selection::new(&[String::new()]).is_err());
    }
}
