"""Every exception class the module defines: its bases (as the README and the package docstring
state them), and each one produced by real calls; every argument of the wrong type or out of
range raises the module's exception, naming the parameter."""

import builtins
import math
import os
import pathlib
import re
import threading

import pytest

import eshm
import robot_messages
from conftest import ROOT
from eshm import ESHM, ESHMDisconnectBehavior, ESHMRole, msg

# Each class's direct bases, by name: the module's own, or a built-in (builtins.X).
BASES = {
    "Error": ("builtins.Exception",),
    "TimeoutError": ("Error", "builtins.TimeoutError"),
    "NoDataError": ("TimeoutError", "builtins.RuntimeError"),
    "InvalidNameError": ("Error", "builtins.ValueError"),
    "InvalidArgumentError": ("Error", "builtins.ValueError"),
    "OutOfRangeError": ("InvalidArgumentError", "builtins.OverflowError"),
    "ArgumentTypeError": ("Error", "builtins.TypeError"),
    "TypeMismatchError": ("Error", "builtins.ValueError"),
    "InvalidMessageError": ("Error", "builtins.ValueError"),
    "MessageTooLargeError": ("Error", "builtins.ValueError", "builtins.RuntimeError"),
    "BufferTooSmallError": ("Error", "builtins.ValueError", "builtins.RuntimeError"),
    "PublisherExistsError": ("Error", "builtins.RuntimeError"),
    "RoleTakenError": ("Error", "builtins.RuntimeError"),
    "NotFoundError": ("Error", "builtins.RuntimeError"),
    "DisconnectedError": ("Error", "builtins.RuntimeError"),
    "FullError": ("Error", "builtins.RuntimeError"),
    "CorruptSegmentError": ("Error", "builtins.RuntimeError"),
    "SegmentPermissionError": ("Error", "builtins.RuntimeError"),
    "SegmentIOError": ("Error", "builtins.RuntimeError"),
    "ClosedError": ("Error", "builtins.RuntimeError"),
    "ServerExistsError": ("Error", "builtins.RuntimeError"),
    "TooManyClientsError": ("Error", "builtins.RuntimeError"),
    "ServerGoneError": ("Error", "builtins.RuntimeError"),
    "NoServerError": ("Error", "builtins.RuntimeError"),
    "TooManyCallsError": ("Error", "builtins.RuntimeError"),
    "CallDroppedError": ("Error", "builtins.RuntimeError"),
    "UnknownGoalError": ("Error", "builtins.ValueError"),
    "MessageTypeError": ("Error", "builtins.TypeError"),
}


def exception_classes():
    """Every exception class of the native module, by name."""
    return {n: v for n, v in vars(eshm._eshm).items() if isinstance(v, type) and issubclass(v, BaseException)}


def base(name):
    return getattr(builtins, name[len("builtins.") :]) if name.startswith("builtins.") else getattr(eshm, name)


def test_every_exception_class_and_its_bases():
    classes = exception_classes()
    assert set(classes) == set(BASES), "a class was added or removed: state it here, in the README and the docstring"
    for n, cls in classes.items():
        assert cls.__bases__ == tuple(map(base, BASES[n])), n
        assert issubclass(cls, eshm.Error) and cls.__module__ == "eshm", n
        assert getattr(eshm, n) is cls, n
        assert n in eshm.__all__ or n == "TimeoutError", n  # eshm.TimeoutError must not shadow the built-in
        assert cls.__doc__, n


def builtin_kinds(cls):
    """The built-in exceptions `cls` is, most specific only (`NoDataError`: TimeoutError and
    RuntimeError, not OSError or Exception)."""
    found = [c for c in cls.__mro__ if c.__module__ == "builtins" and c not in (Exception, BaseException, object)]
    return {c.__name__ for c in found if not any(o is not c and issubclass(o, c) for o in found)}


def documented(text):
    """{class: {built-in bases}} from a table of the docs: a row starts with the class name,
    followed by the built-in bases (comma-separated)."""
    kinds = r"(?:TimeoutError|ValueError|RuntimeError|TypeError|OverflowError)"
    rows = re.findall(rf"^\W*(\w+Error)`?\s*\|?\s*({kinds}(?:, {kinds})*)\b", text, re.M)
    return {n: set(b.split(", ")) for n, b in rows}


