"""The original ESHM library's five Python examples, re-created in scripts/, run against eshm in
the start orders their READMEs describe: master first, slave first, master killed (SIGKILL, or
Ctrl-C) and restarted. Their output is checked, and every endless one is stopped with SIGINT,
which must give a clean exit (code 0, the shutdown lines, the final statistics).

Processes are ordered by their output only: a script's own lines, the launcher's
"[launcher] ESHM('<name>') called" line printed just before the script's ESHM(...) call, or a
gated start (the interpreter is up and waits for "go" before that call). No sleeps. Every process
uses the test's own ESHM_SHM_DIR, so the examples' fixed channel names cannot collide.

Where eshm differs from the original on purpose (a queue instead of one latest-value slot; a
slave that waits for its master instead of failing at once; messages written before the slave
existed are delivered), the tests check eshm's behaviour.
"""

import dataclasses
import json
import re
import shutil
import time

import pytest

import eshm
from conftest import SCRIPTS

MASTER_HELLO = re.compile(r"^\[MASTER\] Sent: Hello from Python master #(\d+)$")
SLAVE_GOT = re.compile(r"^\[SLAVE\] Received \((\d+) bytes\): Hello from Python master #(\d+)$")
SLAVE_ACK = re.compile(r"^\[SLAVE\] Sent: ACK from Python slave #(\d+)$")
MASTER_GOT_ACK = re.compile(r"^\[MASTER\] Received: ACK from Python slave #(\d+)$")


def pid_line(proc):
    """The `PID: <n>` line every example prints first; it is the launcher's own pid."""
    pid = int(proc.expect(r"^PID: (\d+)$")[1])
    assert pid == proc.pid
    return pid


def numbers(proc, rx, start=0):
    return [int(m[m.re.groups]) for m in proc.matching(rx.pattern, start)]


def strictly_increasing(seq):
    return all(a < b for a, b in zip(seq, seq[1:]))


def final_stats(proc):
    """The four lines simple_master/simple_slave print after Ctrl-C."""
    proc.expect_exact("=== Final Statistics ===")
    master_pid = int(proc.expect(r"^Master PID: (\d+)$")[1])
    slave_pid = int(proc.expect(r"^Slave PID: (\d+)$")[1])
    m2s = tuple(map(int, proc.expect(r"^Master->Slave: writes=(\d+), reads=(\d+)$").groups()))
    s2m = tuple(map(int, proc.expect(r"^Slave->Master: writes=(\d+), reads=(\d+)$").groups()))
    return master_pid, slave_pid, m2s, s2m


def assert_no_traceback(*procs):
    for p in procs:
        assert not any("Traceback" in line for line in p.err_lines), p.report()


# --------------------------------------------------------------------------------------------
# The names the examples import, and the calls they make, one at a time
# --------------------------------------------------------------------------------------------


def test_the_original_module_names_exist():
    from eshm import ESHM, ESHMConfig, ESHMDisconnectBehavior, ESHMError, ESHMRole, ESHMStats

    assert {m.name: int(m) for m in ESHMRole} == {"MASTER": 0, "SLAVE": 1, "AUTO": 2}
    assert {m.name: int(m) for m in ESHMDisconnectBehavior} == {"IMMEDIATELY": 0, "ON_TIMEOUT": 1, "NEVER": 2}
    assert {m.name: int(m) for m in ESHMError} == {
        "SUCCESS": 0, "INVALID_PARAM": -1, "SHM_CREATE": -2, "SHM_ATTACH": -3, "SHM_DETACH": -4,
        "SHM_DELETE": -5, "MUTEX_INIT": -6, "MUTEX_LOCK": -7, "MUTEX_UNLOCK": -8, "NO_DATA": -9,
        "TIMEOUT": -10, "MASTER_STALE": -11, "BUFFER_FULL": -12, "BUFFER_TOO_SMALL": -13,
        "NOT_INITIALIZED": -14, "ROLE_MISMATCH": -15,
    }  # fmt: skip
    # The original's ctypes structures, as dataclasses with the same fields in the same order.
    assert [f.name for f in dataclasses.fields(ESHMConfig)] == [
        "shm_name", "role", "disconnect_behavior", "stale_threshold_ms", "reconnect_wait_ms",
        "reconnect_retry_interval_ms", "max_reconnect_attempts", "auto_cleanup", "use_threads",
    ]  # fmt: skip
    assert [f.name for f in dataclasses.fields(ESHMStats)] == [
        "master_heartbeat", "slave_heartbeat", "master_pid", "slave_pid", "master_alive",
        "slave_alive", "stale_threshold", "master_heartbeat_delta", "slave_heartbeat_delta",
        "m2s_write_count", "m2s_read_count", "s2m_write_count", "s2m_read_count",
    ]  # fmt: skip
    assert eshm.ESHM is ESHM


