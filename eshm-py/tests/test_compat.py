"""What the drop-in for the original ESHM wrapper and SHM's shm_pub_sub adds: pickling, data
expiry, leading "/" in names, read_data/write_data, the original's names and values, a
`from eshm import *` that shadows no built-in, eshm.list()/eshm.clean() and the installed
`eshm` command, and last values that outlive their publisher's process."""

import copy
import dataclasses
import json
import os
import pathlib
import pickle
import subprocess
import sys
import time

import pytest

import eshm
import robot_messages
from eshm import ESHM, ESHMConfig, ESHMError, ESHMRole, ESHMStats, msg, shm_pub_sub

# The `eshm` command pip installed next to this interpreter (/work/main/.venv/bin/eshm).
ESHM_COMMAND = pathlib.Path(sys.executable).parent / "eshm"

PROTOCOLS = range(pickle.HIGHEST_PROTOCOL + 1)  # each pickling test tries every one


def run_command(*args, env=None):
    return subprocess.run([str(ESHM_COMMAND), *args], capture_output=True, text=True, timeout=60, env=env)


# --------------------------------------------------------------------------------------------
# Pickling
# --------------------------------------------------------------------------------------------


def test_message_classes_pickle():
    for protocol in PROTOCOLS:
        pose = msg.Pose(position=msg.Vector3(x=1.0, y=-2.5, z=3e9), orientation=msg.Quaternion(z=0.5, w=0.75))
        back = pickle.loads(pickle.dumps(pose, protocol))
        assert type(back) is msg.Pose and back == pose
        assert (back.position.y, back.orientation.w) == (-2.5, 0.75)
        back.position.x = 7.0
        assert pose.position.x == 1.0, "the copy is independent"

        imu = msg.Imu(stamp_ns=2**64 - 1, angular_velocity=msg.Vector3(z=1.5))
        assert pickle.loads(pickle.dumps(imu, protocol)) == imu


def test_nested_values_pickle():
    """A nested message (a view into its parent) pickles as a message of its own; so do
    messages inside containers."""
    for protocol in PROTOCOLS:
        pose = msg.Pose(position=msg.Vector3(x=4.0, y=5.0, z=6.0))
        nested = pose.position
        back = pickle.loads(pickle.dumps(nested, protocol))
        assert type(back) is msg.Vector3 and back == msg.Vector3(x=4.0, y=5.0, z=6.0)
        back.x = 0.0
        assert pose.position.x == 4.0, "unpickled, it is no view into the original parent"

        sample = robot_messages.Sample(stamp_ns=9, points=[msg.Vector3(x=1.0), msg.Vector3(y=2.0)])
        value = {"poses": [pose, msg.Pose()], "twist": (msg.Twist(),), "sample": sample, "imu": msg.Imu()}
        back = pickle.loads(pickle.dumps(value, protocol))
        assert back == value
        assert back["poses"][0].position.z == 6.0 and back["sample"].points[1].y == 2.0
        assert copy.deepcopy(value) == value


def test_standard_values_nested_in_user_messages_pickle():
    """A standard type nested in a user's message (robot_messages.Odometry.velocity, an element
    of Sample.points) is the user module's copy of eshm.msg.Vector3, interchangeable with it:
    it pickles too, and unpickles as an equal eshm.msg.Vector3."""
    for protocol in PROTOCOLS:
        odom = robot_messages.Odometry(velocity=msg.Vector3(x=1.5))
        sample = robot_messages.Sample(points=[msg.Vector3(x=1.0, y=2.0, z=3.0), msg.Vector3()])
        for nested, expected in ((odom.velocity, msg.Vector3(x=1.5)), (sample.points[0], msg.Vector3(x=1.0, y=2.0, z=3.0))):
            back = pickle.loads(pickle.dumps(nested, protocol))
            assert back == expected
            assert type(back).__name__ == "Vector3"


