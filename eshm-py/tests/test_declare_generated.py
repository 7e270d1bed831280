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


def test_an_array_field_of_a_generated_class_is_a_numpy_view_of_the_message():
    b = robot_messages.BatteryState(voltage=24.5, cell_charge=[1, 0.5, 0.25, 0])
    cells = b.cell_charge
    assert isinstance(cells, np.ndarray) and cells.dtype == np.dtype("<f4") and cells.shape == (4,)
    assert cells.flags.writeable and np.shares_memory(cells, b.cell_charge), "views, not copies"
    cells[0] = 5.0  # the issue's `msg.cells[0] = 5.0`
    assert b.cell_charge[0] == 5.0 and b.to_bytes()[16:20] == np.float32(5.0).tobytes()
    assert b == robot_messages.BatteryState(voltage=24.5, cell_charge=[5, 0.5, 0.25, 0])
    del b
    cells[1] = 7.0  # the array keeps the message's bytes alive
    assert cells.tolist() == [5.0, 7.0, 0.25, 0.0]

    g = robot_messages.Grid()
    g.pixels[1, 1, 2] = 9  # nested arrays: one array of the nested shape
    assert g.pixels.shape == (2, 2, 3) and g.pixels.dtype == np.uint8
    assert g.pixels.tolist() == [[[0, 0, 0], [0, 0, 0]], [[0, 0, 0], [0, 0, 9]]]
    assert isinstance(g.modes, list), "arrays of enums (and of messages) stay lists"

    # An array field of a nested message views the outer message's bytes.
    s = robot_messages.Sample()
    s.values[2] = 1.5
    assert robot_messages.Sample.from_bytes(s.to_bytes()).values[2] == 1.5


def test_an_array_field_of_a_generated_class_is_set_from_arrays_with_the_scalar_checks():
    b = robot_messages.BatteryState()
    b.cell_charge = np.arange(4, dtype=np.float32) / 2
    assert b.cell_charge.tolist() == [0.0, 0.5, 1.0, 1.5]
    b.cell_charge = np.arange(8)[::2]  # integers into floats, strided
    assert b.cell_charge.tolist() == [0.0, 2.0, 4.0, 6.0]
    s = robot_messages.Sample(counts=[1, 2])
    with pytest.raises(TypeError, match="expected an integer"):
        s.counts = np.array([1.5, 2.0])
    with pytest.raises(OverflowError, match="65536 is out of range for u16"):
        s.counts = np.array([1, 65536])
    with pytest.raises(ValueError, match="expected 2 items, got 3"):
        s.counts = np.array([1, 2, 3])
    g = robot_messages.Grid()
    with pytest.raises(ValueError, match=r"shape \(2, 2, 3\)"):
        g.pixels = np.zeros((2, 3, 3), dtype=np.uint8)
    assert s.counts.tolist() == [1, 2] and not g.pixels.any(), "a refused array changes nothing"
    g.pixels = np.full((2, 2, 3), 4, dtype=np.uint8)
    assert g.pixels.sum() == 48


def test_a_received_generated_message_owns_its_arrays(name):
    sub = eshm.Subscriber(name, robot_messages.BatteryState)
    pub = eshm.Publisher(name, robot_messages.BatteryState)
    pub.publish(robot_messages.BatteryState(cell_charge=[0.5] * 4))
    got = sub.recv(timeout=10)
    got.cell_charge[:] *= 2  # a received message is the user's copy: writable
    pub.publish(got)
    assert sub.recv(timeout=10).cell_charge.tolist() == [1.0] * 4


def test_from_buffer_makes_a_generated_message_that_views_a_buffer():
    records = bytearray(robot_messages.BatteryState(voltage=3.0, cell_charge=[1, 2, 3, 4]).to_bytes() * 2)
    second = robot_messages.BatteryState.from_buffer(records, offset=robot_messages.BatteryState.SIZE)
    assert isinstance(second, robot_messages.BatteryState) and second.voltage == 3.0
    second.voltage = 7.5  # writes into the buffer
    second.cell_charge[3] = 9.0  # and so do its array views
    again = robot_messages.BatteryState.from_bytes(bytes(records[40:]))
    assert (again.voltage, again.cell_charge.tolist()) == (7.5, [1.0, 2.0, 3.0, 9.0])
    assert records[:40] == robot_messages.BatteryState(voltage=3.0, cell_charge=[1, 2, 3, 4]).to_bytes()
    records[48:52] = np.float32(1.25).tobytes()  # and it reads what the buffer holds now
    assert second.voltage == 1.25

    arr = np.zeros(3, dtype=msg.Imu.dtype)  # a numpy structured array of messages
    m = msg.Imu.from_buffer(arr, offset=msg.Imu.SIZE)
    m.stamp_ns, m.orientation.w = 5, 1.0
    assert arr["stamp_ns"].tolist() == [0, 5, 0] and arr["orientation"]["w"].tolist() == [0.0, 1.0, 0.0]


def test_from_buffer_refuses_what_does_not_fit_and_writes_to_read_only_buffers():
    frozen = robot_messages.BatteryState.from_buffer(robot_messages.BatteryState(voltage=2.0).to_bytes())
    assert frozen.voltage == 2.0 and not frozen.cell_charge.flags.writeable
    with pytest.raises(TypeError, match="read-only"):
        frozen.voltage = 1.0
    with pytest.raises(ValueError, match="read-only"):
        frozen.cell_charge[0] = 1.0
    assert frozen.voltage == 2.0
    with pytest.raises(ValueError, match=r"a `BatteryState` of 40 bytes at offset 41 does not fit 80 bytes"):
        robot_messages.BatteryState.from_buffer(bytearray(80), offset=41)
    with pytest.raises(ValueError, match="does not fit"):
        robot_messages.BatteryState.from_buffer(bytearray(80), offset=-1)
    with pytest.raises(BufferError, match="C-contiguous"):
        msg.Imu.from_buffer(np.zeros((4, 200), dtype=np.uint8)[:, ::2])
    bad = bytearray(40)
    bad[33] = 9  # `fault`, a bool
    with pytest.raises(ValueError, match="not a valid `BatteryState`"):
        robot_messages.BatteryState.from_buffer(bad)


def test_rust_doc_comments_of_an_enum_are_its_int_enum_docs():
    supply = robot_messages.BatteryState(supply=1).supply
    assert type(supply).__doc__ == "The charge state of the battery."
    assert supply.__doc__ == "Plugged in and charging." and type(supply).Full.__doc__ == "Plugged in, full."
    assert type(robot_messages.Sample(mode=7).mode).Fault.__doc__ == "Stopped by a fault."