def test_a_master_alone_writes_at_once_and_try_read_means_no_data(isolated):
    """simple_master and performance_test (master first) write and try_read long before, or
    without, a slave. The original's write never looks at the peer and never blocks; try_read
    is None when nothing is there. An outage longer than reconnect_wait changes nothing for a
    master."""
    from eshm import ESHM, ESHMRole

    with ESHM("alone", role=ESHMRole.MASTER, reconnect_wait_ms=50, reconnect_retry_interval_ms=5) as m:
        assert not m.is_remote_alive(), "no slave was ever there"
        for i in range(20):
            t0 = time.monotonic()
            m.write(b"hello %d\0" % i)  # no exception, no wait for a slave
            assert time.monotonic() - t0 < 1.0, "write waited for a slave"
            assert m.try_read() is None
        with pytest.raises(TimeoutError):  # ON_TIMEOUT: a master's read only ever times out
            m.read(timeout_ms=100)
        with pytest.raises(TimeoutError) as err:
            m.read(timeout_ms=100)
        assert not isinstance(err.value, eshm.DisconnectedError)
        assert m.try_read() is None
        # What the master queued goes to the first slave, in order.
        with ESHM("alone", role=ESHMRole.SLAVE) as s:
            assert [s.read(timeout_ms=5000) for _ in range(20)] == [b"hello %d\0" % i for i in range(20)]
            assert m.is_remote_alive()


def test_read_errors_keep_the_original_exception_types(isolated):
    """Users of the original catch TimeoutError around read() and RuntimeError around
    everything else; both styles keep working."""
    from eshm import ESHM, ESHMRole

    with ESHM("types", role=ESHMRole.MASTER) as m, ESHM("types", role=ESHMRole.SLAVE) as s:
        with pytest.raises(TimeoutError):
            s.read(timeout_ms=10)
        with pytest.raises(RuntimeError):  # original: RuntimeError("No data available")
            s.read(timeout_ms=0)
        with pytest.raises(TimeoutError):  # and a NoDataError is a TimeoutError too
            s.read(timeout_ms=0)
        assert s.try_read() is None
        with pytest.raises(RuntimeError):  # original: RuntimeError("Write failed: Buffer too small")
            m.write(b"x" * (16 << 20))
        m.write(b"y" * 100)
        with pytest.raises(RuntimeError):  # original: RuntimeError("Read failed: Buffer too small")
            s.read(buffer_size=10)
        assert s.read(buffer_size=100) == b"y" * 100, "the message stayed readable"
        assert repr(m) == "ESHM(name='types', role=MASTER)"
        assert repr(s) == "ESHM(name='types', role=SLAVE)"


