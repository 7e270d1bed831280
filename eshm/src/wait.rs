//! How blocking calls wait: the [`WaitStrategy`] users choose, the one spin loop behind it,
//! and the one piece of deadline arithmetic every blocking call uses; and, for callers that
//! wait for many things at once (an event loop), [`Wakeup`] registrations and [`wait_any`].
//!
//! A blocking call first looks (a few loads from shared memory), then spins for a while
//! (catching a reply that comes back within microseconds without a system call), then parks
//! on a futex until the writer wakes it or its time slice ends. The protocols (`ring`,
//! `queue`) own the parking, since the registration handshake is part of each protocol.

use crate::sync::{AtomicU32, Ordering, futex};
use std::time::{Duration, Instant};

/// How a blocking call waits for its message (or, for a channel writer, for room).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaitStrategy {
    /// Poll without ever sleeping: lowest latency, one busy core per waiting reader.
    Spin,
    /// Poll for this long, then sleep on the futex until woken (the default, with 20 µs:
    /// replies that come back quickly are caught while spinning, idle readers cost nothing).
    SpinThenPark(Duration),
    /// Sleep at once (waking a sleeping process costs tens of µs).
    Park,
}

impl Default for WaitStrategy {
    fn default() -> Self {
        WaitStrategy::SpinThenPark(Duration::from_micros(20))
    }
}

impl WaitStrategy {
    /// Until when a wait that started at `now` and may last until `until` (`None`: forever)
    /// spins before it parks: `None` to spin throughout ([`Spin`](Self::Spin) only).
    pub(crate) fn spin_end(self, now: Instant, until: Option<Instant>) -> Option<Instant> {
        match self {
            WaitStrategy::Spin => until,
            WaitStrategy::SpinThenPark(d) => Some(until.map_or(now + d, |u| (now + d).min(u))),
            WaitStrategy::Park => Some(now),
        }
    }

    /// Whether waiting never parks.
    pub(crate) fn is_spin(self) -> bool {
        self == WaitStrategy::Spin
    }
}

/// Calls `poll` until it returns `Some`, or until `until` passes (`None`: it returns `None`
/// every 4096 polls instead, so that the caller can look around). Checks the clock every 64
/// polls. Unless `busy`, each empty poll is followed by a spin hint (`PAUSE`), which saves
/// power and the other hyper-thread's time at a few ns of latency.
#[inline]
pub(crate) fn spin<T>(
    until: Option<Instant>,
    busy: bool,
    mut poll: impl FnMut() -> Option<T>,
) -> Option<T> {
    let mut polls = 0u32;
    loop {
        if let Some(done) = poll() {
            return Some(done);
        }
        polls = polls.wrapping_add(1);
        if polls.is_multiple_of(64) {
            match until {
                Some(u) if Instant::now() >= u => return None,
                None if polls.is_multiple_of(4096) => return None,
                _ => {}
            }
        }
        if !busy {
            crate::sync::spin_loop();
        }
    }
}

/// Where a blocking call stands, at one moment (see [`check`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stand {
    /// Its deadline has passed: it times out.
    Expired,
    /// The end of its slice has passed (the caller returns, to look for Ctrl-C, say).
    SliceEnd,
    /// It may wait until then (`None`: forever).
    Until(Option<Instant>),
}

/// Where a blocking call with `deadline` (`None`: never) and `slice_end` stands at `now`.
pub(crate) fn check(now: Instant, deadline: Option<Instant>, slice_end: Option<Instant>) -> Stand {
    if deadline.is_some_and(|d| now >= d) {
        return Stand::Expired;
    }
    match slice_end {
        Some(end) if now >= end => Stand::SliceEnd,
        Some(end) => Stand::Until(Some(deadline.map_or(end, |d| d.min(end)))),
        None => Stand::Until(deadline),
    }
}

