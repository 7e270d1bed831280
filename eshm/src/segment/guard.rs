//! Surviving a segment file that another process truncates: a process-wide SIGBUS guard.
//!
//! Any process of the same user may `ftruncate` a file in the segment directory; every process
//! that then touches a page past the new end of the file gets SIGBUS and, by default, dies. So:
//!
//! - every mapping of a segment is registered (start, length, protection, a broken flag) in a
//!   fixed table, read by the signal handler with atomics only;
//! - the handler, installed when the first segment is mapped (and put back on top when a
//!   mapping is made after something else replaced it), looks the fault address up. A hit sets
//!   the mapping's broken flag, maps private zero pages over the lost range (`MAP_FIXED`, one
//!   system call, no lock, no allocation) and returns: the faulting instruction runs again and
//!   reads zeros (or writes into a private page);
//! - anything else goes to the handler that was installed before, or gets the default action
//!   (the process dies, as it would have);
//! - the library checks the broken flag after its operations and reports the segment as
//!   corrupt ([`Error::Corrupt`](crate::Error::Corrupt)); a subscriber then moves to the
//!   topic's next segment.
//!
//! # Why this is sound
//!
//! The mapped range stays mapped throughout: only its backing changes, atomically, from the
//! file's pages to anonymous zero pages. Shared memory is only ever accessed through atomics or
//! word-wise torn-tolerant copies (`sync::torn`), and eshm already treats every value in it as
//! written by another, possibly hostile, process: zeros appearing are one more such write. The
//! faulting instruction is restarted from scratch (x86-64 and AArch64 memory faults are
//! precise, and `rep movsb` resumes where it stopped). The handler stores the flag before it
//! maps the zero pages, so a thread that reads a zero page has observed the `mmap` and sees the
//! flag set afterwards.
//!
//! The table entry of a mapping is written after the mapping is made and cleared before it is
//! unmapped (the `Segment` field order ensures it); each entry is a small seqlock, so the
//! handler sees one registration whole or skips the entry. A fault is delivered to the thread
//! that touched the memory, which is using the mapping, so the entry that matches its address
//! is that mapping's, alive.
//!
//! # What it cannot do
//!
//! The kernel reading a lost page for a system call (a futex on a word in it) gets `EFAULT`,
//! not a signal; eshm's waits are bounded and re-read the word, which faults. A handler
//! installed *after* eshm's last mapping (Python's `faulthandler.enable()`, say) sits above it
//! and kills the process on such a fault with its own report, as without the guard. With more
//! than [`SLOTS`] mappings at once, the extra ones are not guarded.

// This module is process-local signal-handling state, not shared memory: std's atomics
// (which `clippy.toml` reserves for `sync`) are the right tools here, and loom does not model
// signal handlers.
#![allow(clippy::disallowed_types)]

use rustix::mm::{MapFlags, ProtFlags};
use std::ffi::{c_int, c_void};
use std::ptr;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, AtomicUsize, fence};
use std::sync::{Arc, Mutex};

/// How many mappings can be guarded at once.
pub(crate) const SLOTS: usize = 4096;
/// How often the handler is put back after something else replaced it (each time leaks one
/// `sigaction`, 152 bytes, which a running handler may still be reading). Two libraries that
/// each embed eshm would otherwise take turns forever.
const MAX_INSTALLS: usize = 16;

/// One registered mapping. `seq` is a seqlock, odd while the entry is written.
struct Slot {
    seq: AtomicUsize,
    start: AtomicUsize,
    len: AtomicUsize,
    writable: AtomicBool,
    flag: AtomicPtr<AtomicBool>,
}

impl Slot {
    const fn new() -> Self {
        Slot {
            seq: AtomicUsize::new(0),
            start: AtomicUsize::new(0),
            len: AtomicUsize::new(0),
            writable: AtomicBool::new(false),
            flag: AtomicPtr::new(ptr::null_mut()),
        }
    }
}

