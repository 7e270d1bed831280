"""Objects shared between threads, closed from another thread, and inherited through fork().

- One ESHM endpoint: a thread blocked in read() does not stop another thread's writes.
- One Subscriber shared by several threads: each message goes to exactly one of them.
- close() from another thread ends a blocked call with eshm.ClosedError; properties and repr
  keep working while a call is blocked, and after close.
- fork(): objects inherited by the child are closed there (ClosedError, saying to create a new
  one after fork); however the child ends, the parent's topics and channels are untouched.
"""

import os
import sys
import threading
import time

import pytest

import eshm
from eshm import ESHM, ESHMRole

JOIN = 30  # seconds a thread may take to finish once it should (loaded 2-core machines)


class Background:
    """Runs `call()` on a thread; records when it started and ended, and what it returned or
    raised."""

    def __init__(self, call):
        self.started = threading.Event()
        self.start_time = self.end_time = None
        self.value = self.error = None
        self._call = call
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.started.wait(JOIN)

    def _run(self):
        self.start_time = time.monotonic()
        self.started.set()
        try:
            self.value = self._call()
        except BaseException as e:  # noqa: BLE001 (reported to the test)
            self.error = e
        self.end_time = time.monotonic()

    def join(self):
        self.thread.join(JOIN)
        assert not self.thread.is_alive(), "the thread is still blocked"
        return self


# --------------------------------------------------------------------------------------------
# (a) one ESHM endpoint, a reader thread and a writer thread
# --------------------------------------------------------------------------------------------


def test_a_writer_thread_keeps_writing_while_a_reader_thread_is_blocked(isolated, name):
    master = ESHM(name, role=ESHMRole.MASTER)
    slave = ESHM(name, role=ESHMRole.SLAVE)
    stop = threading.Event()
    written = []

    def write_until_stopped():
        i = 0
        while not stop.is_set():
            master.write(b"w%d" % i)
            written.append(i)
            i += 1

    reader = Background(lambda: master.read(timeout_ms=60_000))  # nothing comes for a while
    writer = Background(write_until_stopped)
    # The slave receives the writer's messages, in order, while the reader stays blocked.
    for i in range(500):
        assert slave.read(timeout_ms=10_000) == b"w%d" % i
    assert reader.thread.is_alive() and reader.error is None and reader.value is None
    slave.write(b"the answer")
    assert reader.join().value == b"the answer"  # one call, blocked since before the first write
    stop.set()
    writer.join()
    assert writer.error is None
    rest = [slave.read(timeout_ms=10_000) for _ in range(len(written) - 500)]
    assert rest == [b"w%d" % i for i in range(500, len(written))]
    assert slave.try_read() is None
    stats = master.get_stats()
    assert (stats["m2s_write_count"], stats["s2m_read_count"]) == (len(written), 1)


