"""eshm.ActionServer / eshm.ActionClient: goals accepted or rejected, feedback in order,
cancel, abort, a dead server; SHM's method names (sendGoal, waitForResult, ...), and the
snake_case ones."""

import threading

import pytest

import eshm
from eshm import GoalStatus, msg

# A "move to" server in SHM's style: goals with x < 0 are rejected; it moves 0.1 a step
# (feedback: where it is), and stops when its client cancels.
SHM_SERVER = """
    import sys, time, eshm
    from eshm import msg
    server = eshm.ActionServer(sys.argv[1], msg.Vector3, msg.Vector3, float)
    print("ready", flush=True)
    while True:
        server.waitNewGoalAvailable()
        goal = server.acceptNewGoal()
        if goal.x < 0:
            server.set_aborted()
            continue
        x = 0.0
        while True:
            if server.isPreemptRequested():
                server.setPreempted(msg.Vector3(x=x))
                break
            if x >= goal.x:
                server.publishResult(msg.Vector3(x=x))
                break
            x = round(x + 0.1, 6)
            server.publishFeedback(x)
            time.sleep(0.001)
"""


def test_shm_named_client_and_server(name, child):
    server = child(SHM_SERVER, name)
    server.expect("ready")
    client = eshm.ActionClient(name, msg.Vector3, msg.Vector3, float)
    assert client.waitForServer(30_000_000)
    assert client.isServerConnected()
    assert client.getStatus() == GoalStatus.SUCCEEDED  # SHM's initial status
    assert client.sendGoal(msg.Vector3(x=0.5))
    assert client.waitForResult(30_000_000)
    assert client.getStatus() is GoalStatus.SUCCEEDED
    assert client.getResult().x == 0.5
    assert client.getFeedback() == 0.5  # the newest feedback
    # An aborted goal ends the wait at once, without a result.
    assert client.sendGoal(msg.Vector3(x=-1.0))
    assert client.waitForResult(30_000_000)
    assert client.getStatus() is GoalStatus.ABORTED
    assert client.getResult() == msg.Vector3()  # the default value
    # Canceled (PREEMPTED): the server sees the request and acknowledges it.
    assert client.sendGoal(msg.Vector3(x=1e9))
    while client.getFeedback() == 0.0:
        pass
    client.cancelGoal()
    assert client.waitForResult(30_000_000)
    assert client.getStatus() is GoalStatus.PREEMPTED is GoalStatus.CANCELED
    assert client.getResult().x > 0


def test_goals_feedback_in_order_and_results(name):
    server = eshm.ActionServer(name, eshm.u32, eshm.u32, eshm.u32)
    client = eshm.ActionClient(name, eshm.u32, eshm.u32, eshm.u32)
    goal = client.send_goal(10)
    assert client.status(goal) is GoalStatus.PENDING
    taken = server.recv_goal(timeout=5.0)
    assert (taken.goal, taken.status) == (10, GoalStatus.PENDING)
    taken.accept()
    assert client.status(goal) is GoalStatus.ACTIVE and taken.status is GoalStatus.ACTIVE
    for i in range(1, 11):
        taken.publish_feedback(i)
    assert client.latest_feedback(goal) == 10
    assert [client.next_feedback(goal, timeout=5.0) for _ in range(10)] == list(range(1, 11))
    with pytest.raises(TimeoutError):
        client.next_feedback(goal, timeout=0.01)
    taken.succeed(100)
    assert client.wait_for_result(goal, timeout=5.0) == (GoalStatus.SUCCEEDED, 100)
    assert client.result(goal) == (GoalStatus.SUCCEEDED, 100)
    assert client.next_feedback(goal, timeout=5.0) is None
    assert client.feedback_lost(goal) == 0
    with pytest.raises(eshm.ClosedError):
        taken.succeed(1)
    with pytest.raises(eshm.UnknownGoalError):
        client.status(12345)


def test_rejected_goal_ends_the_wait_at_once(name):
    server = eshm.ActionServer(name, float, float, float)
    client = eshm.ActionClient(name, float, float, float)
    goal = client.send_goal(-1.0)
    threading.Timer(0.05, lambda: server.recv_goal(timeout=30.0).reject()).start()
    assert client.wait_for_result(goal, timeout=60.0) == (GoalStatus.REJECTED, None)
    # SHM's reject.
    client.sendGoal(-2.0)
    assert server.waitNewGoalAvailable(5_000_000)
    server.rejectNewGoal()
    assert client.waitForResult(60_000_000)
    assert client.getStatus() is GoalStatus.REJECTED


def test_cancel_and_abort(name):
    server = eshm.ActionServer(name, float, float, float)
    client = eshm.ActionClient(name, float, float, float)
    g1, g2 = client.send_goal(1.0), client.send_goal(2.0)
    a1, a2 = server.recv_goal(timeout=5.0), server.recv_goal(timeout=5.0)
    a1.accept()
    a2.accept()
    client.cancel(g1)
    assert a1.is_cancel_requested() and not a2.is_cancel_requested()
    a1.canceled(0.5)
    a2.abort()
    assert client.wait_for_result(g1, timeout=5.0) == (GoalStatus.CANCELED, 0.5)
    assert client.wait_for_result(g2, timeout=5.0) == (GoalStatus.ABORTED, None)


def test_two_clients_with_goals_at_the_same_time(name):
    server = eshm.ActionServer(name, eshm.u64, eshm.u64, eshm.u64)
    clients = [eshm.ActionClient(name, eshm.u64, eshm.u64, eshm.u64) for _ in range(2)]
    goals = [(c, c.send_goal(100 * i + j), 100 * i + j) for i, c in enumerate(clients) for j in range(3)]
    taken = [server.recv_goal(timeout=5.0) for _ in goals]
    for t in taken:
        t.accept()
        t.publish_feedback(t.goal + 1)
    for t in reversed(taken):
        t.succeed(t.goal * 2)
    for c, goal, value in goals:
        assert c.next_feedback(goal, timeout=5.0) == value + 1
        assert c.wait_for_result(goal, timeout=5.0) == (GoalStatus.SUCCEEDED, value * 2)


def test_server_death_is_seen_while_waiting(name, child):
    server = child(SHM_SERVER, name)
    server.expect("ready")
    client = eshm.ActionClient(name, msg.Vector3, msg.Vector3, float)
    assert client.wait_for_server(timeout=30.0)
    goal = client.send_goal(msg.Vector3(x=1e9))  # runs until canceled
    assert client.next_feedback(goal, timeout=30.0) is not None
    threading.Timer(0.1, server.kill).start()
    with pytest.raises(eshm.ServerGoneError):
        client.wait_for_result(goal, timeout=60.0)
    assert client.status(goal) is GoalStatus.ABORTED
    assert not client.is_server_connected() and not client.isServerConnected()