static TABLE: [Slot; SLOTS] = [const { Slot::new() }; SLOTS];
/// One past the highest entry ever used: the handler looks at `TABLE[..HIGH]` only.
static HIGH: AtomicUsize = AtomicUsize::new(0);
static PAGE: AtomicUsize = AtomicUsize::new(4096);
/// The disposition that was in place when the handler was (last) installed; leaked boxes,
/// never freed.
static PREVIOUS: AtomicPtr<libc::sigaction> = AtomicPtr::new(ptr::null_mut());
/// Serialises installations (never taken by the handler).
static INSTALLS: Mutex<usize> = Mutex::new(0);
/// The thread inside the previous handler, to detect a chain that leads back here (Python's
/// faulthandler restores "its previous", this handler, and raises again).
static CHAIN_THREAD: AtomicI32 = AtomicI32::new(0);
/// Faults absorbed so far (for tests).
static ABSORBED: AtomicUsize = AtomicUsize::new(0);

/// A guarded mapping: its entry in the table, and its broken flag. Dropping it clears the
/// entry; drop it after the last access to the mapping and before unmapping it.
#[derive(Debug)]
pub(crate) struct Guard {
    slot: Option<usize>,
    broken: Arc<AtomicBool>,
}

impl Guard {
    /// Whether a truncation of the file was absorbed in this mapping: every value read from
    /// it since may be zeros.
    #[inline(always)]
    pub(crate) fn is_broken(&self) -> bool {
        self.broken.load(Acquire)
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let Some(i) = self.slot else { return };
        let s = &TABLE[i];
        let seq = s.seq.load(Relaxed);
        s.seq.store(seq.wrapping_add(1), Relaxed);
        fence(Release);
        s.len.store(0, Relaxed);
        s.start.store(0, Relaxed);
        s.flag.store(ptr::null_mut(), Relaxed);
        s.seq.store(seq.wrapping_add(2), Release);
        // `self.broken` is freed after this: the handler reaches a flag only through an entry
        // that matches the fault address, and nobody touches this mapping any more.
    }
}

/// Registers the mapping `[start, start + len)` (page-aligned) and makes sure the handler is
/// installed. With the table full (or the handler not installable), the mapping is simply not
/// guarded.
pub(crate) fn register(start: *const u8, len: usize, writable: bool) -> Guard {
    let broken = Arc::new(AtomicBool::new(false));
    let unguarded = |broken| Guard { slot: None, broken };
    if !ensure_installed() || len == 0 || !(start as usize).is_multiple_of(PAGE.load(Relaxed)) {
        return unguarded(broken);
    }
    for (i, s) in TABLE.iter().enumerate() {
        let seq = s.seq.load(Acquire);
        if seq & 1 == 1 || s.len.load(Relaxed) != 0 {
            continue;
        }
        // Every writer bumps `seq`: winning this exchange means the entry is still free.
        if s.seq.compare_exchange(seq, seq.wrapping_add(1), Relaxed, Relaxed).is_err() {
            continue;
        }
        fence(Release);
        s.start.store(start as usize, Relaxed);
        s.len.store(len, Relaxed);
        s.writable.store(writable, Relaxed);
        s.flag.store(Arc::as_ptr(&broken).cast_mut(), Relaxed);
        s.seq.store(seq.wrapping_add(2), Release);
        HIGH.fetch_max(i + 1, Release);
        return Guard { slot: Some(i), broken };
    }
    unguarded(broken)
}

/// How many faults from truncated segment files the SIGBUS guard absorbed in this process (a
/// diagnostic; each one also made an operation report the segment as corrupt).
pub fn absorbed() -> usize {
    ABSORBED.load(Relaxed)
}

fn current_disposition() -> libc::sigaction {
    // SAFETY: `sigaction` with a null new action only reads the current one into the
    // out-parameter, which is a valid, writable `libc::sigaction` (all-zero is a valid value).
    let mut current: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: as above: a query, with a valid out-parameter.
    unsafe { libc::sigaction(libc::SIGBUS, ptr::null(), &mut current) };
    current
}

