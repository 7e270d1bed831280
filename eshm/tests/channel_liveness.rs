//! The channel's liveness rules (`channel/liveness.rs`), pinned one by one: what an endpoint
//! counts (`reconnects`, `stale_events`, `lost`), how often a slave counts a reconnection
//! attempt, when each disconnect behaviour gives up, which segments a slave re-attaches to, the
//! liveness cache, and the heartbeat thread's period. Written for issue 10: each test names the
//! `cargo mutants` survivors it catches.
//!
//! Nothing here asserts on elapsed time. Where a test needs time to pass (a cached verdict to
//! expire, a heartbeat to age), it waits for a state it can observe, or sleeps well past a
//! known constant, and bounds every wait by [`BOUND`]. A master that dies without cleaning up
//! is a child process (this binary, re-run on `liveness_child_master`) killed with SIGKILL.

use eshm::channel::{Channel, ChannelBuilder, DisconnectBehavior, Role};
use eshm::{ReadError, WriteError};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The longest any wait for a state may take before the test fails.
const BOUND: Duration = Duration::from_secs(10);

/// Comfortably longer than the 5 ms for which an endpoint reuses a verdict of "alive".
const PAST_THE_CACHE: Duration = Duration::from_millis(25);

/// Tells `liveness_child_master` which channel to open.
const CHILD_ENV: &str = "ESHM_LIVENESS_CHILD_MASTER";
const CHILD_READY: &str = "liveness-child-ready";

#[allow(clippy::disallowed_types)] // a process-local counter, not shared memory
fn name(what: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "eshm-test/liveness/{what}/{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn master(name: &str) -> ChannelBuilder {
    Channel::builder(name).role(Role::Master)
}

fn slave(name: &str) -> ChannelBuilder {
    Channel::builder(name).role(Role::Slave)
}

fn master_of(name: &str) -> Channel {
    master(name).open().unwrap()
}

/// Calls `f` until it returns something; fails the test after [`BOUND`].
fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + BOUND;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < end, "{what}: not within {BOUND:?}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// `try_read` until it reports `Disconnected` (returning the reason); it must find nothing
/// meanwhile.
fn disconnect_reason(ch: &Channel) -> String {
    eventually("Disconnected", || match ch.try_read() {
        Ok(None) => None,
        Err(ReadError::Disconnected { reason, .. }) => Some(reason),
        other => panic!("expected nothing or Disconnected, got {other:?}"),
    })
}

/// A master of `name` in a child process, killed (SIGKILL, so it cleans nothing up) on drop or
/// by [`ChildMaster::kill`].
struct ChildMaster(Child);

impl ChildMaster {
    fn spawn(name: &str) -> ChildMaster {
        let exe = std::env::current_exe().expect("this test binary");
        let mut child = Command::new(exe)
            .args(["--exact", "liveness_child_master", "--ignored", "--nocapture"])
            .args(["--test-threads=1"])
            .env(CHILD_ENV, name)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn the child master");
        let out = BufReader::new(child.stdout.take().expect("piped stdout"));
        let guard = ChildMaster(child);
        for line in out.lines() {
            if line.expect("the child's output").contains(CHILD_READY) {
                return guard;
            }
        }
        panic!("the child master exited before it opened the channel");
    }

    fn kill(mut self) {
        self.0.kill().expect("kill the child master");
        self.0.wait().expect("reap the child master");
    }
}