def test_immediately_fails_reads_once_a_remote_that_was_there_is_gone(spawn, isolated):
    """ESHMDisconnectBehavior.IMMEDIATELY: a remote that never came is no error; once one that was
    there is killed, read() raises a DisconnectedError (a RuntimeError, like the original's
    "Read failed: Master is stale"), after what it wrote."""
    from eshm import ESHM, ESHMDisconnectBehavior, ESHMRole

    with ESHM("imm", role=ESHMRole.MASTER, disconnect_behavior=ESHMDisconnectBehavior.IMMEDIATELY) as m:
        with pytest.raises(TimeoutError) as err:
            m.read(timeout_ms=50)
        assert not isinstance(err.value, eshm.DisconnectedError), "no slave was ever there"
        slave = spawn.code(
            """
            import threading
            from eshm import ESHM, ESHMRole
            s = ESHM("imm", role=ESHMRole.SLAVE)
            s.write(b"last words")
            print("written", flush=True)
            threading.Event().wait()
            """,
            label="slave",
        )
        slave.expect_exact("written")
        assert m.is_remote_alive()
        slave.kill()
        assert slave.finish() == -9
        assert m.read(timeout_ms=10_000) == b"last words"
        with pytest.raises(eshm.DisconnectedError) as err:
            m.read(timeout_ms=10_000)
        assert isinstance(err.value, RuntimeError)


# --------------------------------------------------------------------------------------------
# Usage lines (no channel involved)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "script, args, first_line",
    [
        ("advanced_example.py", [], "Usage: python advanced_example.py <master|slave>"),
        ("advanced_example.py", ["sideways"], "Invalid mode: sideways"),
        ("reconnect_demo.py", [], "Usage: python reconnect_demo.py <master|slave>"),
        ("reconnect_demo.py", ["both"], "Invalid mode: both"),
        ("performance_test.py", [], "Usage: python performance_test.py <master|slave> [shm_name] [stats_interval]"),
        ("performance_test.py", ["slave", "x", "ten"], "Error: Invalid stats_interval 'ten' - must be an integer"),
        ("performance_test.py", ["slave", "x", "0"], "Error: stats_interval must be positive"),
    ],
)
def test_usage(spawn, shm_dir, script, args, first_line):
    p = spawn(script, *args)
    p.finish_ok()
    assert p.lines[0] == first_line
    assert list(shm_dir.iterdir()) == []


# --------------------------------------------------------------------------------------------
# simple_master.py + simple_slave.py
# --------------------------------------------------------------------------------------------


def expect_simple_master_ready(m, name="eshm1"):
    m.expect_exact("=== ESHM Python Master Example ===")
    pid = pid_line(m)
    m.expect_exact(f"SHM Name: {name}")
    m.expect_exact("Initialized as MASTER")
    m.expect_exact("Press Ctrl+C to stop")
    return pid


def start_simple_master(spawn, *args, label="master"):
    m = spawn("simple_master.py", *args, label=label)
    return m, expect_simple_master_ready(m, args[0] if args else "eshm1")


def expect_simple_slave_ready(s, name="eshm1"):
    s.expect_exact("=== ESHM Python Slave Example ===")
    pid = pid_line(s)
    s.expect_exact(f"SHM Name: {name}")
    s.expect_exact("Initialized as SLAVE")
    s.expect_exact("Waiting for messages from master...")
    s.expect_exact("Press Ctrl+C to stop")
    return pid


def check_exchange(master, slave, acks=3, master_from=0, slave_from=0):
    """Waits until the master has printed `acks` ACKs (from line index `master_from` on), then
    checks the lines of both sides from those indices on."""
    master.wait_until(
        lambda lines: len([l for l in lines[master_from:] if MASTER_GOT_ACK.match(l)]) >= acks,
        f"{acks} ACKs received",
    )
    got = slave.matching(SLAVE_GOT.pattern, slave_from)
    assert got, slave.report()
    for m in got:  # the byte count includes the NUL the master appends
        assert int(m[1]) == len(f"Hello from Python master #{m[2]}") + 1, m[0]
    assert strictly_increasing([int(m[2]) for m in got])
    acked = numbers(master, MASTER_GOT_ACK, master_from)
    assert strictly_increasing(acked), master.report()


