//! Reconnection, shown end to end: a slave keeps working while its master is killed and a new
//! one takes over.
//!
//! ```text
//! cargo run --example channel_reconnect            # the whole scenario, in one command
//! cargo run --example channel_reconnect slave      # or by hand: terminal 1
//! cargo run --example channel_reconnect master     # terminal 2; kill it (Ctrl-C) and restart it
//! ```
//!
//! The scenario starts a master process that sends numbered messages, a slave that receives
//! them, kills the master with SIGKILL (no chance to clean up), starts a second master, and
//! shows the slave carrying on with it, the same `Channel` value throughout.

use eshm::channel::{Channel, DisconnectBehavior, Role};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

fn master(name: &str) -> eshm::Result<()> {
    let ch = Channel::builder(name)
        .role(Role::Master)
        .disconnect_behavior(DisconnectBehavior::Never)
        .max_reconnect_attempts(None)
        .open()?;
    let pid = std::process::id();
    println!("[master pid {pid}] started");
    for n in 1u64.. {
        ch.write(format!("message {n} from master {pid}").as_bytes())?;
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

fn slave(name: &str, stop_after: Option<Duration>) -> eshm::Result<()> {
    let ch = Channel::builder(name)
        .role(Role::Slave)
        .disconnect_behavior(DisconnectBehavior::Never)
        .max_reconnect_attempts(None)
        .read_timeout(Duration::from_secs(2))
        .open()?;
    let start = Instant::now();
    let mut reconnects = 0;
    while stop_after.is_none_or(|d| start.elapsed() < d) {
        match ch.read() {
            Ok(m) => println!("[slave] {}", String::from_utf8_lossy(&m)),
            Err(eshm::ReadError::Timeout) => {
                println!("[slave] (no message for 2 s: master gone? still waiting)")
            }
            Err(e) => return Err(e.into()),
        }
        let s = ch.stats();
        if s.reconnects != reconnects {
            reconnects = s.reconnects;
            println!(
                "[slave] re-attached to master pid {} (reconnects: {reconnects})",
                s.channel.master.pid
            );
        }
    }
    Ok(())
}

fn spawn(role: &str, name: &str) -> Child {
    Command::new(std::env::current_exe().expect("current exe"))
        .args([role, name])
        .spawn()
        .expect("spawn")
}

fn main() -> eshm::Result<()> {
    let mut args = std::env::args().skip(1);
    let role = args.next();
    let name = args.next().unwrap_or_else(|| "demo/reconnect".to_owned());
    match role.as_deref() {
        Some("master") => master(&name),
        Some("slave") => slave(&name, None),
        Some("slave-for-demo") => slave(&name, Some(Duration::from_millis(2000))),
        Some(other) => {
            eprintln!("usage: channel_reconnect [master|slave] [NAME] (not {other:?})");
            std::process::exit(2);
        }
        None => {
            let name = format!("{name}/{}", std::process::id());
            let mut first = spawn("master", &name);
            let mut watcher = spawn("slave-for-demo", &name);
            std::thread::sleep(Duration::from_millis(700));
            println!("[demo] killing the master with SIGKILL");
            first.kill().expect("kill");
            first.wait().expect("reap");
            std::thread::sleep(Duration::from_millis(300));
            println!("[demo] starting a new master");
            let mut second = spawn("master", &name);
            let status = watcher.wait().expect("wait for the slave");
            second.kill().expect("kill");
            second.wait().expect("reap");
            println!("[demo] slave exited: {status}");
            Ok(())
        }
    }
}
