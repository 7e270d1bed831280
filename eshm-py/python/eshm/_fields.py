"""Field accessors and numpy dtypes of message types, built from their encoded schemas (what
``eshm._eshm._schema_node`` opens one level at a time). Used by the classes declared in
Python (``_declare``) and by the ``dtype`` of every message class.

An accessor reads and writes a field inside a buffer at a position: ``get(buf, pos)`` and
``set(buf, pos, value)``. ``buf`` is the ``bytearray`` a message owns, or the writable (or
read-only) buffer a message was made a view of with ``from_buffer``. Nested messages are views
of the same buffer; arrays of numbers are numpy arrays over it (``memoryview`` s without
numpy); a setter checks every value before it writes anything.
"""

from __future__ import annotations

import math
import operator
import struct
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from . import _eshm

Buffer = Any  # a bytearray, or a memoryview of bytes ('B')
Getter = Callable[[Buffer, int], Any]
Setter = Callable[[Buffer, int, Any], None]

# struct / memoryview formats (little-endian: struct's "<"; memoryview's native, which is
# little-endian on every platform eshm runs on) and numpy type strings of each scalar type.
STRUCT = {"u8": "B", "u16": "H", "u32": "I", "u64": "Q", "i8": "b", "i16": "h", "i32": "i", "i64": "q"}
STRUCT.update({"f32": "f", "f64": "d", "bool": "?"})
NUMPY = {"u8": "<u1", "u16": "<u2", "u32": "<u4", "u64": "<u8", "i8": "<i1", "i16": "<i2", "i32": "<i4"}
NUMPY.update({"i64": "<i8", "f32": "<f4", "f64": "<f8", "bool": "?"})


def integer_range(name: str) -> tuple[int, int]:
    bits = int(name[1:])
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if name[0] == "i" else (0, (1 << bits) - 1)


def describe(name: str) -> str:
    """What a value of the scalar type is, in the words of the Rust core."""
    if name == "bool":
        return "true or false"
    return f"a number ({name})" if name[0] == "f" else f"an integer ({name})"


def _type_name(value: Any) -> str:
    return type(value).__name__


def scalar_converter(name: str) -> Callable[[Any], Any]:
    """The check of a value for a field of scalar type `name` (as the classes generated from Rust
    check it): a ``bool`` for ``bool``, an integer in range for the integer types
    (``OverflowError`` otherwise), a number for the float types; ``TypeError`` for another kind."""
    if name == "bool":

        def to_bool(value: Any) -> bool:
            if isinstance(value, bool) or _type_name(value) in ("bool_", "bool"):
                return bool(value)
            raise TypeError(f"expected {describe(name)}, got {_type_name(value)}")

        return to_bool
    if name[0] == "f":

        def to_float(value: Any) -> float:
            if isinstance(value, (str, bytes, bytearray)):
                raise TypeError(f"expected {describe(name)}, got {_type_name(value)}")
            try:
                result = float(value)
            except TypeError:
                raise TypeError(f"expected {describe(name)}, got {_type_name(value)}") from None
            if name == "f32" and math.isfinite(result) and abs(result) > 3.4028235677973366e38:
                return math.copysign(math.inf, result)  # as Rust's `as f32` saturates
            return result

        return to_float
    low, high = integer_range(name)

    def to_int(value: Any) -> int:
        try:
            result = operator.index(value)
        except TypeError:
            raise TypeError(f"expected {describe(name)}, got {_type_name(value)}") from None
        if not low <= result <= high:
            raise OverflowError(f"{result} is out of range for {name} ({low} to {high})")
        return result

    return to_int


@lru_cache(maxsize=None)
def node(encoded: bytes) -> tuple[Any, ...]:
    """One level of an encoded schema (see ``_eshm._schema_node``)."""
    return tuple(_eshm._schema_node(encoded))


def enum_values(encoded: bytes) -> list[tuple[str, int]]:
    """The variants of an enum schema, with the values a Python int has (a ``u64`` value is
    stored as the ``i64`` of the same bits)."""
    _, _, repr_name, variants = node(encoded)
    unsigned = repr_name == "u64"
    return [(n, v + (1 << 64) if unsigned and v < 0 else v) for n, v in variants]


_numpy: Any = None


def numpy() -> Any:
    """The numpy module, or None if it is not installed."""
    global _numpy
    if _numpy is None:
        try:
            import numpy as np
        except ImportError:  # pragma: no cover - depends on the installation
            _numpy = False
        else:
            _numpy = np
    return _numpy or None


