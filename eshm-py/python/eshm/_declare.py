"""Message types declared in Python, under the rules of ``#[derive(eshm::Message)]``::

    class Mode(eshm.Enum, repr=eshm.u8):
        IDLE = 0
        RUN = 1

    class Imu(eshm.Message):
        stamp_ns: eshm.u64
        accel: eshm.Array(eshm.f32, 3)
        valid: bool
        mode: Mode
        _pad: eshm.Array(eshm.u8, 6)

The fields are laid out as C lays out the same struct, and the class has the schema and the
fingerprint the Rust derive gives it, so it publishes to and subscribes from Rust. What the
derive refuses is refused when the class is created, with ``eshm.MessageTypeError`` (a
``TypeError``) in the derive's words: implicit padding (naming the field it follows and the
byte count, suggesting a ``_pad`` field), a field type that is not a message type, no fields,
an enum without an integer ``repr``, with no variants, or with values that repeat or do not fit.

Field types: the scalar types (``eshm.u8`` ... ``eshm.f64``, ``eshm.bool_``, or ``bool``),
``eshm.Array(element, shape)``, message classes (declared here, or generated from Rust such as
``eshm.msg.Vector3``) and ``eshm.Enum`` classes. ``Annotated[T, eshm.u64]`` names the type in
its metadata, which is how a module that ``mypy --strict`` checks writes them (``T`` is what
the field reads as: ``int``, ``float``, ``bool``, ``numpy.ndarray``). Python's ``int`` and
``float`` are refused: they do not say their width.
"""

from __future__ import annotations

import enum
import inspect
import re
import sys
import types
import typing
import weakref
from collections.abc import Sequence
from typing import Any, ClassVar

from . import _eshm, _fields
from ._eshm import MessageTypeError, ScalarType, schema_definition, schema_fingerprint

_T = typing.TypeVar("_T", bound="Message")

# Every class declared here (and every class made for a schema), by fingerprint, for the
# elements of arrays and the fields of generated classes: any class of a fingerprint will do.
_BY_FINGERPRINT: weakref.WeakValueDictionary[int, type] = weakref.WeakValueDictionary()


def _not_a_message_type(what: str, why: str, instead: str) -> str:
    return f"{what} is not a message type: {why}; {instead}"


_HEAP = "it owns heap memory that other processes cannot see"
_REFUSED: dict[Any, tuple[str, str, str]] = {
    int: ("`int`", "a Python int has no fixed width", "use a fixed-width type such as `eshm.i64` or `eshm.u32`"),
    float: ("`float`", "it does not say its width", "use `eshm.f64` (what a Python float holds) or `eshm.f32`"),
    complex: ("`complex`", "it has no Rust counterpart", "use a message class with two float fields"),
    str: (
        "`str`",
        "its length is not fixed",
        "use a fixed-size byte array `eshm.Array(eshm.u8, N)` holding UTF-8 (with a length field)",
    ),
    bytes: ("`bytes`", "its length is not fixed", "use a fixed-size byte array `eshm.Array(eshm.u8, N)` (with a length field)"),
    bytearray: ("`bytearray`", _HEAP, "use a fixed-size byte array `eshm.Array(eshm.u8, N)` (with a length field)"),
    list: ("`list`", _HEAP, "use a fixed-size array such as `eshm.Array(eshm.f32, N)` instead"),
    dict: ("`dict`", _HEAP, "use a message class with named fields"),
    set: ("`set`", _HEAP, "use a fixed-size array such as `eshm.Array(eshm.u32, N)` with a length field"),
    tuple: ("a tuple", "its items have no declared layout", "use an `eshm.Message` class with named fields"),
    type(None): ("`None`", "it carries no data", "remove the field"),
    object: ("`object`", "its size and layout are not known", "use a concrete message type"),
    typing.Any: ("`Any`", "its size and layout are not known", "use a concrete message type"),
}


