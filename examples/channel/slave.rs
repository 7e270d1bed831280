//! The slave end of a channel: answers every request of `channel_master` (see there for how
//! to run both). It waits for a master to appear, and re-attaches by itself when the master
//! is restarted. Arguments: `[NAME] [COUNT]` (default `demo/control`, and forever).

use eshm::ReadError;
use eshm::channel::{Channel, DisconnectBehavior, Role};
use std::time::Duration;

fn main() -> eshm::Result<()> {
    let name = std::env::args().nth(1).unwrap_or_else(|| "demo/control".to_owned());
    let count: u64 = std::env::args().nth(2).map_or(u64::MAX, |c| c.parse().expect("COUNT"));
    let ch = Channel::builder(&name)
        .role(Role::Slave)
        .disconnect_behavior(DisconnectBehavior::Never)
        .max_reconnect_attempts(None)
        .open()?;
    println!(
        "slave of {name:?} (pid {}), master pid {}",
        std::process::id(),
        ch.stats().channel.master.pid
    );
    let (mut reconnects, mut served) = (0, 0u64);
    while served < count {
        match ch.read_timeout(Duration::from_secs(5)) {
            Ok(request) => {
                served += 1;
                let request = String::from_utf8_lossy(&request).into_owned();
                println!("{request}");
                ch.write(format!("done: {request}").as_bytes())?;
            }
            Err(ReadError::Timeout) => println!("no request for 5 s"),
            Err(e) => return Err(e.into()),
        }
        let s = ch.stats();
        if s.reconnects != reconnects {
            reconnects = s.reconnects;
            println!(
                "re-attached to a new master (pid {}); {} message(s) to the old one lost",
                s.channel.master.pid, s.lost
            );
        }
    }
    println!("served {served} requests");
    Ok(())
}
