//! `eshm info NAME`: one topic's or channel's header in full.

use super::find;
use crate::{Exit, Failure, Outcome, show};
use eshm::segment::SegmentKind;
use std::io::{self, Write as _};

pub(crate) fn run(name: &str, kind: Option<SegmentKind>, json: bool) -> Outcome {
    let info = find(name, kind)?;
    let mut out = io::stdout().lock();
    if json {
        let text = serde_json::to_string_pretty(&show::to_json(&info)).expect("JSON values print");
        writeln!(out, "{text}")?;
    } else {
        write!(out, "{}", show::details(&info))?;
    }
    match info.problem {
        Some(problem) => {
            Err(Failure::new(Exit::Corrupt, format!("{} {name:?}: {problem}", info.kind.as_str())))
        }
        None => Ok(()),
    }
}
