//! How blocking calls wait: the [`WaitStrategy`] users choose, the one spin loop behind it,
//! and the one piece of deadline arithmetic every blocking call uses.
//!
//! A blocking call first looks (a few loads from shared memory), then spins for a while
//! (catching a reply that comes back within microseconds without a system call), then parks
//! on a futex until the writer wakes it or its time slice ends. The protocols (`ring`,
//! `queue`) own the parking, since the registration handshake is part of each protocol.

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
            WaitStrategy::SpinThenPark(d) => {
                Some(until.map_or(now + d, |u| (now + d).min(u)))
            }
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
        assert_eq!(spin(None, true, || (n == 10).then_some(n).or_else(|| { n += 1; None })), Some(10));
        let past = Instant::now();
        assert_eq!(spin::<()>(Some(past), false, || None), None);
        // Unbounded: gives the caller a look every 4096 polls.
        let mut polls = 0;
        assert_eq!(spin::<()>(None, true, || { polls += 1; None }), None);
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
