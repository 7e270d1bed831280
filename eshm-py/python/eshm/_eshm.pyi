"""The native part of eshm. Import `eshm`, not this module."""

import builtins
import enum
from types import TracebackType
from collections.abc import AsyncIterator, Callable
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar, final, overload

from numpy.typing import ArrayLike, NDArray

from . import msg as msg

__version__: str

__all__ = [
    "ArgumentTypeError",
    "Array",
    "HeldSample",
    "Loan",
    "SampleView",
    "ACTION_STATUS",
    "ActionClient",
    "ActionServer",
    "BufferTooSmallError",
    "CallDroppedError",
    "Closable",
    "ClosedError",
    "CorruptSegmentError",
    "DisconnectedError",
    "ESHM",
    "ESHMDisconnectBehavior",
    "ESHMError",
    "ESHMRole",
    "Error",
    "FullError",
    "GoalStatus",
    "InvalidArgumentError",
    "InvalidMessageError",
    "InvalidNameError",
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
    "TimeoutError",
    "TooManyCallsError",
    "TooManyClientsError",
    "TypeMismatchError",
    "UnknownGoalError",
    "_CallTicket",
    "__version__",
    "_aio_abandon",
    "_aio_cancel",
    "_aio_goal_feedback",
    "_aio_goal_result",
    "_aio_read",
    "_aio_recv",
    "_aio_response",
    "_aio_send",
    "_aio_set_spin_us",
    "_aio_shutdown",
    "_aio_stats",
    "_aio_write",
    "_cli_main",
    "_array_schema",
    "_enum_schema",
    "_list_json",
    "_schema_check",
    "_schema_init",
    "_schema_node",
    "_schema_repr",
    "_struct_schema",
    "bool",
    "clean",
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

class NoDataError(TimeoutError, RuntimeError):
    """Nothing to read, and the call was not to wait (`read(timeout_ms=0)`)."""

class InvalidNameError(Error, ValueError):
    """A topic or channel name cannot be used."""

class InvalidArgumentError(Error, ValueError):
    """An argument is out of range (a capacity, a size, a timeout, an enum value, a wait strategy, a write_data key)."""

class OutOfRangeError(InvalidArgumentError, OverflowError):
    """An integer that does not fit: a value for a topic of a smaller type (256 for eshm.u8), a negative count."""

class ArgumentTypeError(Error, TypeError):
    """An argument of a type the call does not take: a value that is not of the topic's type, a default value that names no message type, a str where an int is expected."""

class TypeMismatchError(Error, ValueError):
    """The topic carries another message type than the one this process uses."""

class InvalidMessageError(Error, ValueError):
    """A received message holds a value outside its field's range (a bool or an enum), or is not a message of its kind at all (read_data)."""

class MessageTooLargeError(Error, ValueError, RuntimeError):
    """The message is larger than the channel's maximum (also a RuntimeError, as the original ESHM wrapper raised it)."""

class BufferTooSmallError(Error, ValueError, RuntimeError):
    """The next message is larger than the buffer size given; it stays queued (also a RuntimeError, as the original ESHM wrapper raised it)."""

class PublisherExistsError(Error, RuntimeError):
    """A live process already publishes on the topic."""

class RoleTakenError(Error, RuntimeError):
    """A live process already holds this role on the channel."""

class NotFoundError(Error, RuntimeError):
    """The topic or channel does not exist (or a slave found no live master)."""

class DisconnectedError(Error, RuntimeError):
    """The other end of the channel is gone, and the disconnect behaviour gave up on it."""

class FullError(Error, RuntimeError):
    """The channel's queue has no room now (ESHM.try_write)."""

class CorruptSegmentError(Error, RuntimeError):
    """A shared-memory segment is not valid (or comes from another eshm version)."""

class SegmentPermissionError(Error, RuntimeError):
    """A segment belongs to another user or is writable by others."""

class SegmentIOError(Error, RuntimeError):
    """A system call on a segment failed."""

class ClosedError(Error, RuntimeError):
    """The object was closed, or inherited through fork() (create a new one in the child)."""

class ServerExistsError(Error, RuntimeError):
    """A live process already serves the service or action."""

class TooManyClientsError(Error, RuntimeError):
    """Every client slot of the service or action is held by a live client."""

class ServerGoneError(Error, RuntimeError):
    """The server died, or closed the service, before answering the call (or ending the goal)."""

class NoServerError(Error, RuntimeError):
    """No live server serves the service or action (none came in time)."""

class TooManyCallsError(Error, RuntimeError):
    """The client already has as many calls (or goals) in flight as the server allows."""

class CallDroppedError(Error, RuntimeError):
    """The server dropped the request without answering it (its handler failed, say)."""

class MessageTypeError(Error, TypeError):
    """A message class declared in Python breaks a rule of `#[derive(eshm::Message)]`: implicit padding, a field type that is not a message type, no fields, a bad enum (raised when the class is created)."""

class UnknownGoalError(Error, ValueError):
    """The action client has no goal with this id."""

class ESHMRole(enum.IntEnum):
    """The role of a channel endpoint."""

    MASTER = 0
    SLAVE = 1
    AUTO = 2

Role = ESHMRole

class ESHMDisconnectBehavior(enum.IntEnum):
    """When operations give up on a missing other end."""

    IMMEDIATELY = 0
    ON_TIMEOUT = 1
    NEVER = 2

class GoalStatus(enum.IntEnum):
    """Where an action's goal stands (SHM's ACTION_STATUS values, plus PENDING and ABORTED; PREEMPTED is CANCELED)."""

    ACTIVE = 0
    REJECTED = 1
    SUCCEEDED = 2
    CANCELED = 3
    PREEMPTED = CANCELED
    PENDING = 4
    ABORTED = 5

ACTION_STATUS = GoalStatus

class ESHMError(enum.IntEnum):
    """The result codes of the original ESHM library."""

    SUCCESS = 0
    INVALID_PARAM = -1
    SHM_CREATE = -2
    SHM_ATTACH = -3
    SHM_DETACH = -4
    SHM_DELETE = -5
    MUTEX_INIT = -6
    MUTEX_LOCK = -7
    MUTEX_UNLOCK = -8
    NO_DATA = -9
    TIMEOUT = -10
    MASTER_STALE = -11
    BUFFER_FULL = -12
    BUFFER_TOO_SMALL = -13
    NOT_INITIALIZED = -14
    ROLE_MISMATCH = -15

_T = TypeVar("_T")
_T_co = TypeVar("_T_co", covariant=True)

class _MessageClass(Protocol):
    """What a message class has (the classes of `eshm.msg`, and those `#[eshm(python)]`
    generates)."""

    SCHEMA_BYTES: ClassVar[bytes]
    FINGERPRINT: ClassVar[int]
    def to_bytes(self) -> bytes: ...

_M = TypeVar("_M", bound=_MessageClass)

@final
class ScalarType(Generic[_T_co]):
    """A scalar message type (`eshm.f32`, `eshm.u8`, ...), usable as a default value."""

    @property
    def name(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def fingerprint(self) -> int: ...
    def __call__(self, value: Any) -> _T_co: ...
    def __reduce__(self) -> str: ...

u8: ScalarType[int]
u16: ScalarType[int]
u32: ScalarType[int]
u64: ScalarType[int]
i8: ScalarType[int]
i16: ScalarType[int]
i32: ScalarType[int]
i64: ScalarType[int]
f32: ScalarType[float]
f64: ScalarType[float]
bool: ScalarType[builtins.bool]

@final
class Array:
    """The type of a fixed-shape array: `eshm.Array(eshm.u8, (480, 640, 3))` is the Rust
    `[[[u8; 3]; 640]; 480]` (same schema and fingerprint)."""

    def __new__(
        cls,
        element: ScalarType[Any] | type[_MessageClass] | Array,
        shape: int | tuple[int, ...] | builtins.list[int],
    ) -> Self: ...
    @property
    def SCHEMA_BYTES(self) -> bytes: ...
    @property
    def FINGERPRINT(self) -> int: ...
    @property
    def SIZE(self) -> int: ...
    @property
    def element(self) -> ScalarType[Any] | type[_MessageClass]: ...
    @property
    def shape(self) -> tuple[int, ...]: ...
    @property
    def dtype(self) -> Any: ...
    @property
    def type_name(self) -> str: ...
    def __eq__(self, value: object, /) -> builtins.bool: ...
    def __hash__(self) -> int: ...

@final
class Slice:
    """The type of a slice topic: `eshm.Slice(eshm.f32, max_len=1 << 20)` is the Rust `[f32]`
    topic of at most `max_len` elements."""

    def __new__(
        cls, element: ScalarType[Any] | type[_MessageClass] | Array, *, max_len: int
    ) -> Self: ...
    @property
    def SCHEMA_BYTES(self) -> bytes: ...
    @property
    def FINGERPRINT(self) -> int: ...
    @property
    def element(self) -> ScalarType[Any] | type[_MessageClass]: ...
    @property
    def shape(self) -> tuple[int, ...]: ...
    @property
    def max_len(self) -> int: ...
    @property
    def dtype(self) -> Any: ...
    @property
    def type_name(self) -> str: ...
    def __eq__(self, value: object, /) -> builtins.bool: ...
    def __hash__(self) -> int: ...

@final
class Loan:
    """Room for the next message of an array or slice topic (`Publisher.loan()`), written in
    place: `with pub.loan() as frame:` publishes at the end of the block."""

    def array(self) -> NDArray[Any]: ...
    def __enter__(self) -> NDArray[Any]: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> builtins.bool: ...
    def publish(self) -> None: ...
    def discard(self) -> None: ...
    def __len__(self) -> int: ...
    def __buffer__(self, flags: int, /) -> memoryview: ...
    def __release_buffer__(self, buffer: memoryview, /) -> None: ...

@final
class SampleView(Generic[_T_co]):
    """What `Subscriber.recv_view()` returns: `with sub.recv_view() as frame:` gives a
    read-only array over the held sample (a message topic: the decoded message)."""

    @property
    def value(self) -> _T_co: ...
    def __enter__(self) -> _T_co: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> builtins.bool: ...
    def release(self) -> None: ...

@final
class HeldSample:
    """A sample held in place, exported read-only through the buffer protocol."""

    @property
    def in_place(self) -> builtins.bool: ...
    def __len__(self) -> int: ...
    def __buffer__(self, flags: int, /) -> memoryview: ...
    def __release_buffer__(self, buffer: memoryview, /) -> None: ...

class Closable:
    """The base class of `Publisher`, `Subscriber` and `ESHM`: `close()`, `closed`, and the
    context-manager protocol."""

    def close(self) -> None: ...
    @property
    def closed(self) -> builtins.bool: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> None: ...

@final
class Publisher(Closable, Generic[_T]):
    """Publishes values of one type on a topic; the type comes from `default_value`."""

    @overload
    def __new__(
        cls, name: str, default_value: builtins.bool, buffer_num: int = 3, *, mode: int = 0o600
    ) -> Publisher[builtins.bool]: ...
    @overload
    def __new__(
        cls, name: str, default_value: int, buffer_num: int = 3, *, mode: int = 0o600
    ) -> Publisher[int]: ...
    @overload
    def __new__(
        cls, name: str, default_value: float, buffer_num: int = 3, *, mode: int = 0o600
    ) -> Publisher[float]: ...
    @overload
    def __new__(
        cls, name: str, default_value: ScalarType[_T], buffer_num: int = 3, *, mode: int = 0o600
    ) -> Publisher[_T]: ...
    @overload
    def __new__(
        cls, name: str, default_value: Array | Slice, buffer_num: int = 3, *, mode: int = 0o600
    ) -> Publisher[NDArray[Any]]: ...
    @overload
    def __new__(
        cls, name: str, default_value: type[_M], buffer_num: int = 3, *, mode: int = 0o600
    ) -> Publisher[_M]: ...
    @overload
    def __new__(
        cls, name: str, default_value: _M, buffer_num: int = 3, *, mode: int = 0o600
    ) -> Publisher[_M]: ...
    @overload
    def publish(self: Publisher[NDArray[Any]], value: ArrayLike) -> None: ...
    @overload
    def publish(self, value: _T) -> None: ...
    def loan(self: Publisher[NDArray[Any]], n: int | None = None) -> Loan: ...
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
    def __class_getitem__(cls, item: Any) -> Any: ...

@final
class Subscriber(Closable, Generic[_T_co]):
    """Receives values of one type from a topic; the type comes from `default_value`."""

    @overload
    def __new__(
        cls,
        name: str,
        default_value: builtins.bool,
        *,
        wait: str = "default",
        history: int = 1,
        allow_other_owners: builtins.bool = False,
        max_held: int = 2,
    ) -> Subscriber[builtins.bool]: ...
    @overload
    def __new__(
        cls,
        name: str,
        default_value: int,
        *,
        wait: str = "default",
        history: int = 1,
        allow_other_owners: builtins.bool = False,
        max_held: int = 2,
    ) -> Subscriber[int]: ...
    @overload
    def __new__(
        cls,
        name: str,
        default_value: float,
        *,
        wait: str = "default",
        history: int = 1,
        allow_other_owners: builtins.bool = False,
        max_held: int = 2,
    ) -> Subscriber[float]: ...
    @overload
    def __new__(
        cls,
        name: str,
        default_value: ScalarType[_T_co],
        *,
        wait: str = "default",
        history: int = 1,
        allow_other_owners: builtins.bool = False,
        max_held: int = 2,
    ) -> Subscriber[_T_co]: ...
    @overload
    def __new__(
        cls,
        name: str,
        default_value: Array | Slice,
        *,
        wait: str = "default",
        history: int = 1,
        allow_other_owners: builtins.bool = False,
        max_held: int = 2,
    ) -> Subscriber[NDArray[Any]]: ...
    @overload
    def __new__(
        cls,
        name: str,
        default_value: type[_M],
        *,
        wait: str = "default",
        history: int = 1,
        allow_other_owners: builtins.bool = False,
        max_held: int = 2,
    ) -> Subscriber[_M]: ...
    @overload
    def __new__(
        cls,
        name: str,
        default_value: _M,
        *,
        wait: str = "default",
        history: int = 1,
        allow_other_owners: builtins.bool = False,
        max_held: int = 2,
    ) -> Subscriber[_M]: ...
    def subscribe(self) -> tuple[_T_co, builtins.bool]: ...
    def set_data_expiry_time_us(self, expiry_us: int) -> None: ...
    def setDataExpiryTime_us(self, expiry_us: int) -> None: ...
    def is_updated(self) -> builtins.bool: ...
    def isUpdated(self) -> builtins.bool: ...
    def wait_for(self, timeout_us: int = 0) -> builtins.bool: ...
    def waitFor(self, timeout_us: int = 0) -> builtins.bool: ...
    def recv(self, timeout: float | None = None) -> _T_co: ...
    def try_recv(self) -> _T_co | None: ...
    async def recv_async(self, timeout: float | None = None) -> _T_co: ...
    def stream(self) -> AsyncIterator[_T_co]: ...
    def latest(self) -> _T_co | None: ...
    def recv_view(self, timeout: float | None = None) -> SampleView[_T_co]: ...
    def try_recv_view(self) -> SampleView[_T_co] | None: ...
    @property
    def held(self) -> int: ...
    def __iter__(self) -> Self: ...
    def __next__(self) -> _T_co: ...
    @property
    def lost(self) -> int: ...
    @property
    def is_connected(self) -> builtins.bool: ...
    @property
    def name(self) -> str: ...
    @property
    def type_name(self) -> str: ...
    def __class_getitem__(cls, item: Any) -> Any: ...

@final
class ESHM(Closable):
    """One endpoint of a duplex byte channel, with the API of the original ESHM wrapper."""

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
    def try_write(self, data: bytes | bytearray | memoryview) -> None: ...
    def read(self, buffer_size: int = 4096, timeout_ms: int | None = None) -> bytes: ...
    def try_read(self, buffer_size: int = 4096) -> bytes | None: ...
    async def read_async(self, buffer_size: int = 4096, timeout_ms: int | None = None) -> bytes: ...
    async def write_async(self, data: bytes | bytearray | memoryview) -> None: ...
    def write_data(self, mapping: Any) -> None: ...
    def read_data(
        self, timeout_ms: int = 10, max_items: int = 32
    ) -> dict[str, builtins.bool | int | float | str | bytes]: ...
    def get_stats(self) -> dict[str, Any]: ...
    def get_role(self) -> ESHMRole: ...
    def is_remote_alive(self) -> builtins.bool: ...
    @property
    def name(self) -> str: ...

_Req = TypeVar("_Req")
_Res = TypeVar("_Res")
_G = TypeVar("_G")
_R = TypeVar("_R")
_F = TypeVar("_F")

@final
class ServiceRequest(Generic[_Req, _Res]):
    """A request a `ServiceServer` took: its value, and `respond`."""

    @property
    def request(self) -> _Req: ...
    def respond(self, response: _Res) -> None: ...
    def drop(self) -> None: ...
    @property
    def answered(self) -> builtins.bool: ...
    @property
    def client(self) -> int: ...
    @property
    def number(self) -> int: ...

@final
class ServiceServer(Closable, Generic[_Req, _Res]):
    """The server of a service: requests of one type, responses of another."""

    def __new__(
        cls,
        name: str,
        request_type: type[_Req] | ScalarType[_Req],
        response_type: type[_Res] | ScalarType[_Res],
        handler: Callable[[_Req], _Res] | None = None,
        *,
        max_clients: int = 64,
        max_in_flight: int = 16,
        wait: str = "default",
        mode: int = 0o600,
    ) -> ServiceServer[_Req, _Res]: ...
    def recv(self, timeout: float | None = None) -> ServiceRequest[_Req, _Res]: ...
    def try_recv(self) -> ServiceRequest[_Req, _Res] | None: ...
    def serve(self, handler: Callable[[_Req], _Res]) -> None: ...
    def __iter__(self) -> Self: ...
    def __next__(self) -> ServiceRequest[_Req, _Res]: ...
    @property
    def name(self) -> str: ...
    @property
    def request_type_name(self) -> str: ...
    @property
    def response_type_name(self) -> str: ...
    @property
    def generation(self) -> int: ...
    @property
    def served(self) -> int: ...
    @property
    def clients(self) -> int: ...
    def __class_getitem__(cls, item: Any) -> Any: ...

@final
class ServiceClient(Closable, Generic[_Req, _Res]):
    """Calls a service: requests of one type, responses of another."""

    def __new__(
        cls,
        name: str,
        request_type: type[_Req] | ScalarType[_Req],
        response_type: type[_Res] | ScalarType[_Res],
        *,
        wait: str = "default",
        stale_threshold_ms: int = 100,
        wait_for_server: builtins.bool = True,
        allow_other_owners: builtins.bool = False,
    ) -> ServiceClient[_Req, _Res]: ...
    @overload
    def call(self, request: _Req, timeout_us: None = None, *, timeout: float | None = None) -> _Res: ...
    @overload
    def call(
        self, request: _Req, timeout_us: int, *, timeout: float | None = None
    ) -> tuple[builtins.bool, _Res]: ...
    async def call_async(self, request: _Req, *, timeout: float | None = None) -> _Res: ...
    def is_server_connected(self) -> builtins.bool: ...
    def isServerConnected(self) -> builtins.bool: ...
    def wait_for_server(self, timeout: float | None = None) -> builtins.bool: ...
    def waitForServer(self, timeout_us: int) -> builtins.bool: ...
    @property
    def name(self) -> str: ...
    @property
    def request_type_name(self) -> str: ...
    @property
    def response_type_name(self) -> str: ...
    def __class_getitem__(cls, item: Any) -> Any: ...

@final
class ServerGoal(Generic[_G, _R, _F]):
    """A goal an `ActionServer` took: accept or reject it, publish feedback, end it."""

    @property
    def goal(self) -> _G: ...
    def accept(self) -> None: ...
    def reject(self) -> None: ...
    def is_cancel_requested(self) -> builtins.bool: ...
    def publish_feedback(self, feedback: _F) -> None: ...
    def succeed(self, result: _R) -> None: ...
    def abort(self, result: _R | None = None) -> None: ...
    def canceled(self, result: _R | None = None) -> None: ...
    @property
    def status(self) -> GoalStatus: ...
    @property
    def client(self) -> int: ...
    @property
    def number(self) -> int: ...

@final
class ActionServer(Closable, Generic[_G, _R, _F]):
    """The server of an action: goals, results and feedback of three types."""

    def __new__(
        cls,
        name: str,
        goal_type: type[_G] | ScalarType[_G],
        result_type: type[_R] | ScalarType[_R],
        feedback_type: type[_F] | ScalarType[_F],
        *,
        max_clients: int = 64,
        max_in_flight: int = 16,
        feedback_depth: int = 16,
        wait: str = "default",
        mode: int = 0o600,
    ) -> ActionServer[_G, _R, _F]: ...
    def recv_goal(self, timeout: float | None = None) -> ServerGoal[_G, _R, _F]: ...
    def try_recv_goal(self) -> ServerGoal[_G, _R, _F] | None: ...
    def wait_new_goal_available(self, timeout_us: int | None = None) -> builtins.bool: ...
    def waitNewGoalAvailable(self, timeout_us: int | None = None) -> builtins.bool: ...
    def accept_new_goal(self) -> _G: ...
    def acceptNewGoal(self) -> _G: ...
    def reject_new_goal(self) -> None: ...
    def rejectNewGoal(self) -> None: ...
    def is_preempt_requested(self) -> builtins.bool: ...
    def isPreemptRequested(self) -> builtins.bool: ...
    def set_preempted(self, result: _R | None = None) -> None: ...
    def setPreempted(self, result: _R | None = None) -> None: ...
    def set_aborted(self, result: _R | None = None) -> None: ...
    def publish_result(self, result: _R) -> None: ...
    def publishResult(self, result: _R) -> None: ...
    def publish_feedback(self, feedback: _F) -> None: ...
    def publishFeedback(self, feedback: _F) -> None: ...
    @property
    def name(self) -> str: ...
    @property
    def clients(self) -> int: ...
    def __class_getitem__(cls, item: Any) -> Any: ...

@final
class ActionClient(Closable, Generic[_G, _R, _F]):
    """Sends goals to an action and follows them: status, feedback, cancel, result."""

    def __new__(
        cls,
        name: str,
        goal_type: type[_G] | ScalarType[_G],
        result_type: type[_R] | ScalarType[_R],
        feedback_type: type[_F] | ScalarType[_F],
        *,
        wait: str = "default",
        stale_threshold_ms: int = 100,
        wait_for_server: builtins.bool = True,
        allow_other_owners: builtins.bool = False,
    ) -> ActionClient[_G, _R, _F]: ...
    def send_goal(self, goal: _G, timeout: float | None = 1.0) -> int: ...
    def status(self, goal_id: int) -> GoalStatus: ...
    def cancel(self, goal_id: int) -> None: ...
    def wait_for_result(self, goal_id: int, timeout: float | None = None) -> tuple[GoalStatus, _R | None]: ...
    def result(self, goal_id: int) -> tuple[GoalStatus, _R | None] | None: ...
    def next_feedback(self, goal_id: int, timeout: float | None = None) -> _F | None: ...
    async def wait_for_result_async(
        self, goal_id: int, timeout: float | None = None
    ) -> tuple[GoalStatus, _R | None]: ...
    async def next_feedback_async(self, goal_id: int, timeout: float | None = None) -> _F | None: ...
    def latest_feedback(self, goal_id: int) -> _F | None: ...
    def feedback_lost(self, goal_id: int) -> int: ...
    def is_server_connected(self) -> builtins.bool: ...
    def wait_for_server(self, timeout: float | None = None) -> builtins.bool: ...
    def sendGoal(self, goal: _G) -> builtins.bool: ...
    def waitForResult(self, timeout_us: int) -> builtins.bool: ...
    def getResult(self) -> _R: ...
    def getFeedback(self) -> _F: ...
    def getStatus(self) -> GoalStatus: ...
    def cancelGoal(self) -> None: ...
    def isServerConnected(self) -> builtins.bool: ...
    def waitForServer(self, timeout_us: int) -> builtins.bool: ...
    @property
    def name(self) -> str: ...
    def __class_getitem__(cls, item: Any) -> Any: ...

def schema_fingerprint(encoded: bytes) -> int: ...
def schema_definition(encoded: bytes) -> str: ...
def clean(dry_run: builtins.bool = False, include_corrupt: builtins.bool = False) -> dict[str, Any]: ...
def _list_json() -> str: ...
def _struct_schema(name: str, fields: list[tuple[str, bytes]]) -> bytes: ...
def _array_schema(element: bytes, len: int) -> bytes: ...
def _enum_schema(name: str, repr: str, variants: list[tuple[str, int]]) -> bytes: ...
def _schema_node(encoded: bytes) -> tuple[Any, ...]: ...
def _schema_init(encoded: bytes) -> bytes: ...
def _schema_check(encoded: bytes, data: bytes) -> None: ...
def _schema_repr(encoded: bytes, data: bytes) -> str: ...
def _cli_main(argv: list[str]) -> int: ...
def _after_fork_in_child() -> None: ...

# The attempts of the awaited methods, and the waiter thread's registry (eshm/_aio.py).
@final
class _CallTicket: ...

def _aio_recv(sub: Subscriber[Any], future: Any) -> Any: ...
def _aio_read(ch: ESHM, buffer_size: int, future: Any) -> Any: ...
def _aio_write(ch: ESHM, data: bytes | bytearray | memoryview, future: Any) -> Any: ...
def _aio_send(client: ServiceClient[Any, Any], request: Any, future: Any) -> Any: ...
def _aio_response(client: ServiceClient[Any, Any], ticket: _CallTicket, future: Any) -> Any: ...
def _aio_abandon(client: ServiceClient[Any, Any], ticket: _CallTicket) -> None: ...
def _aio_goal_result(client: ActionClient[Any, Any, Any], goal_id: int, future: Any) -> Any: ...
def _aio_goal_feedback(client: ActionClient[Any, Any, Any], goal_id: int, future: Any) -> Any: ...
def _aio_cancel(future: Any) -> None: ...
def _aio_stats() -> dict[str, int]: ...
def _aio_shutdown() -> None: ...
def _aio_set_spin_us(us: int) -> int: ...