def _refusal(owner: str, field: str, ann: Any) -> MessageTypeError:
    """The derive's error for a field type that is not a message type."""
    origin = typing.get_origin(ann)
    if ann in _REFUSED or origin in _REFUSED:
        text = _not_a_message_type(*_REFUSED[ann if ann in _REFUSED else origin])
    elif origin is typing.Union or origin is types.UnionType:
        text = _not_a_message_type(
            "`Optional`" if type(None) in typing.get_args(ann) else "a union",
            "its layout is not specified for every payload type",
            "store the value and a `bool` (or `u8`) field that says whether it is set",
        )
    elif isinstance(ann, str):
        text = _not_a_message_type(
            f"`{ann}`", "the annotation names nothing the class can see", "define or import the type before the class"
        )
    elif isinstance(ann, type) and issubclass(ann, enum.Enum):
        text = _not_a_message_type(
            f"`{ann.__name__}`",
            "a Python enum does not say how it is represented",
            f"derive it from `eshm.Enum` with an integer representation: `class {ann.__name__}(eshm.Enum, repr=eshm.u8)`",
        )
    elif ann is Message or ann is Enum:
        text = f"`eshm.{ann.__name__}` is not a message type: it is the base class of message types; use a class derived from it"
    elif (numpy := _fields.numpy()) is not None and isinstance(ann, type) and issubclass(ann, numpy.generic):
        scalar = {v: k for k, v in _fields.NUMPY.items()}.get(numpy.dtype(ann).newbyteorder("<").str, "u8")
        text = _not_a_message_type(f"`numpy.{ann.__name__}`", "numpy types are not message types", f"use `eshm.{scalar}`")
    else:
        name = getattr(ann, "__name__", None) or repr(ann)
        text = (
            f"`{name}` is not a message type: it cannot be sent through shared memory; message types are the "
            "scalar types (eshm.u8 ... eshm.f64, bool), eshm.Array(...), eshm.Message classes, classes generated "
            "from Rust (such as eshm.msg.Pose) and eshm.Enum classes"
        )
    return MessageTypeError(f"field `{field}` of `{owner}`: {text}")


def _schema_of(owner: str, field: str, ann: Any) -> tuple[bytes, Any]:
    """The encoded schema of a field's annotation, and the class it names (a message or enum
    class, an array type), if any."""
    if typing.get_origin(ann) is typing.Annotated:
        for meta in ann.__metadata__:
            if isinstance(meta, ScalarType) or meta is bool or isinstance(getattr(meta, "SCHEMA_BYTES", None), bytes):
                return _schema_of(owner, field, meta)
        ann = typing.get_args(ann)[0]
    if ann is bool:
        return _scalar_schema("bool"), None
    if isinstance(ann, ScalarType):
        return _scalar_schema(ann.name), None
    if ann is Message or ann is Enum:
        raise _refusal(owner, field, ann)
    encoded = getattr(ann, "SCHEMA_BYTES", None)
    if isinstance(encoded, bytes):
        return encoded, ann
    raise _refusal(owner, field, ann)


def _scalar_schema(name: str) -> bytes:
    """The encoded schema of a scalar type: version 1, then its tag."""
    tags = ["u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64", "f32", "f64", "bool"]
    return bytes([1, tags.index(name) + 1])


def _annotations(cls: type) -> dict[str, Any]:
    """The class's own field annotations, strings evaluated (``from __future__ import
    annotations``) in its module and class namespace; ``ClassVar`` ones left out."""
    out: dict[str, Any] = {}
    module = sys.modules.get(cls.__module__)
    scope = dict(vars(module)) if module is not None else {}
    local: dict[str, Any] = {}
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__") in (__name__, "types"):
        frame = frame.f_back  # type: ignore[assignment]
    if frame is not None:  # where the class statement is: its names, a function's local classes
        scope = {**frame.f_globals, **scope} if module is not None else dict(frame.f_globals)
        local = dict(frame.f_locals)
    for name, ann in inspect.get_annotations(cls).items():
        if isinstance(ann, str):
            try:
                ann = eval(ann, scope, {**local, **vars(cls)})  # noqa: S307 (the class's own annotation)
            except Exception:  # noqa: BLE001 (reported as the field's error)
                raise _refusal(cls.__name__, name, ann) from None
        if ann is ClassVar or typing.get_origin(ann) is ClassVar:  # type: ignore[comparison-overlap]
            continue
        out[name] = ann
    return out


