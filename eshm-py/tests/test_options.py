"""What each option of the classes does, observed from outside: file modes, properties, the wait
strategies (who sleeps, who spins), auto_cleanup, use_threads, and the `eshm` console script."""

import os
import pathlib
import subprocess
import sys
import time

import pytest

import eshm
from conftest import LINE_TIMEOUT
from eshm import ESHM, ESHMRole, msg


def entry(name):
    """What `eshm.list()` says of `name` (None if it does not list it)."""
    return next((e for e in eshm.list() if e["name"] == name), None)


def eventually(predicate, what, timeout=LINE_TIMEOUT):
    """Waits until `predicate()` is true (polling every millisecond); fails after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"not {what} within {timeout} s")
        time.sleep(0.001)


# --------------------------------------------------------------------------------------------
# Publisher(mode=...) and the properties
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o644, 0o400])
def test_publisher_mode_is_the_files_mode(isolated, name, mode):
    with eshm.Publisher(name, 0.0, mode=mode) as pub:
        assert os.stat(entry(name)["path"]).st_mode & 0o777 == mode
        assert entry(name)["mode"] == f"{mode:o}"
        with eshm.Subscriber(name, 0.0) as sub:  # nobody else can write into it: trusted
            pub.publish(1.0)
            assert sub.recv(timeout=5) == 1.0


def test_the_default_mode_is_private(isolated, name):
    with eshm.Publisher(name, 0.0):
        assert os.stat(entry(name)["path"]).st_mode & 0o777 == 0o600


def test_a_group_writable_topic_is_refused_unless_allowed(isolated, name):
    with eshm.Publisher(name, 0, mode=0o660) as pub:
        with pytest.raises(eshm.SegmentPermissionError, match="0660"):
            eshm.Subscriber(name, 0)
        with eshm.Subscriber(name, 0, allow_other_owners=True, history=0) as sub:
            pub.publish(3)
            assert sub.recv(timeout=5) == 3


@pytest.mark.parametrize(
    "default, type_name, fingerprint",
    [
        (0.0, "f64", eshm.f64.fingerprint),
        (0, "i64", eshm.i64.fingerprint),
        (False, "bool", eshm.bool_.fingerprint),
        (eshm.u8, "u8", eshm.u8.fingerprint),
        (msg.Pose, "Pose", msg.Pose.FINGERPRINT),
        (msg.Imu(), "Imu", msg.Imu.FINGERPRINT),
    ],
    ids=["float", "int", "bool", "u8", "Pose", "Imu()"],
)
def test_properties(isolated, name, default, type_name, fingerprint):
    pub = eshm.Publisher("/" + name, default, buffer_num=5)
    sub = eshm.Subscriber("/" + name, default)
    assert (pub.name, sub.name) == (name, name), "a leading / is not part of the name"
    assert (pub.type_name, sub.type_name) == (type_name, type_name)
    assert pub.fingerprint == fingerprint
    assert entry(name)["type"] == type_name and int(entry(name)["fingerprint"], 16) == fingerprint
    assert pub.capacity == 8 == entry(name)["capacity"], "buffer_num rounded up to a power of two"
    assert (pub.published, sub.lost, sub.is_connected) == (0, 0, True)
    value = sub.subscribe()[0]  # the default value, of the topic's type
    for _ in range(11):
        pub.publish(value)
    assert pub.published == 11 == entry(name)["published"]
    assert sub.try_recv() == value and sub.lost == 11 - 8, "the ring kept the 8 newest"
    assert repr(pub) == f'eshm.Publisher("{name}", {type_name})'
    assert repr(sub) == f'eshm.Subscriber("{name}", {type_name})'
    assert not pub.closed and not sub.closed
    pub.close()
    sub.close()
    assert pub.closed and sub.closed
    assert (pub.name, pub.type_name, pub.published, sub.lost) == (name, type_name, 11, 3)


def test_channel_name_and_closed(isolated, name):
    ch = ESHM(name)
    assert ch.name == name and not ch.closed and entry(name)["kind"] == "channel"
    ch.close()
    assert ch.closed and ch.name == name


# --------------------------------------------------------------------------------------------
# Subscriber(wait=...): who sleeps while it waits, who spins
# --------------------------------------------------------------------------------------------

WAITER = """
import sys, eshm
sub = eshm.Subscriber(sys.argv[1], 0, wait=sys.argv[2], history=0)
print("waiting", flush=True)
print("got", sub.recv(timeout=60), flush=True)
"""


def cpu_ticks(pid):
    """User and system time of process `pid`, in clock ticks."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def sleeping_readers(name):
    e = entry(name)
    return e["sleeping_reader_pids"] if e else []


