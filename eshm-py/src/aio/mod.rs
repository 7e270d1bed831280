//! asyncio waits: `Subscriber.recv_async`/`stream`, `ESHM.read_async`/`write_async`,
//! `ServiceClient.call_async`, `ActionClient.wait_for_result_async`/`next_feedback_async`
//! (the coroutines are in `eshm/_aio.py`; the attempts they make are in [`ops`]).
//!
//! An awaited operation is tried at once (and, for a few µs, with the GIL released, as a
//! blocking call spins); if there is nothing to take, it registers a future here and awaits
//! it. One *waiter thread* per process (more only past 127 objects waited for at once, one
//! per 127) watches every registration with `futex_waitv` ([`eshm::wait::wait_any`]) plus a
//! [`Doorbell`] that new registrations ring, and when a writer's commit wakes one, resolves
//! its futures on their loops with `loop.call_soon_threadsafe`. The coroutine then tries
//! again, and registers again if someone else took the message: the waiter thread never
//! consumes anything, so a task cancelled while it waits leaves every message where it was,
//! and its registration is withdrawn.
//!
//! **One registration per object and operation.** A subscriber registers with its topic's
//! writer through a single bit of its reader entry: a second registration of the same
//! subscriber, dropped first, would withdraw the first one's. So every future waiting on the
//! same object and operation shares one registration (one [`Entry`]), and registrations are
//! made and dropped only under the registry's lock (the waiter thread drops the copies it
//! watched under it too), so that no two of one key ever overlap.
//!
//! **Bounded waits.** A registration is looked at again after [`MAX_WAKEUP_WAIT`] (writers
//! that close, are replaced or die wake nobody; an object closed meanwhile raises then), and
//! a poll (nothing to register with yet: a topic or a server that does not exist, a slave
//! whose master is missing) after [`POLL_INTERVAL`].

// `clippy.toml` keeps atomics in eshm's sync shim, for memory shared between processes; these
// are process-local counters, which loom need not see.
#![allow(clippy::disallowed_types)]

pub(crate) mod ops;

use eshm::wait::{Doorbell, MAX_WAKEUP_WAIT, POLL_INTERVAL, Wakeup, wait_any};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList};
use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

/// Most registrations one waiter thread watches (`futex_waitv` takes 128 words, one of them
/// the doorbell).
const PER_THREAD: usize = 127;
/// How long an idle waiter thread sleeps between looks (a doorbell wakes it earlier).
const IDLE: Duration = Duration::from_secs(3600);

/// Set at interpreter exit (`atexit`): waiter threads no longer take the GIL.
static SHUTDOWN: AtomicBool = AtomicBool::new(false);
/// Waiter threads in [`resolve`] (taking the GIL, or holding it): exit waits for none to be,
/// since a thread that takes the GIL (or gets it back) once the interpreter is finalizing
/// aborts the process.
static RESOLVING: AtomicUsize = AtomicUsize::new(0);

/// What is waited for: the address of the object's shared state, and the operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    addr: usize,
    op: Op,
    /// A poll (nothing to register with): due after [`POLL_INTERVAL`].
    poll: bool,
}

/// The operations awaited.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Op {
    Recv,
    Read,
    Write,
    Call,
    Goal,
}

/// The object a key was made from, held weakly: its allocation, and so its address, is not
/// reused while the entry lives.
pub(crate) type Owner = Weak<dyn Any + Send + Sync>;

impl Key {
    pub(crate) fn of<T: Any + Send + Sync>(owner: &Arc<T>, op: Op) -> (Key, Owner) {
        let addr = Arc::as_ptr(owner) as usize;
        let weak: Weak<T> = Arc::downgrade(owner);
        (Key { addr, op, poll: false }, weak)
    }
}

/// A future waiting, and its loop.
struct Waiter {
    future: Py<PyAny>,
    event_loop: Py<PyAny>,
}

/// One registration and the futures waiting on it.
struct Entry {
    /// `None` for a poll.
    wakeup: Option<Arc<Wakeup>>,
    /// The waiter thread that watches it.
    thread: usize,
    since: Instant,
    waiters: Vec<Waiter>,
    _owner: Owner,
}

impl Entry {
    fn due(&self) -> Instant {
        let limit = match &self.wakeup {
            Some(w) if !w.is_poll() => MAX_WAKEUP_WAIT,
            _ => POLL_INTERVAL,
        };
        self.since + limit
    }
}

/// A waiter thread: its doorbell and how many registrations it watches.
struct Thread {
    doorbell: Arc<Doorbell>,
    watched: usize,
}

/// Every registration of the process.
#[derive(Default)]
struct Registry {
    entries: HashMap<Key, Entry>,
    /// Which entry each waiting future is in (by the future's address).
    futures: HashMap<usize, Key>,
    threads: Vec<Thread>,
    /// Entries resolved because their writer woke them, and because their time was up.
    signalled: u64,
    expired: u64,
}

/// The registry of this process (a forked child starts a new one: the parent's threads are
/// not there).
struct Global {
    registry: Mutex<Registry>,
}

