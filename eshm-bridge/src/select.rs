//! Which topics a bridge exposes or imports: names and shell-style patterns
//! ([`eshm::select`]), as `eshm record` takes them.
//!
//! For imports, each argument also becomes a Zenoh key expression that covers at least the
//! topics it selects ([`Selection::key_exprs`]), so that remote bridges send only what is
//! asked for; what arrives is then matched exactly.

use crate::error::Error;
use crate::key;
use eshm::select::is_pattern;
use zenoh::key_expr::OwnedKeyExpr;

/// A selection of topics (none when empty).
#[derive(Debug, Clone, Default)]
pub(crate) struct Selection(eshm::select::Selection);

impl Selection {
    /// The selection the arguments give.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPattern`] for an invalid pattern or topic name.
    pub(crate) fn new(args: &[String]) -> Result<Selection, Error> {
        eshm::select::Selection::new(args)
            .map(Selection)
            .map_err(|e| Error::InvalidPattern { pattern: e.argument, reason: e.reason })
    }

    /// Whether nothing is selected.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether topic `name` is selected.
    pub(crate) fn matches(&self, name: &str) -> bool {
        self.0.matches(name)
    }

    /// The arguments, as given.
    pub(crate) fn arguments(&self) -> Vec<String> {
        self.0.arguments().into_iter().map(str::to_owned).collect()
    }

    /// Key expressions that together cover every selected topic's key (and perhaps more):
    /// a name's own key; for a pattern, each level as it is (escaped) when it has no wildcard,
    /// `**` for `**`, and `*` (any one level) for a level with a wildcard or class in it.
    pub(crate) fn key_exprs(&self) -> Vec<OwnedKeyExpr> {
        let mut out: Vec<OwnedKeyExpr> = Vec::new();
        let names = self.0.names().map(key::key);
        let patterns = self.0.patterns().map(pattern_key);
        for k in names.chain(patterns) {
            let ke = OwnedKeyExpr::autocanonize(k.clone())
                // The keys `key::key` makes are valid by construction (tested there), and
                // pattern keys add only whole `*`/`**` chunks; fall back to everything.
                .unwrap_or_else(|_| {
                    OwnedKeyExpr::autocanonize(format!("{}/**", key::PREFIX))
                        .expect("a valid key expression")
                });
            if !out.iter().any(|o| o.includes(&ke)) {
                out.retain(|o| !ke.includes(o));
                out.push(ke);
            }
        }
        out
    }
}

/// The key expression covering pattern `pattern` (see [`Selection::key_exprs`]).
fn pattern_key(pattern: &str) -> String {
    let levels: Vec<&str> = pattern.split('/').collect();
    // An empty level (a leading, trailing or doubled '/') is escaped into its neighbour in a
    // topic's key: no level-by-level image exists; take every topic.
    if levels.iter().any(|l| l.is_empty()) {
        return format!("{}/**", key::PREFIX);
    }
    let mut out = String::from(key::PREFIX);
    for level in levels {
        out.push('/');
        if level == "**" {
            out.push_str("**");
        } else if is_pattern(level) {
            out.push('*');
        } else {
            key::escape_into(level, &mut out);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use zenoh::key_expr::KeyExpr;

    fn sel(args: &[&str]) -> Selection {
        Selection::new(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn selection_names_and_patterns() {
        assert!(sel(&[]).is_empty() && !sel(&[]).matches("anything"));
        let s = sel(&["speed", "robot/*", "arm/**", "cam[0-9]"]);
        assert!(s.matches("speed") && !s.matches("speed2"));
        assert!(s.matches("robot/imu") && !s.matches("robot/arm/joint") && !s.matches("robot"));
        assert!(s.matches("arm/joint") && s.matches("arm/joint/0"));
        assert!(s.matches("cam3") && !s.matches("cam10"));
        assert_eq!(s.arguments(), ["speed", "robot/*", "arm/**", "cam[0-9]"]);
        assert!(Selection::new(&["[".to_owned()]).is_err());
        assert!(Selection::new(&[String::new()]).is_err());
        assert!(Selection::new(&["bell\u{7}".to_owned()]).is_err());
    }

    /// Every topic a selection matches has a key inside one of its key expressions.
    #[test]
    fn selection_key_exprs_cover_what_it_matches() {
        let topics = [
            "speed",
            "robot/imu",
            "robot/arm/joint",
            "arm/joint/0",
            "cam3",
            "cam/x",
            "a//b",
            "/lead",
            "x/@y",
            "odd*name/z",
            "100%",
        ];
        let cases: &[&[&str]] = &[
            &["speed"],
            &["robot/*"],
            &["robot/**"],
            &["**"],
            &["*"],
            &["cam[0-9]", "cam*/x"],
            &["a//*"],
            &["/*"],
            &["x/*"],
            &["odd[*]name/*"],
            &["100%"],
            &["robot/**", "robot/imu", "**/joint"],
        ];
        for args in cases {
            let s = sel(args);
            let exprs = s.key_exprs();
            for t in topics {
                let k = KeyExpr::try_from(key::key(t)).unwrap();
                if s.matches(t) {
                    assert!(exprs.iter().any(|e| e.includes(&k)), "{args:?} {t:?} {exprs:?}");
                }
            }
        }
        // Narrow where it can be, and without redundant expressions.
        let exprs = |args: &[&str]| -> Vec<String> {
            sel(args).key_exprs().iter().map(|e| e.to_string()).collect()
        };
        assert_eq!(exprs(&["robot/**", "robot/imu"]), ["eshm/robot/**"]);
        assert_eq!(exprs(&["robot/imu", "robot/**"]), ["eshm/robot/**"]);
        assert_eq!(exprs(&["cam[0-9]/x"]), ["eshm/*/x"]);
        assert_eq!(exprs(&["a/**/**"]), ["eshm/a/**"]);
        assert_eq!(exprs(&["a//*"]), ["eshm/**"]);
    }
}
