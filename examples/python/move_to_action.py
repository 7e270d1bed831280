#!/usr/bin/env python3
"""An action in Python: "move to" a point. The server (started here as a second process, or
on its own with ``--role server``) moves 0.25 a step towards each goal, publishing where it
is as feedback, and rejects goals below the floor (z < 0). The client follows a goal to its
end, cancels another one half way, and has a third rejected.

    python examples/python/move_to_action.py                 # both roles
    python examples/python/move_to_action.py --role server   # in one terminal
    python examples/python/move_to_action.py --role client   # in another
"""

import argparse
import math
import subprocess
import sys
import time

import eshm
from eshm import GoalStatus, msg

STEP = 0.25


def serve(name: str, goals: int) -> None:
    """One goal at a time (SHM's names do the same on "the current goal":
    waitNewGoalAvailable, acceptNewGoal, rejectNewGoal, isPreemptRequested, setPreempted,
    publishFeedback, publishResult)."""
    server = eshm.ActionServer(name, msg.Vector3, msg.Vector3, msg.Vector3)
    print("server: ready", flush=True)
    for _ in range(goals):
        goal = server.recv_goal()
        target = goal.goal
        if target.z < 0:
            goal.reject()  # the client's wait ends at once: REJECTED
            continue
        goal.accept()
        here = msg.Vector3()
        while True:
            if goal.is_cancel_requested():
                goal.canceled(here)  # acknowledges the cancel: CANCELED (SHM's PREEMPTED)
                break
            dx, dy, dz = target.x - here.x, target.y - here.y, target.z - here.z
            dist = math.sqrt(dx * dx + dy * dy + dz * dz)
            if dist <= 1e-9:
                goal.succeed(here)
                break
            f = min(1.0, STEP / dist)
            here = msg.Vector3(x=here.x + f * dx, y=here.y + f * dy, z=here.z + f * dz)
            goal.publish_feedback(here)
            time.sleep(0.01)
    server.close()


def client(name: str) -> None:
    """eshm's client API: goals by id, feedback as a stream."""
    c = eshm.ActionClient(name, msg.Vector3, msg.Vector3, msg.Vector3)
    if not c.wait_for_server(timeout=30.0):
        raise SystemExit("client: no server")

    goal = c.send_goal(msg.Vector3(x=1.0))
    steps = 0
    while (here := c.next_feedback(goal, timeout=10.0)) is not None:
        steps += 1
        print(f"client: goal {goal} at x={here.x:.2f}", flush=True)
    status, result = c.wait_for_result(goal, timeout=10.0)
    assert result is not None
    print(f"client: goal {goal} {status.name} at x={result.x:.2f} after {steps} steps", flush=True)

    goal = c.send_goal(msg.Vector3(y=100.0))
    for _ in range(3):
        c.next_feedback(goal, timeout=10.0)
    c.cancel(goal)
    status, result = c.wait_for_result(goal, timeout=10.0)
    assert result is not None
    print(f"client: goal {goal} {status.name} (PREEMPTED) at y={result.y:.2f}", flush=True)
    assert status is GoalStatus.PREEMPTED

    # SHM's client API on the goal sent last; a refused goal ends the wait at once.
    c.sendGoal(msg.Vector3(z=-1.0))
    c.waitForResult(10_000_000)
    print(f"client: goal below the floor: {c.getStatus().name}", flush=True)
    c.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--name", default="robot/move_to", help="action name (default: %(default)s)")
    ap.add_argument("--role", choices=["both", "server", "client"], default="both")
    args = ap.parse_args()
    if args.role == "server":
        serve(args.name, goals=3)
    elif args.role == "client":
        client(args.name)
    else:
        server = subprocess.Popen(
            [sys.executable, __file__, "--name", args.name, "--role", "server"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert server.stdout is not None
        print(server.stdout.readline().rstrip(), flush=True)
        try:
            client(args.name)
        finally:
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
