"""The standard message types (defined in Rust as ``eshm::msg``).

Each class takes its fields as keyword arguments (missing fields are zero), has a property per
field (nested messages are views: ``pose.position.x = 1.0`` changes ``pose``), ``to_bytes()``
and ``from_bytes()``, and the class attributes ``FINGERPRINT``, ``SCHEMA``, ``SCHEMA_BYTES``
and ``SIZE``.
"""

from ._eshm import msg as _msg

Vector3 = _msg.Vector3
Quaternion = _msg.Quaternion
Pose = _msg.Pose
Twist = _msg.Twist
Imu = _msg.Imu

__all__ = ["Imu", "Pose", "Quaternion", "Twist", "Vector3"]