def test_user_message_classes_pickle():
    for protocol in PROTOCOLS:
        s = robot_messages.Sample(
            stamp_ns=2**64 - 1, values=[1.5, 2.5, 3.5], counts=[1, 65535], valid=True, mode=7, small=-128
        )
        s.points = [msg.Vector3(x=-1.0), msg.Vector3(z=2.0)]
        back = pickle.loads(pickle.dumps(s, protocol))
        assert type(back) is robot_messages.Sample and back == s
        assert back.to_bytes() == s.to_bytes()
        assert (back.stamp_ns, back.small, back.mode, back.points[0].x) == (2**64 - 1, -128, 7, -1.0)


@pytest.mark.parametrize("scalar", ["f32", "bool_", "u8", "i64", "f64"])
def test_scalar_types_unpickle_as_the_same_objects(scalar):
    t = getattr(eshm, scalar)
    for protocol in PROTOCOLS:
        assert pickle.loads(pickle.dumps(t, protocol)) is t
        assert pickle.loads(pickle.dumps([t, t], protocol))[1] is t
    assert copy.copy(t) is t and copy.deepcopy(t) is t


def test_a_pickled_scalar_type_still_types_a_topic(isolated, name):
    f32 = pickle.loads(pickle.dumps(eshm.f32))
    with eshm.Publisher(name, f32) as pub, eshm.Subscriber(name, eshm.f32) as sub:
        pub.publish(0.1)
        assert sub.recv(timeout=5) == pytest.approx(0.1, rel=1e-6)
        assert pub.type_name == "f32"


# --------------------------------------------------------------------------------------------
# shm_pub_sub: expiry, waitFor/isUpdated, names
# --------------------------------------------------------------------------------------------


def poll_until_expired(sub, limit=10.0):
    """subscribe() until it says "not fresh" (bounded); returns (value, seconds taken)."""
    start = time.monotonic()
    while True:
        value, ok = sub.subscribe()
        if not ok:
            return value, time.monotonic() - start
        assert time.monotonic() - start < limit, f"still fresh after {limit} s"
        time.sleep(0.001)


def test_data_expiry(isolated, name):
    """Time is what is under test: a value is fresh while younger than the expiry."""
    pub = shm_pub_sub.Publisher(name, 0, 3)
    sub = shm_pub_sub.Subscriber(name, 0)
    assert sub.subscribe()[1] is False, "nothing published yet"
    pub.publish(5)
    sub.set_data_expiry_time_us(10_000_000)
    assert sub.subscribe() == (5, True)
    assert sub.subscribe() == (5, True), "fresh, though already read"
    sub.set_data_expiry_time_us(1)  # 1 µs: stale at once (clocks may be coarse: poll)
    value, _ = poll_until_expired(sub)
    assert value == 5, "an expired subscribe() still returns the newest value"
    sub.set_data_expiry_time_us(0)  # 0: values never expire
    assert sub.subscribe() == (5, True)
    sub.setDataExpiryTime_us(1)  # SHM's name for it
    poll_until_expired(sub)
    pub.publish(6)
    sub.setDataExpiryTime_us(10_000_000)
    assert sub.subscribe() == (6, True), "a new value is fresh again"


def test_default_data_expiry_is_2_s(isolated, name):
    pub = shm_pub_sub.Publisher(name, 0.0, 3)
    sub = shm_pub_sub.Subscriber(name, 0.0)
    pub.publish(1.25)
    published = time.monotonic()
    value, _ = poll_until_expired(sub)
    age = time.monotonic() - published
    assert value == 1.25
    assert 1.9 <= age <= 5.0, age


def test_is_updated_and_wait_for_answer_is_there_an_unread_value(isolated, name):
    pub = shm_pub_sub.Publisher(name, 0, 8)
    sub = shm_pub_sub.Subscriber(name, 0)
    assert sub.is_updated() is False and sub.isUpdated() is False
    assert sub.wait_for(0) is False and sub.waitFor(1000) is False
    pub.publish(1)
    assert sub.is_updated() is True and sub.isUpdated() is True
    assert sub.wait_for(0) is True and sub.waitFor(10) is True
    assert sub.subscribe() == (1, True)
    assert sub.is_updated() is False, "read now"
    assert sub.wait_for(1000) is False
    assert sub.subscribe() == (1, True), "but still fresh"