def stop_simple(proc, role):
    proc.interrupt()
    proc.expect_exact(f"[{role}] Shutting down...")
    stats = final_stats(proc)
    proc.finish_ok()
    return stats


@pytest.mark.parametrize("args", [[], ["my_shm"]], ids=["default-name", "named"])
def test_simple_master_first(spawn, shm_dir, args):
    """README order: master in terminal 1, slave in terminal 2, Ctrl-C each."""
    name = args[0] if args else "eshm1"
    master, master_pid = start_simple_master(spawn, *args)
    master.expect(MASTER_HELLO.pattern)  # the master is in its loop, writing with no slave yet
    master.expect_exact("[MASTER] WARNING: Slave is not alive/connected")

    slave = spawn("simple_slave.py", *args, label="slave")
    slave_pid = expect_simple_slave_ready(slave, name)
    # Our channel queues: the slave gets everything from the master's first message on.
    slave.expect_exact("[SLAVE] Received (28 bytes): Hello from Python master #0")
    slave.expect_exact("[SLAVE] Sent: ACK from Python slave #0")
    master.expect_exact("[MASTER] Received: ACK from Python slave #0")
    check_exchange(master, slave)
    assert numbers(slave, SLAVE_ACK)[:3] == [0, 1, 2]
    assert [int(m[2]) for m in slave.matching(SLAVE_GOT.pattern)][:3] == [0, 1, 2], "nothing skipped"

    got_master_pid, got_slave_pid, (m2s_w, m2s_r), (s2m_w, s2m_r) = stop_simple(master, "MASTER")
    assert (got_master_pid, got_slave_pid) == (master_pid, slave_pid)
    assert m2s_w >= m2s_r >= 3 and s2m_w >= s2m_r >= 3
    assert m2s_w == len(master.matching(MASTER_HELLO.pattern))
    assert s2m_r == len(master.matching(MASTER_GOT_ACK.pattern))

    # The slave outlives its master and still stops cleanly on Ctrl-C.
    slave.expect_exact("[SLAVE] WARNING: Master is not alive - waiting for reconnection...")
    stop_simple(slave, "SLAVE")
    assert_no_traceback(master, slave)
    assert list(shm_dir.iterdir()) == [], "both ends closed cleanly: nothing left behind"


def test_simple_slave_first(spawn, shm_dir):
    """The slave (max_reconnect_attempts=0: unlimited) is started before any master exists: it
    waits for one. (The original failed at once: "Failed to initialize ESHM".)"""
    master = spawn("simple_master.py", label="master", gate=True)  # interpreter up, not yet ESHM()
    slave = spawn("simple_slave.py", label="slave", announce=True)
    slave.wait_for_line("[launcher] ESHM('eshm1') called")  # the slave is now looking for a master
    assert not slave.matching(r"^Initialized as")
    master.go()
    expect_simple_master_ready(master)
    expect_simple_slave_ready(slave)
    slave.expect_exact("[SLAVE] Received (28 bytes): Hello from Python master #0")
    master.expect_exact("[MASTER] Received: ACK from Python slave #0")
    check_exchange(master, slave)

    stop_simple(slave, "SLAVE")
    master.expect_exact("[MASTER] WARNING: Slave is not alive/connected")
    stop_simple(master, "MASTER")
    assert_no_traceback(master, slave)
    assert list(shm_dir.iterdir()) == []


