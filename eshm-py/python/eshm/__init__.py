"""eshm: typed, lock-free inter-process communication over shared memory.

Publish/subscribe with the API of the SHM library::

    import eshm
    pub = eshm.Publisher("robot/speed", 0.0)        # the default value gives the type: float
    pub.publish(1.5)
    sub = eshm.Subscriber("robot/speed", 0.0)       # in another process
    value, is_new = sub.subscribe()                 # (0.0, False) until data arrives
    value = sub.recv(timeout=1.0)                   # blocks (GIL released); TimeoutError

Message types defined in Rust (``eshm.msg.Pose``, or your own with ``#[eshm(python)]``)::

    pose_pub = eshm.Publisher("robot/pose", eshm.msg.Pose)
    pose_pub.publish(eshm.msg.Pose(position=eshm.msg.Vector3(x=1.0)))

The duplex byte channel with the API of the ESHM library::

    from eshm import ESHM, ESHMRole
    with ESHM("control", role=ESHMRole.MASTER) as ch:
        ch.write(b"hello")
        reply = ch.read(timeout_ms=1000)
"""

from . import msg
from ._eshm import (
    ESHM,
    BufferTooSmallError,
    CorruptSegmentError,
    DisconnectedError,
    Error,
    ESHMDisconnectBehavior,
    ESHMRole,
    FullError,
    InvalidMessageError,
    InvalidNameError,
    MessageTooLargeError,
    NotFoundError,
    Publisher,
    PublisherExistsError,
    Role,
    RoleTakenError,
    ScalarType,
    SegmentIOError,
    SegmentPermissionError,
    Subscriber,
    TimeoutError,
    TypeMismatchError,
    __version__,
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
from ._eshm import bool as bool_

# u8 ... f64 and bool_ are the scalar message types, usable as the default value of a
# Publisher or Subscriber (`eshm.Publisher("speed", eshm.f32)`).

__all__ = [
    "ESHM",
    "BufferTooSmallError",
    "CorruptSegmentError",
    "DisconnectedError",
    "Error",
    "ESHMDisconnectBehavior",
    "ESHMRole",
    "FullError",
    "InvalidMessageError",
    "InvalidNameError",
    "MessageTooLargeError",
    "NotFoundError",
    "Publisher",
    "PublisherExistsError",
    "Role",
    "RoleTakenError",
    "ScalarType",
    "SegmentIOError",
    "SegmentPermissionError",
    "Subscriber",
    "TimeoutError",
    "TypeMismatchError",
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
    "u16",
    "u32",
    "u64",
    "u8",
]