@lru_cache(maxsize=None)
def dtype(encoded: bytes) -> Any:
    """The numpy dtype equal to the layout of a message type: a structured dtype with the
    fields at their offsets and the type's size as its itemsize; enums as their integer type."""
    np = numpy()
    if np is None:
        raise ImportError("dtype needs numpy: pip install numpy (or eshm[numpy])")
    kind = node(encoded)
    if kind[0] == "primitive":
        return np.dtype(NUMPY[kind[1]])
    if kind[0] == "enum":
        return np.dtype(NUMPY[kind[2]])
    if kind[0] == "slice":
        return np.dtype((dtype(kind[1]), (kind[2],)))
    if kind[0] == "array":  # [[u8; 3]; 2]: u8 of shape (2, 3)
        shape, element = _array_dims(encoded)
        return np.dtype((dtype(element), shape))
    _, _, size, fields = kind
    return np.dtype(
        {
            "names": [f[0] for f in fields],
            "formats": [dtype(f[2]) for f in fields],
            "offsets": [f[1] for f in fields],
            "itemsize": size,
        }
    )


def _array_dims(encoded: bytes) -> tuple[tuple[int, ...], bytes]:
    """The shape of nested arrays and their innermost element's schema."""
    shape: list[int] = []
    while (kind := node(encoded))[0] == "array":
        shape.append(kind[2])
        encoded = kind[1]
    return tuple(shape), encoded


class Resolver:
    """Finds the Python class of a nested message or enum schema (by fingerprint): the class
    declared in Python for it, else one made from the schema (see ``_declare``)."""

    def __init__(self, struct_class: Callable[[bytes], Any], enum_class: Callable[[bytes], Any]):
        self.struct_class = struct_class
        self.enum_class = enum_class


def accessor(encoded: bytes, resolve: Resolver, cls: Any = None) -> tuple[Getter, Setter]:
    """The getter and setter of a field of type `encoded` (`cls`: its class, if the annotation
    named one)."""
    kind = node(encoded)
    if kind[0] == "primitive":
        return _scalar(kind[1])
    if kind[0] == "enum":
        return _enum(encoded, cls if cls is not None else resolve.enum_class(encoded))
    if kind[0] == "struct":
        return _message(cls if cls is not None else resolve.struct_class(encoded))
    shape, element = _array_dims(encoded)
    if node(element)[0] == "primitive":
        return _number_array(node(element)[1], shape)
    element_cls = getattr(cls, "element", None)
    if not (isinstance(element_cls, type) and getattr(element_cls, "SCHEMA_BYTES", None) == element):
        element_cls = None
    get, put = accessor(element, resolve, element_cls)
    return _item_array(get, put, shape, _size(element))


def _size(encoded: bytes) -> int:
    kind = node(encoded)
    if kind[0] == "struct":
        return int(kind[2])
    if kind[0] == "enum":
        return struct.calcsize("<" + STRUCT[kind[2]])
    if kind[0] == "primitive":
        return int(kind[2])
    return int(kind[3])


def _scalar(name: str) -> tuple[Getter, Setter]:
    packer = struct.Struct("<" + STRUCT[name])
    convert = scalar_converter(name)
    unpack_from, pack_into = packer.unpack_from, packer.pack_into

    def get(buf: Buffer, pos: int) -> Any:
        return unpack_from(buf, pos)[0]

    def put(buf: Buffer, pos: int, value: Any) -> None:
        pack_into(buf, pos, convert(value))

    return get, put


def _enum(encoded: bytes, cls: Any) -> tuple[Getter, Setter]:
    _, name, repr_name, _ = node(encoded)
    packer = struct.Struct("<" + STRUCT[repr_name])
    values = {v: n for n, v in enum_values(encoded)}
    listed = ", ".join(f"{n}={v}" for n, v in enum_values(encoded))

    def get(buf: Buffer, pos: int) -> Any:
        raw = packer.unpack_from(buf, pos)[0]
        return cls(raw) if raw in values else raw  # a value no variant has reads as the int

    def put(buf: Buffer, pos: int, value: Any) -> None:
        try:
            v = operator.index(value)
        except TypeError:
            raise TypeError(f"expected a `{name}` value, got {_type_name(value)}") from None
        if v not in values:
            raise ValueError(f"{v} is not a `{name}` value ({listed})")
        packer.pack_into(buf, pos, v)

    return get, put


def _message(cls: Any) -> tuple[Getter, Setter]:
    size = cls.SIZE

    def get(buf: Buffer, pos: int) -> Any:
        return cls._view(buf, pos)

    def put(buf: Buffer, pos: int, value: Any) -> None:
        buf[pos : pos + size] = message_bytes(cls, value)

    return get, put


def message_bytes(cls: Any, value: Any) -> bytes:
    """The bytes of `value` if it is a message of `cls`'s type (an instance of `cls`, or of any
    class of the same fingerprint, such as the class generated from Rust for the same struct);
    ``TypeError`` if not."""
    if getattr(type(value), "FINGERPRINT", None) != cls.FINGERPRINT:
        raise TypeError(f"expected a `{node(cls.SCHEMA_BYTES)[1]}`, got {_type_name(value)}")
    data = value.to_bytes()
    _eshm._schema_check(cls.SCHEMA_BYTES, data)
    return bytes(data)


