//! `eshm pub NAME`: publish a value, or JSON through the topic's schema.

use super::{not_found, usable};
use crate::{Exit, Failure, Outcome, PubArgs, suggest, value};
use eshm::RawPublisher;
use eshm::inspect;
use eshm::pubsub::PublisherOptions;
use eshm::schema::{Kind, Primitive, Schema};
use eshm::segment::SegmentKind;
use serde_json::Value;
use std::time::{Duration, Instant};

/// The message types `pub --type` knows: primitives and `eshm::msg`.
fn named_type(name: &str) -> Result<Schema, Failure> {
    if let Some(p) = Primitive::from_name(name) {
        return Ok(Schema::primitive(p));
    }
    if let Some(schema) = eshm::msg::schema(name) {
        return Ok(schema.clone());
    }
    let names: Vec<&str> = Primitive::ALL
        .iter()
        .map(|p| p.name())
        .chain(eshm::msg::ALL.iter().map(|(n, _)| *n))
        .collect();
    let hint = suggest(name, names.iter().copied())
        .map(|s| format!("did you mean `{s}`? "))
        .unwrap_or_default();
    Err(Failure::usage(format!("unknown type `{name}`; {hint}known types: {}", names.join(", "))))
}

pub(crate) fn run(a: &PubArgs) -> Outcome {
    let existing = match inspect::info(SegmentKind::Topic, &a.name) {
        Ok(info) => Some(usable(info)?),
        Err(eshm::Error::NotFound { .. }) if a.ty.is_some() => None,
        Err(eshm::Error::NotFound { .. }) => {
            let f = not_found(&a.name, Some(SegmentKind::Topic));
            return Err(Failure::new(
                f.exit,
                format!(
                    "{}; to create it, give its type: --type f64 VALUE, or --type Pose --json '{{...}}'",
                    f.message
                ),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let existing_schema = existing.and_then(|i| i.schema);
    let schema = match (&a.ty, existing_schema) {
        (Some(ty), existing) => {
            let schema = named_type(ty)?;
            if let Some(e) = existing.filter(|e| e.fingerprint() != schema.fingerprint()) {
                return Err(Failure::new(
                    Exit::Corrupt,
                    format!(
                        "topic {:?} carries `{}`, not `{}`: leave out --type to publish its type",
                        a.name,
                        e.type_name(),
                        schema.type_name()
                    ),
                ));
            }
            schema
        }
        (None, Some(existing)) => existing,
        (None, None) => unreachable!("a topic without a type was refused above"),
    };
    let bytes = match (&a.json, &a.value, schema.kind()) {
        (Some(json), _, _) => {
            let v: Value = serde_json::from_str(json)
                .map_err(|e| Failure::usage(format!("--json is not valid JSON: {e}")))?;
            value::from_json(&schema, &v).map_err(|e| Failure::usage(format!("--json: {e}")))?
        }
        (None, Some(word), Kind::Primitive(p)) => {
            value::parse_primitive(*p, word).map_err(Failure::usage)?
        }
        (None, _, Kind::Primitive(_)) => {
            return Err(Failure::usage(format!(
                "give the {} value to publish (or --json)",
                schema.type_name()
            )));
        }
        (None, _, _) => {
            return Err(Failure::usage(format!(
                "`{}` is not a primitive type: give the message as --json '{{...}}'",
                schema.type_name()
            )));
        }
    };
    if !(a.rate.is_finite() && a.rate > 0.0) {
        return Err(Failure::usage(format!("--rate: {} is not a positive rate", a.rate)));
    }
    // The topic stays after this process exits (closed, with a dead owner), so subscribers
    // that attach late still find the messages; `eshm clean` removes it.
    let mut options = PublisherOptions::default().unlink_on_drop(false);
    if let Some(capacity) = a.capacity {
        options = options.capacity(capacity);
    }
    let mut publisher = RawPublisher::create_with(&a.name, &schema, &options)?;
    let start = Instant::now();
    for i in 0..a.count {
        if i > 0 {
            let due = start + Duration::from_secs_f64(i as f64 / a.rate);
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
        publisher.publish_bytes(&bytes)?;
    }
    println!("published {} message(s) of `{}` on {:?}", a.count, schema.type_name(), a.name);
    Ok(())
}
