//! SIGINT (Ctrl-C), SIGTERM and SIGHUP as a request to stop: `record` finishes its file and
//! `play` its summary, then they exit with status 0. A second signal while the first is being
//! handled ends the process at once (status 130), for a finish that hangs on a stuck disk.
//!
//! The handlers only set a flag (signal-hook's `flag`), which the commands check between
//! bounded waits.

use std::sync::Once;
// A flag this process's signal handler sets, not a shared-memory protocol.
#[allow(clippy::disallowed_types)]
use std::sync::atomic::{AtomicBool, Ordering};

#[allow(clippy::disallowed_types)]
static STOP: AtomicBool = AtomicBool::new(false);

/// A stop request: whether SIGINT, SIGTERM or SIGHUP arrived since [`install`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stop(());

impl Stop {
    pub(crate) fn requested(self) -> bool {
        STOP.load(Ordering::Relaxed)
    }
}

/// Installs the handlers (once per process; later calls only clear the flag).
///
/// # Errors
///
/// If a handler cannot be installed.
pub(crate) fn install() -> std::io::Result<Stop> {
    static INSTALLED: Once = Once::new();
    let mut result: std::io::Result<()> = Ok(());
    INSTALLED.call_once(|| {
        result = (|| {
            for signal in [
                signal_hook::consts::SIGINT,
                signal_hook::consts::SIGTERM,
                signal_hook::consts::SIGHUP,
            ] {
                // Registered first, so it sees the flag as the previous signal left it.
                signal_hook::flag::register_conditional_shutdown(signal, 130, &STOP)?;
                signal_hook::flag::register(signal, &STOP)?;
            }
            Ok(())
        })();
    });
    result?;
    STOP.store(false, Ordering::Relaxed);
    Ok(Stop(()))
}