class _ClassProperty:
    """A read-only attribute computed from the class (``Imu.dtype``, ``imu.dtype``)."""

    def __init__(self, compute: Any):
        self.compute = compute
        self.__doc__ = compute.__doc__

    def __get__(self, obj: Any, cls: type) -> Any:
        return self.compute(cls)


def _dtype(cls: type) -> Any:
    """The numpy structured dtype equal to the message's layout (field offsets, itemsize)."""
    return _fields.dtype(cls.SCHEMA_BYTES)  # type: ignore[attr-defined]


class _MessageMeta(type):
    """Gives each message class empty ``__slots__``: a misspelt field is an AttributeError."""

    def __new__(mcls, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any) -> Any:
        namespace.setdefault("__slots__", ())
        return super().__new__(mcls, name, bases, namespace, **kwargs)


class Message(metaclass=_MessageMeta):
    """Base class of the message types declared in Python: each annotated class attribute is a
    field, laid out in order as a ``#[repr(C)]`` struct (see the module docs of ``eshm``).

    A class has what the classes generated from Rust have: a keyword constructor (fields not
    given are zero, enums their first variant), a property per field, ``repr``, ``==``,
    ``to_bytes()`` / ``from_bytes()``, and the class attributes ``SCHEMA_BYTES``,
    ``FINGERPRINT``, ``SIZE`` and ``SCHEMA`` (the definition, as Rust would write it); and also
    ``dtype`` (the numpy structured dtype of its layout), ``from_buffer`` (a message viewing a
    buffer) and ``frombuffer`` (a numpy array of the messages in a buffer).

    A nested message is a view of its parent's bytes (``imu.pose.position.x = 1.0`` changes
    ``imu``); an array of numbers is a numpy array over them (``imu.accel[0] = 1.0`` changes
    ``imu``; a ``memoryview`` without numpy); an enum field reads as a member of its class.
    """

    __slots__ = ("_buf", "_off", "__weakref__")
    SCHEMA_BYTES: ClassVar[bytes]
    FINGERPRINT: ClassVar[int]
    SIZE: ClassVar[int]
    SCHEMA: ClassVar[str]
    _FIELDS: ClassVar[tuple[str, ...]]
    _INIT: ClassVar[bytes]
    _buf: Any
    _off: int

    dtype: ClassVar[Any] = _ClassProperty(_dtype)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__name__
        for base in cls.__mro__[1:]:
            if base is not Message and issubclass(base, Message):
                raise MessageTypeError(
                    f"`{name}` derives from the message class `{base.__name__}`: message classes cannot be "
                    "extended; declare every field in one class (or nest the other message as a field)"
                )
        annotations = _annotations(cls)
        if not annotations:
            raise MessageTypeError(
                f"`{name}` has no fields: a zero-sized type carries no data and cannot be a message; add a field"
            )
        fields: list[tuple[str, bytes, Any]] = []
        for field, ann in annotations.items():
            if field in vars(cls):
                raise MessageTypeError(
                    f"field `{field}` of `{name}` has a value in the class body: a field starts at zero "
                    "(an enum at its first variant); set it in the constructor"
                )
            if hasattr(Message, field):
                raise MessageTypeError(f"field `{field}` of `{name}` would hide `Message.{field}`; rename the field")
            encoded, named = _schema_of(name, field, ann)
            fields.append((field, encoded, named))
        try:
            cls.SCHEMA_BYTES = bytes(_eshm._struct_schema(name, [(f, e) for f, e, _ in fields]))
        except MessageTypeError as e:  # the derive's words, with the padding field spelt in Python
            raise MessageTypeError(re.sub(r"\[u8; (\d+)\]", r"eshm.Array(eshm.u8, \1)", str(e))) from None
        _finish(cls, {f: named for f, _, named in fields})

    def __init__(self, **fields: Any) -> None:
        cls = type(self)
        self._buf = bytearray(cls._INIT)
        self._off = 0
        for key, value in fields.items():
            if key not in cls._FIELDS:
                raise TypeError(f"`{cls.__name__}` has no field `{key}` (fields: {', '.join(cls._FIELDS)})")
            setattr(self, key, value)

    @classmethod
    def _view(cls: type[_T], buf: Any, offset: int) -> _T:
        obj = cls.__new__(cls)
        obj._buf = buf
        obj._off = offset
        return obj

    def to_bytes(self) -> bytes:
        """A copy of the message's bytes."""
        return bytes(self._buf[self._off : self._off + self.SIZE])

    @classmethod
    def from_bytes(cls: type[_T], data: bytes) -> _T:
        """A message holding a copy of `data`, which must be a valid message of this type
        (length, every ``bool`` and enum field: ``ValueError`` otherwise)."""
        data = bytes(data)
        _eshm._schema_check(cls.SCHEMA_BYTES, data)
        return cls._view(bytearray(data), 0)

    @classmethod
    def from_buffer(cls: type[_T], buffer: Any, offset: int = 0) -> _T:
        """A message that views ``SIZE`` bytes of `buffer` at `offset`, without a copy (as
        ``ctypes``' ``from_buffer``): setting a field writes into `buffer` (if it is writable),
        and the message reads what `buffer` holds now. Checked as ``from_bytes`` checks."""
        view = memoryview(buffer).cast("B")
        if offset < 0 or offset + cls.SIZE > len(view):
            raise ValueError(f"a `{cls.__name__}` of {cls.SIZE} bytes at offset {offset} does not fit {len(view)} bytes")
        _eshm._schema_check(cls.SCHEMA_BYTES, bytes(view[offset : offset + cls.SIZE]))
        return cls._view(view, offset)

    @classmethod
    def frombuffer(cls, buffer: Any, count: int = -1, offset: int = 0) -> Any:
        """The messages in `buffer` (a recorded stream of them, back to back) as a numpy array of
        ``cls.dtype``, without a copy (``numpy.frombuffer``): ``arr["stamp_ns"]`` is a column.
        Field values are not checked (a ``bool`` byte of 2 reads as True)."""
        np = _fields.numpy()
        if np is None:
            raise ImportError("frombuffer needs numpy: pip install numpy (or eshm[numpy])")
        return np.frombuffer(buffer, dtype=cls.dtype, count=count, offset=offset)

    def __repr__(self) -> str:
        return str(_eshm._schema_repr(self.SCHEMA_BYTES, self.to_bytes()))

    def __eq__(self, other: object) -> bool:
        if getattr(type(other), "FINGERPRINT", None) != self.FINGERPRINT:
            return NotImplemented
        return bool(self.to_bytes() == other.to_bytes())  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]  # mutable, as the generated classes

    def __copy__(self: _T) -> _T:
        return type(self)._view(bytearray(self.to_bytes()), 0)

    def __deepcopy__(self: _T, memo: Any) -> _T:
        return self.__copy__()

    def __reduce__(self) -> tuple[Any, tuple[str, str, bytes]]:
        from . import _unpickle_message

        cls = type(self)
        return _unpickle_message, (cls.__module__, cls.__qualname__, self.to_bytes())


