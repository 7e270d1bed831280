//! The server of the `calc/add` service: answers every `AddRequest` with its sum, from any
//! number of clients. Run it next to `service_client`, in two terminals:
//!
//! ```text
//! cargo run --example service_server            # terminal 1
//! cargo run --example service_client            # terminal 2 (any number of them)
//! ```
//!
//! Stop the server while a client calls (Ctrl-C, or `kill -9`): the client's call in flight
//! fails with `ServerGone` at once (not at its timeout), and its next call waits for the next
//! server. Arguments: `[NAME] [COUNT]` (default `calc/add`, and forever); `eshm list` shows
//! the service, its clients and the calls served.

use eshm::service::Server;
use std::time::Duration;
use types::{AddRequest, AddResponse};

#[path = "types.rs"]
mod types;

fn main() -> eshm::Result<()> {
    let name = std::env::args().nth(1).unwrap_or_else(|| "calc/add".to_owned());
    let count: u64 = std::env::args().nth(2).map_or(u64::MAX, |c| c.parse().expect("COUNT"));
    let mut server = Server::<AddRequest, AddResponse>::create(&name)?;
    println!("serving {name:?} (pid {}, generation {})", std::process::id(), server.generation());
    let mut served = 0;
    while served < count {
        // The blocking loop: the next request, whichever client sent it.
        let req = match server.recv_timeout(Duration::from_secs(1)) {
            Ok(req) => req,
            Err(e) if e.is_timeout() => continue,
            Err(e) => return Err(e.into()),
        };
        let res = AddResponse { sum: req.a + req.b };
        if served < 5 || served % 1000 == 999 {
            println!(
                "client {} call {}: {} + {} = {}",
                req.id().client(),
                req.id().number(),
                req.a,
                req.b,
                res.sum
            );
        }
        req.respond(&res)?; // to exactly the client and the call that asked
        served += 1;
    }
    println!("served {served} calls");
    Ok(())
}
