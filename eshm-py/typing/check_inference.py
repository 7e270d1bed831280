"""What mypy infers for a user's script, pinned with `typing.assert_type`.

test.sh type-checks this file, never runs it:

    .venv/bin/python -m mypy --strict eshm-py/typing/check_inference.py

It sees the installed package the way a user's script does (through `py.typed`, the stubs
`_eshm.pyi` and `msg.pyi`, and `__init__.py`), so a stub that drifts (a payload type that
becomes `Any`, an overload that stops matching, a re-export that disappears) fails the step.
Each `# type: ignore[code]` marks a call that must be rejected: `--strict` includes
`--warn-unused-ignores`, so the step also fails if the error goes away.

The checks live in functions that nothing calls, so importing the file would do nothing.
"""

from typing import Annotated, Any, Literal, assert_type

import numpy as np
from numpy.typing import NDArray

import eshm
from eshm import ESHM, ESHMRole, msg, shm_pub_sub


def _subscriber_payload_types() -> None:
    """The default value gives the payload type."""
    assert_type(eshm.Subscriber("t", 0.0), eshm.Subscriber[float])
    assert_type(eshm.Subscriber("t", 0.0).recv(), float)
    assert_type(eshm.Subscriber("t", 0).recv(), int)
    assert_type(eshm.Subscriber("t", False).recv(), bool)  # not int, though bool is an int
    assert_type(eshm.Subscriber("t", msg.Pose).recv(), msg.Pose)  # the class
    assert_type(eshm.Subscriber("t", msg.Pose()).recv(), msg.Pose)  # an instance
    assert_type(eshm.Subscriber("t", msg.Imu).recv().stamp_ns, int)
    assert_type(eshm.Subscriber("t", eshm.f32).recv(), float)
    assert_type(eshm.Subscriber("t", eshm.f64).recv(), float)
    assert_type(eshm.Subscriber("t", eshm.u8).recv(), int)
    assert_type(eshm.Subscriber("t", eshm.i64).recv(), int)
    assert_type(eshm.Subscriber("t", eshm.bool_).recv(), bool)
    assert_type(eshm.f32, eshm.ScalarType[float])
    assert_type(eshm.u8(3), int)
    eshm.Subscriber("t", "text")  # type: ignore[call-overload]  # no str topics


def _subscriber_methods() -> None:
    sub = eshm.Subscriber("t", 0.0, wait="spin", history=4)
    assert_type(sub.subscribe(), tuple[float, bool])
    assert_type(sub.recv(timeout=0.5), float)
    assert_type(sub.try_recv(), float | None)
    assert_type(sub.latest(), float | None)
    assert_type(sub.is_updated(), bool)
    assert_type(sub.wait_for(1000), bool)
    assert_type(sub.lost, int)
    assert_type(sub.is_connected, bool)
    assert_type(sub.name, str)
    for value in sub:
        assert_type(value, float)
    for pose in eshm.Subscriber("t", msg.Pose):
        assert_type(pose, msg.Pose)
        assert_type(pose.position.x, float)
    value, ok = sub.subscribe()
    assert_type(value, float)
    assert_type(ok, bool)


def _publisher() -> None:
    pub = eshm.Publisher("t", 0, buffer_num=8)
    assert_type(pub, eshm.Publisher[int])
    pub.publish(1)
    pub.publish("1")  # type: ignore[arg-type]  # an int topic takes ints only
    assert_type(pub.published, int)
    assert_type(pub.capacity, int)
    assert_type(pub.fingerprint, int)
    assert_type(pub.type_name, str)
    assert_type(eshm.Publisher("t", 0.0), eshm.Publisher[float])
    assert_type(eshm.Publisher("t", True), eshm.Publisher[bool])
    assert_type(eshm.Publisher("t", eshm.u16), eshm.Publisher[int])
    pose_pub = eshm.Publisher("t", msg.Pose)
    assert_type(pose_pub, eshm.Publisher[msg.Pose])
    pose_pub.publish(msg.Pose(position=msg.Vector3(x=1.0)))
    pose_pub.publish(msg.Twist())  # type: ignore[arg-type]  # another message type
    f32_pub = eshm.Publisher("t", eshm.f32)
    f32_pub.publish(1.5)
    f32_pub.publish(b"x")  # type: ignore[arg-type]


def _context_manager() -> int:
    """`__enter__` returns the object itself and `__exit__` returns None (it never swallows an
    exception), so mypy knows that the `with` block below always returns: no "Missing return
    statement"."""
    with eshm.Publisher("t", 0) as p:
        assert_type(p, eshm.Publisher[int])
        return 1


def _context_manager_subscriber() -> float:
    with eshm.Subscriber("t", 0.0) as s:
        assert_type(s, eshm.Subscriber[float])
        return s.recv()