@pytest.mark.parametrize("where", ["README", "docstring"])
def test_the_docs_state_the_bases(where):
    if where == "README":
        text = (ROOT / "README.md").read_text()
        text = text[text.index("## Python") :]
        text = text[: text.index("\n## ", 1)]
    else:
        text = eshm.__doc__
    expected = {n: builtin_kinds(c) for n, c in exception_classes().items() if n != "Error"}
    assert documented(text) == expected


# --------------------------------------------------------------------------------------------
# Each class from real calls
# --------------------------------------------------------------------------------------------


def raised(call):
    """The exception `call()` raises (fails if it raises none)."""
    try:
        call()
    except Exception as e:  # noqa: BLE001 (the test checks its class)
        return e
    pytest.fail("raised nothing")


def segment_path(name):
    [entry] = [e for e in eshm.list() if e["name"] == name]
    return entry["path"]


def plant(path, old, new):
    """Replaces the one occurrence of `old` in the file by `new` (behind eshm's back)."""
    data = pathlib.Path(path).read_bytes()
    assert data.count(old) == 1, (old, data.count(old))
    with open(path, "r+b") as f:
        f.seek(data.index(old))
        f.write(new)


def invalid_bool(name):
    """A `bool` topic whose newest message holds 2: its byte is the one that followed the
    values published into its only slot (True, False, True), which no counter does."""
    pub = eshm.Publisher(name, False, buffer_num=1)
    path = segment_path(name)
    snapshots = []
    for value in (True, False, True):
        pub.publish(value)
        snapshots.append(pathlib.Path(path).read_bytes())
    [offset] = [i for i in range(len(snapshots[0])) if [s[i] for s in snapshots] == [1, 0, 1]]
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(b"\x02")
    return eshm.Subscriber(name, False).recv(timeout=5)


def invalid_enum(name):
    """A message whose enum field holds a value that is not one of its variants."""
    pub = eshm.Publisher(name, robot_messages.BatteryState)
    sent = robot_messages.BatteryState(stamp_ns=0x1122334455667788, voltage=24.5, supply=1)
    pub.publish(sent)
    good = sent.to_bytes()
    sent.supply = 2
    [at] = [i for i, (a, b) in enumerate(zip(good, sent.to_bytes())) if a != b]
    plant(segment_path(name), good, good[:at] + b"\x07" + good[at + 1 :])
    return eshm.Subscriber(name, robot_messages.BatteryState).recv(timeout=5)


def full(name):
    master = ESHM(name, role=ESHMRole.MASTER, max_message=64, capacity=1024)
    while True:
        master.try_write(b"x" * 64)


def corrupt(name):
    file_name = "eshm.topic." + name.replace("%", "%25").replace("/", "%2F")  # as eshm names it
    (pathlib.Path(os.environ["ESHM_SHM_DIR"]) / file_name).write_bytes(b"not a segment" * 100)
    eshm.Subscriber(name, 0.0)


def buffer_too_small(name):
    master = ESHM(name, role=ESHMRole.MASTER)
    master.write(b"x" * 11)
    ESHM(name, role=ESHMRole.SLAVE).read(buffer_size=10)


def writable_by_others(name):
    pub = eshm.Publisher(name, 0.0, mode=0o666)
    assert os.stat(segment_path(name)).st_mode & 0o777 == 0o666
    try:
        eshm.Subscriber(name, 0.0)
    finally:
        with eshm.Subscriber(name, 0.0, allow_other_owners=True) as allowed:
            pub.publish(1.5)
            assert allowed.recv(timeout=5) == 1.5, "allow_other_owners=True accepts it"


def not_a_directory(name, monkeypatch, tmp_path):
    f = tmp_path / "a-file"
    f.write_text("")
    monkeypatch.setenv("ESHM_SHM_DIR", str(f))
    eshm.Publisher(name, 0.0)


def disconnected(name):
    master = ESHM(name, role=ESHMRole.MASTER, disconnect_behavior=ESHMDisconnectBehavior.IMMEDIATELY)
    ESHM(name, role=ESHMRole.SLAVE).close()
    master.try_read()


def closed(name):
    pub = eshm.Publisher(name, 0)
    pub.close()
    pub.publish(1)


def server_gone(name, child):
    """A call whose server process is killed while it holds the request."""
    server = child(
        """
        import sys, time, eshm
        server = eshm.ServiceServer(sys.argv[1], eshm.u8, eshm.u8)
        print("ready", flush=True)
        request = server.recv()
        print("holding", flush=True)
        time.sleep(3600)
        """,
        name,
    )
    server.expect("ready")
    client = eshm.ServiceClient(name, eshm.u8, eshm.u8)
    threading.Thread(target=lambda: (server.expect("holding"), server.kill()), daemon=True).start()
    client.call(1, timeout=60.0)


