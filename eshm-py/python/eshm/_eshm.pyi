"""The native part of eshm. Import `eshm`, not this module."""

import builtins
import enum
from types import TracebackType
from typing import Any, final

from typing_extensions import Self

from . import msg as msg

__version__: str

__all__ = [
    "BufferTooSmallError",
    "CorruptSegmentError",
    "DisconnectedError",
    "ESHM",
    "ESHMDisconnectBehavior",
    "ESHMRole",
    "Error",
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
    "bool",
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

class Error(Exception):
    """Base class of every eshm error."""

class TimeoutError(Error, builtins.TimeoutError):
    """A blocking call reached its timeout."""

class InvalidNameError(Error, ValueError):
    """A topic or channel name cannot be used."""

class TypeMismatchError(Error, ValueError):
    """The topic carries another message type."""

class InvalidMessageError(Error, ValueError):
    """A message holds a value outside its field's range."""

class MessageTooLargeError(Error, ValueError):
    """The message is larger than the channel's maximum."""

class BufferTooSmallError(Error, ValueError):
    """The next message is larger than the buffer size given."""

class PublisherExistsError(Error, RuntimeError):
    """A live process already publishes on the topic."""

class RoleTakenError(Error, RuntimeError):
    """A live process already holds this role on the channel."""

class NotFoundError(Error, RuntimeError):
    """The topic or channel does not exist."""

class DisconnectedError(Error, RuntimeError):
    """The other end of the channel is gone."""

class FullError(Error, RuntimeError):
    """The channel's queue has no room now."""

class CorruptSegmentError(Error, RuntimeError):
    """A shared-memory segment is not valid."""

class SegmentPermissionError(Error, RuntimeError):
    """A segment belongs to another user or is writable by others."""

class SegmentIOError(Error, RuntimeError):
    """A system call on a segment failed."""

class ESHMRole(enum.IntEnum):
    """The role of a channel endpoint."""

    MASTER = 0
    SLAVE = 1
    AUTO = 2

Role = ESHMRole

class ESHMDisconnectBehavior(enum.IntEnum):
    """What operations do when the other end is gone."""

    IMMEDIATELY = 0
    ON_TIMEOUT = 1
    NEVER = 2

@final
class ScalarType:
    """A scalar message type (`eshm.f32`, `eshm.u8`, ...), usable as a default value."""

    @property
    def name(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def fingerprint(self) -> int: ...
    def __call__(self, value: Any) -> Any: ...

u8: ScalarType
u16: ScalarType
u32: ScalarType
u64: ScalarType
i8: ScalarType
i16: ScalarType
i32: ScalarType
i64: ScalarType
f32: ScalarType
f64: ScalarType
bool: ScalarType

@final
class Publisher:
    """Publishes values of one type on a topic; the type comes from `default_value`."""

    def __new__(cls, name: str, default_value: Any, buffer_num: int = 3, *, mode: int = 0o600) -> Self: ...
    def publish(self, value: Any) -> None: ...
    @property
    def name(self) -> str: ...
    @property
    def type_name(self) -> str: ...
    @property
    def fingerprint(self) -> int: ...
    @property
    def capacity(self) -> int: ...
    @property
    def published(self) -> int: ...
    def close(self) -> None: ...
    def __enter__(self) -> Publisher: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> builtins.bool: ...

@final
class Subscriber:
    """Receives values of one type from a topic; the type comes from `default_value`."""

    def __new__(
        cls,
        name: str,
        default_value: Any,
        *,
        wait: str = "default",
        history: int = 1,
        allow_other_owners: builtins.bool = False,
    ) -> Self: ...
    def subscribe(self) -> tuple[Any, builtins.bool]: ...
    def recv(self, timeout: float | None = None) -> Any: ...
    def try_recv(self) -> Any | None: ...
    def latest(self) -> Any | None: ...
    def __iter__(self) -> Subscriber: ...
    def __next__(self) -> Any: ...
    @property
    def lost(self) -> int: ...
    @property
    def is_connected(self) -> builtins.bool: ...
    @property
    def name(self) -> str: ...
    @property
    def type_name(self) -> str: ...
    def close(self) -> None: ...
    def __enter__(self) -> Subscriber: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> builtins.bool: ...

@final
class ESHM:
    """One endpoint of a duplex byte channel."""

    def __new__(
        cls,
        shm_name: str,
        role: int | None = None,
        disconnect_behavior: int | None = None,
        stale_threshold_ms: int = 100,
        reconnect_wait_ms: int = 5000,
        reconnect_retry_interval_ms: int = 100,
        max_reconnect_attempts: int = 50,
        auto_cleanup: builtins.bool = True,
        use_threads: builtins.bool = True,
        *,
        capacity: int = 1048576,
        max_message: int = 65536,
        wait: str = "default",
    ) -> Self: ...
    def write(self, data: bytes | bytearray | memoryview) -> None: ...
    def read(self, buffer_size: int = 4096, timeout_ms: int | None = None) -> bytes: ...
    def try_read(self, buffer_size: int = 4096) -> bytes | None: ...
    def get_stats(self) -> dict[str, Any]: ...
    def get_role(self) -> ESHMRole: ...
    def is_remote_alive(self) -> builtins.bool: ...
    @property
    def name(self) -> str: ...
    def close(self) -> None: ...
    def __enter__(self) -> ESHM: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> builtins.bool: ...

def schema_fingerprint(encoded: bytes) -> int: ...
def schema_definition(encoded: bytes) -> str: ...
