//! `eshm info NAME`: one topic's or channel's header in full, and what bridges say about a
//! topic; or, for a recording (`NAME` ends in `.mcap`, or is an existing file and no topic or
//! channel has that name), its topics, types, message counts, duration and losses.

use super::find;
use crate::recording::file::Recording;
use crate::recording::report::Report;
use crate::{Exit, Failure, Outcome, bridged, show};
use eshm::segment::SegmentKind;
use std::io::{self, Write as _};
use std::path::Path;

pub(crate) fn run(name: &str, kind: Option<SegmentKind>, json: bool) -> Outcome {
    // `--kind` says it is a segment, whatever its name looks like.
    if kind.is_none() && name.ends_with(".mcap") {
        return recording(Path::new(name), json);
    }
    let info = match find(name, kind) {
        Ok(info) => info,
        Err(f) if f.exit == Exit::NotFound && kind.is_none() && Path::new(name).is_file() => {
            return recording(Path::new(name), json);
        }
        Err(f) => return Err(f),
    };
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

/// `info FILE.mcap`. An unfinished file is reported (with what is readable), then exits
/// with status 4.
fn recording(path: &Path, json: bool) -> Outcome {
    let report = Report::new(&Recording::open(path)?)?;
    let mut out = io::stdout().lock();
    if json {
        let text = serde_json::to_string_pretty(&report.json()).expect("JSON values print");
        writeln!(out, "{text}")?;
    } else {
        write!(out, "{}", report.text())?;
    }
    match &report.unfinished {
        Some(why) => Err(Failure::new(
            Exit::Corrupt,
            format!(
                "{} is not finished: {}",
                show::safe(&path.display().to_string()),
                show::safe(why)
            ),
        )),
        None => Ok(()),
    }
}
