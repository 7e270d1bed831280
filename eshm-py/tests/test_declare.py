"""Message types declared in Python (`eshm.Message`, `eshm.Enum`) have the schema, the encoding
and the fingerprint of the Rust derive of the same types (every vector of
tests/data/schema_vectors.json that Python can express, declared from its Rust definition), and
are refused when the class is created wherever the derive refuses the Rust type, in its words
(the compile-fail cases of tests/ui)."""

import json
import re
import types
import typing

import pytest

import eshm
from conftest import ROOT

VECTORS = json.loads((ROOT / "tests" / "data" / "schema_vectors.json").read_text())
SCALARS = {"u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64", "f32", "f64"}


def rust_type(text, declared):
    """The Python field type of a Rust type: `u64`, `bool`, `[T; N]`, or a type declared
    before it."""
    text = text.strip()
    if m := re.fullmatch(r"\[(.*); (\d+)\]", text):
        return eshm.Array(rust_type(m[1], declared), int(m[2]))
    if text == "bool":
        return bool
    if text in SCALARS:
        return getattr(eshm, text)
    return declared[text]


def declare_enum(name, repr_name, variants):
    """`class name(eshm.Enum, repr=eshm.<repr>)` with the variants (a u64's -1 is 2**64 - 1, the
    same bits)."""
    bits = int(repr_name[1:])

    def body(ns):
        for n, v in variants:
            ns[n] = v + (1 << bits) if repr_name[0] == "u" and v < 0 else v

    return types.new_class(name, (eshm.Enum,), {"repr": getattr(eshm, repr_name)}, body)


def declare_struct(name, fields):
    return types.new_class(name, (eshm.Message,), {}, lambda ns: ns.update({"__annotations__": dict(fields)}))


def declare_all(rust_source):
    """Declares in Python every struct and enum of Rust source text (a definition as
    `Schema::definition` prints it, or a test case of tests/ui), in order; returns them by name."""
    declared = {}
    items = re.finditer(r"(?:#\[repr\((\w+)\)\]\s*)?(struct|enum) (\w+) \{([^}]*)\}", rust_source)
    for repr_name, kind, name, body in (m.groups() for m in items):
        body = re.sub(r"//[^\n]*", "", body)
        if kind == "enum":
            variants = [(n, int(v)) for n, v in re.findall(r"(\w+) = (-?\d+)", body)]
            declared[name] = declare_enum(name, repr_name, variants)
        else:
            fields = [(f, rust_type(t, declared)) for f, t in re.findall(r"(\w+): ([^,]+),", body)]
            declared[name] = declare_struct(name, fields)
    return declared


def expressible(vector):
    """Every vector but the slices: a slice is the type of a topic (`eshm.Slice`), never a field."""
    return " max " not in vector["name"]


def declared_type(vector):
    name = vector["name"]
    if name in SCALARS | {"bool"}:
        return getattr(eshm, name if name != "bool" else "bool_"), None
    if name.startswith("["):
        return rust_type(name, {}), None
    declared = declare_all(vector["definition"])
    return declared[name.removeprefix("msg::")], declared


@pytest.mark.parametrize("vector", [v for v in VECTORS if expressible(v)], ids=lambda v: v["name"])
def test_a_declared_type_has_the_schema_and_fingerprint_of_its_vector(vector):
    t, declared = declared_type(vector)
    if isinstance(t, eshm.ScalarType):
        assert f"{t.fingerprint:#018x}" == vector["fingerprint"]
        return
    assert f"{t.FINGERPRINT:#018x}" == vector["fingerprint"]
    assert t.SCHEMA_BYTES.hex() == vector["encoding"]
    assert t.SIZE == vector["size"]
    if declared is not None:
        assert t.SCHEMA == vector["definition"]
    if vector["name"].startswith("msg::"):
        generated = getattr(eshm.msg, vector["name"][5:])
        assert generated.FINGERPRINT == t.FINGERPRINT and generated.SCHEMA == t.SCHEMA


def test_every_vector_but_the_slices_is_declared():
    skipped = [v["name"] for v in VECTORS if not expressible(v)]
    assert skipped and all(re.fullmatch(r"\[.*\] max \d+", n) for n in skipped), skipped
    assert len(VECTORS) - len(skipped) >= 17


