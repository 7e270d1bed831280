"""What the classes generated from Rust share with the classes declared in Python: the numpy
`dtype` of their layout and `frombuffer`, enum fields as `IntEnum` members, and a declared class
of the same struct being interchangeable with the generated one."""

import enum

import numpy as np
import pytest
import robot_messages

import eshm
from eshm import msg


def test_a_generated_class_has_the_dtype_of_its_layout():
    dt = msg.Imu.dtype
    assert dt.itemsize == msg.Imu.SIZE == 88 and msg.Imu().dtype == dt
    assert {n: dt.fields[n][1] for n in dt.names} == {
        "stamp_ns": 0,
        "orientation": 8,
        "angular_velocity": 40,
        "linear_acceleration": 64,
    }
    assert dt["orientation"].names == ("x", "y", "z", "w") and dt["stamp_ns"] == np.dtype("<u8")
    battery = robot_messages.BatteryState.dtype
    assert battery.itemsize == robot_messages.BatteryState.SIZE and battery["cell_charge"].shape == (4,)


def test_the_dtype_of_a_generated_class_is_that_of_its_declared_twin():
    class Vector3(eshm.Message):
        x: eshm.f64
        y: eshm.f64
        z: eshm.f64

    class Pose(eshm.Message):
        position: Vector3
        orientation: msg.Quaternion

    assert Pose.FINGERPRINT == msg.Pose.FINGERPRINT
    assert Pose.dtype == msg.Pose.dtype
    declared = Pose()
    declared.position.y = 2.5
    assert msg.Pose.from_bytes(declared.to_bytes()) == declared and declared == msg.Pose(position=msg.Vector3(y=2.5))


def test_frombuffer_reads_generated_messages_without_a_loop():
    stream = b"".join(msg.Imu(stamp_ns=i, angular_velocity=msg.Vector3(z=i / 2)).to_bytes() for i in range(50))
    arr = msg.Imu.frombuffer(stream)
    assert arr["stamp_ns"].tolist() == list(range(50))
    assert arr["angular_velocity"]["z"].tolist() == [i / 2 for i in range(50)]
    assert msg.Imu.frombuffer(stream, count=1, offset=88 * 3)["stamp_ns"].tolist() == [3]
    assert robot_messages.BatteryState.frombuffer(robot_messages.BatteryState(supply=2).to_bytes())["supply"] == 2


def test_an_enum_field_of_a_generated_class_is_an_int_enum_member():
    b = robot_messages.BatteryState(supply=1)
    supply = b.supply
    assert isinstance(supply, enum.IntEnum) and isinstance(supply, eshm.Enum) and supply == 1
    assert type(supply).__name__ == "PowerSupply" and supply.name == "Charging"
    assert type(robot_messages.BatteryState(supply=2).supply) is type(supply)  # one class per enum type
    assert [m.name for m in type(supply)] == ["Discharging", "Charging", "Full"]
    assert type(supply).FINGERPRINT == eshm.schema_fingerprint(type(supply).SCHEMA_BYTES)
    b.supply = type(supply).Full  # and members set the field
    assert b.supply == 2 and b.supply.name == "Full"
    with pytest.raises(ValueError, match="is not a `PowerSupply` value"):
        b.supply = 7


def test_rust_doc_comments_are_the_class_and_property_docs():
    assert robot_messages.BatteryState.__doc__.strip() == "A battery report."
    assert robot_messages.BatteryState.voltage.__doc__.strip() == "Volts."
    assert robot_messages.Odometry.velocity.__doc__.strip() == "Linear velocity (m/s)."
    assert msg.Pose.__doc__.strip() == "A position and an orientation."
