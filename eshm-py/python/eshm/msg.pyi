"""The standard message types (defined in Rust as `eshm::msg`).

Each class takes its fields as keyword arguments (missing fields are zero), has a property per
field (nested messages are views of their parent), `to_bytes()` / `from_bytes()`, and the
class attributes `FINGERPRINT`, `SCHEMA`, `SCHEMA_BYTES` and `SIZE`.
"""

from typing import Any, ClassVar, final

from typing_extensions import Self

@final
class Vector3:
    FINGERPRINT: ClassVar[int]
    SCHEMA: ClassVar[str]
    SCHEMA_BYTES: ClassVar[bytes]
    SIZE: ClassVar[int]
    __hash__: ClassVar[None]  # type: ignore[assignment]
    x: float
    y: float
    z: float
    def __new__(cls, *, x: float = 0.0, y: float = 0.0, z: float = 0.0) -> Self: ...
    def to_bytes(self) -> bytes: ...
    @classmethod
    def from_bytes(cls, data: bytes) -> Self: ...
    def __copy__(self) -> Self: ...
    def __deepcopy__(self, memo: Any, /) -> Self: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class Quaternion:
    FINGERPRINT: ClassVar[int]
    SCHEMA: ClassVar[str]
    SCHEMA_BYTES: ClassVar[bytes]
    SIZE: ClassVar[int]
    __hash__: ClassVar[None]  # type: ignore[assignment]
    x: float
    y: float
    z: float
    w: float
    def __new__(cls, *, x: float = 0.0, y: float = 0.0, z: float = 0.0, w: float = 0.0) -> Self: ...
    def to_bytes(self) -> bytes: ...
    @classmethod
    def from_bytes(cls, data: bytes) -> Self: ...
    def __copy__(self) -> Self: ...
    def __deepcopy__(self, memo: Any, /) -> Self: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class Pose:
    FINGERPRINT: ClassVar[int]
    SCHEMA: ClassVar[str]
    SCHEMA_BYTES: ClassVar[bytes]
    SIZE: ClassVar[int]
    __hash__: ClassVar[None]  # type: ignore[assignment]
    position: Vector3
    orientation: Quaternion
    def __new__(cls, *, position: Vector3 = ..., orientation: Quaternion = ...) -> Self: ...
    def to_bytes(self) -> bytes: ...
    @classmethod
    def from_bytes(cls, data: bytes) -> Self: ...
    def __copy__(self) -> Self: ...
    def __deepcopy__(self, memo: Any, /) -> Self: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class Twist:
    FINGERPRINT: ClassVar[int]
    SCHEMA: ClassVar[str]
    SCHEMA_BYTES: ClassVar[bytes]
    SIZE: ClassVar[int]
    __hash__: ClassVar[None]  # type: ignore[assignment]
    linear: Vector3
    angular: Vector3
    def __new__(cls, *, linear: Vector3 = ..., angular: Vector3 = ...) -> Self: ...
    def to_bytes(self) -> bytes: ...
    @classmethod
    def from_bytes(cls, data: bytes) -> Self: ...
    def __copy__(self) -> Self: ...
    def __deepcopy__(self, memo: Any, /) -> Self: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class Imu:
    FINGERPRINT: ClassVar[int]
    SCHEMA: ClassVar[str]
    SCHEMA_BYTES: ClassVar[bytes]
    SIZE: ClassVar[int]
    __hash__: ClassVar[None]  # type: ignore[assignment]
    stamp_ns: int
    orientation: Quaternion
    angular_velocity: Vector3
    linear_acceleration: Vector3
    def __new__(
        cls,
        *,
        stamp_ns: int = 0,
        orientation: Quaternion = ...,
        angular_velocity: Vector3 = ...,
        linear_acceleration: Vector3 = ...,
    ) -> Self: ...
    def to_bytes(self) -> bytes: ...
    @classmethod
    def from_bytes(cls, data: bytes) -> Self: ...
    def __copy__(self) -> Self: ...
    def __deepcopy__(self, memo: Any, /) -> Self: ...
    def __eq__(self, value: object, /) -> bool: ...

__all__ = ["Imu", "Pose", "Quaternion", "Twist", "Vector3"]
