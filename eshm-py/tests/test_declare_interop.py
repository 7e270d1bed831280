"""Message types declared in Python and the Rust derive of the same structs on one topic, between
real processes (the `declared` example, examples/declared.rs): 10,000 messages each way, every
one checked field by field; a declared type that differs is refused naming the field."""

import subprocess
import sys

import numpy as np
import pytest

import eshm
from conftest import ROOT
from eshm import msg

COUNT = 10_000


class Mode(eshm.Enum, repr=eshm.u8):
    Idle = 0
    Streaming = 1
    Fault = 255


class Imu(eshm.Message):
    stamp_ns: eshm.u64
    accel: eshm.Array(eshm.f32, 3)
    gyro: eshm.Array(eshm.f32, 3)
    valid: bool
    mode: Mode
    _pad: eshm.Array(eshm.u8, 6)


class Track(eshm.Message):
    pose: msg.Pose
    imus: eshm.Array(Imu, 2)
    grid: eshm.Array(eshm.i16, (2, 3))
    seq: eshm.u32


MODES = [Mode.Idle, Mode.Streaming, Mode.Fault]


def track(i):
    """The message `i` of examples/declared.rs, built in Python."""
    t = Track(seq=i, grid=[[i - 5000 + 3 * r + c for c in range(3)] for r in range(2)])
    t.pose.position.x, t.pose.position.y, t.pose.position.z = float(i), -float(i), 0.5
    t.pose.orientation.w = 1.0
    t.imus = [
        Imu(
            stamp_ns=(1 << 40) + 2 * i + k,
            accel=[i, k, -1.5],
            gyro=[0.25, i % 7, k],
            valid=(i + k) % 2 == 0,
            mode=MODES[(i + k) % 3],
        )
        for k in range(2)
    ]
    return t


def check(t, i):
    """Every field of a received `Track` against message `i`, read through the accessors (not
    only compared as bytes)."""
    assert t.seq == i
    assert (t.pose.position.x, t.pose.position.y, t.pose.position.z) == (i, -i, 0.5)
    assert (t.pose.orientation.x, t.pose.orientation.w) == (0.0, 1.0)
    assert t.grid.tolist() == [[i - 5000 + 3 * r + c for c in range(3)] for r in range(2)]
    for k, imu in enumerate(t.imus):
        assert imu.stamp_ns == (1 << 40) + 2 * i + k
        assert imu.accel.tolist() == [float(np.float32(i)), k, -1.5]
        assert imu.gyro.tolist() == [0.25, i % 7, k]
        assert imu.valid is ((i + k) % 2 == 0)
        assert imu.mode is MODES[(i + k) % 3]
        assert imu._pad.tolist() == [0] * 6


@pytest.fixture(scope="session")
def declared_binary():
    """The Rust `declared` example (built if missing)."""
    exe = ROOT / "target" / "debug" / "examples" / "declared"
    subprocess.run(["cargo", "build", "--quiet", "-p", "eshm-examples", "--example", "declared"], cwd=ROOT, check=True)
    assert exe.exists(), exe
    return exe


def run_rust(child, binary, *args):
    return child("import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:]))", binary, *args)


def test_the_derive_and_the_declared_classes_have_the_same_fingerprints(declared_binary):
    out = subprocess.run([declared_binary, "fingerprint"], capture_output=True, text=True, check=True).stdout
    rust = dict(line.split() for line in out.splitlines())
    assert rust == {c.__name__: f"{c.FINGERPRINT:#018x}" for c in (Mode, Imu, Track)}


def test_rust_publishes_python_receives_every_message(name, declared_binary, child):
    rust = run_rust(child, declared_binary, "publish", name, COUNT)
    rust.expect(r"^ready")
    sub = eshm.Subscriber(name, Track, history=0)
    rust.expect(r"^published")
    received = 0
    while (t := sub.try_recv()) is not None:
        check(t, received)
        received += 1
    assert (received, sub.lost) == (COUNT, 0)
    rust.send("done")
    rust.finish_ok()