@pytest.mark.parametrize("how", ["SIGKILL", "Ctrl-C"])
def test_simple_master_killed_and_restarted(spawn, how):
    """The slave keeps going through a master outage and answers the restarted master; its ACK
    numbering carries on (it is the same process). simple_slave keeps the default
    reconnect_wait_ms (5 s), so master 2 is started ahead and let open its channel as soon as
    the slave has noticed the outage."""
    master, _ = start_simple_master(spawn, label="master 1")
    master2 = spawn("simple_master.py", label="master 2", gate=True)
    slave = spawn("simple_slave.py", label="slave")
    expect_simple_slave_ready(slave)
    check_exchange(master, slave, acks=2)

    if how == "SIGKILL":
        master.kill()
        assert master.finish() == -9
    else:
        stop_simple(master, "MASTER")
    # The slave notices (read() times out, is_remote_alive() is False) and keeps running.
    mark = len(slave.lines)
    slave.wait_for_line("[SLAVE] WARNING: Master is not alive - waiting for reconnection...", mark)
    acks_before = len(slave.matching(SLAVE_ACK.pattern))
    slave_mark = len(slave.lines)

    master2.go()  # must not be refused: master 1 is gone
    expect_simple_master_ready(master2)
    # Master 2 counts from #0 again; before it, the slave may still read what master 1 wrote last.
    first_new = slave.wait_for_line("[SLAVE] Received (28 bytes): Hello from Python master #0", slave_mark)
    check_exchange(master2, slave, acks=2, slave_from=first_new)
    acks = numbers(slave, SLAVE_ACK)
    assert acks == list(range(len(acks))), "one ACK counter across both masters"
    assert max(numbers(master2, MASTER_GOT_ACK)) >= acks_before, "master 2 got answers to its own messages"

    stop_simple(master2, "MASTER")
    slave.expect_exact("[SLAVE] WARNING: Master is not alive - waiting for reconnection...")
    stop_simple(slave, "SLAVE")
    assert_no_traceback(master2, slave)


@pytest.mark.timeout(90)
def test_simple_master_waits_longer_than_reconnect_wait_for_its_slave(spawn):
    """Master first, slave only after more than reconnect_wait_ms (5 s): the master keeps writing
    every 0.5 s, warns that no slave is there, and then talks to the late slave, which gets
    every message queued meanwhile."""
    master, _ = start_simple_master(spawn)
    slave = spawn("simple_slave.py", label="late slave", gate=True)
    start = time.monotonic()
    master.wait_until(
        lambda lines: time.monotonic() - start > 6 and sum(bool(MASTER_HELLO.match(l)) for l in lines) >= 12,
        "12 writes and 6 s without a slave",
        timeout=40,
    )
    assert len(master.matching(r"^\[MASTER\] WARNING: Slave is not alive/connected$")) >= 12
    assert not master.matching(MASTER_GOT_ACK.pattern)
    mark = len(master.lines)
    slave.go()
    expect_simple_slave_ready(slave)
    check_exchange(master, slave, acks=2, master_from=mark)
    got = [int(m[2]) for m in slave.matching(SLAVE_GOT.pattern)]
    assert got[:12] == list(range(12)), "the messages written while no slave was there"
    stop_simple(master, "MASTER")
    stop_simple(slave, "SLAVE")
    assert_no_traceback(master, slave)


def test_examples_run_unchanged_next_to_the_old_wrapper(spawn, tmp_path):
    """A user's tree still holding the old ctypes wrapper (py/eshm.py, which the examples put
    first on sys.path): importing our eshm before the script runs makes the unchanged scripts
    use it, because sys.modules wins over sys.path."""
    examples = tmp_path / "py" / "examples"
    examples.mkdir(parents=True)
    for script in ("simple_master.py", "simple_slave.py"):
        shutil.copy(SCRIPTS / script, examples / script)
    (tmp_path / "py" / "eshm.py").write_text('raise ImportError("the old ctypes wrapper was imported")\n')

    plain = spawn(examples / "simple_master.py", label="plain run")
    assert plain.finish() != 0
    assert any("the old ctypes wrapper was imported" in l for l in plain.err_lines), plain.report()

    master = spawn(examples / "simple_master.py", label="master", preimport=True)
    where = master.expect(r"^\[launcher\] eshm from (.*)$")[1]
    assert not where.startswith(str(tmp_path / "py"))
    expect_simple_master_ready(master)
    slave = spawn(examples / "simple_slave.py", label="slave", preimport=True)
    expect_simple_slave_ready(slave)
    check_exchange(master, slave, acks=1)
    stop_simple(slave, "SLAVE")
    stop_simple(master, "MASTER")


