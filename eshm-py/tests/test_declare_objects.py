"""Objects of message classes declared in Python: what the classes generated from Rust offer
(keyword constructor, checked fields, nested views, bytes, equality, pickling), arrays as numpy
views of the message's own bytes (memoryviews without numpy), enums as IntEnum members, and
the numpy dtype of the layout with `from_buffer` / `frombuffer`."""

import copy
import enum
import pickle

import numpy as np
import pytest

import eshm
from eshm import msg


class Mode(eshm.Enum, repr=eshm.u8):
    IDLE = 0
    RUN = 1
    FAULT = 255


class Imu(eshm.Message):
    stamp_ns: eshm.u64
    accel: eshm.Array(eshm.f32, 3)
    gyro: eshm.Array(eshm.f32, 3)
    valid: bool
    mode: Mode
    _pad: eshm.Array(eshm.u8, 6)


class Late(eshm.Enum, repr=eshm.i16):
    FIRST = -3  # the initial value is the first variant, as in Rust's Message::INIT
    ZERO = 0


class Scan(eshm.Message):
    pose: msg.Pose
    imus: eshm.Array(Imu, 2)
    cells: eshm.Array(eshm.f32, (2, 3))
    late: Late
    modes: eshm.Array(Mode, 2)
    _pad: eshm.Array(eshm.u8, 4)


def test_fields_start_at_zero_and_enums_at_their_first_variant():
    s = Scan()
    assert s.to_bytes()[:-12].count(0) == len(s.to_bytes()) - 12
    assert s.late is Late.FIRST and s.modes == [Mode.IDLE, Mode.IDLE]
    assert Scan.SIZE == 56 + 80 + 24 + 2 + 2 + 4 == len(s.to_bytes())


def test_the_constructor_takes_every_field_by_keyword_and_nothing_else():
    i = Imu(stamp_ns=7, accel=[1, 2, 3], valid=True, mode=Mode.RUN)
    assert (i.stamp_ns, i.accel.tolist(), i.valid, i.mode) == (7, [1.0, 2.0, 3.0], True, Mode.RUN)
    with pytest.raises(TypeError, match=r"`Imu` has no field `stampns` \(fields: stamp_ns, accel, gyro, valid, mode, _pad\)"):
        Imu(stampns=1)
    with pytest.raises(TypeError):
        Imu(7)
    with pytest.raises(AttributeError):
        i.stampns = 1  # a misspelt field is no new attribute


@pytest.mark.parametrize(
    ("field", "value", "error", "text"),
    [
        ("stamp_ns", -1, OverflowError, "-1 is out of range for u64 (0 to 18446744073709551615)"),
        ("stamp_ns", 1.5, TypeError, "expected an integer (u64), got float"),
        ("valid", 1, TypeError, "expected true or false, got int"),
        ("mode", 2, ValueError, "2 is not a `Mode` value (IDLE=0, RUN=1, FAULT=255)"),
        ("mode", "RUN", TypeError, "expected a `Mode` value, got str"),
        ("accel", [1, 2], ValueError, "expected an array of shape (3,), got shape (2,)"),
        ("accel", ["a", "b", "c"], TypeError, "expected a number"),
        ("_pad", [0, 0, 0, 0, 0, 256], OverflowError, "256 is out of range for u8 (0 to 255)"),
        ("_pad", [0.5] * 6, TypeError, "expected an integer"),
    ],
)
def test_a_value_that_does_not_fit_a_field_is_refused_and_changes_nothing(field, value, error, text):
    i = Imu(stamp_ns=5, accel=[1, 2, 3], mode=Mode.FAULT)
    before = i.to_bytes()
    with pytest.raises(error) as err:
        setattr(i, field, value)
    assert text in str(err.value)
    assert i.to_bytes() == before


def test_an_array_of_messages_refuses_a_bad_item_without_changing_any():
    s = Scan()
    with pytest.raises(TypeError, match="expected a `Imu`, got Pose"):
        s.imus = [Imu(stamp_ns=1), msg.Pose()]
    assert s.imus[0].stamp_ns == 0
    with pytest.raises(ValueError, match="expected 2 items, got 1"):
        s.imus = [Imu()]


def test_nested_messages_are_views_of_their_parent():
    s = Scan()
    s.pose.position.x = 1.5
    s.imus[1].accel[2] = 9.75
    s.imus[0].mode = Mode.RUN
    assert s.pose.position.x == 1.5 and s.imus[1].accel[2] == 9.75 and s.imus[0].mode is Mode.RUN
    again = Scan.from_bytes(s.to_bytes())
    assert (again.pose.position.x, again.imus[1].accel[2], again.imus[0].mode) == (1.5, 9.75, Mode.RUN)
    # A generated class nested in a declared one reads as a view that equals the generated value,
    # and is set from either.
    assert s.pose == msg.Pose(position=msg.Vector3(x=1.5)) and msg.Pose(position=msg.Vector3(x=1.5)) == s.pose
    s.pose = msg.Pose(orientation=msg.Quaternion(w=1.0))
    assert (s.pose.position.x, s.pose.orientation.w) == (0.0, 1.0)


def test_array_fields_are_numpy_views_of_the_message():
    s = Scan()
    cells = s.cells
    assert isinstance(cells, np.ndarray) and cells.shape == (2, 3) and cells.dtype == np.float32
    cells[1, 2] = 5.0  # msg.cells[0] = 5.0 changes the message: no copy anywhere
    assert s.cells[1, 2] == 5.0 and Scan.from_bytes(s.to_bytes()).cells[1, 2] == 5.0
    buffer = np.zeros(Scan.SIZE, np.uint8)
    view = Scan.from_buffer(buffer)
    assert np.shares_memory(view.cells, buffer) and np.shares_memory(view.imus[1].accel, buffer)
    view.cells = [[1, 2, 3], [4, 5, 6]]
    assert np.frombuffer(buffer[136:160].tobytes(), np.float32).tolist() == [1, 2, 3, 4, 5, 6]