def test_a_leading_slash_is_ignored(isolated, name):
    pub = eshm.Publisher("/" + name, 0, buffer_num=4)
    sub = eshm.Subscriber(name, 0)
    assert pub.name == name
    pub.publish(11)
    assert sub.recv(timeout=5) == 11
    with pytest.raises(eshm.PublisherExistsError):
        eshm.Publisher(name, 0)  # the same topic
    old = shm_pub_sub.Publisher("/a/x", 0, 3)
    old.publish(3)
    assert shm_pub_sub.Subscriber("a/x", 0).subscribe() == (3, True)
    assert shm_pub_sub.Subscriber("/a/x", 0).subscribe() == (3, True)
    assert [e["name"] for e in eshm.list() if e["name"].endswith("a/x")] == ["a/x"]


def test_the_last_value_outlives_its_publishers_process(spawn, isolated, name):
    p = spawn.code(
        """
        import sys, eshm
        pub = eshm.Publisher(sys.argv[1], 0.0, buffer_num=8)
        for v in (1.5, 2.5, 3.5):
            pub.publish(v)
        print("published", flush=True)
        """,
        name,
    )
    p.finish_ok()
    sub = eshm.Subscriber(name, 0.0)
    assert sub.subscribe() == (3.5, True)
    assert shm_pub_sub.Subscriber(name, 0.0).subscribe() == (3.5, True)
    assert eshm.Subscriber(name, 0.0).latest() == 3.5
    assert eshm.Subscriber(name, 0.0).recv(timeout=5) == 3.5  # history=1: the last value
    [entry] = [e for e in eshm.list() if e["name"] == name]
    assert entry["alive"] is False and entry["published"] == 3
    # The next publisher reclaims the topic.
    with eshm.Publisher(name, 0.0) as pub:
        pub.publish(4.5)
        assert sub.recv(timeout=5) == 4.5


# --------------------------------------------------------------------------------------------
# read_data / write_data
# --------------------------------------------------------------------------------------------


@pytest.fixture
def pair(isolated, name):
    with ESHM(name, role=ESHMRole.MASTER) as m, ESHM(name, role=ESHMRole.SLAVE) as s:
        yield m, s


def test_write_data_read_data_round_trip(pair):
    m, s = pair
    data = {
        "yes": True,
        "no": False,
        "zero": 0,
        "min": -(2**63),
        "max": 2**63 - 1,
        "pi": 3.141592653589793,
        "inf": float("inf"),
        "text": "héllo wörld ✓",
        "empty": "",
        "raw": b"\x00\xff\x10",
        "nothing": b"",
        "k" * 255: 1,
        "ключ": 2,
    }
    m.write_data(data)
    got = s.read_data(timeout_ms=5000, max_items=100)
    assert got == data
    assert list(got) == list(data), "in order"
    assert [type(v) for v in got.values()] == [type(v) for v in data.values()]
    # bytes-like values arrive as bytes; a NaN stays a NaN; an empty mapping is a message.
    m.write_data({"ba": bytearray(b"ab"), "mv": memoryview(b"--cd--")[2:4], "nan": float("nan")})
    got = s.read_data(timeout_ms=5000)
    assert (got["ba"], got["mv"]) == (b"ab", b"cd") and got["nan"] != got["nan"]
    m.write_data({})
    assert s.read_data(timeout_ms=5000) == {}
    # Other mappings than dict.
    from types import MappingProxyType

    m.write_data(MappingProxyType({"a": 1}))
    assert s.read_data(timeout_ms=5000) == {"a": 1}
    # Both directions.
    s.write_data({"back": 1.5})
    assert m.read_data(timeout_ms=5000) == {"back": 1.5}


