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

Message types declared in Python, with the layout, schema and fingerprint of the Rust derive of
the same struct (see ``eshm.Message``)::

    class Imu(eshm.Message):
        stamp_ns: eshm.u64
        accel: eshm.Array(eshm.f32, 3)
        valid: bool
        _pad: eshm.Array(eshm.u8, 3)

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

asyncio, without a thread per wait (one waiter thread per process wakes the event loop)::

    value = await sub.recv_async(timeout=1.0)       # eshm.TimeoutError after 1 s
    async for value in sub.stream(): ...            # until the subscriber is closed
    square = await client.call_async(7, timeout=1.0)
    reply = await ch.read_async()                   # and ch.write_async(data)

Every object may be shared between threads; one inherited through ``fork()`` is closed in
the child. ``eshm.list()`` and ``eshm.clean()`` do what ``eshm list --json`` and
``eshm clean`` do.

Exceptions: every error eshm raises is an ``eshm.Error`` and also the built-in exception of its
kind (``except ValueError:`` catches a bad argument; ``except RuntimeError:`` what the original
ESHM wrapper raised as one)::

    eshm.                   built-in bases              raised when
    TimeoutError            TimeoutError                a blocking call reached its timeout:
                                                        recv, ESHM.read, ESHM.write (the queue
                                                        stayed full, or a slave's master
                                                        missing, for 1 s); wait_for returns
                                                        False instead
    NoDataError             TimeoutError, RuntimeError  ESHM.read(timeout_ms=0) with nothing
                                                        queued (an eshm.TimeoutError too)
    InvalidNameError        ValueError                  a topic or channel name that cannot be
                                                        used ("", a control character, too long)
    InvalidArgumentError    ValueError                  an argument out of range: buffer_num=0,
                                                        a capacity too small for max_message,
                                                        wait="bogus", role=7, a negative or NaN
                                                        timeout, a write_data key of 256 bytes,
                                                        an invalid SCHEMA_BYTES
    OutOfRangeError         ValueError, OverflowError   an integer that does not fit (an
                                                        InvalidArgumentError too): 256 published
                                                        on an eshm.u8 topic, history=-1
    ArgumentTypeError       TypeError                   an argument of a type the call does not
                                                        take: buffer_num="3", 1.5 published on
                                                        an int topic, Publisher(name, "text"),
                                                        write(5), write_data([...])
    TypeMismatchError       ValueError                  the topic carries another message type
    InvalidMessageError     ValueError                  a received message is not valid: a bool
                                                        or enum field out of range, or read_data
                                                        of a message that write_data did not
                                                        write
    MessageTooLargeError    ValueError, RuntimeError    ESHM.write of more than max_message
                                                        bytes
    BufferTooSmallError     ValueError, RuntimeError    ESHM.read with a buffer_size smaller
                                                        than the next message (which stays
                                                        queued)
    PublisherExistsError    RuntimeError                a live process already publishes on the
                                                        topic
    RoleTakenError          RuntimeError                a live process already holds this role
                                                        on the channel
    NotFoundError           RuntimeError                a slave found no live master within
                                                        max_reconnect_attempts
    DisconnectedError       RuntimeError                the other end is gone and the disconnect
                                                        behaviour gave up on it
    FullError               RuntimeError                ESHM.try_write with no room in the queue
                                                        now; recv_view past the held-sample
                                                        limits; publish or loan while a loan
                                                        is open
    CorruptSegmentError     RuntimeError                a segment file that is not a valid eshm
                                                        segment (or of another layout version)
    SegmentPermissionError  RuntimeError                a segment of another user or writable by
                                                        others (unless allow_other_owners=True),
                                                        or not a regular file
    SegmentIOError          RuntimeError                a system call on a segment failed
                                                        (ESHM_SHM_DIR is not a directory,
                                                        /dev/shm is full)
    ClosedError             RuntimeError                the object was closed, or was inherited
                                                        through fork()
    ServerExistsError       RuntimeError                a live process already serves the
                                                        service or action
    TooManyClientsError     RuntimeError                every client slot of the service or
                                                        action is held by a live client
    ServerGoneError         RuntimeError                the server died or closed before
                                                        answering the call (or ending the goal)
    NoServerError           RuntimeError                no live server serves the service or
                                                        action (none came in time)
    TooManyCallsError       RuntimeError                the client already has max_in_flight
                                                        calls or goals in flight
    CallDroppedError        RuntimeError                the server dropped the request without
                                                        answering it (its handler raised)
    UnknownGoalError        ValueError                  the action client has no goal with
                                                        this id
    MessageTypeError        TypeError                   a message class declared in Python
                                                        breaks a rule of #[derive(Message)]
                                                        (padding, a field type that is not a
                                                        message type, a bad enum), when the
                                                        class is created

``eshm.Error`` itself is raised by nothing today (it would be, for an error of the Rust core
that this version of the module does not name). Python's own ``TypeError`` comes only from a
call with a wrong signature (a missing or unknown argument); message objects
(``eshm.msg.Vector3(x="a")``, ``Vector3.from_bytes(b"")``) raise the built-in ``TypeError``,
``ValueError`` or ``OverflowError`` of a wrong field, as Python classes do.
"""

from __future__ import annotations

import builtins as _builtins
import json as _json
from typing import Any

from . import msg, shm_pub_sub
from ._compat import ESHMConfig, ESHMStats
from ._declare import Enum, Message, _add_numpy_helpers
from ._eshm import (
    ACTION_STATUS,
    ESHM,
    ArgumentTypeError,
    Array,
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
    Loan,
    MessageTooLargeError,
    MessageTypeError,
    NoDataError,
    NoServerError,
    NotFoundError,
    OutOfRangeError,
    Publisher,
    PublisherExistsError,
    Role,
    RoleTakenError,
    SampleView,
    ScalarType,
    SegmentIOError,
    SegmentPermissionError,
    ServerExistsError,
    ServerGoal,
    ServerGoneError,
    ServiceClient,
    ServiceRequest,
    ServiceServer,
    Slice,
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

for _class in (msg.Vector3, msg.Quaternion, msg.Pose, msg.Twist, msg.Imu):
    _add_numpy_helpers(_class)  # dtype and frombuffer, as declared classes have

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
    "ArgumentTypeError",
    "ActionClient",
    "Array",
    "ActionServer",
    "Array",
    "BufferTooSmallError",
    "CallDroppedError",
    "Closable",
    "ClosedError",
    "CorruptSegmentError",
    "DisconnectedError",
    "Error",
    "ESHMConfig",
    "ESHMDisconnectBehavior",
    "Enum",
    "ESHMError",
    "ESHMRole",
    "ESHMStats",
    "FullError",
    "GoalStatus",
    "InvalidArgumentError",
    "InvalidMessageError",
    "InvalidNameError",
    "Loan",
    "Message",
    "MessageTooLargeError",
    "MessageTypeError",
    "NoDataError",
    "NoServerError",
    "NotFoundError",
    "OutOfRangeError",
    "Publisher",
    "PublisherExistsError",
    "Role",
    "RoleTakenError",
    "SampleView",
    "ScalarType",
    "SegmentIOError",
    "SegmentPermissionError",
    "ServerExistsError",
    "ServerGoal",
    "ServerGoneError",
    "ServiceClient",
    "ServiceRequest",
    "ServiceServer",
    "Slice",
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