def test_python_publishes_rust_receives_every_message(name, declared_binary, child):
    pub = eshm.Publisher(name, Track, buffer_num=COUNT)  # the ring holds them all: none lost
    rust = run_rust(child, declared_binary, "receive", name, COUNT)
    rust.expect(r"^ready")
    for i in range(COUNT):
        pub.publish(track(i))
    rust.finish_ok()
    assert rust.lines[-1] == f"received {COUNT}", rust.report()


def test_the_python_messages_are_the_rust_ones_read_back(name, declared_binary, child):
    # `check` itself is checked: a message built by `track` passes it, a changed one fails it.
    t = track(7)
    check(t, 7)
    t.imus[1].gyro[2] = 5.0
    with pytest.raises(AssertionError):
        check(t, 7)


def test_a_declared_type_that_differs_is_a_type_mismatch_naming_the_field(name, declared_binary, child):
    class Track(eshm.Message):  # noqa: F811 (the same name, one field of another type)
        pose: msg.Pose
        imus: eshm.Array(Imu, 2)
        grid: eshm.Array(eshm.i16, (2, 3))
        seq: eshm.i32

    rust = run_rust(child, declared_binary, "publish", name, 1)
    rust.expect(r"^ready")
    with pytest.raises(eshm.TypeMismatchError) as err:
        eshm.Subscriber(name, Track)
    assert "`seq`" in str(err.value) and "`Track`" in str(err.value), str(err.value)
    right = eshm.Subscriber(name, globals()["Track"])  # the right type attaches, and the publisher goes on
    rust.expect(r"^published")
    check(right.recv(timeout=60), 0)
    rust.send("done")
    rust.finish_ok()


def test_the_example_script_logs_every_message_with_the_rust_fingerprint(name, declared_binary):
    script = ROOT / "examples" / "python" / "declared_messages.py"
    run = subprocess.run([sys.executable, script, "--name", name, "--count", "300"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    rust = subprocess.run([declared_binary, "fingerprint"], capture_output=True, text=True, check=True).stdout
    imu = dict(line.split() for line in rust.splitlines())["Imu"]
    lines = run.stdout.splitlines()
    assert f"fingerprint {imu}, 40 bytes" in lines, run.stdout
    assert lines[-3:] == ["received 300, lost 0", "last stamp 299000000 ns, mean gyro z 1.495", "modes ['Streaming']"]


def test_an_enum_class_is_a_topic_type_both_ways_with_rust(name, declared_binary, child):
    # Rust publishes `Publisher<Mode>`; Python subscribes with the declared `Mode`.
    rust = run_rust(child, declared_binary, "modes", name, 300)
    rust.expect(r"^ready")
    sub = eshm.Subscriber(name, Mode, history=0)
    rust.expect(r"^published")
    got = []
    while (m := sub.try_recv()) is not None:
        got.append(m)
    assert got == [MODES[i % 3] for i in range(300)] and all(type(m) is Mode for m in got)
    rust.send("done")
    rust.finish_ok()
    # Python publishes members (or their values); Rust receives them as `Mode`.
    pub = eshm.Publisher(name + "/back", Mode, buffer_num=300)
    rust = run_rust(child, declared_binary, "receive-modes", name + "/back", 300)
    rust.expect(r"^ready")
    for i in range(300):
        pub.publish(MODES[i % 3] if i % 2 else int(MODES[i % 3]))
    rust.finish_ok()
    assert rust.lines[-1] == "received 300", rust.report()


def test_an_enum_topic_refuses_what_is_not_one_of_its_values(name):
    pub = eshm.Publisher(name, Mode)
    sub = eshm.Subscriber(name, Mode)
    assert sub.subscribe() == (False, Mode.Idle), "the default is the first variant"
    with pytest.raises(ValueError, match="7 is not a valid Mode"):
        pub.publish(7)
    for wrong in (True, 1.0, "Idle"):
        with pytest.raises(eshm.ArgumentTypeError, match="expected a Mode"):
            pub.publish(wrong)

    class Other(eshm.Enum, repr=eshm.u8):
        Idle = 0

    with pytest.raises(eshm.ArgumentTypeError, match="expected a Mode .* got Other"):
        pub.publish(Other.Idle)
    assert sub.try_recv() is None, "nothing was published"
    with pytest.raises(eshm.TypeMismatchError):
        eshm.Subscriber(name, Other)
