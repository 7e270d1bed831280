//! `eshm info NAME`: one topic's or channel's header in full, and what bridges say about it.

use super::find;
use crate::{Exit, Failure, Outcome, bridged, show};
use eshm::segment::SegmentKind;
use std::io::{self, Write as _};

pub(crate) fn run(name: &str, kind: Option<SegmentKind>, json: bool) -> Outcome {
    let info = find(name, kind)?;
    let bridges =
        if info.kind == SegmentKind::Topic { bridged::about(&info.name) } else { Vec::new() };
    let mut out = io::stdout().lock();
    if json {
        let mut v = show::to_json(&info);
        if info.kind == SegmentKind::Topic {
            v["bridges"] = bridged::json(&bridges);
        }
        let text = serde_json::to_string_pretty(&v).expect("JSON values print");
        writeln!(out, "{text}")?;
    } else {
        write!(out, "{}", show::details(&info, &bridged::text(&bridges)))?;
    }
    match info.problem {
        Some(problem) => {
            Err(Failure::new(Exit::Corrupt, format!("{} {name:?}: {problem}", info.kind.as_str())))
        }
        None => Ok(()),
    }
}
