//! Park and wake on a 32-bit word in shared memory (Linux futex, through rustix).
//!
//! The futex is *shared* (no `FUTEX_PRIVATE_FLAG`): the word lives in a `MAP_SHARED` mapping
//! and the waker is usually another process. Under loom there is no kernel: a wait without a
//! timeout yields until the word changes (as a futex sleeps until woken by a waker that changed
//! the word first), so a lost wake-up makes the model spin forever, which loom reports; a wait
//! with a timeout returns at once (a timeout or spurious wake-up).

use super::AtomicU32;
use std::time::Duration;

/// Sleeps while `*word == expected`, for at most `timeout` (forever if `None`). Returns on a
/// wake-up, a timeout, a signal, or at once if the word already differs: callers re-check.
#[cfg(not(loom))]
pub(crate) fn wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) {
    use rustix::thread::futex;
    let ts = timeout.map(|d| rustix::time::Timespec {
        tv_sec: d.as_secs().min(i64::MAX as u64) as i64,
        tv_nsec: i64::from(d.subsec_nanos()),
    });
    // EAGAIN (value changed), ETIMEDOUT and EINTR all mean "go and look again".
    let _ = futex::wait(word.as_std(), futex::Flags::empty(), expected, ts.as_ref());
}

/// Wakes every thread, in any process, sleeping in [`wait`] on `word`; how many there were.
#[cfg(not(loom))]
pub(crate) fn wake_all(word: &AtomicU32) -> u32 {
    use rustix::thread::futex;
    // An error here (EFAULT: the page was lost to a truncation) leaves sleepers to their
    // timeout, which every caller bounds.
    futex::wake(word.as_std(), futex::Flags::empty(), i32::MAX as u32).map_or(0, |n| n as u32)
}

/// Most words [`wait_any`] takes (the kernel's limit for `futex_waitv`).
pub(crate) const MAX_WAIT_ANY: usize = 128;

/// Sleeps while every `word` holds its expected value, for at most `timeout`: returns on a
/// wake-up of any of them, a timeout, a signal, or at once if one already differs (callers
/// re-check). Needs Linux 5.16 (`futex_waitv`); on an older kernel it sleeps for the timeout
/// (or 1 ms, whichever is shorter), so callers that re-check still work, only later.
///
/// # Panics
///
/// With more than [`MAX_WAIT_ANY`] words.
#[cfg(not(loom))]
pub(crate) fn wait_any(words: &[(&AtomicU32, u32)], timeout: Duration) {
    use rustix::thread::futex;
    assert!(words.len() <= MAX_WAIT_ANY, "futex_waitv takes at most {MAX_WAIT_ANY} words");
    let waiters: Vec<futex::Wait> = words
        .iter()
        .map(|(word, expected)| {
            let mut w = futex::Wait::new();
            w.val = u64::from(*expected);
            w.uaddr = futex::WaitPtr::new(word.as_std().as_ptr().cast());
            w.flags = futex::WaitFlags::SIZE_U32;
            w
        })
        .collect();
    // futex_waitv takes an absolute CLOCK_MONOTONIC deadline.
    let now = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    let end = Duration::new(now.tv_sec as u64, now.tv_nsec as u32).saturating_add(timeout);
    let end = rustix::time::Timespec {
        tv_sec: end.as_secs().min(i64::MAX as u64) as i64,
        tv_nsec: i64::from(end.subsec_nanos()),
    };
    let clock = rustix::time::ClockId::Monotonic;
    if let Err(e) = futex::waitv(&waiters, futex::WaitvFlags::empty(), Some(&end), clock) {
        // EAGAIN (a word changed), ETIMEDOUT and EINTR mean "look again"; ENOSYS (an old
        // kernel) means nothing waited: wait a little, to not spin.
        if e == rustix::io::Errno::NOSYS {
            std::thread::sleep(timeout.min(Duration::from_millis(1)));
        }
    }
}

#[cfg(loom)]
pub(crate) fn wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) {
    use super::Ordering;
    while timeout.is_none() && word.load(Ordering::Acquire) == expected {
        loom::thread::yield_now();
    }
}

#[cfg(loom)]
pub(crate) fn wake_all(_word: &AtomicU32) -> u32 {
    0
}

/// Changes `word` and wakes everyone asleep on it: sleepers return, and a thread about to
/// sleep on the old value does not (its `wait` sees the word differ). Returns how many were
/// asleep.
pub(crate) fn bump_and_wake(word: &AtomicU32) -> u32 {
    word.fetch_add(1, super::Ordering::Release);
    wake_all(word)
}