impl Global {
    fn lock(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The registry, with the pid it belongs to. Locked only with the GIL held (never by the
/// waiter threads, which keep their own `Arc`), so that `fork()`, which Python makes with the
/// GIL, never finds it locked.
static GLOBAL: Mutex<Option<(u32, Arc<Global>)>> = Mutex::new(None);

fn global(_py: Python<'_>) -> Arc<Global> {
    let mut g = GLOBAL.lock().unwrap_or_else(|p| p.into_inner());
    let pid = std::process::id();
    match &*g {
        Some((owner, global)) if *owner == pid => global.clone(),
        _ => {
            let global = Arc::new(Global { registry: Mutex::new(Registry::default()) });
            *g = Some((pid, global.clone()));
            global
        }
    }
}

/// What [`register`] did.
pub(crate) enum Registered {
    /// The future waits.
    Waiting,
    /// Nothing was registered: try the operation again now.
    TryNow,
}

/// Makes `future` wait on `key`: on its existing registration, or on a new one from `make`
/// (`None`: nothing to wait for, try now). Call it under the lock that serialises the
/// object's operations, if it has one: `make` runs under the registry's lock.
pub(crate) fn register<E>(
    py: Python<'_>,
    key: Key,
    owner: Owner,
    future: &Bound<'_, PyAny>,
    make: impl FnOnce() -> Result<Option<Wakeup>, E>,
) -> Result<PyResult<Registered>, E> {
    let event_loop = match future.call_method0("get_loop") {
        Ok(l) => l.unbind(),
        Err(e) => return Ok(Err(e)),
    };
    let waiter = Waiter { future: future.clone().unbind(), event_loop };
    let global = global(py);
    let mut reg = global.lock();
    let new = !reg.entries.contains_key(&key);
    if new {
        let wakeup = if key.poll {
            None
        } else {
            match make()? {
                Some(w) => Some(Arc::new(w)),
                None => return Ok(Ok(Registered::TryNow)),
            }
        };
        let counts = wakeup.as_ref().is_some_and(|w| !w.is_poll());
        let thread = pick_thread(&mut reg, &global, counts);
        let entry =
            Entry { wakeup, thread, since: Instant::now(), waiters: Vec::new(), _owner: owner };
        reg.entries.insert(key, entry);
    }
    let addr = future.as_ptr() as usize;
    reg.futures.insert(addr, key);
    let entry = reg.entries.get_mut(&key).expect("inserted above");
    entry.waiters.push(waiter);
    if new {
        // The waiter thread watches the registrations it saw when it last looked.
        let thread = entry.thread;
        reg.threads[thread].doorbell.ring();
    }
    Ok(Ok(Registered::Waiting))
}

/// Makes `future` wait [`POLL_INTERVAL`] before its operation is tried again.
pub(crate) fn poll(
    py: Python<'_>,
    mut key: Key,
    owner: Owner,
    future: &Bound<'_, PyAny>,
) -> PyResult<()> {
    key.poll = true;
    let never = || Ok::<_, std::convert::Infallible>(None);
    match register(py, key, owner, future, never) {
        Ok(r) => r.map(|_| ()),
        Err(never) => match never {},
    }
}

/// The waiter thread for a new entry (one that watches fewer than [`PER_THREAD`] if `counts`),
/// started if need be.
fn pick_thread(reg: &mut Registry, global: &Arc<Global>, counts: bool) -> usize {
    let found = if counts {
        reg.threads.iter().position(|t| t.watched < PER_THREAD)
    } else {
        (!reg.threads.is_empty()).then_some(0)
    };
    let i = found.unwrap_or_else(|| {
        let doorbell = Arc::new(Doorbell::new());
        let i = reg.threads.len();
        let (g, d) = (global.clone(), doorbell.clone());
        std::thread::Builder::new()
            .name(format!("eshm-aio-{i}"))
            .spawn(move || run(i, &g, &d))
            .expect("eshm: cannot start the asyncio waiter thread");
        reg.threads.push(Thread { doorbell, watched: 0 });
        i
    });
    if counts {
        reg.threads[i].watched += 1;
    }
    i
}

/// A waiter thread: resolves the futures of the entries it watches when they are signalled
/// or due, withdraws entries nobody waits on any more, and sleeps on the others.
fn run(me: usize, global: &Global, doorbell: &Doorbell) {
    let mut watched: Vec<Arc<Wakeup>> = Vec::new();
    loop {
        let ticket = doorbell.ticket();
        let mut fired = Vec::new();
        let timeout = {
            let mut reg = global.lock();
            // Copies of registrations are dropped under the lock (see the module docs).
            watched.clear();
            let now = Instant::now();
            let mut next: Option<Instant> = None;
            let Registry { entries, futures, threads, signalled, expired } = &mut *reg;
            entries.retain(|_, e| {
                if e.thread != me {
                    return true;
                }
                let signalled_now = e.wakeup.as_ref().is_some_and(|w| w.is_signalled());
                let due = e.due();
                let keep = !e.waiters.is_empty() && !signalled_now && now < due;
                if keep {
                    next = Some(next.map_or(due, |n| n.min(due)));
                    watched.extend(e.wakeup.clone());
                    return true;
                }
                if !e.waiters.is_empty() {
                    if signalled_now { *signalled += 1 } else { *expired += 1 }
                }
                for w in e.waiters.drain(..) {
                    futures.remove(&(w.future.as_ptr() as usize));
                    fired.push(w);
                }
                if e.wakeup.as_ref().is_some_and(|w| !w.is_poll()) {
                    threads[me].watched -= 1;
                }
                false
            });
            next.map_or(IDLE, |n| n.saturating_duration_since(now))
        };
        if !fired.is_empty() {
            resolve(fired);
            continue;
        }
        let refs: Vec<&Wakeup> = watched.iter().map(|w| &**w).collect();
        wait_any(&refs, doorbell, ticket, timeout);
    }
}

/// `eshm._aio._wake`, which resolves the futures it is given that are still pending.
static WAKE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Resolves the futures of `fired` on their loops: one `call_soon_threadsafe` per loop.
fn resolve(fired: Vec<Waiter>) {
    // Counted first, then the flag looked at (both SeqCst, as `_aio_shutdown` does the
    // reverse): either this thread sees the flag, or the exit sees it counted and waits.
    RESOLVING.fetch_add(1, Ordering::SeqCst);
    if SHUTDOWN.load(Ordering::SeqCst) {
        RESOLVING.fetch_sub(1, Ordering::SeqCst);
        // The interpreter is exiting: nobody awaits these any more, and the GIL may not be
        // taken. Their references are leaked rather than dropped without it.
        std::mem::forget(fired);
        return;
    }
    resolve_now(fired);
    RESOLVING.fetch_sub(1, Ordering::SeqCst);
}

fn resolve_now(fired: Vec<Waiter>) {
    Python::attach(|py| {
        let Ok(wake) = WAKE
            .get_or_try_init(py, || py.import("eshm._aio")?.getattr("_wake").map(Bound::unbind))
        else {
            return;
        };
        let mut groups: Vec<(Py<PyAny>, Vec<Py<PyAny>>)> = Vec::new();
        for w in fired {
            match groups.iter_mut().find(|(l, _)| l.is(&w.event_loop)) {
                Some((_, futures)) => futures.push(w.future),
                None => groups.push((w.event_loop, vec![w.future])),
            }
        }
        for (event_loop, futures) in groups {
            let Ok(list) = PyList::new(py, futures) else { continue };
            // A closed loop raises: nobody awaits its futures.
            let _ = event_loop.call_method1(py, "call_soon_threadsafe", (wake, list));
        }
    });
}

/// Withdraws `future` from its registration (its task was cancelled, or timed out); the
/// registration goes when no future waits on it.
#[pyfunction]
pub(crate) fn _aio_cancel(py: Python<'_>, future: &Bound<'_, PyAny>) {
    let global = global(py);
    let mut reg = global.lock();
    let Some(key) = reg.futures.remove(&(future.as_ptr() as usize)) else { return };
    let Some(entry) = reg.entries.get_mut(&key) else { return };
    entry.waiters.retain(|w| !w.future.is(future));
    if entry.waiters.is_empty() {
        let thread = entry.thread;
        reg.threads[thread].doorbell.ring();
    }
}

/// How many waiter threads run, registrations and futures are waiting, and entries were
/// resolved by a writer (`signalled`) or by their time limit (`expired`), as a dict: for tests.
#[pyfunction]
pub(crate) fn _aio_stats(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let global = global(py);
    let reg = global.lock();
    let d = PyDict::new(py);
    d.set_item("threads", reg.threads.len())?;
    d.set_item("registrations", reg.entries.len())?;
    d.set_item("waiting", reg.futures.len())?;
    d.set_item("signalled", reg.signalled)?;
    d.set_item("expired", reg.expired)?;
    Ok(d)
}

/// Called at interpreter exit (`atexit`, before it finalizes): waiter threads no longer take
/// the GIL, and none holds it or waits for it when this returns.
#[pyfunction]
pub(crate) fn _aio_shutdown(py: Python<'_>) {
    SHUTDOWN.store(true, Ordering::SeqCst);
    py.detach(|| {
        while RESOLVING.load(Ordering::SeqCst) != 0 {
            std::thread::sleep(Duration::from_micros(100));
        }
    });
}

/// Registers the module's functions.
pub(crate) fn register_functions(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_aio_cancel, m)?)?;
    m.add_function(wrap_pyfunction!(_aio_stats, m)?)?;
    m.add_function(wrap_pyfunction!(_aio_shutdown, m)?)?;
    ops::register_functions(m)
}

/// Calls `eshm._aio.<name>(*args)`: the coroutine (or async iterator) of an awaited method.
pub(crate) fn coroutine<'py>(
    py: Python<'py>,
    name: &str,
    args: impl pyo3::call::PyCallArgs<'py>,
) -> PyResult<Py<PyAny>> {
    Ok(py.import("eshm._aio")?.getattr(name)?.call1(args)?.unbind())
}