impl Drop for ChildMaster {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The child process of the tests that need a master to die: opens the channel named by
/// [`CHILD_ENV`] as master, says so, and holds it until killed (or its stdin closes).
#[test]
#[ignore = "a child process, run by the other tests"]
fn liveness_child_master() {
    let Ok(name) = std::env::var(CHILD_ENV) else { return };
    let _master = master(&name).open().expect("the child opens the master");
    println!("{CHILD_READY}");
    let _ = std::io::stdin().read_line(&mut String::new());
}

/// Catches, in `remote_alive_cached`: `generation != slave_generation_seen` → `==` and
/// `reconnects += 1` → `-=`/`*=` (a new slave generation); `(was_alive || came) && !alive` →
/// `|| !alive` (a stale event counted on every look at a missing remote).
#[test]
fn liveness_master_counts_each_new_slave_but_the_first_as_a_reconnect() {
    let n = name("generations");
    let master = master(&n).disconnect_behavior(DisconnectBehavior::Never).open().unwrap();
    // No slave yet: looking finds it missing, which is neither a reconnect nor a stale event.
    for _ in 0..3 {
        assert!(matches!(master.try_read(), Ok(None)));
    }
    let stats = master.stats();
    assert_eq!((stats.reconnects, stats.stale_events), (0, 0));

    // The first slave is not a reconnect.
    let first = Channel::open(&n, Role::Slave).unwrap();
    assert!(matches!(master.try_read(), Ok(None)));
    assert_eq!(master.stats().reconnects, 0);
    drop(first);
    // It went: one stale event, however often the master looks afterwards.
    eventually("the stale event", || {
        assert!(matches!(master.try_read(), Ok(None)));
        (master.stats().stale_events > 0).then_some(())
    });
    for _ in 0..3 {
        assert!(matches!(master.try_read(), Ok(None)));
    }
    let stats = master.stats();
    assert_eq!((stats.reconnects, stats.stale_events), (0, 1));

    // The second slave is a reconnect (the master's last verdict was "missing": no cache).
    let second = Channel::open(&n, Role::Slave).unwrap();
    assert!(matches!(master.try_read(), Ok(None)));
    let stats = master.stats();
    assert_eq!((stats.reconnects, stats.stale_events), (1, 1));

    // A third that comes and goes between two looks is a reconnect and a stale event too.
    drop(second);
    drop(Channel::open(&n, Role::Slave).unwrap());
    eventually("the third slave", || {
        assert!(matches!(master.try_read(), Ok(None)));
        (master.stats().reconnects == 2).then_some(())
    });
    for _ in 0..3 {
        assert!(matches!(master.try_read(), Ok(None)));
    }
    let stats = master.stats();
    assert_eq!((stats.reconnects, stats.stale_events), (2, 2));
}

/// Catches, in `check_remote`: `outage.next = now + interval` → `-` (an attempt counted on
/// every look, not once per interval); also pins the budget's exact count and the slave's
/// single stale event per outage.
#[test]
fn liveness_slave_counts_one_reconnection_attempt_per_interval() {
    // An interval longer than the test: the outage makes exactly one attempt, however many
    // times operations look, until OnTimeout gives up at reconnect_wait.
    let n = name("interval");
    let m = master(&n).open().unwrap();
    let s = slave(&n)
        .reconnect_interval(Duration::from_secs(3600))
        .max_reconnect_attempts(Some(3))
        .disconnect_behavior(DisconnectBehavior::OnTimeout)
        .reconnect_wait(Duration::from_millis(100))
        .open()
        .unwrap();
    // The slave looks while its master is there (a stale event needs a remote seen alive).
    assert!(matches!(s.try_read(), Ok(None)));
    drop(m);
    let mut looks = 0;
    let reason = eventually("OnTimeout to give up", || {
        looks += 1;
        match s.try_read() {
            Ok(None) => None,
            Err(ReadError::Disconnected { reason, .. }) => Some(reason),
            other => panic!("{other:?}"),
        }
    });
    assert!(looks > 3, "the outage lasted {looks} looks only");
    assert!(reason.contains("reconnect_wait passed"), "{reason}");
    assert!(reason.ends_with(", 1 reconnection attempt(s))"), "{reason}");
    let stats = s.stats();
    assert_eq!((stats.stale_events, stats.reconnects), (1, 0));

    // A short interval: the budget of 4 is spent in exactly 4 attempts, whatever the behaviour.
    let n = name("budget");
    let m = master(&n).open().unwrap();
    let s = slave(&n)
        .reconnect_interval(Duration::from_millis(1))
        .max_reconnect_attempts(Some(4))
        .disconnect_behavior(DisconnectBehavior::Never)
        .open()
        .unwrap();
    drop(m);
    let err = s.read_timeout(BOUND).unwrap_err();
    assert!(
        matches!(&err, ReadError::Disconnected { reason, .. }
            if reason.starts_with("the master is gone; all max_reconnect_attempts spent")
                && reason.ends_with(", 4 reconnection attempt(s))")),
        "{err}"
    );
}

/// Never gives up while the budget is unlimited; OnTimeout only once reconnect_wait has
/// passed (a long wait: the operation times out instead).
#[test]
fn liveness_never_and_on_timeout_wait_for_the_master() {
    let n = name("never");
    let m = master(&n).open().unwrap();
    let never = slave(&n)
        .disconnect_behavior(DisconnectBehavior::Never)
        .reconnect_interval(Duration::from_millis(1))
        .max_reconnect_attempts(None)
        .open()
        .unwrap();
    assert!(matches!(never.try_read(), Ok(None)));
    drop(m);
    for _ in 0..3 {
        assert!(matches!(never.read_timeout(Duration::from_millis(30)), Err(ReadError::Timeout)));
        assert!(matches!(never.try_write(b"x"), Err(WriteError::Full)));
    }
    assert_eq!(never.stats().stale_events, 1);

    let n = name("on-timeout");
    let m = master(&n).open().unwrap();
    let s = slave(&n).reconnect_wait(Duration::from_secs(3600)).open().unwrap();
    drop(m);
    for _ in 0..3 {
        assert!(matches!(s.read_timeout(Duration::from_millis(30)), Err(ReadError::Timeout)));
    }
}

/// Catches: `at.elapsed() < LIVENESS_CACHE` → `>` (a verdict of "alive" reused forever once
/// older than the cache window); in `check_remote`, the reason's `self.role == Role::Slave` →
/// `!=` (the wrong role in the reason). Immediately fails once a remote
/// that was there is gone, and not before one was seen.
#[test]
fn liveness_immediately_gives_up_on_a_remote_that_was_there() {
    let n = name("immediately");
    let master = master(&n).disconnect_behavior(DisconnectBehavior::Immediately).open().unwrap();
    // No slave seen yet: nothing to give up on.
    assert!(matches!(master.try_read(), Ok(None)));
    master.write(b"queued").unwrap();
    let s = slave(&n).disconnect_behavior(DisconnectBehavior::Immediately).open().unwrap();
    assert_eq!(s.try_read().unwrap().unwrap(), b"queued");
    // The master finds the slave alive and caches that; the verdict then grows old.
    assert!(matches!(master.try_read(), Ok(None)));
    std::thread::sleep(PAST_THE_CACHE);
    drop(s);
    let reason = disconnect_reason(&master);
    assert!(reason.starts_with("the slave is gone or stale (missing for "), "{reason}");
    assert!(matches!(master.write(b"x"), Err(WriteError::Disconnected { .. })));
    assert_eq!(master.stats().stale_events, 1);

    // The slave's side: its master goes.
    let n = name("immediately-slave");
    let m = master_of(&n);
    let s = slave(&n).disconnect_behavior(DisconnectBehavior::Immediately).open().unwrap();
    assert!(s.is_remote_alive());
    drop(m);
    let reason = disconnect_reason(&s);
    assert!(reason.starts_with("the master is gone or stale (missing for "), "{reason}");
}

/// Catches, in `reattach`: `lost += outgoing + incoming` → `-=`/`*=`, and its `+` → `-`/`*`
/// (what a re-attaching slave counts as lost). A slave moves to a new master by itself and counts, exactly, the messages it wrote
/// that the old master never read plus those the old master wrote that it never read.
#[test]
fn liveness_slave_reattaches_and_counts_what_the_old_master_left_as_lost() {
    let n = name("lost");
    let old = master_of(&n);
    let s = slave(&n).disconnect_behavior(DisconnectBehavior::Never).open().unwrap();
    for i in 0..2u8 {
        old.write(&[b'm', i]).unwrap();
    }
    for i in 0..3u8 {
        s.write(&[b's', i]).unwrap();
    }
    drop(old);
    // Let the slave's last verdict on the old master expire, so its next write looks again.
    std::thread::sleep(PAST_THE_CACHE);
    let new = master_of(&n);
    s.write(b"to the new master").unwrap();
    let stats = s.stats();
    assert_eq!((stats.reconnects, stats.lost), (1, 5), "3 unread by the old master + 2 by us");
    assert_eq!(new.read().unwrap(), b"to the new master");
    new.write(b"from the new master").unwrap();
    assert_eq!(s.read().unwrap(), b"from the new master");
    assert_eq!(s.stats().reconnects, 1);
}

/// Catches: `reattached && remote_alive_cached(..)` → `||` (a re-attached slave taking its new
/// master for alive without looking) and, in `reattach`, `same segment || owner dead` → `&&`
/// (re-attaching to the segment it is on, whose owner lives).
#[test]
fn liveness_slave_reattached_to_a_stale_master_waits_for_its_heartbeat() {
    let n = name("stale-new");
    let stale = Duration::from_millis(100);
    let old = master_of(&n);
    let s = slave(&n)
        .stale_threshold(stale)
        .disconnect_behavior(DisconnectBehavior::Never)
        .max_reconnect_attempts(None)
        .open()
        .unwrap();
    drop(old);
    // A new master that beats only when it operates, idle for twice the slave's threshold.
    let new = master(&n).heartbeat_thread(false).open().unwrap();
    eventually("the new master's heartbeat to age", || {
        let age = new.stats().channel.master.heartbeat_age.unwrap();
        (age > 2 * stale).then_some(())
    });
    // The slave moves to it (a new segment, a live owner) but finds it stale: still missing.
    for _ in 0..3 {
        assert!(matches!(s.try_write(b"early"), Err(WriteError::Full)));
    }
    assert_eq!(s.stats().reconnects, 1);
    assert!(!s.is_remote_alive());
    // The master operates (and so beats): the slave finds it there.
    assert!(matches!(new.try_read(), Ok(None)));
    s.try_write(b"now").unwrap();
    assert_eq!(new.read().unwrap(), b"now");
    assert_eq!(s.stats().reconnects, 1);
}

/// Catches, in `reattach`: `same segment || owner dead` → `&&` (re-attaching to a new segment
/// whose owner is dead). A master
/// killed with SIGKILL leaves its segment under the name; the slave waits for a live one.
#[test]
fn liveness_slave_does_not_reattach_to_a_dead_masters_segment() {
    let n = name("dead-owner");
    let old = master_of(&n);
    let s = slave(&n)
        .disconnect_behavior(DisconnectBehavior::Never)
        .reconnect_interval(Duration::from_millis(1))
        .max_reconnect_attempts(None)
        .open()
        .unwrap();
    drop(old);
    ChildMaster::spawn(&n).kill();
    for _ in 0..3 {
        assert!(matches!(s.try_read(), Ok(None)));
        assert!(matches!(s.try_write(b"x"), Err(WriteError::Full)));
    }
    let stats = s.stats();
    assert_eq!((stats.reconnects, stats.lost), (0, 0));
    // A live master takes the dead one's place: the slave moves to it.
    let new = master_of(&n);
    s.write(b"found you").unwrap();
    assert_eq!(new.read().unwrap(), b"found you");
    assert_eq!(s.stats().reconnects, 1);
}

/// Catches, in `spawn_heartbeat`: `stale / 4` → `*` (a heartbeat period longer than the stale
/// threshold), and `while !*stop` → `while *stop` (no heartbeat thread). An idle slave
/// whose heartbeat thread beats at a quarter of the threshold never looks stale.
#[test]
fn liveness_heartbeat_thread_keeps_an_idle_endpoint_alive() {
    let n = name("heartbeat");
    // Beats every 100 ms against a 400 ms threshold (4 ms of clock tick allowed on top); the
    // mutant beats every second (the clamp) and looks stale for most of each period.
    let stale = Duration::from_millis(400);
    let m = master(&n).stale_threshold(stale).open().unwrap();
    let s = slave(&n).stale_threshold(stale).open().unwrap();
    let slave_beats = || m.stats().channel.slave.heartbeats;
    let start = slave_beats();
    // Watch over five thresholds, by the slave's own beats: 20 beats at the right period.
    let mut looks = 0u32;
    eventually("20 heartbeats of the idle slave", || {
        assert!(m.is_remote_alive(), "the idle slave looked stale after {looks} looks");
        looks += 1;
        std::thread::sleep(Duration::from_millis(5));
        (slave_beats() >= start + 20).then_some(())
    });
    drop(s);
}

/// A slave opens only on a live master, so that master was alive: if it dies before the
/// slave's first look, the slave's first look counts one stale event (it used to count none,
/// since nothing had looked while the master was alive).
#[test]
fn liveness_slave_counts_a_master_that_died_before_its_first_look() {
    let n = name("died-before-first-look");
    let child = ChildMaster::spawn(&n);
    let slave = slave(&n).disconnect_behavior(DisconnectBehavior::Never).open().unwrap();
    child.kill();
    for _ in 0..3 {
        assert!(matches!(slave.try_read(), Ok(None)));
    }
    let stats = slave.stats();
    assert_eq!((stats.stale_events, stats.reconnects), (1, 0), "{stats:?}");
}