# --------------------------------------------------------------------------------------------
# advanced_example.py
# --------------------------------------------------------------------------------------------


def check_advanced_master(master):
    """The master's whole output; returns (request JSON, reply JSON or None, try_read lines)."""
    master.expect_exact("=== Advanced ESHM Master ===")
    pid_line(master)
    master.expect_exact("Role: MASTER")
    sent = master.expect(r"^Sent JSON data: (.*)$")[1]
    assert set(json.loads(sent)) == {"type", "temperature", "humidity", "timestamp"}
    master.expect_exact("Waiting for response (500ms timeout)...")
    outcome = master.expect(r"^(Received response: (.*)|No response received \(timeout\))$")
    master.expect_exact("=== Statistics ===")
    assert int(master.expect(r"^Master heartbeat: (\d+)$")[1]) >= 0
    assert int(master.expect(r"^Slave heartbeat: (\d+)$")[1]) >= 0
    master.expect_exact("Master alive: True")
    master.expect(r"^Slave alive: (True|False)$")
    master.expect(r"^Remote alive: (True|False)$")
    master.expect_exact("=== Non-blocking Read Test ===")
    reads = [master.expect(rf"^  (Read: (.*)|No data available \(attempt {i}\))$") for i in (1, 2, 3)]
    master.finish_ok()
    return sent, outcome[2], reads


def check_advanced_slave(slave, sent_json):
    slave.expect_exact("=== Advanced ESHM Slave ===")
    pid_line(slave)
    slave.expect_exact("Role: SLAVE")
    slave.expect_exact("Listening for messages...")
    slave.expect_exact(f"Received: {sent_json}")
    slave.expect_exact("Parsed JSON:")
    request = json.loads(sent_json)
    for key, value in request.items():
        slave.expect_exact(f"  {key}: {value}")
    reply = slave.expect(r"^Sent response: (.*)$")[1]
    slave.expect_exact("=== Statistics ===")
    slave.expect_exact("Messages read from master: 1")
    slave.expect_exact("Messages sent to master: 1")
    slave.finish_ok()
    return reply


def test_advanced_example_slave_first(spawn, shm_dir):
    """One request and its reply. Slave first: it waits up to 10 x 200 ms for its master."""
    master = spawn("advanced_example.py", "master", label="master", gate=True)
    slave = spawn("advanced_example.py", "slave", label="slave", announce=True)
    slave.wait_for_line("[launcher] ESHM('advanced_demo') called")
    master.go()
    sent, response, reads = check_advanced_master(master)
    # The example's own 500 ms deadline: the slave is attached and blocked in read(), so the
    # reply is microseconds away.
    assert response is not None, f"no reply within the example's 500 ms\n{master.report()}"
    assert all(r[1].startswith("No data available") for r in reads)
    reply = json.loads(response)
    assert reply["status"] == "ok" and reply["data_type"] == "sensor_data"
    assert json.loads(check_advanced_slave(slave, sent)) == reply
    assert_no_traceback(master, slave)
    assert list(shm_dir.iterdir()) == []


def test_advanced_example_master_first(spawn, shm_dir):
    """README order (terminal 1 master, terminal 2 slave): the slave opens the channel once the
    master has written its request and waits for the reply. The request written before the
    slave existed is delivered to it (the original skipped it, so its README order could never
    exchange anything), and the master reads the reply."""
    slave = spawn("advanced_example.py", "slave", label="slave", gate=True)
    master = spawn("advanced_example.py", "master", label="master")
    master.wait_for_line("Waiting for response (500ms timeout)...")
    slave.go()
    sent, response, reads = check_advanced_master(master)
    assert json.loads(check_advanced_slave(slave, sent))["data_type"] == "sensor_data"
    # The reply comes within the example's 500 ms read, or else in its try_read() loop after.
    late = [r[2] for r in reads if r[2] is not None]
    assert [response] + late != [None], f"the master never read the reply\n{master.report()}"
    assert_no_traceback(master, slave)
    assert list(shm_dir.iterdir()) == []