def _finish(cls: Any, named: dict[str, Any]) -> None:
    """The class attributes and field properties of a message class whose SCHEMA_BYTES is set
    (`named`: the class each field's annotation named, if any)."""
    encoded = cls.SCHEMA_BYTES
    cls.FINGERPRINT = schema_fingerprint(encoded)
    cls.SCHEMA = schema_definition(encoded)
    _, _, cls.SIZE, fields = _fields.node(encoded)
    cls._INIT = bytes(_eshm._schema_init(encoded))
    cls._FIELDS = tuple(f[0] for f in fields)
    for field, offset, field_schema in fields:
        named_cls = named.get(field)
        if isinstance(named_cls, type) and issubclass(named_cls, Message | Enum):
            pass
        elif _fields.node(field_schema)[0] == "array":
            pass  # an array type: its element class, if any, is found by `accessor`
        else:
            named_cls = None  # a generated class: its fields are read through a class made for it
        get, put = _fields.accessor(field_schema, _RESOLVER, named_cls)
        setattr(cls, field, _property(field, offset, get, put))
    _BY_FINGERPRINT.setdefault(cls.FINGERPRINT, cls)


def _property(field: str, offset: int, get: Any, put: Any) -> property:
    def getter(self: Message) -> Any:
        return get(self._buf, self._off + offset)

    def setter(self: Message, value: Any) -> None:
        put(self._buf, self._off + offset, value)

    return property(getter, setter, doc=f"The field `{field}`.")


