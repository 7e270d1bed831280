"""Message classes from a user's own extension module (examples/python/custom_messages, built
by the test command as `robot_messages`) work with eshm like its own."""

import copy

import pytest

import eshm
from eshm import msg

try:
    from robot_messages import BatteryState, Odometry
except ImportError as e:  # the test command builds it; say how when run by hand
    raise ImportError(f"{e}: run `maturin develop -m examples/python/custom_messages/Cargo.toml` first") from e


def test_generated_classes_and_schema():
    assert BatteryState.SIZE == 40
    assert "cell_charge: [f32; 4],           // offset 16" in BatteryState.SCHEMA
    assert eshm.schema_fingerprint(BatteryState.SCHEMA_BYTES) == BatteryState.FINGERPRINT
    b = BatteryState(voltage=24.5, supply=2, cell_charge=[1, 0.5, 0.25, 0])
    assert (b.voltage, b.supply, b.fault, b.cell_charge.tolist()) == (24.5, 2, False, [1.0, 0.5, 0.25, 0.0])
    with pytest.raises(ValueError, match="not a `PowerSupply` value"):
        b.supply = 3
    assert BatteryState.from_bytes(b.to_bytes()) == b


def test_nested_standard_types_mix_with_eshm_msg():
    odom = Odometry(velocity=msg.Vector3(x=1.5))
    assert odom.velocity.x == 1.5
    # The nested view is the module's own copy of the class, interchangeable with eshm.msg's.
    assert odom.velocity == msg.Vector3(x=1.5) and msg.Vector3(x=1.5) == odom.velocity
    assert odom.velocity != msg.Vector3(x=2.0) and odom.velocity != msg.Quaternion()
    odom.velocity = msg.Vector3(y=2.0)
    assert (odom.velocity.x, odom.velocity.y) == (0.0, 2.0)
    pose = msg.Pose(position=copy.copy(odom.velocity))
    assert pose.position.y == 2.0
    with pytest.raises(TypeError, match="expected a `Vector3`, got Quaternion"):
        odom.velocity = msg.Quaternion()


def test_a_copy_of_a_standard_class_publishes_on_its_topic(name):
    odom = Odometry(velocity=msg.Vector3(x=4.0))
    with eshm.Publisher(name, msg.Vector3) as pub, eshm.Subscriber(name, msg.Vector3) as sub:
        pub.publish(odom.velocity)
        got = sub.recv(timeout=5)
        assert type(got) is msg.Vector3 and got.x == 4.0
        with pytest.raises(TypeError, match="expected a Vector3, got Odometry"):
            pub.publish(odom)


def test_pubsub_with_user_types(name):
    with eshm.Publisher(name, BatteryState, buffer_num=8) as pub, eshm.Subscriber(name, BatteryState) as sub:
        for i in range(5):
            pub.publish(BatteryState(stamp_ns=i, voltage=20.0 + i, fault=i == 3))
        got = [sub.recv(timeout=5) for _ in range(5)]
        assert [(m.stamp_ns, m.voltage, m.fault) for m in got] == [(i, 20.0 + i, i == 3) for i in range(5)]
        with pytest.raises(eshm.TypeMismatchError, match="`Odometry`.*`BatteryState`"):
            eshm.Subscriber(name, Odometry)


def test_demo_script_runs():
    import subprocess
    import sys

    from conftest import ROOT

    out = subprocess.run(
        [sys.executable, str(ROOT / "examples/python/custom_messages/demo.py")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "velocity.x = 0.5, wheels = [1.5, 1.6]" in out and "wrong type refused" in out
