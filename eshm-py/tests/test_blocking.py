"""Blocking calls release the GIL (other threads run) and Ctrl-C (SIGINT) interrupts them."""

import pytest

from conftest import assert_other_threads_run_during
from eshm import ESHM, ESHMRole

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


def test_other_threads_run_while_a_channel_read_waits(name):
    master = ESHM(name, role=ESHMRole.MASTER)
    slave = ESHM(name, role=ESHMRole.SLAVE)
    assert_other_threads_run_during(lambda: slave.read(timeout_ms=300))
    master.close()
