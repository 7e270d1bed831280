//! A client of the `calc/add` service (see `service_server`): a few calls one at a time,
//! then several in flight at once, then a burst timed. Arguments: `[NAME] [COUNT]` (default
//! `calc/add`, 10 000 calls in the burst).

use eshm::CallError;
use eshm::service::Client;
use std::time::{Duration, Instant};
use types::{AddRequest, AddResponse};

#[path = "types.rs"]
mod types;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let name = std::env::args().nth(1).unwrap_or_else(|| "calc/add".to_owned());
    let count: i64 = std::env::args().nth(2).map_or(10_000, |c| c.parse().expect("COUNT"));
    // The server may start after the client: a call waits for it (up to its timeout).
    let client = Client::<AddRequest, AddResponse>::open(&name)?;
    let timeout = Duration::from_secs(10);
    if !client.wait_for_server(timeout) {
        println!("no server for {name:?} within {timeout:?}");
        return Ok(());
    }
    for a in 1..=3 {
        let res = client.call(&AddRequest { a, b: 10 * a }, timeout)?;
        println!("{a} + {} = {}", 10 * a, res.sum);
    }

    // Several calls in flight: each `Pending` gets its own answer.
    let pending: Vec<_> =
        (0..4).map(|i| client.send(&AddRequest { a: i, b: 100 })).collect::<Result<_, _>>()?;
    let sums: Vec<i64> =
        pending.into_iter().map(|p| p.wait(timeout).map(|r| r.sum)).collect::<Result<_, _>>()?;
    println!("four calls in flight: {sums:?}");

    let start = Instant::now();
    let mut gone = 0;
    for i in 0..count {
        match client.call(&AddRequest { a: i, b: -i }, timeout) {
            Ok(res) => assert_eq!(res.sum, 0, "an answer to another call"),
            // The server died before answering (noticed within 100 ms); the next call waits
            // for the next server.
            Err(CallError::ServerGone { .. }) => gone += 1,
            Err(e) => return Err(e.into()),
        }
    }
    let elapsed = start.elapsed();
    println!(
        "{count} calls in {elapsed:.2?}: {:.2} µs a call{}",
        elapsed.as_secs_f64() * 1e6 / count as f64,
        if gone > 0 { format!(" ({gone} lost with a server that died)") } else { String::new() }
    );
    Ok(())
}
