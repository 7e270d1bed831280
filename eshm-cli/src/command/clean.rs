//! `eshm clean`: remove what dead processes left behind.

use crate::{Exit, Failure, Outcome};
use eshm::inspect;
use std::io::{self, Write as _};

pub(crate) fn run(dry_run: bool, include_corrupt: bool) -> Outcome {
    let report = inspect::clean(dry_run, include_corrupt)?;
    let verb = if dry_run { "would remove" } else { "removed" };
    let mut out = io::stdout().lock();
    for r in &report.removed {
        match &r.segment {
            Some((kind, name)) => {
                writeln!(out, "{verb} {} {name:?}: {}", kind.as_str(), r.reason)?;
            }
            None => writeln!(out, "{verb} {}: {}", r.path.display(), r.reason)?,
        }
    }
    for (path, pid) in &report.kept {
        writeln!(out, "kept {} (owner pid {pid} is alive)", path.display())?;
    }
    for (path, e) in &report.failed {
        eprintln!("eshm: {}: {e}", path.display());
    }
    writeln!(
        out,
        "{verb} {}, kept {}, failed {}",
        report.removed.len(),
        report.kept.len(),
        report.failed.len()
    )?;
    if report.failed.is_empty() {
        Ok(())
    } else {
        let hint = if include_corrupt {
            ""
        } else {
            " (segments with an unreadable header go only with --include-corrupt)"
        };
        Err(Failure::new(
            Exit::Failure,
            format!("{} file(s) not cleaned{hint}", report.failed.len()),
        ))
    }
}