/// Installs the handler unless it is the SIGBUS disposition already (one `rt_sigaction` query),
/// taking what is there as the previous handler. Whether it is installed.
fn ensure_installed() -> bool {
    let mut installs = INSTALLS.lock().unwrap_or_else(|p| p.into_inner());
    let ours = on_sigbus as *const () as usize;
    let current = current_disposition();
    if current.sa_sigaction == ours {
        return true;
    }
    if *installs >= MAX_INSTALLS {
        return false;
    }
    PAGE.store(rustix::param::page_size(), Relaxed);
    PREVIOUS.store(Box::into_raw(Box::new(current)), Release);
    // SAFETY: an all-zero `sigaction` is valid; the fields are set below.
    let mut new: libc::sigaction = unsafe { std::mem::zeroed() };
    new.sa_sigaction = ours;
    // SA_NODEFER: a previous handler that raises the signal again (faulthandler) re-enters this
    // one at once, where the cycle check sees it. SA_ONSTACK: the thread's alternate stack, if
    // it has one (CPython's and Rust's threads do).
    new.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER;
    // SAFETY: `sigemptyset` initialises the mask it is given, a field of a valid struct.
    unsafe { libc::sigemptyset(&mut new.sa_mask) };
    // SAFETY: the new disposition is a valid `sigaction` whose handler has the signature
    // SA_SIGINFO calls for; the previous one is not needed (it was read above, and a concurrent
    // change is taken care of below).
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::sigaction(libc::SIGBUS, &new, &mut old) } != 0 {
        return false;
    }
    if old.sa_sigaction != current.sa_sigaction && old.sa_sigaction != ours {
        // Another library installed a handler between the query and ours: chain to that one.
        PREVIOUS.store(Box::into_raw(Box::new(old)), Release);
    }
    *installs += 1;
    true
}

/// A registered mapping that contains an address.
struct Hit {
    start: usize,
    len: usize,
    writable: bool,
    flag: *const AtomicBool,
}

/// The registered mapping containing `addr`. Async-signal-safe: atomics only, a bounded loop.
fn lookup(addr: usize) -> Option<Hit> {
    for s in &TABLE[..HIGH.load(Acquire).min(SLOTS)] {
        let before = s.seq.load(Acquire);
        if before & 1 == 1 {
            continue;
        }
        let start = s.start.load(Relaxed);
        let len = s.len.load(Relaxed);
        let writable = s.writable.load(Relaxed);
        let flag = s.flag.load(Relaxed);
        fence(Acquire);
        if s.seq.load(Relaxed) != before {
            continue;
        }
        if len != 0 && addr.wrapping_sub(start) < len {
            return Some(Hit { start, len, writable, flag });
        }
    }
    None
}

/// The handler.
///
/// # Safety
///
/// Called by the kernel for SIGBUS with `SA_SIGINFO`: `info` points to the signal's
/// information and `context` to the interrupted context.
unsafe extern "C" fn on_sigbus(signal: c_int, info: *mut libc::siginfo_t, context: *mut c_void) {
    // SAFETY: glibc's thread-local errno location, valid for this thread's lifetime.
    let errno_at = unsafe { libc::__errno_location() };
    // SAFETY: `errno_at` is this thread's errno; restored before return.
    let errno = unsafe { *errno_at };
    // SAFETY: with SA_SIGINFO the kernel passes valid information (null is checked anyway).
    let code = if info.is_null() { 0 } else { unsafe { (*info).si_code } };
    if code > 0 {
        // A fault (BUS_ADRERR for a page past the end of the file): `si_addr` is the address.
        // SAFETY: `info` is non-null (checked above) and valid (the kernel's).
        let info_ref = unsafe { &*info };
        // SAFETY: `si_addr` is the union member the kernel fills for faults.
        let addr = unsafe { info_ref.si_addr() } as usize;
        if let Some(hit) = lookup(addr) {
            // The flag first, the zero pages second (see the module docs).
            // SAFETY: the hit is the mapping this thread is accessing, so its registration
            // and its flag are alive (module docs).
            unsafe { (*hit.flag).store(true, SeqCst) };
            let page = PAGE.load(Relaxed);
            let low = addr & !(page - 1);
            let end = hit.start.wrapping_add(hit.len).wrapping_add(page - 1) & !(page - 1);
            let protection =
                if hit.writable { ProtFlags::READ | ProtFlags::WRITE } else { ProtFlags::READ };
            // SAFETY: `[low, end)` lies in a mapping registered here and still mapped; a fixed
            // anonymous mapping replaces its lost pages with zero pages in one system call
            // (rustix issues it directly: no lock, no allocation, errno untouched).
            let remapped = unsafe {
                rustix::mm::mmap_anonymous(
                    low as *mut c_void,
                    end.wrapping_sub(low),
                    protection,
                    MapFlags::FIXED | MapFlags::PRIVATE,
                )
            };
            if remapped.is_ok() {
                ABSORBED.fetch_add(1, Relaxed);
                // SAFETY: as above.
                unsafe { *errno_at = errno };
                return;
            }
        }
    }
    // SAFETY: the signal's own arguments, passed on unchanged.
    unsafe { chain(signal, info, context, code) };
    // SAFETY: as above.
    unsafe { *errno_at = errno };
}