def _struct_class(encoded: bytes) -> type:
    """A Python class for a struct schema that no class declared here has (a class generated
    from Rust, nested in a declared one): the same fields, schema and fingerprint, so that its
    objects can view their parent's bytes. ``==`` and the setters take either class."""
    fingerprint = schema_fingerprint(encoded)
    found = _BY_FINGERPRINT.get(fingerprint)
    if found is not None and issubclass(found, Message):
        return typing.cast(type, found)
    _, name, _, fields = _fields.node(encoded)
    annotations = {field: _Schema(schema) for field, _, schema in fields}
    cls: type = _MessageMeta(name, (Message,), {"__module__": __name__, "__qualname__": name, "__annotations__": annotations})
    assert getattr(cls, "FINGERPRINT") == fingerprint, "the schema rules of the derive and of _struct_schema agree"
    return cls


class _Schema:
    """A field type given by its encoded schema (the fields of a class made for a schema)."""

    def __init__(self, encoded: bytes):
        self.SCHEMA_BYTES = encoded


def _enum_class(encoded: bytes) -> type:
    """An ``eshm.Enum`` class for an enum schema that no class declared here has."""
    fingerprint = schema_fingerprint(encoded)
    found = _BY_FINGERPRINT.get(fingerprint)
    if found is not None and issubclass(found, Enum):
        return found
    _, name, repr_name, _ = _fields.node(encoded)
    members = _fields.enum_values(encoded)

    def body(namespace: dict[str, Any]) -> None:
        for n, v in members:
            namespace[n] = v

    return types.new_class(name, (Enum,), {"repr": getattr(_eshm, repr_name)}, body)


_RESOLVER = _fields.Resolver(_struct_class, _enum_class)


class _EnumMeta(enum.EnumType):
    """Builds the schema of an ``eshm.Enum`` class once its members exist."""

    def __new__(mcls, name: str, bases: tuple[type, ...], namespace: Any, **kwargs: Any) -> Any:
        cls = super().__new__(mcls, name, bases, namespace, **kwargs)
        if any(isinstance(b, _EnumMeta) for b in bases):
            _finish_enum(cls)
        return cls