def _eshm_channel() -> None:
    with ESHM("c", role=ESHMRole.MASTER, capacity=1 << 16, wait="park") as ch:
        assert_type(ch, ESHM)
        ch.write(b"x")
        ch.write(bytearray(b"x"))
        ch.write(memoryview(b"x"))
        ch.write("x")  # type: ignore[arg-type]  # bytes-like only
        assert_type(ch.read(), bytes)
        assert_type(ch.read(buffer_size=65536, timeout_ms=100), bytes)
        assert_type(ch.try_read(), bytes | None)
        assert_type(ch.read_data(), dict[str, bool | int | float | str | bytes])
        assert_type(ch.get_stats(), dict[str, Any])
        assert_type(ch.get_role(), eshm.ESHMRole)
        assert_type(ch.is_remote_alive(), bool)
        assert_type(ch.closed, bool)
    role: eshm.Role = eshm.ESHMRole.SLAVE  # Role is ESHMRole's other name
    assert_type(eshm.Role.SLAVE, Literal[ESHMRole.SLAVE])
    assert_type(role, ESHMRole)


def _shm_pub_sub_compat() -> None:
    """An SHM script with its import line changed to `from eshm import shm_pub_sub`."""
    pub = shm_pub_sub.Publisher("t", 0.0, 3)
    pub.publish(1.0)
    sub = shm_pub_sub.Subscriber("t", 0.0)
    sub.setDataExpiryTime_us(1_000_000)
    assert_type(sub.subscribe(), tuple[float, bool])
    assert_type(sub.isUpdated(), bool)
    assert_type(sub.waitFor(1000), bool)


def _module_functions() -> None:
    assert_type(eshm.list(), list[dict[str, Any]])
    assert_type(eshm.clean(dry_run=True), dict[str, Any])
    assert_type(eshm.__version__, str)
    assert_type(eshm.schema_fingerprint(msg.Pose.SCHEMA_BYTES), int)
    assert_type(msg.Pose.from_bytes(msg.Pose().to_bytes()), msg.Pose)


def _errors() -> None:
    try:
        ESHM("c").read(timeout_ms=0)
    except eshm.NoDataError as e:
        assert_type(e, eshm.NoDataError)
    except eshm.TimeoutError as e:  # the examples catch this one
        assert_type(e, eshm.TimeoutError)
    except eshm.Error as e:
        assert_type(e, eshm.Error)


def _service_types() -> None:
    """A service's request and response types come from its type arguments."""
    server = eshm.ServiceServer("s", msg.Pose, float)
    assert_type(server, eshm.ServiceServer[msg.Pose, float])
    request = server.recv(timeout=1.0)
    assert_type(request, eshm.ServiceRequest[msg.Pose, float])
    assert_type(request.request, msg.Pose)
    request.respond(1.0)
    request.respond("no")  # type: ignore[arg-type]
    for req in server:
        assert_type(req.request.position.x, float)
    eshm.ServiceServer("s", eshm.u64, eshm.u64, lambda x: x + 1)
    client = eshm.ServiceClient("s", msg.Pose, float)
    assert_type(client.call(msg.Pose(), timeout=1.0), float)
    assert_type(client.call(msg.Pose()), float)
    assert_type(client.call(msg.Pose(), 5000), tuple[bool, float])  # SHM's form
    assert_type(eshm.ServiceClient("s", eshm.u8, bool).call(1), bool)
    assert_type(client.isServerConnected(), bool)
    client.call(msg.Vector3())  # type: ignore[call-overload]
    assert_type(shm_pub_sub.ServiceClient("s", int, int).call(1, 10), tuple[bool, int])


def _action_types() -> None:
    """An action's goal, result and feedback types come from its type arguments."""
    server = eshm.ActionServer("a", msg.Vector3, msg.Vector3, float)
    goal = server.recv_goal()
    assert_type(goal, eshm.ServerGoal[msg.Vector3, msg.Vector3, float])
    assert_type(goal.goal.x, float)
    goal.publish_feedback(0.5)
    goal.succeed(msg.Vector3())
    assert_type(goal.status, eshm.GoalStatus)
    assert_type(server.acceptNewGoal(), msg.Vector3)
    server.publishFeedback(1.0)
    client = eshm.ActionClient("a", msg.Vector3, msg.Vector3, float)
    goal_id = client.send_goal(msg.Vector3(x=1.0))
    assert_type(goal_id, int)
    assert_type(client.wait_for_result(goal_id), tuple[eshm.GoalStatus, msg.Vector3 | None])
    assert_type(client.next_feedback(goal_id, timeout=1.0), float | None)
    assert_type(client.getResult(), msg.Vector3)
    assert_type(client.getFeedback(), float)
    assert_type(client.getStatus(), eshm.ACTION_STATUS)
    assert_type(eshm.ACTION_STATUS.PREEMPTED, Literal[eshm.GoalStatus.PREEMPTED])  # = CANCELED