/// The default action of `signal`: for a fault, restore it and return, so that the access
/// faults again and the kernel ends the process with the real information (and a core dump);
/// for a signal that was sent, restore it and raise the signal again.
///
/// # Safety
///
/// Async-signal-safe; may end the process.
unsafe fn default_action(signal: c_int, code: c_int) {
    // SAFETY: an all-zero `sigaction` with SIG_DFL is valid.
    let mut dfl: libc::sigaction = unsafe { std::mem::zeroed() };
    dfl.sa_sigaction = libc::SIG_DFL;
    // SAFETY: a valid disposition; no previous one is asked for.
    unsafe { libc::sigaction(signal, &dfl, ptr::null_mut()) };
    if code <= 0 {
        // SAFETY: raising a signal is async-signal-safe.
        unsafe { libc::raise(signal) };
    }
}

/// Passes the signal to the disposition that was there before the guard.
///
/// # Safety
///
/// The arguments are the signal's own (see [`on_sigbus`]).
unsafe fn chain(signal: c_int, info: *mut libc::siginfo_t, context: *mut c_void, code: c_int) {
    let thread = rustix::thread::gettid().as_raw_nonzero().get();
    let previous = PREVIOUS.load(Acquire);
    if previous.is_null() || CHAIN_THREAD.load(Relaxed) == thread {
        // Nothing before us, or the previous handler handed the signal back (a cycle).
        // SAFETY: as documented.
        unsafe { default_action(signal, code) };
        return;
    }
    // SAFETY: `PREVIOUS` holds only leaked boxes, never freed.
    let previous = unsafe { &*previous };
    match previous.sa_sigaction {
        // SAFETY: as documented.
        libc::SIG_DFL => unsafe { default_action(signal, code) },
        // An ignored SIGBUS from a fault still ends the process (the kernel forces it).
        // SAFETY: as documented.
        libc::SIG_IGN if code > 0 => unsafe { default_action(signal, code) },
        libc::SIG_IGN => {}
        handler => {
            let mine = CHAIN_THREAD.compare_exchange(0, thread, Relaxed, Relaxed).is_ok();
            if previous.sa_flags & libc::SA_RESETHAND != 0 {
                // SAFETY: as documented (code 1: restore only, no raise).
                unsafe { default_action(signal, 1) };
            }
            if previous.sa_flags & libc::SA_SIGINFO != 0 {
                // SAFETY: a handler installed with SA_SIGINFO has this signature.
                let handler: extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void) =
                    unsafe { std::mem::transmute(handler as *const ()) };
                handler(signal, info, context);
            } else {
                // SAFETY: a handler installed without SA_SIGINFO has this signature.
                let handler: extern "C" fn(c_int) =
                    unsafe { std::mem::transmute(handler as *const ()) };
                handler(signal);
            }
            if mine {
                CHAIN_THREAD.store(0, Relaxed);
            }
        }
    }
}
