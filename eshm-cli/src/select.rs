//! Which topics `record` and `play` take: names and shell-style patterns
//! ([`eshm::select`]); no argument at all selects every topic.

use crate::Failure;

/// A selection of topics (every topic when it has no argument).
#[derive(Debug)]
pub(crate) struct Selection(eshm::select::Selection);

impl Selection {
    /// The selection the arguments give (every topic, if there are none).
    ///
    /// # Errors
    ///
    /// A usage [`Failure`] for an invalid pattern or topic name.
    pub(crate) fn new(args: &[String]) -> Result<Selection, Failure> {
        eshm::select::Selection::new(args)
            .map(Selection)
            .map_err(|e| Failure::usage(crate::show::safe(&e.to_string())))
    }

    /// Whether every topic is selected.
    pub(crate) fn is_all(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether topic `name` is selected.
    pub(crate) fn matches(&self, name: &str) -> bool {
        self.is_all() || self.0.matches(name)
    }

    /// The arguments that select none of `names`.
    pub(crate) fn unmatched<'a>(&'a self, names: &[&str]) -> Vec<&'a str> {
        self.0.unmatched(names)
    }

    /// The arguments, for the recording's metadata.
    pub(crate) fn arguments(&self) -> Vec<&str> {
        self.0.arguments()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_argument_selects_every_topic() {
        let all = Selection::new(&[]).unwrap();
        assert!(all.is_all() && all.matches("anything/at/all"));
        let some = Selection::new(&["robot/*".to_owned()]).unwrap();
        assert!(!some.is_all() && some.matches("robot/imu") && !some.matches("speed"));
        assert!(Selection::new(&["[".to_owned()]).is_err());
    }
}