# --------------------------------------------------------------------------------------------
# What the derive refuses, refused in its words (the compile-fail cases of tests/ui)
# --------------------------------------------------------------------------------------------


def ui_case(path):
    """The Rust source of a compile-fail case and the first error its .stderr expects."""
    source = (ROOT / "tests" / "ui" / f"{path}.rs").read_text()
    stderr = (ROOT / "tests" / "ui" / f"{path}.stderr").read_text()
    return source, re.search(r"^error(?:\[E\d+\])?: (.*)$", stderr, re.M)[1], stderr


def declare_error(source):
    with pytest.raises(eshm.MessageTypeError) as err:
        declare_all(source)
    assert isinstance(err.value, TypeError)
    return str(err.value)


@pytest.mark.parametrize("case", ["padding/inner_gap", "padding/trailing", "padding/nested_alignment"])
def test_padding_is_refused_as_the_derive_refuses_it(case):
    source, headline, stderr = ui_case(case)
    message = declare_error(source)
    assert message.startswith(headline), (message, headline)
    [bytes_] = re.findall(r"`_pad: \[u8; (\d+)\]`", stderr)
    assert f"`_pad: eshm.Array(eshm.u8, {bytes_})`" in message, message
    assert "reorder the fields from the largest alignment to the smallest" in message


def test_the_suggested_padding_field_makes_the_class_valid():
    message = declare_error("#[repr(C)] struct Sample { valid: bool, value: f64, }")
    assert "`Sample` has 7 padding byte(s) after field `valid`" in message
    fixed = declare_struct("Sample", [("valid", bool), ("_pad", eshm.Array(eshm.u8, 7)), ("value", eshm.f64)])
    assert fixed.SIZE == 16


@pytest.mark.parametrize("case", ["item/empty_struct", "item/empty_enum"])
def test_a_type_without_fields_or_variants_is_refused_as_the_derive_refuses_it(case):
    source, headline, _ = ui_case(case)
    assert declare_error(source) == headline


def test_an_enum_without_an_integer_representation_is_refused():
    _, headline, _ = ui_case("repr/enum_without_repr")
    assert "need an integer representation such as `#[repr(u8)]`" in headline
    with pytest.raises(eshm.MessageTypeError, match=r"need an integer representation such as `repr=eshm.u8`"):

        class Mode(eshm.Enum):
            IDLE = 0

    for bad in (eshm.f32, eshm.bool_, "u8", 8):
        with pytest.raises(eshm.MessageTypeError, match=r"is not supported by message enums; use one of eshm.u8"):
            types.new_class("Mode", (eshm.Enum,), {"repr": bad}, lambda ns: ns.__setitem__("IDLE", 0))


@pytest.mark.parametrize(
    ("variants", "expected"),
    [
        ([("A", 0), ("B", 256)], "`Mode`: `B` = 256 does not fit u8"),
        ([("A", -1)], "`Mode`: `A` = -1 does not fit u8"),
        ([("A", 0), ("B", 1), ("C", 0)], "`Mode`: `C` repeats the value 0 of `A`"),
    ],
)
def test_enum_values_that_do_not_fit_or_repeat_are_refused(variants, expected):
    with pytest.raises(eshm.MessageTypeError) as err:
        types.new_class("Mode", (eshm.Enum,), {"repr": eshm.u8}, lambda ns: [ns.__setitem__(n, v) for n, v in variants])
    assert str(err.value) == expected


class Plain:
    x: float


class Color(__import__("enum").IntEnum):
    RED = 0


NOT_MESSAGE_TYPES = {
    # (annotation, what the message names, the derive's case in tests/ui/fields it mirrors)
    "int": (int, "`int`", "usize_field"),
    "float": (float, "`float`", "usize_field"),
    "str": (str, "`str`", "string_field"),
    "bytes": (bytes, "`bytes`", "string_field"),
    "list": (list, "`list`", "vec_field"),
    "list[float]": (list[float], "`list`", "vec_field"),
    "dict": (dict, "`dict`", "vec_field"),
    "tuple[float, float]": (tuple[float, float], "a tuple", "tuple_field"),
    "Optional[eshm.u8]": (typing.Optional[int], "`Optional`", "option_field"),
    "None": (None, "`None`", "phantom_data_only"),
    "a plain class": (Plain, "`Plain`", "not_a_message"),
    "a Python IntEnum": (Color, "`Color`", "not_a_message"),
    "eshm.Message itself": (eshm.Message, "`eshm.Message`", "not_a_message"),
    "an unknown name": ("Undefined", "`Undefined`", "not_a_message"),
}