def test_a_reader_thread_reads_while_a_writer_thread_waits_for_room(isolated, name):
    """The other way round: the writer blocks on a full queue (up to its 1 s timeout at a time)
    while the reader thread on the same endpoint reads what the slave sends."""
    master = ESHM(name, role=ESHMRole.MASTER, capacity=4096, max_message=100)
    slave = ESHM(name, role=ESHMRole.SLAVE)
    payloads = [b"%04d" % i * 25 for i in range(200)]  # ~16 fit in the queue at once

    def write_all():
        for p in payloads:
            while True:
                try:
                    master.write(p)
                    break
                except eshm.TimeoutError:  # full for a whole second: try again
                    continue

    writer = Background(write_all)
    got_replies = []
    reader = Background(lambda: [got_replies.append(master.read(timeout_ms=10_000)) for _ in range(20)])
    received = []
    for i, expected in enumerate(payloads):
        received.append(slave.read(buffer_size=100, timeout_ms=10_000))
        if i % 10 == 0:
            slave.write(b"reply %d" % (i // 10))
    writer.join()
    reader.join()
    assert writer.error is None and reader.error is None, (writer.error, reader.error)
    assert received == payloads
    assert got_replies == [b"reply %d" % i for i in range(20)]


# --------------------------------------------------------------------------------------------
# (b) one Subscriber shared by several threads
# --------------------------------------------------------------------------------------------


def test_threads_sharing_a_subscriber_get_disjoint_messages_covering_everything(isolated, name):
    count, threads = 3000, 4
    pub = eshm.Publisher(name, 0, buffer_num=4096)  # room for everything: nothing can be lost
    sub = eshm.Subscriber(name, 0)
    got = [[] for _ in range(threads)]

    def consume(mine):
        while True:
            value = sub.recv(timeout=JOIN)
            if value < 0:  # one end marker per thread (a thread stops at the first it gets)
                return
            mine.append(value)

    consumers = [Background(lambda mine=mine: consume(mine)) for mine in got]
    for i in range(count):
        pub.publish(i)
    for _ in range(threads):
        pub.publish(-1)
    for c in consumers:
        c.join()
        assert c.error is None, c.error
    everything = [v for mine in got for v in mine]
    assert sorted(everything) == list(range(count)), "each message exactly once"
    for mine in got:
        assert mine == sorted(mine), "each thread gets its messages in order"
    # Every thread ended, so each received one end marker of its own.
    assert sub.lost == 0
    assert sub.try_recv() is None


def test_threads_sharing_a_subscriber_while_the_publisher_runs(isolated, name):
    """Publishing and receiving at the same time, with a ring smaller than the stream: whatever
    the threads receive is disjoint, and with `lost` accounts for every message."""
    count, threads = 20_000, 4
    pub = eshm.Publisher(name, 0, buffer_num=256)
    sub = eshm.Subscriber(name, 0)
    got = [[] for _ in range(threads)]
    done = threading.Event()

    def consume(mine):
        while True:
            value = sub.try_recv()
            if value is None:
                if not done.is_set():
                    sub.wait_for(1000)
                    continue
                value = sub.try_recv()  # everything is published: drained once this is None
                if value is None:
                    return
            mine.append(value)

    consumers = [Background(lambda mine=mine: consume(mine)) for mine in got]
    for i in range(count):
        pub.publish(i)
    done.set()
    for c in consumers:
        c.join()
        assert c.error is None, c.error
    everything = [v for mine in got for v in mine]
    assert len(everything) == len(set(everything)), "no message twice"
    assert set(everything) <= set(range(count))
    assert len(everything) + sub.lost == count
    for mine in got:
        assert mine == sorted(mine)


# --------------------------------------------------------------------------------------------
# (c) close() from another thread
# --------------------------------------------------------------------------------------------


def closes_a_blocked_call(obj, call, while_blocked):
    """Starts `call` on a thread, calls `while_blocked()` repeatedly for 0.3 s while it is
    blocked, closes `obj` from this thread, and checks that the call that was running ended
    with ClosedError."""
    blocked = Background(call)
    until = time.monotonic() + 0.3
    while time.monotonic() < until:
        while_blocked()
        time.sleep(0.01)
    assert blocked.thread.is_alive(), f"the call did not block: {blocked.value!r} {blocked.error!r}"
    closing = time.monotonic()
    obj.close()
    blocked.join()
    assert isinstance(blocked.error, eshm.ClosedError), repr(blocked.error)
    assert isinstance(blocked.error, RuntimeError)
    assert blocked.start_time < closing, "the ClosedError came from the call that was blocked"
    assert obj.closed
    return blocked


@pytest.mark.parametrize("call", ["recv", "wait_for"])
def test_close_ends_a_blocked_subscriber_call(isolated, name, call):
    sub = eshm.Subscriber(name, 0)
    blocking = {"recv": lambda: sub.recv(timeout=120), "wait_for": lambda: sub.wait_for(120_000_000)}[call]

    def properties():
        assert sub.name == name and sub.lost == 0 and sub.type_name == "i64"
        assert repr(sub) == f'eshm.Subscriber("{name}", i64)'
        assert sub.closed is False
        assert sub.is_connected is False  # no publisher yet

    closes_a_blocked_call(sub, blocking, properties)
    assert sub.name == name and "closed" in repr(sub)
    with pytest.raises(eshm.ClosedError):
        sub.recv(timeout=1)


def test_close_ends_iteration_over_a_subscriber(isolated, name):
    """A `for` loop over a Subscriber blocked for its next value ends when another thread
    closes the Subscriber (by StopIteration or by ClosedError)."""
    sub = eshm.Subscriber(name, 0)
    pub = eshm.Publisher(name, 0, buffer_num=8)
    seen = []

    def loop():
        try:
            for value in sub:
                seen.append(value)
        except eshm.ClosedError:
            return "ClosedError"
        return "StopIteration"

    pub.publish(7)
    it = Background(loop)
    deadline = time.monotonic() + JOIN
    while not seen:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert it.thread.is_alive()
    sub.close()
    assert it.join().value in ("StopIteration", "ClosedError"), it.error
    assert seen == [7]


def test_close_ends_a_blocked_channel_read(isolated, name):
    master = ESHM(name, role=ESHMRole.MASTER)

    def properties():
        assert master.name == name
        assert repr(master) == f"ESHM(name='{name}', role=MASTER)"
        assert master.closed is False
        assert master.get_role() is ESHMRole.MASTER
        assert master.is_remote_alive() is False

    closes_a_blocked_call(master, lambda: master.read(timeout_ms=120_000), properties)
    assert master.name == name and repr(master) == f"ESHM(name='{name}', closed)"
    with pytest.raises(eshm.ClosedError):
        master.write(b"x")


def test_close_ends_a_blocked_channel_read_with_a_slave_there(isolated, name):
    master = ESHM(name, role=ESHMRole.MASTER)
    slave = ESHM(name, role=ESHMRole.SLAVE)

    def properties():
        assert repr(slave) == f"ESHM(name='{name}', role=SLAVE)" and slave.name == name
        assert slave.is_remote_alive() and slave.get_stats()["slave_alive"] is True
        assert slave.try_read() is None  # other calls on the endpoint go on meanwhile

    closes_a_blocked_call(slave, lambda: slave.read(timeout_ms=120_000, buffer_size=1 << 20), properties)
    master.close()


def test_properties_and_repr_never_fail_after_close(isolated, name):
    pub = eshm.Publisher(name, 0.0, buffer_num=4)
    sub = eshm.Subscriber(name, 0.0)
    chan = ESHM(name + "/chan", role=ESHMRole.MASTER)
    pub.publish(1.0)
    for obj in (pub, sub, chan):
        obj.close()
        obj.close()  # idempotent
    failed = {}
    for obj, names in (
        (pub, ["name", "type_name", "fingerprint", "capacity", "published", "closed"]),
        (sub, ["name", "type_name", "lost", "is_connected", "closed"]),
        (chan, ["name", "closed"]),
    ):
        assert "closed" in repr(obj)
        for attr in names:
            try:
                getattr(obj, attr)
            except Exception as e:  # noqa: BLE001
                failed[f"{type(obj).__name__}.{attr}"] = e
    assert not failed, f"properties that failed after close: {failed}"
    assert (pub.name, sub.name, chan.name) == (name, name, name + "/chan")
    assert pub.closed and sub.closed and chan.closed


# --------------------------------------------------------------------------------------------
# (d) fork()
# --------------------------------------------------------------------------------------------


def test_a_forked_child_gets_closed_error_and_the_parent_carries_on(isolated, name):
    """In this process: the child tries the inherited Publisher and leaves with os._exit."""
    pub = eshm.Publisher(name, 0, buffer_num=64)
    sub = eshm.Subscriber(name, 0)
    pub.publish(1)
    assert sub.recv(timeout=10) == 1
    [path] = [e["path"] for e in eshm.list() if e["name"] == name]
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            os.close(r)
            try:
                pub.publish(2)
                report = "publish worked"
            except eshm.ClosedError as e:
                report = f"ClosedError: {e}"
                code = 0
            os.write(w, report.encode())
        finally:
            os._exit(code)
    os.close(w)
    with os.fdopen(r) as f:
        report = f.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, report
    assert report.startswith("ClosedError: ") and "fork" in report, report
    assert os.path.exists(path), "the child unlinked the parent's topic"
    for i in range(3, 100):
        pub.publish(i)
        assert sub.recv(timeout=10) == i
    assert pub.published == 98  # 1, then 3 to 99: the child's publish(2) did not count


FORK_SCRIPT = r"""
import gc, os, sys
import eshm
from eshm import ESHM, ESHMRole

kind, ending = sys.argv[1], sys.argv[2]
shm_dir = os.environ["ESHM_SHM_DIR"]
if kind == "pubsub":
    obj = eshm.Publisher("forked/topic", 0, 64)
    peer = eshm.Subscriber("forked/topic", 0)
    def use():
        obj.publish(1)
    def parent_works(i):
        obj.publish(i)
        return peer.recv(timeout=10) == i
else:
    obj = ESHM("forked/chan", role=ESHMRole.MASTER)
    peer = ESHM("forked/chan", role=ESHMRole.SLAVE)
    def use():
        obj.write(b"from the child")
    def parent_works(i):
        obj.write(b"%d" % i)
        there = peer.read(timeout_ms=10000) == b"%d" % i
        peer.write(b"back %d" % i)
        back = obj.read(timeout_ms=10000) == b"back %d" % i
        return there and back and obj.is_remote_alive() and peer.is_remote_alive()

assert parent_works(0)
files = sorted(os.listdir(shm_dir))
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    code = 3
    try:
        os.close(r)
        reports = []
        for o, f in ((obj, use), (peer, lambda: peer.try_recv() if kind == "pubsub" else peer.try_read())):
            try:
                f()
                reports.append("no error")
            except eshm.ClosedError as e:
                reports.append(f"ClosedError fork={'fork' in str(e)} runtime={isinstance(e, RuntimeError)}")
            reports.append(f"closed={o.closed} repr_ok={'closed' in repr(o)}")
        if kind == "pubsub":
            # A new object made in the child works.
            mine = eshm.Publisher("forked/child", 0.0)
            mine.publish(2.5)
            reports.append(f"new in child={eshm.Subscriber('forked/child', 0.0).subscribe()}")
            mine.close()
        os.write(w, " | ".join(reports).encode())
        os.close(w)
        code = 0
        if ending == "close":
            obj.close()
            peer.close()
        elif ending == "gc":
            del obj, peer, o, f  # the last references
            gc.collect()
    finally:
        if ending == "os._exit" or code != 0:
            os._exit(code)
    sys.exit(0)  # a normal interpreter exit: finalizers and atexit handlers run
os.close(w)
with os.fdopen(r) as f:
    print("child:", f.read())
_, status = os.waitpid(pid, 0)
print("child exit:", os.waitstatus_to_exitcode(status))
print("files kept:", set(files) <= set(os.listdir(shm_dir)), sorted(os.listdir(shm_dir)), files)
print("parent works:", all(parent_works(i) for i in range(1, 200)))
if kind == "pubsub":
    print("published:", obj.published)
else:
    s = obj.get_stats()
    print("pids:", s["master_pid"] == os.getpid(), s["slave_pid"] == os.getpid(), s["master_alive"], s["slave_alive"])
obj.close()
peer.close()
print("parent done")
"""


@pytest.mark.parametrize("ending", ["os._exit", "close", "gc"], ids=["os._exit", "close+sys.exit", "del+gc+sys.exit"])
@pytest.mark.parametrize("kind", ["pubsub", "eshm"])
def test_fork_child_endings_leave_the_parent_alone(spawn, kind, ending):
    """In a fresh interpreter: the child uses the inherited objects (ClosedError mentioning
    fork), then leaves by os._exit, by closing them and returning normally, or by dropping them
    (del + gc.collect()) and returning normally. The parent's files stay, and its topic or
    channel keeps working in both directions."""
    p = spawn.code(FORK_SCRIPT, kind, ending, label=f"fork {kind} {ending}")
    p.finish_ok(timeout=60)
    child = p.expect(r"^child: (.*)$")[1].split(" | ")
    assert child[0] == "ClosedError fork=True runtime=True", p.report()
    assert child[1] == "closed=True repr_ok=True", p.report()
    assert child[2] == "ClosedError fork=True runtime=True", p.report()
    assert child[3] == "closed=True repr_ok=True", p.report()
    if kind == "pubsub":
        assert child[4] == "new in child=(2.5, True)", p.report()
    p.expect_exact("child exit: 0")
    assert p.expect(r"^files kept: (\w+)")[1] == "True", p.report()
    p.expect_exact("parent works: True")
    if kind == "pubsub":
        p.expect_exact("published: 200")
    else:
        p.expect_exact("pids: True True True True")
    p.expect_exact("parent done")
    assert not any("Traceback" in line or "panick" in line for line in p.err_lines), p.report()
