"""Rust and Python on one topic: eshm::msg types published by a Rust process arrive equal in
Python, and the other way round; a wrongly typed Python subscriber is refused."""

import pytest

import eshm
from eshm import msg


def expected_pose(i):
    return msg.Pose(
        position=msg.Vector3(x=float(i), y=2.0 * i, z=-float(i)),
        orientation=msg.Quaternion(x=0.5, y=0.5, z=0.5, w=0.5),
    )


def expected_imu(i):
    return msg.Imu(
        stamp_ns=1000 + i,
        orientation=msg.Quaternion(w=1.0),
        angular_velocity=msg.Vector3(x=float(i)),
        linear_acceleration=msg.Vector3(z=9.81),
    )


def test_rust_publishes_python_receives(name, interop_binary, child):
    count = 500
    rust = child(
        "import subprocess, sys; sys.exit(subprocess.call([sys.argv[1], 'publish', sys.argv[2], sys.argv[3]]))",
        interop_binary,
        name,
        count,
    )
    rust.expect(r"^ready")
    poses = eshm.Subscriber(name, msg.Pose, history=0)
    imus = eshm.Subscriber(name + "/imu", msg.Imu, history=0)
    with pytest.raises(eshm.TypeMismatchError) as err:
        eshm.Subscriber(name, msg.Twist)
    assert "`Twist`" in str(err.value) and "`Pose`" in str(err.value)
    rust.expect(r"^published")
    got_poses = []
    while True:
        p = poses.try_recv()
        if p is None:
            break
        got_poses.append(p)
    got_imus = []
    while (m := imus.try_recv()) is not None:
        got_imus.append(m)
    # Every message published after the subscribers attached is received or counted lost.
    assert len(got_poses) + poses.lost == count and len(got_imus) + imus.lost == count
    first = count - len(got_poses)
    assert got_poses == [expected_pose(i) for i in range(first, count)]
    first = count - len(got_imus)
    assert got_imus == [expected_imu(i) for i in range(first, count)]


def test_python_publishes_rust_receives(name, interop_binary, child):
    count = 100
    rust = child(
        "import subprocess, sys; sys.exit(subprocess.call([sys.argv[1], 'receive', sys.argv[2], sys.argv[3]]))",
        interop_binary,
        name,
        count,
    )
    rust.expect(r"^ready")
    pub = eshm.Publisher(name, msg.Pose, buffer_num=256)
    for i in range(count):
        pub.publish(expected_pose(i))
    rust.finish_ok()
    lines = [line.split() for line in rust.lines if line.startswith("pose")]
    assert len(lines) == count
    for i, fields in enumerate(lines):
        values = [float(v) for v in fields[1:]]
        assert values == [float(i), 2.0 * i, -float(i), 0.5, 0.5, 0.5, 0.5]