@pytest.mark.parametrize("case", list(NOT_MESSAGE_TYPES))
def test_a_field_type_that_is_not_a_message_type_is_refused_in_the_derives_words(case):
    ann, what, ui = NOT_MESSAGE_TYPES[case]
    _, headline, _ = ui_case(f"fields/{ui}")
    assert " is not a message type: " in headline  # the derive's form: `{what} is not a message type: {why}; {instead}`
    with pytest.raises(eshm.MessageTypeError) as err:
        declare_struct("Reading", [("stamp_ns", eshm.u64), ("value", ann)])
    message = str(err.value)
    assert message.startswith(f"field `value` of `Reading`: {what} is not a message type: "), message
    assert re.search(r" is not a message type: [^;]+; \S", message), message  # why; what to write instead


def test_numpy_scalar_types_are_refused_with_the_eshm_type_to_use():
    np = pytest.importorskip("numpy")
    with pytest.raises(eshm.MessageTypeError, match=r"`numpy.float32` is not a message type: .*; use `eshm.f32`"):
        declare_struct("Reading", [("value", np.float32)])


def test_other_class_bodies_are_refused():
    with pytest.raises(eshm.MessageTypeError, match="field `x` of `A` has a value in the class body"):

        class A(eshm.Message):
            x: eshm.u8 = 3

    class B(eshm.Message):
        x: eshm.u8

    with pytest.raises(eshm.MessageTypeError, match="`C` derives from the message class `B`"):

        class C(B):
            y: eshm.u8

    with pytest.raises(eshm.MessageTypeError, match="would hide `Message.to_bytes`"):
        declare_struct("D", [("to_bytes", eshm.u8)])
    with pytest.raises(eshm.MessageTypeError, match="is a slice: only a topic's messages can be"):
        declare_struct("E", [("x", eshm.u8), ("y", type("S", (), {"SCHEMA_BYTES": bytes.fromhex("021304000000" + "01")}))])
    with pytest.raises(eshm.MessageTypeError, match="declares `x` twice"):
        eshm._eshm._struct_schema("F", [("x", bytes([1, 1])), ("x", bytes([1, 1]))])


def test_annotated_names_the_type_for_type_checkers():
    class Reading(eshm.Message):
        stamp_ns: typing.Annotated[int, eshm.u64]
        value: typing.Annotated[float, eshm.f32]
        valid: typing.Annotated[bool, "a note", eshm.bool_]
        ok: bool
        _pad: typing.Annotated[list[int], eshm.Array(eshm.u8, 2)]
        flags: typing.ClassVar[int] = 5  # not a field

    assert Reading.SCHEMA_BYTES == declare_struct(
        "Reading",
        [("stamp_ns", eshm.u64), ("value", eshm.f32), ("valid", bool), ("ok", bool), ("_pad", eshm.Array(eshm.u8, 2))],
    ).SCHEMA_BYTES
    assert Reading.flags == 5 and "flags" not in Reading.SCHEMA


def test_string_annotations_are_evaluated_in_the_class_module():
    source = (
        "from __future__ import annotations\nimport eshm\n"
        "class Mode(eshm.Enum, repr=eshm.u8):\n    A = 0\n"
        "class Reading(eshm.Message):\n    mode: Mode\n    value: eshm.Array(eshm.u8, 3)\n"
    )
    namespace = {"__name__": "test_declare_strings"}
    exec(compile(source, "<declared>", "exec"), namespace)  # noqa: S102
    assert namespace["Reading"].SCHEMA.endswith("    value: [u8; 3],                  // offset 1\n}\n")


def test_string_annotations_see_the_function_that_declares_the_class():
    source = (
        "from __future__ import annotations\nimport eshm\n"
        "def make():\n"
        "    class Local(eshm.Enum, repr=eshm.u16):\n        A = 0\n"
        "    class Reading(eshm.Message):\n        mode: Local\n"
        "    return Reading\n"
    )
    namespace = {"__name__": "test_declare_local"}
    exec(compile(source, "<declared>", "exec"), namespace)  # noqa: S102
    assert namespace["make"]().SIZE == 2
