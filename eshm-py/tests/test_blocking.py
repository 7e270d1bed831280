"""Blocking calls release the GIL while they wait, and Ctrl-C (SIGINT) interrupts them.

Each GIL test waits for something that only another thread of this process does, and that
thread can run only while the wait has released the GIL (see `conftest.run_while_waiting`): a
wait that held the GIL would time out (or, without a timeout, never return) instead.
"""

import time

import pytest

import eshm
from conftest import run_while_waiting
from eshm import ESHM, ESHMRole

# How long a wait that holds the GIL takes to fail: the other thread needs milliseconds once the
# GIL is free, so this is only the bound of a broken wait, never a figure that a passing run
# depends on. A call without a timeout of its own gets pytest's instead (FOREVER_S). Both are
# shorter than 1000 handoffs of the GIL between 50 ms slices (see `run_while_waiting`).
BROKEN_WAIT_S = 20
FOREVER_S = 40

BLOCKERS = {
    "Subscriber.recv": """
        import sys, eshm
        sub = eshm.Subscriber(sys.argv[1], 0.0)
        print("blocking", flush=True)
        sub.recv()
    """,
    "ESHM.read": """
        import sys
        from eshm import ESHM, ESHMRole
        master = ESHM(sys.argv[1], role=ESHMRole.MASTER)
        slave = ESHM(sys.argv[1], role=ESHMRole.SLAVE)
        print("blocking", flush=True)
        slave.read(timeout_ms=600000)
    """,
    "ESHM(role=SLAVE) waiting for a master": """
        import sys
        from eshm import ESHM, ESHMRole
        print("blocking", flush=True)
        ESHM(sys.argv[1], role=ESHMRole.SLAVE, max_reconnect_attempts=0)
    """,
    "Subscriber iteration": """
        import sys, eshm
        print("blocking", flush=True)
        for value in eshm.Subscriber(sys.argv[1], 0):
            pass
    """,
}


@pytest.mark.parametrize("call", list(BLOCKERS))
def test_ctrl_c_interrupts_a_blocking_call(name, child, call):
    proc = child(BLOCKERS[call], name)
    proc.expect_exact("blocking")
    proc.interrupt()
    code = proc.finish(timeout=30)
    assert code != 0
    assert "KeyboardInterrupt" in proc.stderr, proc.report()


# --------------------------------------------------------------------------------------------
# Waits release the GIL
# --------------------------------------------------------------------------------------------


def test_the_harness_sees_a_wait_that_holds_the_gil():
    """A wait in pure Python (which never releases the GIL of its own accord) never sees the
    other thread act: the harness fails a wait that holds the GIL."""
    acted = []

    def spin_until_acted():
        deadline = time.monotonic() + 0.5
        while not acted and time.monotonic() < deadline:
            pass
        return bool(acted)

    seen, _ = run_while_waiting(spin_until_acted, lambda: acted.append(True))
    assert not seen, "the other thread ran while a pure-Python loop held the GIL"
    assert acted, "it ran once the loop ended"


def test_subscriber_recv_releases_the_gil(isolated, name):
    pub = eshm.Publisher(name, 0.0)
    sub = eshm.Subscriber(name, 0.0, history=0)
    got, _ = run_while_waiting(lambda: sub.recv(timeout=BROKEN_WAIT_S), lambda: pub.publish(42.0))
    assert got == 42.0


@pytest.mark.timeout(FOREVER_S)  # no timeout of its own: a broken wait never returns
@pytest.mark.parametrize("wait", ["default", "spin", "park"])
def test_subscriber_recv_without_timeout_releases_the_gil(isolated, name, wait):
    pub = eshm.Publisher(name, 0)
    sub = eshm.Subscriber(name, 0, history=0, wait=wait)
    got, _ = run_while_waiting(sub.recv, lambda: pub.publish(7))
    assert got == 7


@pytest.mark.timeout(FOREVER_S)
def test_subscriber_iteration_releases_the_gil(isolated, name):
    pub = eshm.Publisher(name, 0)
    sub = eshm.Subscriber(name, 0, history=0)
    got, _ = run_while_waiting(lambda: next(iter(sub)), lambda: pub.publish(8))
    assert got == 8


def test_subscriber_wait_for_releases_the_gil(isolated, name):
    pub = eshm.Publisher(name, 0)
    sub = eshm.Subscriber(name, 0, history=0)
    came, _ = run_while_waiting(lambda: sub.wait_for(BROKEN_WAIT_S * 1_000_000), lambda: pub.publish(9))
    assert came is True and sub.try_recv() == 9


def test_channel_read_releases_the_gil(isolated, name):
    master = ESHM(name, role=ESHMRole.MASTER)
    slave = ESHM(name, role=ESHMRole.SLAVE)
    got, _ = run_while_waiting(lambda: slave.read(timeout_ms=BROKEN_WAIT_S * 1000), lambda: master.write(b"ping"))
    assert got == b"ping"
    got, _ = run_while_waiting(
        lambda: master.read_data(timeout_ms=BROKEN_WAIT_S * 1000), lambda: slave.write_data({"pong": 1})
    )
    assert got == {"pong": 1}
    master.close()
    slave.close()


def test_channel_write_waiting_for_room_releases_the_gil(isolated, name):
    master = ESHM(name, role=ESHMRole.MASTER, max_message=100, capacity=4096)
    slave = ESHM(name, role=ESHMRole.SLAVE)
    queued = 0
    while True:  # fill the queue
        try:
            master.try_write(b"%04d" % queued)
        except eshm.FullError:
            break
        queued += 1

    def write_last():
        # `write` waits for room 1 s at a time (then TimeoutError): a broken wait fails every try.
        for _ in range(BROKEN_WAIT_S):
            try:
                return master.write(b"last")
            except eshm.TimeoutError:
                continue
        raise AssertionError("no room came while write waited")

    _, first = run_while_waiting(write_last, slave.read)
    assert first == b"0000", "the other thread made the room"
    rest = [slave.read(timeout_ms=5000) for _ in range(queued)]
    assert rest == [b"%04d" % i for i in range(1, queued)] + [b"last"]
    master.close()
    slave.close()


def test_a_slave_waiting_for_its_master_releases_the_gil(isolated, name):
    opened = []

    def master():
        opened.append(ESHM(name, role=ESHMRole.MASTER))

    slave, _ = run_while_waiting(
        lambda: ESHM(name, role=ESHMRole.SLAVE, reconnect_retry_interval_ms=10,
                     max_reconnect_attempts=BROKEN_WAIT_S * 100),
        master,
    )  # fmt: skip
    assert slave.get_role() is ESHMRole.SLAVE and slave.is_remote_alive()
    slave.close()
    opened[0].close()
