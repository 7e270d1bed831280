//! The master end of a channel: sends a numbered request every 500 ms and prints the slave's
//! replies and the channel's statistics. Run it next to `channel_slave`, in two terminals:
//!
//! ```text
//! cargo run --example channel_master          # terminal 1
//! cargo run --example channel_slave           # terminal 2 (either may start first)
//! ```
//!
//! Stop the slave and start it again: the master queues its requests meanwhile (the original
//! ESHM's behaviour: a master never gives up on its slave) and the new slave receives them.
//! Arguments: `[NAME] [COUNT]` (default `demo/control`, and forever).

use eshm::channel::{Channel, Role};
use eshm::{ReadError, WriteError};
use std::time::Duration;

fn main() -> eshm::Result<()> {
    let name = std::env::args().nth(1).unwrap_or_else(|| "demo/control".to_owned());
    let count: u64 = std::env::args().nth(2).map_or(u64::MAX, |c| c.parse().expect("COUNT"));
    let ch =
        Channel::builder(&name).role(Role::Master).reconnect_wait(Duration::from_secs(2)).open()?;
    println!("master of {name:?} (pid {}); waiting for a slave", std::process::id());
    for n in 0..count {
        match ch.write(format!("request {n}").as_bytes()) {
            Ok(()) => {}
            Err(WriteError::Disconnected { reason, .. }) => {
                println!("no slave ({reason}); still waiting");
                continue;
            }
            Err(e) => return Err(e.into()),
        }
        match ch.read_timeout(Duration::from_millis(500)) {
            Ok(reply) => println!("reply: {}", String::from_utf8_lossy(&reply)),
            Err(ReadError::Timeout) => println!("no reply within 500 ms"),
            Err(ReadError::Disconnected { reason, .. }) => println!("slave gone: {reason}"),
            Err(e) => return Err(e.into()),
        }
        if n % 10 == 9 {
            let s = ch.stats();
            println!(
                "stats: slave pid {} alive {}, m2s {}/{} written/read, s2m {}/{}, stale events {}",
                s.channel.slave.pid,
                s.channel.slave.alive,
                s.channel.master_to_slave.written,
                s.channel.master_to_slave.read,
                s.channel.slave_to_master.written,
                s.channel.slave_to_master.read,
                s.stale_events
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    Ok(())
}