# --------------------------------------------------------------------------------------------
# reconnect_demo.py
# --------------------------------------------------------------------------------------------


def expect_reconnect_master_ready(m):
    m.expect_exact("=== ESHM Reconnection Demo - Master ===")
    pid_line(m)
    m.expect_exact("You can kill this process with Ctrl+C or 'kill -9'")
    m.expect_exact("The slave will wait and reconnect when you restart the master")
    m.expect_exact("Master initialized as MASTER")


@pytest.mark.parametrize("how", ["SIGKILL", "Ctrl-C"])
def test_reconnect_demo(spawn, how):
    """README order: slave first, then master; kill the master (kill -9, or Ctrl+C) and start it
    again: the slave carries on with the new master without a restart."""
    master = spawn("reconnect_demo.py", "master", label="master 1", gate=True)
    master2 = spawn("reconnect_demo.py", "master", label="master 2", gate=True)
    slave = spawn("reconnect_demo.py", "slave", label="slave", announce=True)
    slave.wait_for_line("[launcher] ESHM('reconnect_demo') called")

    master.go()
    expect_reconnect_master_ready(master)
    slave.expect_exact("=== ESHM Reconnection Demo - Slave ===")
    pid_line(slave)
    slave.expect_exact("Configured with UNLIMITED reconnection attempts")
    slave.expect_exact("This slave will wait indefinitely for the master to restart")
    slave.expect_exact("Slave initialized as SLAVE")
    slave.expect_exact("Waiting for messages...")
    slave.expect_exact("[SLAVE] Received: Master message #0")
    slave.expect_exact("[SLAVE] Sent: ACK #0")
    master.expect_exact("[MASTER] Sent: Master message #0")
    master.expect_exact("[MASTER] Received: ACK #0")  # read on the master's next round, 1 s later

    if how == "SIGKILL":
        master.kill()
        assert master.finish() == -9
    else:
        master.interrupt()
        master.expect_exact("[MASTER] Shutting down gracefully...")
        master.finish_ok()
    mark = len(slave.lines)

    master2.go()
    expect_reconnect_master_ready(master2)
    # The new master counts from #0 again; the slave may first read what master 1 wrote last.
    first_new = slave.wait_for_line("[SLAVE] Received: Master message #0", mark)
    slave.cursor = first_new + 1
    ack = int(slave.expect(r"^\[SLAVE\] Sent: ACK #(\d+)$")[1])  # the answer to master 2's #0
    master2.expect_exact(f"[MASTER] Received: ACK #{ack}")

    acks = [int(m[1]) for m in slave.matching(r"^\[SLAVE\] Sent: ACK #(\d+)$")]
    assert acks == list(range(len(acks))), "the slave's counter ran on across the restart"
    assert ack >= 1

    master2.interrupt()
    master2.expect_exact("[MASTER] Shutting down gracefully...")
    master2.finish_ok()
    slave.interrupt()
    slave.expect_exact("[SLAVE] Shutting down...")
    slave.expect_exact("=== Final Statistics ===")
    received = int(slave.expect(r"^Messages received: (\d+)$")[1])
    sent = int(slave.expect(r"^Messages sent: (\d+)$")[1])
    slave.finish_ok()
    # The counters are per segment (a new one after a clean exit): only require that the new
    # master's exchange is counted.
    assert received >= 1 and sent >= 1
    assert_no_traceback(master2, slave)


# --------------------------------------------------------------------------------------------
# performance_test.py
# --------------------------------------------------------------------------------------------