class _Mode(eshm.Enum, repr=eshm.u8):
    IDLE = 0
    RUN = 1


class _Imu(eshm.Message):
    """A message type declared in Python, annotated the way mypy accepts (`Annotated`)."""

    stamp_ns: Annotated[int, eshm.u64]
    accel: Annotated[NDArray[np.float32], eshm.Array(eshm.f32, 3)]
    valid: bool
    mode: _Mode
    _pad: Annotated[NDArray[np.uint8], eshm.Array(eshm.u8, 2)]


class _Bare(eshm.Message):
    """The bare form runs, but is no type for mypy: checked code writes `Annotated`."""

    value: eshm.u64  # type: ignore[valid-type]
    cells: eshm.Array(eshm.f32, 3)  # type: ignore[valid-type]


def _declared_message_types() -> None:
    """Declared classes are message classes: topics of them, their fields, their class attributes."""
    assert_type(eshm.Subscriber("t", _Imu).recv(), _Imu)
    assert_type(eshm.Subscriber("t", _Imu).recv().stamp_ns, int)
    assert_type(eshm.Subscriber("t", _Imu).recv().mode, _Mode)
    assert_type(eshm.Subscriber("t", _Imu).recv().accel, NDArray[np.float32])
    eshm.Publisher("t", _Imu).publish(_Imu(stamp_ns=1, mode=_Mode.RUN))
    eshm.Publisher("t", _Imu).publish(msg.Pose())  # type: ignore[arg-type]
    assert_type(_Imu.FINGERPRINT, int)
    assert_type(_Imu.SCHEMA_BYTES, bytes)
    assert_type(_Imu.from_bytes(b""), _Imu)
    assert_type(_Imu.from_buffer(bytearray(40), 0), _Imu)
    assert_type(_Imu().to_bytes(), bytes)
    assert_type(_Imu().mode.value, int)
    assert_type(_Mode.FINGERPRINT, int)
    assert_type(eshm.Subscriber("t", _Mode).recv(), _Mode)  # an enum class is a topic type too
    eshm.Publisher("t", _Mode).publish(_Mode.RUN)


def _array_topics() -> None:
    """Array and slice topics carry numpy arrays; loans and views give them too."""
    frame = eshm.Array(eshm.u8, (480, 640, 3))
    assert_type(eshm.Subscriber("t", frame), eshm.Subscriber[NDArray[Any]])
    assert_type(eshm.Subscriber("t", frame).recv(), NDArray[Any])
    assert_type(eshm.Subscriber("t", eshm.Slice(eshm.f32, max_len=8)).try_recv(), NDArray[Any] | None)
    pub = eshm.Publisher("t", frame)
    assert_type(pub, eshm.Publisher[NDArray[Any]])
    with pub.loan() as loaned:
        assert_type(loaned, NDArray[Any])
    sub = eshm.Subscriber("t", frame, max_held=4)
    with sub.recv_view(timeout=1.0) as view:
        assert_type(view, NDArray[Any])
    assert_type(sub.try_recv_view(), eshm.SampleView[NDArray[Any]] | None)
    assert_type(eshm.Subscriber("t", msg.Pose).recv_view().value, msg.Pose)
    assert_type(frame.shape, tuple[int, ...])
    eshm.Publisher("t", 0.0).loan()  # type: ignore[misc]  # loans are for array topics


async def _asyncio_types() -> None:
    """The awaited methods give the payload types of their blocking forms."""
    sub = eshm.Subscriber("t", msg.Pose)
    assert_type(await sub.recv_async(), msg.Pose)
    assert_type(await eshm.Subscriber("t", 0.0).recv_async(timeout=0.5), float)
    async for pose in sub.stream():
        assert_type(pose, msg.Pose)
    ch = ESHM("c")
    assert_type(await ch.read_async(), bytes)
    assert_type(await ch.write_async(b"x"), None)
    client = eshm.ServiceClient("s", msg.Pose, float)
    assert_type(await client.call_async(msg.Pose(), timeout=1.0), float)
    await client.call_async(msg.Vector3())  # type: ignore[arg-type]
    action = eshm.ActionClient("a", msg.Vector3, msg.Vector3, float)
    goal = action.send_goal(msg.Vector3())
    assert_type(await action.wait_for_result_async(goal), tuple[eshm.GoalStatus, msg.Vector3 | None])
    assert_type(await action.next_feedback_async(goal, timeout=1.0), float | None)
