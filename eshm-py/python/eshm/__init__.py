"""eshm: typed, lock-free inter-process communication over shared memory.

Publish/subscribe with the API of the SHM library::

    import eshm
    pub = eshm.Publisher("robot/speed", 0.0)        # the default value gives the type: float
    pub.publish(1.5)
    sub = eshm.Subscriber("robot/speed", 0.0)       # in another process
    value, ok = sub.subscribe()                     # the newest value; ok while younger than 2 s
    value = sub.recv(timeout=1.0)                   # every value in order; blocks, GIL released

An SHM script runs unchanged with ``from eshm import shm_pub_sub`` as its import line.

Message types defined in Rust (``eshm.msg.Pose``, or your own with ``#[eshm(python)]``)::

    pose_pub = eshm.Publisher("robot/pose", eshm.msg.Pose)
    pose_pub.publish(eshm.msg.Pose(position=eshm.msg.Vector3(x=1.0)))

Services (request/response) and actions (goals with feedback), any number of clients::

    server = eshm.ServiceServer("calc/square", eshm.u64, eshm.u64, lambda x: x * x)
    client = eshm.ServiceClient("calc/square", eshm.u64, eshm.u64)  # in another process
    assert client.call(7, timeout=1.0) == 49
    ok, square = client.call(7, 100_000)           # SHM's form: timeout in µs, (ok, response)

The duplex byte channel with the API of the ESHM library's Python wrapper::

    from eshm import ESHM, ESHMRole
    with ESHM("control", role=ESHMRole.MASTER) as ch:
        ch.write(b"hello")
        reply = ch.read(timeout_ms=1000)

Every object may be shared between threads; one inherited through ``fork()`` is closed in
the child. ``eshm.list()`` and ``eshm.clean()`` do what ``eshm list --json`` and
``eshm clean`` do.
"""

from __future__ import annotations

import builtins as _builtins
import json as _json
from typing import Any

from . import msg, shm_pub_sub
from ._compat import ESHMConfig, ESHMStats
from ._eshm import (
    ACTION_STATUS,
    ESHM,
    ActionClient,
    ActionServer,
    BufferTooSmallError,
    CallDroppedError,
    Closable,
    ClosedError,
    CorruptSegmentError,
    DisconnectedError,
    Error,
    ESHMDisconnectBehavior,
    ESHMError,
    ESHMRole,
    FullError,
    GoalStatus,
    InvalidArgumentError,
    InvalidMessageError,
    InvalidNameError,
    MessageTooLargeError,
    NoDataError,
    NoServerError,
    NotFoundError,
    Publisher,
    PublisherExistsError,
    Role,
    RoleTakenError,
    ScalarType,
    SegmentIOError,
    SegmentPermissionError,
    ServerExistsError,
    ServerGoal,
    ServerGoneError,
    ServiceClient,
    ServiceRequest,
    ServiceServer,
    Subscriber,
    TooManyCallsError,
    TooManyClientsError,
    TypeMismatchError,
    UnknownGoalError,
    __version__,
    _list_json,
    f32,
    f64,
    i8,
    i16,
    i32,
    i64,
    schema_definition,
    schema_fingerprint,
    u8,
    u16,
    u32,
    u64,
)
from ._eshm import TimeoutError as TimeoutError
from ._eshm import bool as bool_
from ._eshm import clean as clean

# u8 ... f64 and bool_ are the scalar message types, usable as the default value of a
# Publisher or Subscriber (`eshm.Publisher("speed", eshm.f32)`).


def list() -> _builtins.list[dict[str, Any]]:  # noqa: A001 (eshm.list, like `eshm list`)
    """Every topic and channel on this machine, with the facts ``eshm list --json`` prints:
    name, kind, type, owner pid, whether it is alive, state, sizes, readers, counters."""
    result: _builtins.list[dict[str, Any]] = _json.loads(_list_json())
    return result


def _unpickle_message(module: str, name: str, data: bytes) -> Any:
    """Unpickling of message objects (see their ``__reduce__``): the class ``name`` of
    ``module``, from the message's bytes (checked)."""
    import importlib

    cls = getattr(importlib.import_module(module), name)
    return cls.from_bytes(data)


# `TimeoutError`, `list` and `clean` stay out of `__all__`: `from eshm import *` must not
# shadow the built-ins `TimeoutError` and `list` (eshm.TimeoutError is one anyway).
__all__ = [
    "ACTION_STATUS",
    "ESHM",
    "ActionClient",
    "ActionServer",
    "BufferTooSmallError",
    "CallDroppedError",
    "Closable",
    "ClosedError",
    "CorruptSegmentError",
    "DisconnectedError",
    "Error",
    "ESHMConfig",
    "ESHMDisconnectBehavior",
    "ESHMError",
    "ESHMRole",
    "ESHMStats",
    "FullError",
    "GoalStatus",
    "InvalidArgumentError",
    "InvalidMessageError",
    "InvalidNameError",
    "MessageTooLargeError",
    "NoDataError",
    "NoServerError",
    "NotFoundError",
    "Publisher",
    "PublisherExistsError",
    "Role",
    "RoleTakenError",
    "ScalarType",
    "SegmentIOError",
    "SegmentPermissionError",
    "ServerExistsError",
    "ServerGoal",
    "ServerGoneError",
    "ServiceClient",
    "ServiceRequest",
    "ServiceServer",
    "Subscriber",
    "TooManyCallsError",
    "TooManyClientsError",
    "TypeMismatchError",
    "UnknownGoalError",
    "__version__",
    "bool_",
    "f32",
    "f64",
    "i16",
    "i32",
    "i64",
    "i8",
    "msg",
    "schema_definition",
    "schema_fingerprint",
    "shm_pub_sub",
    "u16",
    "u32",
    "u64",
    "u8",
]
