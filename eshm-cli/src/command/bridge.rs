//! `eshm bridge`: topics between hosts over Zenoh (the `eshm-bridge` crate), until Ctrl-C or
//! SIGTERM. Prints a line when it is ready and one per change (a topic exposed or imported, a
//! peer connected, a conflict); counters go to the status file that `eshm info` reads.

use crate::{BridgeArgs, Outcome};

#[cfg(feature = "bridge")]
pub(crate) fn run(a: &BridgeArgs) -> Outcome {
    use crate::{Exit, Failure, signals};
    use eshm_bridge::{Bridge, Config, Error};
    use std::io::Write as _;

    eshm_bridge::log_zenoh_from_env();
    let stop = signals::install()
        .map_err(|e| Failure::new(Exit::Failure, format!("cannot handle signals: {e}")))?;
    let mut config = Config::new().multicast_scouting(!a.no_multicast_scouting);
    for p in &a.expose {
        config = config.expose(p);
    }
    for p in &a.import {
        config = config.import(p);
    }
    for e in &a.listen {
        config = config.listen(e);
    }
    for e in &a.connect {
        config = config.connect(e);
    }
    if let Some(path) = &a.zenoh_config {
        config = config.zenoh_config_file(path);
    }
    if let Some(n) = a.capacity {
        config = config.capacity(n);
    }
    config = config.busy_poll(a.busy_poll);
    let say = |line: &str| {
        // A closed stdout (`eshm bridge | head`) must not stop the bridge.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", crate::show::safe(line));
    };
    let bridge = Bridge::start(config, move |event| say(&event.to_string())).map_err(|e| {
        let exit = match e {
            Error::InvalidPattern { .. } | Error::NothingToDo | Error::Config(_) => Exit::Usage,
            _ => Exit::Failure,
        };
        Failure::new(exit, e.to_string())
    })?;
    let list = |v: &[String]| {
        if v.is_empty() {
            "nothing".to_owned()
        } else {
            v.iter().map(|p| format!("{p:?}")).collect::<Vec<_>>().join(" ")
        }
    };
    say(&format!(
        "bridge ready: id {}, pid {}, exposing {}, importing {}; status in {}",
        bridge.id(),
        std::process::id(),
        list(&a.expose),
        list(&a.import),
        bridge.status_path().display()
    ));
    while !stop.requested() {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    bridge.stop();
    say("bridge stopped");
    Ok(())
}

#[cfg(not(feature = "bridge"))]
pub(crate) fn run(_: &BridgeArgs) -> Outcome {
    Err(crate::Failure::usage(
        "this eshm was built without the bridge (the Python package's `eshm` leaves Zenoh out); \
         install the command with it: cargo install --path eshm-cli",
    ))
}
