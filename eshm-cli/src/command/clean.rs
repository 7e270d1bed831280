//! `eshm clean`: remove what dead processes left behind.

use crate::show::safe;
use crate::{Exit, Failure, Outcome};
use eshm::inspect;
use std::io::{self, Write as _};

fn shown(path: &std::path::Path) -> String {
    safe(&path.display().to_string())
}

pub(crate) fn run(dry_run: bool, include_corrupt: bool) -> Outcome {
    let report = inspect::clean(dry_run, include_corrupt)?;
    let verb = if dry_run { "would remove" } else { "removed" };
    let mut out = io::stdout().lock();
    for r in &report.removed {
        match &r.segment {
            Some((kind, name)) => {
                writeln!(out, "{verb} {} {name:?}: {}", kind.as_str(), r.reason)?;
            }
            None => writeln!(out, "{verb} {}: {}", shown(&r.path), r.reason)?,
        }
    }
    for (path, pid) in &report.kept {
        writeln!(out, "kept {} (owner pid {pid} is alive)", shown(path))?;
    }
    for (path, what) in &report.skipped {
        writeln!(out, "skipped {}: {what} (removed only with --include-corrupt)", shown(path))?;
    }
    for (path, e) in &report.failed {
        eprintln!("eshm: {}: {}", shown(path), safe(e));
    }
    writeln!(
        out,
        "{verb} {}, kept {}, skipped {}, failed {}",
        report.removed.len(),
        report.kept.len(),
        report.skipped.len(),
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