def test_array_fields_are_memoryviews_without_numpy(monkeypatch):
    monkeypatch.setattr(eshm._fields, "_numpy", False)  # as if numpy were not installed
    s = Scan()
    cells = s.cells
    assert isinstance(cells, memoryview) and cells.format == "f" and cells.shape == (2, 3)
    cells[1, 2] = 5.0
    assert s.cells.tolist() == [[0, 0, 0], [0, 0, 5.0]]
    s.cells = [[1, 2, 3], [4, 5, 6]]
    assert s.cells.tolist() == [[1, 2, 3], [4, 5, 6]]
    with pytest.raises(ValueError, match="expected 3 items, got 2"):
        s.cells = [[1, 2], [3, 4]]
    with pytest.raises(ImportError, match="needs numpy"):
        Scan.dtype


def test_enum_fields_are_int_enum_members():
    i = Imu(mode=Mode.FAULT)
    assert i.mode is Mode.FAULT and isinstance(i.mode, enum.IntEnum) and i.mode == 255
    i.mode = 1  # an int that is a variant's value
    assert i.mode is Mode.RUN
    assert (Mode.SIZE, Late.SIZE) == (1, 2) and "enum Mode {" in Mode.SCHEMA
    assert Mode.FINGERPRINT == eshm.schema_fingerprint(Mode.SCHEMA_BYTES)


def test_from_bytes_checks_every_bool_and_enum_field():
    good = Imu(valid=True).to_bytes()
    assert Imu.from_bytes(good) == Imu(valid=True)
    with pytest.raises(ValueError, match=r"not a valid `Imu`: .*holds 2, which is not a valid bool"):
        Imu.from_bytes(good[:32] + b"\x02" + good[33:])
    with pytest.raises(ValueError, match=r"`Mode` variant"):
        Imu.from_bytes(good[:33] + b"\x07" + good[34:])
    with pytest.raises(ValueError, match="not a valid `Imu`"):
        Imu.from_bytes(good[:-1])


def test_equality_copies_pickling_and_repr():
    a = Imu(stamp_ns=3, accel=[0.5, 0, 0], mode=Mode.RUN)
    b = copy.copy(a)
    assert a == b and a is not b and a != Imu() and a != 3
    b.stamp_ns = 4
    assert a.stamp_ns == 3 and copy.deepcopy(a) == a
    assert pickle.loads(pickle.dumps(a)) == a
    assert repr(a) == "Imu(stamp_ns=3, accel=[0.5, 0.0, 0.0], gyro=[0.0, 0.0, 0.0], valid=False, mode=1, _pad=[0, 0, 0, 0, 0, 0])"
    with pytest.raises(TypeError):
        hash(a)


def test_the_dtype_is_the_layout():
    dt = Scan.dtype
    assert dt.itemsize == Scan.SIZE and Scan().dtype == dt
    offsets = {name: dt.fields[name][1] for name in dt.names}
    assert offsets == {"pose": 0, "imus": 56, "cells": 136, "late": 160, "modes": 162, "_pad": 164}
    assert dt["imus"].shape == (2,) and dt["imus"].base == Imu.dtype and dt["cells"].shape == (2, 3)
    assert dt["late"] == np.dtype("<i2") and dt["pose"]["orientation"]["w"] == np.dtype("<f8")
    assert Imu.dtype.fields["mode"][1] == 33 and Imu.dtype.fields["valid"][0] == np.dtype("?")


def test_frombuffer_reads_a_stream_of_messages_without_a_loop():
    stream = b"".join(Imu(stamp_ns=i, accel=[i, 0, 0], mode=Mode(i % 2)).to_bytes() for i in range(100))
    arr = Imu.frombuffer(stream)
    assert arr.shape == (100,) and arr["stamp_ns"].tolist() == list(range(100))
    assert arr["accel"][:, 0].tolist() == list(range(100)) and arr["mode"].tolist() == [i % 2 for i in range(100)]
    assert Imu.frombuffer(stream, count=2, offset=Imu.SIZE)["stamp_ns"].tolist() == [1, 2]
    # A message of a structured array, as a message object viewing it.
    records = np.zeros(3, Imu.dtype)
    records["stamp_ns"] = [10, 11, 12]
    second = Imu.from_buffer(records, offset=Imu.SIZE)
    assert second.stamp_ns == 11
    second.stamp_ns = 99
    assert records["stamp_ns"].tolist() == [10, 99, 12]
    with pytest.raises(ValueError, match="does not fit"):
        Imu.from_buffer(records, offset=3 * Imu.SIZE)
    records["valid"].view(np.uint8)[0] = 2
    with pytest.raises(ValueError, match="not a valid bool"):
        Imu.from_buffer(records)


def test_a_declared_class_publishes_and_subscribes_in_one_process(name):
    pub = eshm.Publisher(name, Scan)
    sub = eshm.Subscriber(name, Scan)
    sent = Scan(late=Late.ZERO, modes=[Mode.RUN, Mode.FAULT])
    sent.imus[1].stamp_ns = 42
    pub.publish(sent)
    got = sub.recv(timeout=5)
    assert type(got) is Scan and got == sent and got.modes == [Mode.RUN, Mode.FAULT] and got.imus[1].stamp_ns == 42
    assert pub.fingerprint == Scan.FINGERPRINT
    with pytest.raises(eshm.ArgumentTypeError):
        pub.publish(Imu())