@pytest.mark.parametrize("wait", ["default", "park"])
def test_a_waiting_subscriber_sleeps(child, name, wait):
    """It registers as a sleeping reader (the publisher then wakes it): "park" at once,
    "default" after spinning 20 us."""
    pub = eshm.Publisher(name, 0)
    waiter = child(WAITER, name, wait)
    waiter.expect_exact("waiting")
    eventually(lambda: waiter.pid in sleeping_readers(name), f"{waiter.pid} asleep on the topic")
    pub.publish(5)
    waiter.expect_exact("got 5")
    waiter.finish_ok()


def test_a_spinning_subscriber_never_sleeps(child, name):
    """It busy-polls: it uses a whole CPU while it waits, and never registers as asleep."""
    pub = eshm.Publisher(name, 0)
    waiter = child(WAITER, name, "spin")
    waiter.expect_exact("waiting")
    start = cpu_ticks(waiter.pid)
    ticks = os.sysconf("SC_CLK_TCK")
    # 0.3 s of CPU: a sleeping waiter uses none.
    eventually(lambda: cpu_ticks(waiter.pid) - start >= 0.3 * ticks, "0.3 s of CPU used while waiting")
    assert waiter.pid not in sleeping_readers(name)
    pub.publish(6)
    waiter.expect_exact("got 6")
    waiter.finish_ok()


# --------------------------------------------------------------------------------------------
# ESHM(auto_cleanup=..., use_threads=...)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("auto_cleanup", [True, False])
def test_auto_cleanup_removes_the_name_when_the_master_closes(isolated, name, auto_cleanup):
    master = ESHM(name, role=ESHMRole.MASTER, auto_cleanup=auto_cleanup)
    path = pathlib.Path(entry(name)["path"])
    slave = ESHM(name, role=ESHMRole.SLAVE)
    slave.close()
    assert path.exists(), "a slave's close never removes it"
    master.close()
    assert path.exists() is not auto_cleanup
    if not auto_cleanup:
        assert entry(name)["state"] != "live", "left behind, closed"
        with ESHM(name, role=ESHMRole.MASTER) as again:  # the next master takes the name over
            assert again.get_role() is ESHMRole.MASTER
            assert entry(name)["state"] == "live"


def test_with_threads_an_idle_endpoint_keeps_beating(isolated, name):
    master = ESHM(name, role=ESHMRole.MASTER, stale_threshold_ms=40)
    slave = ESHM(name, role=ESHMRole.SLAVE, stale_threshold_ms=40)
    first = master.get_stats()["master_heartbeat"]
    eventually(lambda: master.get_stats()["master_heartbeat"] > first + 3, "the idle master's heartbeat going up")
    slave.close()
    master.close()


def test_without_threads_an_idle_endpoint_goes_stale_until_it_operates(isolated, name):
    master = ESHM(name, role=ESHMRole.MASTER, stale_threshold_ms=40, use_threads=False)
    slave = ESHM(name, role=ESHMRole.SLAVE, stale_threshold_ms=40)
    eventually(lambda: not slave.is_remote_alive(), "the idle master stale to its slave")
    beats = master.get_stats()["master_heartbeat"]
    master.write(b"here")  # an operation beats
    assert master.get_stats()["master_heartbeat"] > beats
    assert slave.read(timeout_ms=5000) == b"here"
    eventually(lambda: not slave.is_remote_alive(), "stale again once idle")
    slave.close()
    master.close()


# --------------------------------------------------------------------------------------------
# The `eshm` command that pip installs (a console script calling eshm._cli.main)
# --------------------------------------------------------------------------------------------

# The console script next to this interpreter (installed by `maturin develop` or pip from
# [project.scripts]).
ESHM_COMMAND = pathlib.Path(sys.executable).parent / "eshm"


def command(*args, timeout=60):
    return subprocess.run([str(ESHM_COMMAND), *map(str, args)], capture_output=True, text=True, timeout=timeout)


def test_the_console_script_is_the_packages(isolated):
    script = ESHM_COMMAND.read_text()
    assert script.startswith(f"#!{sys.executable}") and "from eshm._cli import main" in script, script


def test_the_console_script_publishes_and_echoes(isolated, name):
    with eshm.Subscriber(name, 0.0, history=0) as sub:
        run = command("pub", name, "2.5", "--type", "f64")
        assert run.returncode == 0, run.stderr
        assert sub.recv(timeout=5) == 2.5, "what the command published reached Python"
    pub = eshm.Publisher(name + "/2", msg.Vector3)
    pub.publish(msg.Vector3(x=1.5, y=-2.0))
    run = command("echo", name + "/2", "--once", "--json", "--history", 1)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == '{"x":1.5,"y":-2.0,"z":0.0}'


def test_the_console_script_exits_with_the_commands_status(isolated, name):
    run = command("info", name)
    assert run.returncode == 3 and "no topic, channel, service or action named" in run.stderr, (run.returncode, run.stderr)
    assert command("list", "--no-such-option").returncode == 2