def _number_array(name: str, shape: tuple[int, ...]) -> tuple[Getter, Setter]:
    size = math.prod(shape) * struct.calcsize(STRUCT[name])

    def get(buf: Buffer, pos: int) -> Any:
        return number_array_view(buf, name, shape, pos)

    def put(buf: Buffer, pos: int, value: Any) -> None:
        buf[pos : pos + size] = number_array_bytes(name, shape, value)

    return get, put


def number_array_view(buf: Buffer, name: str, shape: tuple[int, ...] | list[int], pos: int = 0) -> Any:
    """The array of `shape` of scalar type `name` at `pos` in `buf`, without a copy: a numpy array
    (a ``memoryview`` of that format and shape without numpy), writable if `buf` is. (Also what
    the array fields of the classes generated from Rust read as.)"""
    shape = tuple(shape)
    count = math.prod(shape)
    np = numpy()
    if np is not None:
        return np.frombuffer(buf, dtype=NUMPY[name], count=count, offset=pos).reshape(shape)
    view: Any = memoryview(buf)[pos : pos + count * struct.calcsize(STRUCT[name])]
    return view.cast(STRUCT[name], shape)


def number_array_bytes(name: str, shape: tuple[int, ...] | list[int], value: Any) -> bytes:
    """The bytes of `value` (an array-like of `shape`) as an array of scalar type `name`,
    checked as the scalar setters check; nothing is written on an error."""
    shape = tuple(shape)
    np = numpy()
    if np is not None and not isinstance(value, (str, bytes)):
        return _numpy_bytes(np, name, shape, value)
    flat: list[Any] = []
    _flatten(value, shape, flat)
    return struct.pack(f"<{math.prod(shape)}{STRUCT[name]}", *map(scalar_converter(name), flat))


def _numpy_bytes(np: Any, name: str, shape: tuple[int, ...], value: Any) -> bytes:
    """The bytes of an array-like of shape `shape` for elements `name`, checked as the scalar
    setters check: no floats into integers, no numbers into bools, integers in range."""
    arr = np.asarray(value)
    if arr.shape != shape:
        raise ValueError(f"expected an array of shape {shape}, got shape {arr.shape}")
    target = np.dtype(NUMPY[name])
    if arr.dtype == object:
        flat = [scalar_converter(name)(v) for v in arr.reshape(-1)]
        return bytes(np.array(flat, dtype=target).tobytes())
    if name == "bool" and arr.dtype != np.bool_:
        raise TypeError(f"expected {describe(name)}, got an array of {arr.dtype}")
    if name[0] in "ui":
        if arr.dtype.kind not in "uib":
            raise TypeError(f"expected {describe(name)}, got an array of {arr.dtype}")
        low, high = integer_range(name)
        if arr.size and (int(arr.min()) < low or int(arr.max()) > high):
            bad = int(arr.min()) if int(arr.min()) < low else int(arr.max())
            raise OverflowError(f"{bad} is out of range for {name} ({low} to {high})")
    elif name[0] == "f" and arr.dtype.kind not in "uifb":
        raise TypeError(f"expected {describe(name)}, got an array of {arr.dtype}")
    return bytes(np.ascontiguousarray(arr, dtype=target).tobytes())


def _flatten(value: Any, shape: tuple[int, ...], out: list[Any]) -> None:
    """The items of nested sequences of shape `shape`, in order (``ValueError`` for a length
    that differs, ``TypeError`` for something that is not a sequence)."""
    try:
        n = len(value)
    except TypeError:
        raise TypeError(f"expected a sequence of {shape[0]} items, got {_type_name(value)}") from None
    if n != shape[0]:
        raise ValueError(f"expected {shape[0]} items, got {n}")
    for item in value:
        if len(shape) > 1:
            _flatten(item, shape[1:], out)
        else:
            out.append(item)


def _item_array(get_item: Getter, put_item: Setter, shape: tuple[int, ...], item_size: int) -> tuple[Getter, Setter]:
    """An array of messages or enums: a list (of lists, for more dimensions) of the items (views,
    for messages); set from sequences of the same shape."""
    count = math.prod(shape)
    size = count * item_size

    def get(buf: Buffer, pos: int) -> Any:
        items = [get_item(buf, pos + i * item_size) for i in range(count)]
        for n in reversed(shape[1:]):
            items = [items[i : i + n] for i in range(0, len(items), n)]
        return items

    def put(buf: Buffer, pos: int, value: Any) -> None:
        flat: list[Any] = []
        _flatten(value, shape, flat)
        scratch = bytearray(buf[pos : pos + size])  # every item checked before anything is written
        for i, item in enumerate(flat):
            put_item(scratch, i * item_size, item)
        buf[pos : pos + size] = scratch

    return get, put
