//! `eshm bridge`: topics between hosts over Zenoh (the `eshm-bridge` crate), until Ctrl-C or
//! SIGTERM. Prints a line when it is ready and one per change (a topic exposed or imported, a
//! peer connected, a conflict); counters go to the status file that `eshm info` reads.

use crate::{BridgeArgs, Outcome};

#[cfg(feature = "bridge")]
pub(crate) fn run(a: &BridgeArgs) -> Outcome {
    use crate::{Exit, Failure};
    use eshm_bridge::{Bridge, Config, Error};
    use std::io::Write as _;

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

/// SIGINT, SIGTERM and SIGHUP as a request to stop; a second one ends the process at once
/// (status 130), for a stop that hangs.
#[cfg(feature = "bridge")]
mod signals {
    // A flag this process's signal handlers set, not a shared-memory protocol.
    #[allow(clippy::disallowed_types)]
    use std::sync::atomic::{AtomicBool, Ordering};

    #[allow(clippy::disallowed_types)]
    static STOP: AtomicBool = AtomicBool::new(false);

    #[derive(Clone, Copy, Debug)]
    pub(super) struct Stop(());

    impl Stop {
        pub(super) fn requested(self) -> bool {
            STOP.load(Ordering::Relaxed)
        }
    }

    pub(super) fn install() -> std::io::Result<Stop> {
        for signal in
            [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM, signal_hook::consts::SIGHUP]
        {
            // Registered first, so that it sees the flag as the previous signal left it.
            signal_hook::flag::register_conditional_shutdown(signal, 130, &STOP)?;
            signal_hook::flag::register(signal, &STOP)?;
        }
        Ok(Stop(()))
    }
}
