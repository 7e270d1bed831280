//! `eshm call NAME`: call a service once, the request encoded through its request type (JSON,
//! or a word for a primitive type), the response printed (as JSON with `--json`).

use super::{find, seconds, usable};
use crate::{CallArgs, Exit, Failure, Outcome, value};
use eshm::schema::Kind;
use eshm::segment::SegmentKind;
use eshm::service::{ClientOptions, RawClient};
use serde_json::Value;
use std::io::{self, Write as _};

pub(crate) fn run(a: &CallArgs) -> Outcome {
    let timeout = seconds("--timeout", Some(a.timeout))?.expect("a default");
    usable(find(&a.name, Some(SegmentKind::Service))?)?;
    // The tool takes the service's types from its segment, and does not wait for a server.
    let options = ClientOptions::default().wait_for_server(false);
    let mut client = RawClient::open(&a.name, None, options)?;
    let Some((request, response)) = client.schemas().map(|(q, s)| (q.clone(), s.clone())) else {
        return Err(Failure::new(
            Exit::NotFound,
            format!("service {:?} has no live server: start its server", a.name),
        ));
    };
    let bytes = match (&a.json, &a.value, request.kind()) {
        (Some(json), _, _) => {
            let v: Value = serde_json::from_str(json)
                .map_err(|e| Failure::usage(format!("--json is not valid JSON: {e}")))?;
            value::from_json(&request, &v).map_err(|e| Failure::usage(format!("--json: {e}")))?
        }
        (None, Some(word), Kind::Primitive(p)) => {
            value::parse_primitive(*p, word).map_err(Failure::usage)?
        }
        (None, _, _) => {
            return Err(Failure::usage(format!(
                "give the request: --json '{{...}}' (the request type is `{}`){}",
                request.type_name(),
                if matches!(request.kind(), Kind::Primitive(_)) { ", or its value" } else { "" }
            )));
        }
    };
    let answer = match client.call(&bytes, timeout) {
        Ok(answer) => answer,
        Err(eshm::CallError::Timeout) => {
            return Err(Failure::new(
                Exit::Timeout,
                format!("no answer from {:?} within {timeout:?}", a.name),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let mut out = io::stdout().lock();
    if a.json.is_some() {
        writeln!(out, "{}", value::to_json(&response, &answer))?;
    } else {
        writeln!(out, "{}", value::to_text(&response, &answer))?;
    }
    Ok(())
}