def check_performance_master(master, name):
    master.expect_exact("=== ESHM Performance Test - Master ===")
    pid_line(master)
    master.expect_exact(f"SHM Name: {name}")
    master.expect_exact("Waiting for slave to connect...")
    master.expect_exact("Slave connected. Starting performance test...")
    master.expect_exact("=== Throughput Test ===")
    assert float(master.expect(r"^Sent 10000 messages in (\d+\.\d{3}) seconds$", timeout=60)[1]) > 0
    assert int(master.expect(r"^Throughput: (\d+) messages/second$")[1]) > 0
    master.expect(r"^Throughput: \d+\.\d\d MB/s$")
    master.expect_exact("=== Latency Test (Round-trip) ===")
    master.expect_exact("Completed 1000 round-trips", timeout=90)
    avg, low, high = (float(master.expect(rf"^{w} latency: (\d+\.\d) µs$")[1]) for w in ("Average", "Min", "Max"))
    assert 0 < low <= avg <= high
    master.expect_exact("=== Final Statistics ===")
    # Every write and every PONG read is counted (in the original too).
    master.expect_exact("Master->Slave writes: 11000")
    master.expect_exact("Slave->Master reads: 1000")
    master.finish_ok()
    assert not master.matching("ERROR: Slave did not connect")


def stop_performance_slave(slave, interval):
    """Called once the master has finished. Our channel queues, so the slave sees all 10000 +
    1000 messages (the original's latest-value slot lost most of the burst)."""
    expected = list(range(interval, 11001, interval))  # received= values of the progress lines
    # A progress line is printed after the PONG write, so the last one may still be on its way.
    slave.expect(rf"^\[SLAVE\] Messages: received={expected[-1]}, pings=\d+, rate=\d+ msg/sec$")
    progress = slave.matching(r"^\[SLAVE\] Messages: received=(\d+), pings=(\d+), rate=\d+ msg/sec$")
    assert [int(m[1]) for m in progress] == expected
    if 10000 in expected:
        assert int(progress[expected.index(10000)][2]) == 0, "the burst comes before the pings"
    if expected[-1] == 11000:
        assert int(progress[-1][2]) == 1000
    # The master has gone: the slave keeps reading (timeouts only) until Ctrl-C.
    slave.interrupt()
    slave.expect_exact("[SLAVE] Shutting down...")
    slave.expect_exact("Total messages received: 11000")
    slave.expect_exact("Total pings responded: 1000")
    slave.finish_ok()


@pytest.mark.timeout(180)
def test_performance_master_first(spawn):
    """Order of the last version's usage text ("IMPORTANT: Start in this order"). The master
    polls is_remote_alive() for 10 s: it must be False until a slave is really there (the
    original said True for its first 100 ms and then ran its test against nobody)."""
    slave = spawn("performance_test.py", "slave", "perf_mf", 1000, label="slave", gate=True)
    master = spawn("performance_test.py", "master", "perf_mf", label="master")
    master.wait_for_line("Waiting for slave to connect...")
    slave.go()
    slave.expect_exact("=== ESHM Performance Test - Slave ===")
    pid_line(slave)
    slave.expect_exact("SHM Name: perf_mf")
    slave.expect_exact("Connected to master. Ready for performance test...")
    slave.expect_exact("Printing stats every 1000 messages")
    check_performance_master(master, "perf_mf")
    stop_performance_slave(slave, 1000)
    assert_no_traceback(master, slave)


@pytest.mark.timeout(180)
def test_performance_slave_first(spawn):
    """Order of the first version and of the wrapper's summary: slave first, defaults everywhere
    ("perf_test", a progress line every 10000 messages). The slave's default 50 x 100 ms of
    reconnection attempts is how long it waits for the master."""
    master = spawn("performance_test.py", "master", label="master", gate=True)
    slave = spawn("performance_test.py", "slave", label="slave", announce=True)
    slave.wait_for_line("[launcher] ESHM('perf_test') called")
    master.go()
    slave.expect_exact("Connected to master. Ready for performance test...")
    slave.expect_exact("Printing stats every 10000 messages")
    check_performance_master(master, "perf_test")
    stop_performance_slave(slave, 10000)
    assert_no_traceback(master, slave)