impl Stand {
    /// How long it may sleep from `now` (`None`: forever), for a call that just stood here.
    pub(crate) fn sleep_from(self, now: Instant) -> Option<Duration> {
        match self {
            Stand::Until(Some(u)) => Some(u.saturating_duration_since(now)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_check_orders_deadline_slice_and_forever() {
        let now = Instant::now();
        let later = now + Duration::from_secs(1);
        let much_later = now + Duration::from_secs(2);
        assert_eq!(check(now, Some(now), None), Stand::Expired);
        assert_eq!(check(now, Some(now), Some(later)), Stand::Expired, "the deadline wins");
        assert_eq!(check(now, Some(later), Some(now)), Stand::SliceEnd);
        assert_eq!(check(now, Some(much_later), Some(later)), Stand::Until(Some(later)));
        assert_eq!(check(now, Some(later), Some(much_later)), Stand::Until(Some(later)));
        assert_eq!(check(now, None, None), Stand::Until(None));
        assert_eq!(check(now, None, Some(later)), Stand::Until(Some(later)));
        assert_eq!(Stand::Until(Some(later)).sleep_from(now), Some(Duration::from_secs(1)));
        assert_eq!(Stand::Until(None).sleep_from(now), None);
    }

    #[test]
    fn wait_spin_stops_at_its_end_or_when_polled_ready() {
        let mut n = 0;
        assert_eq!(
            spin(None, true, || (n == 10).then_some(n).or_else(|| {
                n += 1;
                None
            })),
            Some(10)
        );
        let past = Instant::now();
        assert_eq!(spin::<()>(Some(past), false, || None), None);
        // Unbounded: gives the caller a look every 4096 polls.
        let mut polls = 0;
        assert_eq!(
            spin::<()>(None, true, || {
                polls += 1;
                None
            }),
            None
        );
        assert_eq!(polls, 4096);
    }

    #[test]
    fn wait_strategy_spin_end() {
        let now = Instant::now();
        let until = now + Duration::from_secs(1);
        assert_eq!(WaitStrategy::Spin.spin_end(now, Some(until)), Some(until));
        assert_eq!(WaitStrategy::Park.spin_end(now, Some(until)), Some(now));
        let d = Duration::from_micros(20);
        assert_eq!(WaitStrategy::SpinThenPark(d).spin_end(now, Some(until)), Some(now + d));
        assert_eq!(WaitStrategy::SpinThenPark(d).spin_end(now, Some(now)), Some(now));
        assert_eq!(WaitStrategy::SpinThenPark(d).spin_end(now, None), Some(now + d));
    }
}

// ---------------------------------------------------------------------------------------------
// Waiting for many things at once.

/// Something registered with a writer so that the writer wakes a futex word when it commits
/// (a subscriber of a topic, one end of a channel); the registration is withdrawn on drop.
pub(crate) trait Registered: Send + Sync {
    /// The futex word the writer wakes.
    fn word(&self) -> &AtomicU32;
}

/// A pending receive's request to be woken when its message may have arrived (or a write's,
/// when room may have appeared), for callers that wait for many things at once, such as an
/// event loop: it is registered with the writer, which wakes its futex word on its next
/// commit. Wait for it (and others) with [`wait_any`] for at most
/// [`MAX_WAKEUP_WAIT`]; then drop it and try the operation again (its message may be there,
/// or the topic or channel may have moved on meanwhile). Dropping it withdraws the
/// registration: a cancelled wait leaves nothing behind.
pub struct Wakeup {
    /// `None` while there is nothing to register with (a topic that does not exist yet): the
    /// wait is a poll, after [`POLL_INTERVAL`].
    registered: Option<Box<dyn Registered>>,
    expected: u32,
}

impl std::fmt::Debug for Wakeup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wakeup").field("polling", &self.registered.is_none()).finish()
    }
}

/// The longest a [`Wakeup`] should be waited for before the operation is tried again: writers
/// that close, are replaced or die wake nobody.
pub const MAX_WAKEUP_WAIT: Duration = Duration::from_millis(200);
/// How long a polling [`Wakeup`] (nothing to register with yet) waits before a new look.
pub const POLL_INTERVAL: Duration = Duration::from_millis(10);

impl Wakeup {
    pub(crate) fn registered(registered: Box<dyn Registered>, expected: u32) -> Wakeup {
        Wakeup { registered: Some(registered), expected }
    }

    /// A wake-up with nothing to register with: try again after [`POLL_INTERVAL`].
    pub(crate) fn poll() -> Wakeup {
        Wakeup { registered: None, expected: 0 }
    }

    /// Whether this is only a poll (see [`POLL_INTERVAL`]).
    pub fn is_poll(&self) -> bool {
        self.registered.is_none()
    }

    /// Whether the writer has (probably) committed since the registration: its word changed.
    /// A poll is never signalled; it times out.
    pub fn is_signalled(&self) -> bool {
        self.registered.as_ref().is_some_and(|r| r.word().load(Ordering::Acquire) != self.expected)
    }
}

/// Wakes a [`wait_any`] early: another thread rings it to make the waiter look at a new set of
/// wake-ups (an event loop's waiter thread, when a task starts waiting).
#[derive(Debug, Default)]
pub struct Doorbell(AtomicU32);

impl Doorbell {
    /// A doorbell.
    pub fn new() -> Doorbell {
        Doorbell(AtomicU32::new(0))
    }

    /// The value to pass to [`wait_any`]: take it before looking at what to wait for, so that
    /// a ring in between is not missed.
    pub fn ticket(&self) -> u32 {
        self.0.load(Ordering::Acquire)
    }

    /// Wakes the thread in [`wait_any`] on this doorbell (or makes its next wait return at once,
    /// if its ticket is older).
    pub fn ring(&self) {
        futex::bump_and_wake(&self.0);
    }
}

/// Sleeps until one of `wakeups` is signalled (or was already), `doorbell` rings after
/// `ticket` was taken, or `timeout` passes (a poll among `wakeups` shortens it to
/// [`POLL_INTERVAL`]). Returns without saying which: callers look with
/// [`Wakeup::is_signalled`]. At most 127 registered wake-ups at once.
///
/// # Panics
///
/// With more than 127 registered wake-ups.
pub fn wait_any(wakeups: &[&Wakeup], doorbell: &Doorbell, ticket: u32, timeout: Duration) {
    let registered = wakeups.iter().filter(|w| !w.is_poll()).count();
    assert!(
        registered < futex::MAX_WAIT_ANY,
        "at most {} wake-ups at once",
        futex::MAX_WAIT_ANY - 1
    );
    let mut words = vec![(&doorbell.0, ticket)];
    let mut timeout = timeout;
    for w in wakeups {
        match &w.registered {
            Some(r) => words.push((r.word(), w.expected)),
            None => timeout = timeout.min(POLL_INTERVAL),
        }
    }
    futex::wait_any(&words, timeout);
}