def test_read_data_max_items_and_timeouts(pair):
    m, s = pair
    m.write_data({f"k{i}": i for i in range(40)})
    m.write_data({"next": True})
    first = s.read_data(timeout_ms=5000)  # max_items=32
    assert first == {f"k{i}": i for i in range(32)}
    assert s.read_data(timeout_ms=5000) == {"next": True}, "the rest of a message is not kept"
    m.write_data({f"k{i}": i for i in range(5)})
    assert s.read_data(timeout_ms=5000, max_items=2) == {"k0": 0, "k1": 1}
    m.write_data({"a": 1})
    assert s.read_data(timeout_ms=5000, max_items=0) == {}
    assert s.try_read() is None, "the whole message was taken"
    with pytest.raises(TimeoutError):
        s.read_data()  # 10 ms
    with pytest.raises(eshm.NoDataError):
        s.read_data(timeout_ms=0)
    m.write(b"not a data message")
    with pytest.raises(ValueError, match="not a write_data message"):
        s.read_data(timeout_ms=5000)


@pytest.mark.parametrize(
    "bad, error",
    [
        ({1: 1}, TypeError),
        ({b"key": 1}, TypeError),
        ({"": 1}, ValueError),
        ({"k" * 256: 1}, ValueError),
        ({"é" * 128: 1}, ValueError),  # 256 bytes of UTF-8
        ({"a": None}, TypeError),
        ({"a": [1, 2]}, TypeError),
        ({"a": {"b": 1}}, TypeError),
        ({"a": 1 + 2j}, TypeError),
        ({"a": 2**63}, OverflowError),
        ({"a": -(2**63) - 1}, OverflowError),
        ({"good": 1, "bad": object()}, TypeError),
    ],
    ids=lambda v: repr(v)[:30] if isinstance(v, dict) else v.__name__,
)
def test_write_data_refuses_bad_keys_and_values(pair, bad, error):
    m, s = pair
    with pytest.raises(error):
        m.write_data(bad)
    assert s.try_read() is None, "nothing was written"
    m.write_data({"after": 1})
    assert s.read_data(timeout_ms=5000) == {"after": 1}


def test_write_data_refuses_a_non_mapping_with_type_error(pair):
    m, s = pair
    for bad in (5, None, "text", [("a", 1)]):
        with pytest.raises(TypeError):
            m.write_data(bad)
    assert s.try_read() is None


# --------------------------------------------------------------------------------------------
# The original's names and values
# --------------------------------------------------------------------------------------------


def test_eshm_error_codes():
    assert issubclass(ESHMError, int)
    assert ESHMError.SUCCESS == 0 and ESHMError.NO_DATA == -9 and ESHMError.TIMEOUT == -10
    assert ESHMError(-11) is ESHMError.MASTER_STALE and ESHMError.ROLE_MISMATCH == -15
    assert [int(e) for e in ESHMError] == list(range(0, -16, -1))
    assert eshm.ESHMError is ESHMError


def test_eshm_config_defaults_open_a_channel(isolated, name):
    config = ESHMConfig(shm_name=name)
    assert dataclasses.asdict(config) == {
        "shm_name": name, "role": ESHMRole.AUTO, "disconnect_behavior": eshm.ESHMDisconnectBehavior.ON_TIMEOUT,
        "stale_threshold_ms": 100, "reconnect_wait_ms": 5000, "reconnect_retry_interval_ms": 100,
        "max_reconnect_attempts": 50, "auto_cleanup": True, "use_threads": True,
    }  # fmt: skip
    with ESHM(**dataclasses.asdict(config)) as first, ESHM(**dataclasses.asdict(config)) as second:
        assert (first.get_role(), second.get_role()) == (ESHMRole.MASTER, ESHMRole.SLAVE)
        first.write(b"configured")
        assert second.read(timeout_ms=5000) == b"configured"
    master = ESHMConfig(name + "/2", ESHMRole.MASTER)  # positional, in the original's order
    with ESHM(**dataclasses.asdict(master)) as m:
        assert m.get_role() is ESHMRole.MASTER