class Enum(enum.IntEnum, metaclass=_EnumMeta):
    """Base class of the enums declared in Python, a fieldless ``#[repr(u8)]`` Rust enum::

        class Mode(eshm.Enum, repr=eshm.u8):
            IDLE = 0
            RUN = 1

    An ``IntEnum`` with the class attributes ``SCHEMA_BYTES``, ``FINGERPRINT``, ``SIZE`` and
    ``SCHEMA``; usable as a field type of a message class."""

    SCHEMA_BYTES: ClassVar[bytes]
    FINGERPRINT: ClassVar[int]
    SIZE: ClassVar[int]
    SCHEMA: ClassVar[str]

    def __init_subclass__(cls, *, repr: ScalarType[int] | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if repr is None:
            raise MessageTypeError(
                f"`{cls.__name__}`: message enums need an integer representation such as `repr=eshm.u8`: "
                f"without it, other processes cannot know its size; declare `class {cls.__name__}(eshm.Enum, repr=eshm.u8)`"
            )
        if not isinstance(repr, ScalarType) or repr.name in ("f32", "f64", "bool"):
            raise MessageTypeError(
                f"`repr={repr!r}` is not supported by message enums; use one of eshm.u8, eshm.u16, eshm.u32, "
                "eshm.u64, eshm.i8, eshm.i16, eshm.i32, eshm.i64"
            )
        type.__setattr__(cls, "_eshm_repr", repr.name)


def _finish_enum(cls: Any) -> None:
    repr_name = cls._eshm_repr
    low, high = _fields.integer_range(repr_name)
    variants: list[tuple[str, int]] = []
    for name, member in cls.__members__.items():
        value = int(member.value)  # an alias (a value repeated) has the value of the first
        if not low <= value <= high:
            raise MessageTypeError(f"`{cls.__name__}`: `{name}` = {value} does not fit {repr_name}")
        # The encoding stores a u64 value above i64::MAX as the i64 of the same bits.
        variants.append((name, value - (1 << 64) if value >= 1 << 63 else value))
    encoded = bytes(_eshm._enum_schema(cls.__name__, repr_name, variants))
    attributes: list[tuple[str, Any]] = [
        ("SCHEMA_BYTES", encoded),
        ("FINGERPRINT", schema_fingerprint(encoded)),
        ("SCHEMA", schema_definition(encoded)),
        ("SIZE", _fields._size(encoded)),
    ]
    for key, value in attributes:
        type.__setattr__(cls, key, value)
    _BY_FINGERPRINT.setdefault(cls.FINGERPRINT, cls)



# The enum classes made for the enums of classes generated from Rust, by encoded schema (kept:
# every field read of such an enum looks its class up here).
_GENERATED_ENUMS: dict[bytes, type] = {}


def _generated_enum(encoded: bytes, doc: str = "", member_docs: Sequence[tuple[str, str]] = ()) -> type:
    """The ``eshm.Enum`` class an enum field of a class generated from Rust reads as (called by
    the generated getters; one class per enum type, made on first use, with the Rust doc
    comments of the enum and of its variants as ``__doc__`` s unless a class declared in Python
    is used for it)."""
    found = _GENERATED_ENUMS.get(encoded)
    if found is None:
        declared = _BY_FINGERPRINT.get(schema_fingerprint(encoded))
        made: Any = _enum_class(encoded)
        found = _GENERATED_ENUMS[encoded] = made
        if made is not declared:
            made.__doc__ = doc or None
            for name, text in member_docs:
                if text and name in made.__members__:
                    made.__members__[name].__doc__ = text
    return found


def _frombuffer(cls: Any, buffer: Any, count: int = -1, offset: int = 0) -> Any:
    """The messages in `buffer` (a recorded stream of them, back to back) as a numpy array of
    ``cls.dtype``, without a copy (``numpy.frombuffer``): ``arr["stamp_ns"]`` is a column."""
    np = _fields.numpy()
    if np is None:
        raise ImportError("frombuffer needs numpy: pip install numpy (or eshm[numpy])")
    return np.frombuffer(buffer, dtype=_fields.dtype(cls.SCHEMA_BYTES), count=count, offset=offset)


def _add_numpy_helpers(cls: Any) -> None:
    """Gives a class generated from Rust the ``dtype`` of its layout and ``frombuffer`` (the
    messages in a buffer as a numpy structured array, without a copy), as declared classes have."""
    cls.dtype = _ClassProperty(_dtype)
    cls.frombuffer = classmethod(_frombuffer)
