"""eshm.Publisher / eshm.Subscriber: the SHM-compatible API and the richer one."""

import math

import pytest

import eshm
from eshm import msg


@pytest.mark.parametrize("default, values", [(False, [True, False]), (0, [7, -3]), (0.0, [2.5, -1e300])])
def test_scalar_topics_and_subscribe_semantics(name, default, values):
    pub = eshm.Publisher(name, default, 3)
    sub = eshm.Subscriber(name, default)
    assert sub.subscribe() == (default, False), "the default until data arrives"
    for v in values:
        pub.publish(v)
        got, ok = sub.subscribe()
        assert (got, ok) == (v, True)
        assert type(got) is type(default)
        assert sub.subscribe() == (v, True), "as in SHM: the newest value, valid while fresh"
    assert sub.type_name == {bool: "bool", int: "i64", float: "f64"}[type(default)]


def test_subscribe_returns_the_newest_value_only(name):
    pub = eshm.Publisher(name, 0)
    sub = eshm.Subscriber(name, 0)
    for i in range(10):
        pub.publish(i)
    assert sub.subscribe() == (9, True)
    assert sub.subscribe() == (9, True), "still the newest, still fresh"
    assert not sub.is_updated(), "but nothing unread"


def test_late_subscriber_gets_the_current_value(name):
    pub = eshm.Publisher(name, 0.0)
    pub.publish(42.0)
    assert eshm.Subscriber(name, 0.0).subscribe() == (42.0, True)
    assert eshm.Subscriber(name, 0.0, history=0).subscribe() == (0.0, False)


def test_typed_scalars(name):
    assert repr(eshm.f32) == "eshm.f32" and eshm.u8.size == 1
    pub = eshm.Publisher(name, eshm.f32)
    sub = eshm.Subscriber(name, eshm.f32)
    assert sub.subscribe() == (0.0, False)
    pub.publish(0.1)
    value = sub.recv(timeout=5)
    assert value != 0.1 and math.isclose(value, 0.1, rel_tol=1e-6), "rounded to f32"
    with pytest.raises(eshm.TypeMismatchError):
        eshm.Subscriber(name, 0.0)
    small = eshm.Publisher(name + "/u8", eshm.u8)
    with pytest.raises(OverflowError):
        small.publish(256)
    with pytest.raises(OverflowError):
        small.publish(-1)
    assert eshm.i8(-5) == -5 and eshm.u64(2**64 - 1) == 2**64 - 1
    with pytest.raises(OverflowError):
        eshm.i16(40000)


def test_values_must_fit_the_topic_type(name):
    with pytest.raises(TypeError):
        eshm.Publisher(name, 0).publish(1.5)
    with pytest.raises(TypeError):
        eshm.Publisher(name + "/bool", False).publish(1)
    with pytest.raises(TypeError):
        eshm.Publisher(name + "/pose", msg.Pose).publish(msg.Twist())
    with pytest.raises(TypeError, match="default value"):
        eshm.Publisher(name + "/str", "text")


def test_recv_try_recv_latest_and_iteration(name):
    pub = eshm.Publisher(name, 0, buffer_num=64)
    sub = eshm.Subscriber(name, 0, history=0)
    assert sub.try_recv() is None
    for i in range(1, 6):
        pub.publish(i)
    assert [sub.try_recv() for _ in range(6)] == [1, 2, 3, 4, 5, None]
    for i in (6, 7, 8):
        pub.publish(i)
    assert sub.latest() == 8
    assert sub.latest() is None and sub.try_recv() is None
    for i in (9, 10, 11):
        pub.publish(i)
    got = []
    for value in sub:
        got.append(value)
        if len(got) == 3:
            break
    assert got == [9, 10, 11]
    pub.publish(12)
    assert sub.recv(timeout=1) == 12
    with pytest.raises(eshm.TimeoutError):
        sub.recv(timeout=0.01)


def test_losses_are_counted(name):
    pub = eshm.Publisher(name, 0, buffer_num=4)
    sub = eshm.Subscriber(name, 0, history=0)
    assert pub.capacity == 4
    for i in range(10):
        pub.publish(i)
    assert sub.try_recv() == 6, "the oldest value still in the ring"
    assert sub.lost == 6
    assert pub.published == 10


def test_message_topics(name):
    pub = eshm.Publisher(name, msg.Pose)
    sub = eshm.Subscriber(name, msg.Pose())
    assert sub.subscribe() == (msg.Pose(), False)
    pose = msg.Pose(position=msg.Vector3(x=1.0, y=2.0, z=3.0), orientation=msg.Quaternion(w=1.0))
    pub.publish(pose)
    got = sub.recv(timeout=5)
    assert got == pose and got is not pose
    assert got.position.z == 3.0 and got.orientation.w == 1.0
    assert sub.type_name == "Pose" and pub.fingerprint == msg.Pose.FINGERPRINT


def test_errors_have_the_right_classes(name):
    for bad in ("", "a\0b", "x" * 300):
        with pytest.raises(eshm.InvalidNameError) as err:
            eshm.Publisher(bad, 0.0)
        assert isinstance(err.value, ValueError) and isinstance(err.value, eshm.Error)
    pub = eshm.Publisher(name, 0.0)
    with pytest.raises(eshm.PublisherExistsError) as err:
        eshm.Publisher(name, 0.0)
    assert isinstance(err.value, RuntimeError) and "live publisher" in str(err.value)
    with pytest.raises(eshm.TypeMismatchError) as err:
        eshm.Subscriber(name, msg.Pose)
    assert isinstance(err.value, ValueError)
    assert "`Pose`" in str(err.value) and "`f64`" in str(err.value)
    assert issubclass(eshm.TimeoutError, TimeoutError) and issubclass(eshm.TimeoutError, eshm.Error)
    pub.close()
    with pytest.raises(RuntimeError, match="closed"):
        pub.publish(1.0)


def test_context_managers_and_connection_state(name):
    sub = eshm.Subscriber(name, 0)
    assert not sub.is_connected
    with eshm.Publisher(name, 0) as pub:
        assert sub.try_recv() is None
        assert sub.is_connected
        pub.publish(5)
    assert sub.try_recv() == 5, "what was published before the close is still delivered"
    assert not sub.is_connected
    with eshm.Subscriber(name, 0) as other:
        pass
    assert list(other) == [], "a closed subscriber's iteration stops"
    with pytest.raises(RuntimeError):
        other.try_recv()
    assert "closed" in repr(other)


def test_a_subscriber_survives_publisher_restarts(name):
    sub = eshm.Subscriber(name, 0)
    for generation in range(3):
        with eshm.Publisher(name, 0) as pub:
            pub.publish(generation)
            assert sub.recv(timeout=5) == generation


def test_between_processes(name, child):
    sub = eshm.Subscriber(name, 0, history=0)
    publisher = child(
        """
        import sys, eshm
        pub = eshm.Publisher(sys.argv[1], 0, buffer_num=256)
        print("ready", flush=True)
        sys.stdin.readline()
        for i in range(20000):
            pub.publish(i * 7)
        print("done", flush=True)
        sys.stdin.readline()
        """,
        name,
    )
    publisher.expect_exact("ready")
    assert sub.try_recv() is None
    publisher.send("go")
    received, last = 0, -1
    while last != 19999 * 7:
        value = sub.recv(timeout=30)
        assert value % 7 == 0 and value > last, (value, last)
        last = value
        received += 1
    assert received + sub.lost == 20000
    publisher.expect_exact("done")
