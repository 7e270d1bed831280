"""The type descriptors `eshm.Array` and `eshm.Slice`: the same schema and fingerprint as the
Rust array and slice types (the test vectors in tests/data/schema_vectors.json, which the Rust
tests check against the derive), their attributes, and the errors of bad arguments."""

import json
import pathlib

import pytest

import eshm

VECTORS = {
    v["name"]: v
    for v in json.loads(
        (pathlib.Path(__file__).parents[2] / "tests/data/schema_vectors.json").read_text()
    )
}


@pytest.mark.parametrize(
    ("descriptor", "name"),
    [
        (lambda: eshm.Array(eshm.f32, 3), "[f32; 3]"),
        (lambda: eshm.Array(eshm.u8, (3, 2)), "[[u8; 2]; 3]"),
        (lambda: eshm.Array(eshm.Array(eshm.u8, 2), 3), "[[u8; 2]; 3]"),
        (lambda: eshm.Slice(eshm.u8, max_len=1024), "[u8] max 1024"),
        (lambda: eshm.Slice(eshm.f32, max_len=1), "[f32] max 1"),
        (lambda: eshm.Slice(eshm.msg.Vector3, max_len=100000), "[Vector3] max 100000"),
        (lambda: eshm.Slice(eshm.Array(eshm.u8, 3), max_len=307200), "[[u8; 3]] max 307200"),
    ],
)
def test_array_types_match_the_rust_vectors(descriptor, name):
    d = descriptor()
    assert d.SCHEMA_BYTES.hex() == VECTORS[name]["encoding"]
    assert d.FINGERPRINT == int(VECTORS[name]["fingerprint"], 16)
    assert eshm.schema_fingerprint(d.SCHEMA_BYTES) == d.FINGERPRINT


def test_array_types_camera_frame_is_the_nested_rust_array():
    frame = eshm.Array(eshm.u8, (480, 640, 3))
    # [[[u8; 3]; 640]; 480]: version 1, array 480 of array 640 of array 3 of u8.
    expected = bytes([1, 0x10]) + (480).to_bytes(4, "little") + bytes([0x10])
    expected += (640).to_bytes(4, "little") + bytes([0x10]) + (3).to_bytes(4, "little") + b"\x01"
    assert frame.SCHEMA_BYTES == expected
    assert frame.type_name == "[[[u8; 3]; 640]; 480]"
    assert frame.SIZE == 480 * 640 * 3
    assert frame.shape == (480, 640, 3)
    assert frame.element is not None and repr(frame.element) == "eshm.u8"
    assert repr(frame) == "eshm.Array(eshm.u8, (480, 640, 3))"
    assert "[[[u8; 3]; 640]; 480]" in eshm.schema_definition(frame.SCHEMA_BYTES)


def test_array_types_attributes():
    a = eshm.Array(eshm.f32, 3)
    assert (a.shape, a.SIZE, repr(a)) == ((3,), 12, "eshm.Array(eshm.f32, 3)")
    s = eshm.Slice(eshm.Array(eshm.f32, 3), max_len=1 << 20)
    assert (s.shape, s.max_len, s.type_name) == ((3,), 1 << 20, "[[f32; 3]]")
    assert repr(s) == "eshm.Slice(eshm.Array(eshm.f32, 3), max_len=1048576)"
    assert repr(eshm.Slice(eshm.f32, max_len=8)) == "eshm.Slice(eshm.f32, max_len=8)"
    poses = eshm.Array(eshm.msg.Pose, 2)
    assert poses.element is eshm.msg.Pose
    assert poses.SIZE == 2 * len(eshm.msg.Pose().to_bytes())
    assert repr(poses) == "eshm.Array(eshm.msg.Pose, 2)"


def test_array_types_equality_and_hash():
    assert eshm.Array(eshm.f32, (2, 3)) == eshm.Array(eshm.Array(eshm.f32, 3), 2)
    assert eshm.Array(eshm.f32, [2, 3]) == eshm.Array(eshm.f32, (2, 3))
    assert eshm.Array(eshm.f32, 3) != eshm.Array(eshm.f32, 4)
    assert eshm.Array(eshm.f32, 3) != eshm.Array(eshm.i32, 3)
    assert eshm.Slice(eshm.f32, max_len=3) != eshm.Array(eshm.f32, 3)
    assert eshm.Slice(eshm.f32, max_len=3) == eshm.Slice(eshm.f32, max_len=3)
    assert len({eshm.Array(eshm.u8, 4), eshm.Array(eshm.u8, 4), eshm.Array(eshm.u8, 5)}) == 2


def test_array_types_dtype():
    np = pytest.importorskip("numpy")
    assert eshm.Array(eshm.u8, 3).dtype == np.uint8
    assert eshm.Array(eshm.f32, 3).dtype == np.float32
    assert eshm.Slice(eshm.i64, max_len=2).dtype == np.int64
    assert eshm.Array(eshm.bool_, 2).dtype == np.bool_
    assert eshm.Array(eshm.msg.Pose, 2).dtype.itemsize == eshm.Array(eshm.msg.Pose, 1).SIZE


@pytest.mark.parametrize(
    ("make", "error", "words"),
    [
        (lambda: eshm.Array(eshm.f32, 0), eshm.InvalidArgumentError, "at least 1; got 0"),
        (lambda: eshm.Array(eshm.f32, (2, -1)), eshm.InvalidArgumentError, "got -1"),
        (lambda: eshm.Array(eshm.f32, ()), eshm.InvalidArgumentError, "at least one dimension"),
        (lambda: eshm.Array(eshm.f32, 1.5), eshm.ArgumentTypeError, "got float"),
        (lambda: eshm.Array(eshm.f32, True), eshm.ArgumentTypeError, "got bool"),
        (lambda: eshm.Array("x", 3), eshm.ArgumentTypeError, "scalar type such as eshm.f32"),
        (lambda: eshm.Array(float, 3), eshm.ArgumentTypeError, "got type"),
        (lambda: eshm.Array(eshm.u8, (1 << 16, 1 << 16, 2)), eshm.InvalidArgumentError, "4 GiB"),
        (lambda: eshm.Slice(eshm.f32, max_len=0), eshm.InvalidArgumentError, "got 0"),
        (lambda: eshm.Slice(eshm.f32, max_len="8"), eshm.ArgumentTypeError, "got str"),
        (lambda: eshm.Array(eshm.Slice(eshm.f32, max_len=2), 2), eshm.ArgumentTypeError, "slice"),
    ],
)
def test_array_types_bad_arguments(make, error, words):
    with pytest.raises(error, match=words.replace("(", r"\(")):
        make()