def call_dropped(name):
    server = eshm.ServiceServer(name, eshm.u8, eshm.u8, lambda x: 1 // 0)  # the handler fails
    try:
        eshm.ServiceClient(name, eshm.u8, eshm.u8).call(1, timeout=60.0)
    finally:
        server.close()


def too_many_calls(name):
    server = eshm.ActionServer(name, eshm.u8, eshm.u8, eshm.u8, max_in_flight=1)
    client = eshm.ActionClient(name, eshm.u8, eshm.u8, eshm.u8)
    client.send_goal(1)
    try:
        client.send_goal(2)
    finally:
        server.close()


def unknown_goal(name):
    server = eshm.ActionServer(name, eshm.u8, eshm.u8, eshm.u8)
    try:
        eshm.ActionClient(name, eshm.u8, eshm.u8, eshm.u8).status(12345)
    finally:
        server.close()


def padded_message_class(name):
    class Padded(eshm.Message):
        valid: bool
        stamp_ns: eshm.u64


PRODUCERS = {
    "TimeoutError": lambda n: eshm.Subscriber(n, 0).recv(timeout=0.01),
    "NoDataError": lambda n: ESHM(n, role=ESHMRole.MASTER).read(timeout_ms=0),
    "InvalidNameError": lambda n: eshm.Publisher("", 0),
    "InvalidArgumentError": lambda n: eshm.Publisher(n, 0, buffer_num=0),
    "OutOfRangeError": lambda n: eshm.Publisher(n, eshm.u8).publish(256),
    "ArgumentTypeError": lambda n: eshm.Publisher(n, 0).publish(1.5),
    "TypeMismatchError": lambda n: (eshm.Publisher(n, 0.0), eshm.Subscriber(n, msg.Pose)),
    "InvalidMessageError": invalid_bool,
    "MessageTooLargeError": lambda n: ESHM(n, role=ESHMRole.MASTER, max_message=10).write(b"x" * 11),
    "BufferTooSmallError": buffer_too_small,
    "PublisherExistsError": lambda n: (eshm.Publisher(n, 0), eshm.Publisher(n, 0)),
    "RoleTakenError": lambda n: (ESHM(n, role=ESHMRole.MASTER), ESHM(n, role=ESHMRole.MASTER)),
    "NotFoundError": lambda n: ESHM(n, role=ESHMRole.SLAVE, max_reconnect_attempts=1, reconnect_retry_interval_ms=1),
    "DisconnectedError": disconnected,
    "FullError": full,
    "CorruptSegmentError": corrupt,
    "SegmentPermissionError": writable_by_others,
    "SegmentIOError": not_a_directory,
    "ClosedError": closed,
    "ServerExistsError": lambda n: (eshm.ServiceServer(n, eshm.u8, eshm.u8), eshm.ServiceServer(n, eshm.u8, eshm.u8)),
    "TooManyClientsError": lambda n: (
        eshm.ServiceServer(n, eshm.u8, eshm.u8, max_clients=1),
        eshm.ServiceClient(n, eshm.u8, eshm.u8),
        eshm.ServiceClient(n, eshm.u8, eshm.u8),
    ),
    "ServerGoneError": server_gone,
    "NoServerError": lambda n: eshm.ServiceClient(n, eshm.u8, eshm.u8, wait_for_server=False).call(1, timeout=60.0),
    "TooManyCallsError": too_many_calls,
    "CallDroppedError": call_dropped,
    "UnknownGoalError": unknown_goal,
    "MessageTypeError": padded_message_class,
}


@pytest.mark.parametrize("cls", list(PRODUCERS))
def test_each_exception_comes_from_real_calls(isolated, name, monkeypatch, tmp_path, child, cls):
    produce = PRODUCERS[cls]
    extra = {"monkeypatch": monkeypatch, "tmp_path": tmp_path, "child": child}
    wanted = produce.__code__.co_varnames[1 : produce.__code__.co_argcount]
    err = raised(lambda: produce(name, **{k: extra[k] for k in wanted}))
    assert type(err) is getattr(eshm, cls), repr(err)


def test_every_class_but_the_base_has_a_producer():
    assert set(PRODUCERS) == set(exception_classes()) - {"Error"}


def test_an_invalid_enum_value_received_is_an_invalid_message(isolated, name):
    err = raised(lambda: invalid_enum(name))
    assert type(err) is eshm.InvalidMessageError, repr(err)
    assert name in str(err) and "holds 7" in str(err)


def test_an_invalid_bool_received_is_an_invalid_message_naming_the_topic(isolated, name):
    err = raised(lambda: invalid_bool(name))
    assert type(err) is eshm.InvalidMessageError and name in str(err) and "holds 2" in str(err), repr(err)


def test_a_segment_of_another_user_is_refused_unless_allowed(isolated, name):
    pub = eshm.Publisher(name, 0.0)
    pub.publish(2.5)
    pub.close()
    if os.geteuid() != 0:
        pytest.skip("needs root (to give a file to another user): the test command runs as root")
    os.chown(segment_path(name), 4242, -1)
    err = raised(lambda: eshm.Subscriber(name, 0.0))
    assert type(err) is eshm.SegmentPermissionError and "uid 4242" in str(err), repr(err)
    with eshm.Subscriber(name, 0.0, allow_other_owners=True) as sub:
        assert sub.subscribe() == (2.5, True)


def test_read_data_of_another_message_is_an_invalid_message(isolated, name):
    master = ESHM(name, role=ESHMRole.MASTER)
    slave = ESHM(name, role=ESHMRole.SLAVE)
    master.write(b"plain bytes")
    err = raised(lambda: slave.read_data(timeout_ms=5000))
    assert type(err) is eshm.InvalidMessageError and "not a write_data message" in str(err), repr(err)


# --------------------------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------------------------


class BadSchema:
    SCHEMA_BYTES = b"not a schema"


class SchemaNotBytes:
    SCHEMA_BYTES = 42


@pytest.fixture
def objects(isolated, name):
    """An open publisher, subscriber and channel pair for the calls below."""
    pub = eshm.Publisher(name + "/t", 0)
    small = eshm.Publisher(name + "/u8", eshm.u8)
    pose = eshm.Publisher(name + "/pose", msg.Pose)
    sub = eshm.Subscriber(name + "/t", 0)
    master = ESHM(name + "/c", role=ESHMRole.MASTER)
    slave = ESHM(name + "/c", role=ESHMRole.SLAVE)
    return {"name": name, "pub": pub, "small": small, "pose": pose, "sub": sub, "master": master, "slave": slave}


# (call, the parameter PyO3's note names, or None where the value is not a parameter's)
WRONG_TYPES = {
    "Publisher(name=5)": (lambda o: eshm.Publisher(5, 0), "name"),
    "Publisher(default_value='text')": (lambda o: eshm.Publisher(o["name"], "text"), None),
    "Publisher(default_value=SchemaNotBytes)": (lambda o: eshm.Publisher(o["name"], SchemaNotBytes), None),
    "Publisher(buffer_num='3')": (lambda o: eshm.Publisher(o["name"], 0, "3"), "buffer_num"),
    "Publisher(mode='600')": (lambda o: eshm.Publisher(o["name"], 0, mode="600"), "mode"),
    "Publisher.publish(1.5) on an int topic": (lambda o: o["pub"].publish(1.5), None),
    "Publisher.publish(Twist) on a Pose topic": (lambda o: o["pose"].publish(msg.Twist()), None),
    "Subscriber(name=b'x')": (lambda o: eshm.Subscriber(b"x", 0), "name"),
    "Subscriber(default_value=None)": (lambda o: eshm.Subscriber(o["name"], None), None),
    "Subscriber(wait=1)": (lambda o: eshm.Subscriber(o["name"], 0, wait=1), "wait"),
    "Subscriber(history='1')": (lambda o: eshm.Subscriber(o["name"], 0, history="1"), "history"),
    "Subscriber(allow_other_owners=1)": (lambda o: eshm.Subscriber(o["name"], 0, allow_other_owners=1), "allow_other_owners"),
    "Subscriber.recv(timeout='1')": (lambda o: o["sub"].recv(timeout="1"), "timeout"),
    "Subscriber.wait_for('1')": (lambda o: o["sub"].wait_for("1"), "timeout_us"),
    "Subscriber.waitFor(1.0)": (lambda o: o["sub"].waitFor(1.0), "timeout_us"),
    "Subscriber.set_data_expiry_time_us('1')": (lambda o: o["sub"].set_data_expiry_time_us("1"), "expiry_us"),
    "Subscriber.setDataExpiryTime_us(None)": (lambda o: o["sub"].setDataExpiryTime_us(None), "expiry_us"),
    "ESHM(shm_name=5)": (lambda o: ESHM(5), "shm_name"),
    "ESHM(role='master')": (lambda o: ESHM(o["name"], role="master"), None),
    "ESHM(disconnect_behavior=1.0)": (lambda o: ESHM(o["name"], disconnect_behavior=1.0), None),
    "ESHM(stale_threshold_ms='1')": (lambda o: ESHM(o["name"], stale_threshold_ms="1"), "stale_threshold_ms"),
    "ESHM(reconnect_wait_ms=1.5)": (lambda o: ESHM(o["name"], reconnect_wait_ms=1.5), "reconnect_wait_ms"),
    "ESHM(reconnect_retry_interval_ms=None)": (lambda o: ESHM(o["name"], reconnect_retry_interval_ms=None), "reconnect_retry_interval_ms"),
    "ESHM(max_reconnect_attempts='1')": (lambda o: ESHM(o["name"], max_reconnect_attempts="1"), "max_reconnect_attempts"),
    "ESHM(auto_cleanup=1)": (lambda o: ESHM(o["name"], auto_cleanup=1), "auto_cleanup"),
    "ESHM(use_threads='yes')": (lambda o: ESHM(o["name"], use_threads="yes"), "use_threads"),
    "ESHM(capacity='1')": (lambda o: ESHM(o["name"], capacity="1"), "capacity"),
    "ESHM(max_message=1.0)": (lambda o: ESHM(o["name"], max_message=1.0), "max_message"),
    "ESHM(wait=None)": (lambda o: ESHM(o["name"], wait=None), "wait"),
    "ESHM.write(5)": (lambda o: o["master"].write(5), None),
    "ESHM.write('text')": (lambda o: o["master"].write("text"), None),
    "ESHM.try_write([1])": (lambda o: o["master"].try_write([1]), None),
    "ESHM.read(buffer_size='1')": (lambda o: o["slave"].read(buffer_size="1"), "buffer_size"),
    "ESHM.read(timeout_ms=0.5)": (lambda o: o["slave"].read(timeout_ms=0.5), "timeout_ms"),
    "ESHM.try_read('1')": (lambda o: o["slave"].try_read("1"), "buffer_size"),
    "ESHM.write_data(5)": (lambda o: o["master"].write_data(5), None),
    "ESHM.write_data({1: 1})": (lambda o: o["master"].write_data({1: 1}), None),
    "ESHM.write_data({'a': None})": (lambda o: o["master"].write_data({"a": None}), None),
    "ESHM.read_data(timeout_ms='1')": (lambda o: o["slave"].read_data(timeout_ms="1"), "timeout_ms"),
    "ESHM.read_data(max_items=None)": (lambda o: o["slave"].read_data(max_items=None), "max_items"),
    "schema_fingerprint('text')": (lambda o: eshm.schema_fingerprint("text"), "encoded"),
    "schema_definition(5)": (lambda o: eshm.schema_definition(5), "encoded"),
    "clean(dry_run=1)": (lambda o: eshm.clean(dry_run=1), "dry_run"),
    "clean(include_corrupt='yes')": (lambda o: eshm.clean(include_corrupt="yes"), "include_corrupt"),
    "u8('1')": (lambda o: eshm.u8("1"), None),
    "bool_(1)": (lambda o: eshm.bool_(1), None),
}


@pytest.mark.parametrize("call", list(WRONG_TYPES))
def test_an_argument_of_the_wrong_type_is_an_argument_type_error(objects, call):
    make, parameter = WRONG_TYPES[call]
    err = raised(lambda: make(objects))
    assert type(err) is eshm.ArgumentTypeError, repr(err)
    assert isinstance(err, TypeError)
    if parameter is not None:
        assert f"while processing '{parameter}'" in getattr(err, "__notes__", []), err.__notes__


OUT_OF_RANGE = {
    "Publisher(buffer_num=-1)": (lambda o: eshm.Publisher(o["name"], 0, -1), "buffer_num"),
    "Publisher(mode=-1)": (lambda o: eshm.Publisher(o["name"], 0, mode=-1), "mode"),
    "Publisher.publish(256) on an eshm.u8 topic": (lambda o: o["small"].publish(256), None),
    "Publisher.publish(2**63) on an int topic": (lambda o: o["pub"].publish(2**63), None),
    "Subscriber(history=-1)": (lambda o: eshm.Subscriber(o["name"], 0, history=-1), "history"),
    "Subscriber.wait_for(-1)": (lambda o: o["sub"].wait_for(-1), "timeout_us"),
    "Subscriber.set_data_expiry_time_us(2**64)": (lambda o: o["sub"].set_data_expiry_time_us(2**64), "expiry_us"),
    "ESHM(max_reconnect_attempts=2**32)": (lambda o: ESHM(o["name"], max_reconnect_attempts=2**32), "max_reconnect_attempts"),
    "ESHM(capacity=-1)": (lambda o: ESHM(o["name"], capacity=-1), "capacity"),
    "ESHM(role=2**64)": (lambda o: ESHM(o["name"], role=2**64), None),
    "ESHM.read(timeout_ms=-1)": (lambda o: o["slave"].read(timeout_ms=-1), "timeout_ms"),
    "ESHM.write_data({'a': 2**63})": (lambda o: o["master"].write_data({"a": 2**63}), None),
    "u8(-1)": (lambda o: eshm.u8(-1), None),
}


@pytest.mark.parametrize("call", list(OUT_OF_RANGE))
def test_an_integer_out_of_range_is_an_out_of_range_error(objects, call):
    make, parameter = OUT_OF_RANGE[call]
    err = raised(lambda: make(objects))
    assert type(err) is eshm.OutOfRangeError, repr(err)
    assert isinstance(err, OverflowError) and isinstance(err, ValueError)
    if parameter is not None:
        assert f"while processing '{parameter}'" in getattr(err, "__notes__", []), err.__notes__


INVALID = {
    "Publisher(buffer_num=0)": lambda o: eshm.Publisher(o["name"], 0, 0),
    "Publisher(default_value=BadSchema)": lambda o: eshm.Publisher(o["name"], BadSchema),
    "Subscriber(wait='bogus')": lambda o: eshm.Subscriber(o["name"], 0, wait="bogus"),
    "Subscriber.recv(timeout=-1)": lambda o: o["sub"].recv(timeout=-1),
    "Subscriber.recv(timeout=nan)": lambda o: o["sub"].recv(timeout=math.nan),
    "ESHM(role=7)": lambda o: ESHM(o["name"], role=7),
    "ESHM(disconnect_behavior=-1)": lambda o: ESHM(o["name"], disconnect_behavior=-1),
    "ESHM(capacity=10)": lambda o: ESHM(o["name"], capacity=10),
    "ESHM(wait='later')": lambda o: ESHM(o["name"], wait="later"),
    "ESHM.write_data({'': 1})": lambda o: o["master"].write_data({"": 1}),
    "ESHM.write_data({'k' * 256: 1})": lambda o: o["master"].write_data({"k" * 256: 1}),
    "schema_fingerprint(b'xx')": lambda o: eshm.schema_fingerprint(b"xx"),
}


@pytest.mark.parametrize("call", list(INVALID))
def test_an_argument_out_of_range_is_an_invalid_argument_error(objects, call):
    err = raised(lambda: INVALID[call](objects))
    assert type(err) is eshm.InvalidArgumentError, repr(err)


def test_a_huge_read_buffer_allocates_no_more_than_a_message(spawn, name):
    # In a child: allocating 2**62 bytes would abort the process.
    p = spawn.code(
        """
        import sys, eshm
        from eshm import ESHM, ESHMRole
        master = ESHM(sys.argv[1], role=ESHMRole.MASTER)
        slave = ESHM(sys.argv[1], role=ESHMRole.SLAVE)
        master.write(b"fits")
        print(slave.read(buffer_size=2**62, timeout_ms=5000), slave.try_read(2**62))
        master.write(b"x" * 100)
        try:
            slave.read(buffer_size=99, timeout_ms=5000)
        except eshm.BufferTooSmallError as e:
            print(type(e).__name__)
        print(slave.read(buffer_size=100) == b"x" * 100)
        """,
        name,
    )
    p.finish_ok()
    assert p.lines == ["b'fits' None", "BufferTooSmallError", "True"], p.report()


def test_try_write_raises_full_error_and_writes_nothing(isolated, name):
    master = ESHM(name, role=ESHMRole.MASTER, max_message=64, capacity=1024)
    slave = ESHM(name, role=ESHMRole.SLAVE)
    written = []
    while True:
        data = b"%03d" % len(written)
        try:
            master.try_write(memoryview(bytearray(data)))
        except eshm.FullError:
            break
        written.append(data)
    assert 0 < len(written) < 1024 // 3, len(written)
    assert master.get_stats()["m2s_write_count"] == len(written), "the failed try wrote nothing"
    assert slave.read() == written[0]
    master.try_write(b"after")  # room again
    assert [slave.read() for _ in written[1:]] + [slave.read()] == written[1:] + [b"after"]