def test_eshm_stats_and_get_stats(pair):
    m, s = pair
    for i in range(3):
        m.write(b"%d" % i)
    assert s.read(timeout_ms=5000) == b"0"
    s.write(b"back")
    stats = m.get_stats()
    original = [f.name for f in dataclasses.fields(ESHMStats)]
    assert list(stats)[:13] == original, "the original 13 keys come first, in order"
    st = ESHMStats.from_dict(stats)
    assert isinstance(st, ESHMStats)
    assert (st.m2s_write_count, st.m2s_read_count, st.s2m_write_count, st.s2m_read_count) == (3, 1, 1, 0)
    assert st.master_pid == st.slave_pid == os.getpid()
    assert st.master_alive is True and st.slave_alive is True and st.stale_threshold == 100
    for key in original:
        assert type(stats[key]) is (bool if key.endswith("_alive") else int), key
    # *_heartbeat_delta: the change since the previous get_stats() of this handle.
    m.write(b"beat")
    again = m.get_stats()
    for side in ("master", "slave"):
        assert again[f"{side}_heartbeat_delta"] == again[f"{side}_heartbeat"] - stats[f"{side}_heartbeat"]
    assert again["master_heartbeat"] > stats["master_heartbeat"], "an operation refreshes the heartbeat"
    # Per handle: the slave's first call counts from zero.
    first = s.get_stats()
    assert first["master_heartbeat_delta"] == first["master_heartbeat"]


def test_star_import_shadows_no_builtin():
    import builtins

    namespace = {}
    exec("from eshm import *", namespace)
    imported = set(namespace) - {"__builtins__"}
    assert "TimeoutError" not in imported and "list" not in imported
    assert not imported & set(dir(builtins)), "no built-in shadowed"
    for wanted in ("ESHM", "ESHMRole", "ESHMError", "ESHMConfig", "ESHMStats", "ESHMDisconnectBehavior",
                   "Publisher", "Subscriber", "shm_pub_sub", "msg", "f32", "bool_", "ClosedError",
                   "NoDataError", "DisconnectedError"):  # fmt: skip
        assert wanted in namespace, wanted
    assert all(hasattr(eshm, n) for n in eshm.__all__)
    # Still there, by attribute: eshm.TimeoutError is a TimeoutError; eshm.list lists.
    assert issubclass(eshm.TimeoutError, TimeoutError) and callable(eshm.list)
    # After the star import, `except TimeoutError` and `list(...)` are still the built-ins.
    exec("from eshm import *\nassert TimeoutError is __import__('builtins').TimeoutError\nassert list('ab') == ['a', 'b']", {})


def test_shm_pub_sub_module():
    from eshm import shm_pub_sub as mod

    assert mod.Publisher is eshm.Publisher and mod.Subscriber is eshm.Subscriber


# --------------------------------------------------------------------------------------------
# eshm.list(), eshm.clean() and the installed command
# --------------------------------------------------------------------------------------------


def test_list_matches_the_command(isolated, name):
    pub = eshm.Publisher(name + "/topic", 0.0, buffer_num=8)
    pub.publish(1.0)
    chan = ESHM(name + "/chan", role=ESHMRole.MASTER)
    listed = {e["name"]: e for e in eshm.list()}
    assert set(listed) == {name + "/topic", name + "/chan"}
    topic, channel = listed[name + "/topic"], listed[name + "/chan"]
    assert (topic["kind"], topic["type"], topic["owner_pid"], topic["alive"]) == ("topic", "f64", os.getpid(), True)
    assert (channel["kind"], channel["owner_pid"], channel["alive"]) == ("channel", os.getpid(), True)
    assert topic["published"] == 1

    run = run_command("list", "--json", env=dict(os.environ))  # the same ESHM_SHM_DIR
    assert run.returncode == 0, run.stderr
    command = {e["name"]: e for e in json.loads(run.stdout)}
    assert set(command) == set(listed)
    for n, entry in listed.items():
        assert set(entry) == set(command[n]), n
        for key in ("kind", "type", "owner_pid", "alive", "state", "path", "message_size", "capacity", "published"):
            assert entry[key] == command[n][key], (n, key)
    chan.close()
    pub.close()


