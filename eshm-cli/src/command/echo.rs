//! `eshm echo NAME`: print a topic's messages, decoded through its schema.

use super::{recv_through_trouble, seconds, subscribe};
use crate::{EchoArgs, Exit, Failure, Outcome, value};
use std::io::{self, Write as _};
use std::time::Instant;

pub(crate) fn run(a: &EchoArgs) -> Outcome {
    let timeout = seconds("--timeout", a.timeout)?;
    let mut sub = subscribe(&a.name, a.wait, a.history)?;
    let limit = if a.once { Some(1) } else { a.count };
    let mut out = io::stdout().lock();
    let (mut printed, mut lost) = (0u64, 0u64);
    let mut trouble = None;
    while limit.is_none_or(|l| printed < l) {
        let deadline = timeout.map(|t| Instant::now() + t);
        let bytes = match recv_through_trouble(&mut sub, deadline, &mut trouble) {
            Ok(bytes) => bytes,
            Err(eshm::RecvError::Timeout) => {
                return Err(Failure::new(
                    Exit::Timeout,
                    format!("no message on {:?} within {:?}", a.name, timeout.unwrap_or_default()),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        let schema = sub.schema().expect("a subscriber that received is attached");
        if sub.lost() > lost {
            eprintln!("eshm: {} message(s) lost: this reader fell behind", sub.lost() - lost);
            lost = sub.lost();
        }
        if a.json {
            writeln!(out, "{}", value::to_json(schema, &bytes))?;
        } else {
            writeln!(out, "{}", value::to_text(schema, &bytes))?;
        }
        out.flush()?;
        printed += 1;
    }
    Ok(())
}
