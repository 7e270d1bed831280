//! `eshm list`: every topic and channel, as a table or JSON.

use crate::{Outcome, show};
use eshm::inspect::{self, SegmentInfo};
use eshm::segment::SegmentKind;
use serde_json::Value;
use std::io::{self, Write as _};

pub(crate) fn run(json: bool, kind: Option<SegmentKind>) -> Outcome {
    let infos: Vec<SegmentInfo> =
        inspect::list()?.into_iter().filter(|i| kind.is_none_or(|k| i.kind == k)).collect();
    let mut out = io::stdout().lock();
    if json {
        let array = Value::Array(infos.iter().map(show::to_json).collect());
        writeln!(out, "{}", serde_json::to_string_pretty(&array).expect("JSON values print"))?;
    } else if infos.is_empty() {
        let what = kind.map_or("topics or channels".to_owned(), |k| format!("{}s", k.as_str()));
        writeln!(out, "no eshm {what} in {}", eshm::segment::shm_dir().display())?;
    } else {
        write!(out, "{}", show::table(&infos))?;
    }
    Ok(())
}