def test_clean_removes_a_dead_processes_topic_and_keeps_a_live_one(spawn, isolated, name):
    spawn.code(
        """
        import sys, eshm
        eshm.Publisher(sys.argv[1], 0, buffer_num=4).publish(1)
        """,
        name + "/dead",
    ).finish_ok()
    live = eshm.Publisher(name + "/live", 0, buffer_num=4)
    live.publish(2)
    chan = ESHM(name + "/chan", role=ESHMRole.MASTER)
    files = {e["name"]: pathlib.Path(e["path"]) for e in eshm.list()}
    assert set(files) == {name + "/dead", name + "/live", name + "/chan"}

    def paths(entries):
        """Paths of clean()'s entries, each a dict with a "path"."""
        return {pathlib.Path(e["path"]) for e in entries}

    dry = eshm.clean(dry_run=True)
    assert set(dry) == {"removed", "kept", "failed", "skipped"}
    assert paths(dry["removed"]) == {files[name + "/dead"]}
    assert all(p.exists() for p in files.values()), "a dry run removes nothing"

    done = eshm.clean()
    assert paths(done["removed"]) == {files[name + "/dead"]}
    assert paths(done["kept"]) >= {files[name + "/live"], files[name + "/chan"]}
    assert all(e["pid"] == os.getpid() for e in done["kept"] if pathlib.Path(e["path"]) in files.values())
    assert done["failed"] == [] and done["skipped"] == []
    assert not files[name + "/dead"].exists()
    assert files[name + "/live"].exists() and files[name + "/chan"].exists()
    sub = eshm.Subscriber(name + "/live", 0, history=0)
    live.publish(3)
    assert sub.recv(timeout=5) == 3, "the live topic still works"
    assert [e["name"] for e in eshm.list()].count(name + "/live") == 1
    chan.close()


def test_clean_leaves_corrupt_files_unless_asked(isolated):
    junk = isolated / "eshm.topic.junk"
    junk.write_bytes(b"not a segment" * 100)
    [entry] = eshm.list()
    assert entry["name"] == "junk" and entry["problem"]
    eshm.clean()
    assert junk.exists()
    done = eshm.clean(include_corrupt=True)
    assert not junk.exists()
    assert len(done["removed"]) == 1


def test_the_command_is_installed_and_helps():
    assert ESHM_COMMAND.exists(), ESHM_COMMAND
    run = run_command("--help")
    assert run.returncode == 0, run.stderr
    for sub in ("list", "info", "echo", "hz", "pub", "clean"):
        assert sub in run.stdout
    assert run_command("--version").returncode == 0
    assert run_command("no-such-command").returncode == 2


def test_the_command_sees_this_processes_topic(isolated, name):
    with eshm.Publisher(name, 0, buffer_num=4) as pub:
        pub.publish(41)
        run = run_command("info", name, env=dict(os.environ))
        assert run.returncode == 0, run.stderr
        assert name in run.stdout


# --------------------------------------------------------------------------------------------
# When a slave gives up on its master (DisconnectedError), and when it never does
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "limits, gives_up",
    [
        (dict(max_reconnect_attempts=3, reconnect_wait_ms=0), True),
        (dict(max_reconnect_attempts=0, reconnect_wait_ms=200), True),
        (dict(max_reconnect_attempts=0, reconnect_wait_ms=0), False),
    ],
    ids=["3 attempts", "200 ms", "unlimited"],
)
def test_when_a_slave_gives_up_on_its_master(isolated, name, limits, gives_up):
    master = ESHM(name, role=ESHMRole.MASTER)
    slave = ESHM(name, role=ESHMRole.SLAVE, reconnect_retry_interval_ms=10, **limits)
    master.write(b"before")
    master.close()
    assert slave.read(timeout_ms=5000) == b"before", "what the master wrote before it went comes first"
    assert slave.try_read() is None
    if gives_up:
        start = time.monotonic()
        with pytest.raises(eshm.DisconnectedError) as err:
            slave.read(timeout_ms=20_000)
        assert isinstance(err.value, RuntimeError)
        assert time.monotonic() - start < 10, "gave up when the limit was reached, not at the read's timeout"
    else:
        for _ in range(5):  # 0.5 s: longer than either limit above
            with pytest.raises(TimeoutError) as err:
                slave.read(timeout_ms=100)
            assert not isinstance(err.value, eshm.DisconnectedError)
        with ESHM(name, role=ESHMRole.MASTER) as again:
            again.write(b"after")
            assert slave.read(timeout_ms=10_000) == b"after"
            slave.write(b"ack")
            assert again.read(timeout_ms=10_000) == b"ack"
