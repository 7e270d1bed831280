"""eshm.ServiceServer / eshm.ServiceClient: calls and answers across threads and processes,
SHM's call(request, timeout_us), timeouts, a dead server, errors, Ctrl-C and the GIL."""

import sys
import threading
import time

import pytest

import eshm
from conftest import LINE_TIMEOUT, run_while_waiting
from eshm import msg

SERVER = """
    import sys, time, eshm
    from eshm import msg
    delay = float(sys.argv[2])
    def handler(v):
        if delay:
            time.sleep(delay)
        return msg.Vector3(x=v.x, y=v.y, z=v.z * 2 + 1)
    server = eshm.ServiceServer(sys.argv[1], msg.Vector3, msg.Vector3)
    print("ready", flush=True)
    server.serve(handler)
"""


def test_call_gets_the_answer_of_its_own_request(name):
    server = eshm.ServiceServer(name, eshm.u64, eshm.u64, lambda x: x * x)
    client = eshm.ServiceClient(name, eshm.u64, eshm.u64)
    assert [client.call(i, timeout=5.0) for i in range(100)] == [i * i for i in range(100)]
    assert server.served == 100
    assert server.clients == 1
    assert server.generation == 1
    assert (server.request_type_name, client.response_type_name) == ("u64", "u64")
    client.close()
    server.close()


def test_builtin_types_and_message_classes(name):
    with eshm.ServiceServer(name, msg.Pose, float, lambda p: p.position.x + p.position.y):
        client = eshm.ServiceClient(name, msg.Pose, float)
        pose = msg.Pose(position=msg.Vector3(x=1.5, y=2.0))
        assert client.call(pose, timeout=5.0) == 3.5
        with pytest.raises(TypeError):
            client.call(msg.Vector3(), timeout=5.0)
    with eshm.ServiceServer(name + "/b", bool, int, lambda b: 7 if b else -7):
        client = eshm.ServiceClient(name + "/b", bool, int)
        assert (client.call(True, timeout=5.0), client.call(False, timeout=5.0)) == (7, -7)


def test_blocking_loop_and_iteration(name):
    server = eshm.ServiceServer(name, eshm.i32, eshm.i32)
    client = eshm.ServiceClient(name, eshm.i32, eshm.i32)
    assert server.try_recv() is None
    with pytest.raises(TimeoutError):
        server.recv(timeout=0.01)
    answers = []
    caller = threading.Thread(target=lambda: answers.extend(client.call(i, timeout=30.0) for i in range(5)))
    caller.start()
    first = server.recv(timeout=30.0)
    assert (first.request, first.answered, first.number) == (0, False, 1)
    first.respond(-0)
    assert first.answered
    with pytest.raises(eshm.ClosedError):
        first.respond(1)
    for req in server:
        req.respond(-req.request)
        if req.request == 4:
            break
    caller.join()
    assert answers == [0, -1, -2, -3, -4]


def test_shm_call_returns_ok_and_the_response(name):
    client = eshm.ServiceClient(name, msg.Vector3, float)
    # No server: (False, the response type's default), after the timeout.
    assert client.call(msg.Vector3(x=1.0), 10_000) == (False, 0.0)
    assert not client.isServerConnected()
    assert not client.waitForServer(10_000)
    with eshm.ServiceServer(name, msg.Vector3, float, lambda v: v.x + v.y + v.z):
        assert client.waitForServer(5_000_000)
        assert client.isServerConnected() and client.is_server_connected()
        assert client.call(msg.Vector3(x=1.0, y=2.0, z=3.0), 5_000_000) == (True, 6.0)


def test_a_call_without_a_server_waits_for_one_or_fails(name):
    client = eshm.ServiceClient(name, eshm.u8, eshm.u8)
    with pytest.raises(eshm.NoServerError) as err:
        client.call(1, timeout=0.01)
    assert isinstance(err.value, RuntimeError)
    fast = eshm.ServiceClient(name, eshm.u8, eshm.u8, wait_for_server=False)
    with pytest.raises(eshm.NoServerError):
        fast.call(1, timeout=30.0)
    started = []

    def start_server() -> None:
        started.append(eshm.ServiceServer(name, eshm.u8, eshm.u8, lambda x: x + 1))

    starter = threading.Timer(0.05, start_server)
    starter.start()
    assert client.call(41, timeout=30.0) == 42
    starter.join()
    started[0].close()


def test_timeout_and_dropped_requests(name):
    server = eshm.ServiceServer(name, eshm.u32, eshm.u32)
    client = eshm.ServiceClient(name, eshm.u32, eshm.u32)
    with pytest.raises(TimeoutError):
        client.call(1, timeout=0.02)  # nobody takes it
    server.recv(timeout=5.0).drop()  # the late one, dropped
    # A handler that raises drops its request: the call fails at once.
    server.close()
    server = eshm.ServiceServer(name, eshm.u32, eshm.u32, lambda x: 1 // 0)
    with pytest.raises(eshm.CallDroppedError):
        client.call(1, timeout=30.0)
    server.close()


def test_errors_with_facts(name):
    server = eshm.ServiceServer(name, eshm.u8, eshm.u16, max_clients=1)
    with pytest.raises(eshm.ServerExistsError):
        eshm.ServiceServer(name, eshm.u8, eshm.u16)
    with pytest.raises(eshm.TypeMismatchError) as err:
        eshm.ServiceClient(name, eshm.u8, eshm.u32)
    assert "response" in str(err.value)
    first = eshm.ServiceClient(name, eshm.u8, eshm.u16)
    with pytest.raises(eshm.TooManyClientsError):
        eshm.ServiceClient(name, eshm.u8, eshm.u16)
    first.close()
    eshm.ServiceClient(name, eshm.u8, eshm.u16).close()
    server.close()
    with pytest.raises(eshm.InvalidArgumentError):
        eshm.ServiceServer(name, eshm.u8, eshm.u8, max_clients=0)
    with pytest.raises(TypeError):
        eshm.ServiceServer(name, "text", eshm.u8)  # type: ignore[arg-type]


def test_calls_across_processes_echo_their_nonces(name, child):
    server = child(SERVER, name, 0)
    server.expect("ready")
    client = eshm.ServiceClient(name, msg.Vector3, msg.Vector3)
    import random

    for seq in range(2000):
        nonce = float(random.getrandbits(50))
        answer = client.call(msg.Vector3(x=7.0, y=float(seq), z=nonce), timeout=60.0)
        assert (answer.x, answer.y, answer.z) == (7.0, float(seq), nonce * 2 + 1)


def test_server_killed_during_a_call_is_server_gone_not_a_timeout(name, child):
    server = child(SERVER, name, 5)  # takes 5 s per call
    server.expect("ready")
    client = eshm.ServiceClient(name, msg.Vector3, msg.Vector3)
    threading.Timer(0.2, server.kill).start()
    with pytest.raises(eshm.ServerGoneError):
        client.call(msg.Vector3(), timeout=60.0)
    assert not client.is_server_connected()
    # The next server answers the next call.
    with eshm.ServiceServer(name, msg.Vector3, msg.Vector3, lambda v: v):
        assert client.call(msg.Vector3(x=3.0), timeout=60.0).x == 3.0


def test_ctrl_c_interrupts_a_call(name, child):
    proc = child(
        """
        import sys, threading, eshm
        server = eshm.ServiceServer(sys.argv[1], eshm.u8, eshm.u8)   # never answers
        client = eshm.ServiceClient(sys.argv[1], eshm.u8, eshm.u8)
        # Said from another thread once the call has started (a signal that came before the
        # call would interrupt the script before it, proving nothing).
        threading.Timer(0.2, lambda: print("blocking", flush=True)).start()
        client.call(1)
        """,
        name,
    )
    proc.expect_exact("blocking")
    time.sleep(0.2)
    proc.interrupt()
    code = proc.finish(timeout=30)
    assert code != 0
    assert "KeyboardInterrupt" in proc.stderr, proc.report()


def test_other_threads_run_while_a_call_waits(name):
    server = eshm.ServiceServer(name, eshm.u8, eshm.u8)
    client = eshm.ServiceClient(name, eshm.u8, eshm.u8)

    def answer() -> int:
        # Runs only if the call lets go of the GIL while it waits (see run_while_waiting): a
        # call that held it would end by its timeout, with nobody to answer it.
        req = server.recv(timeout=LINE_TIMEOUT)
        req.respond(req.request + 1)
        return req.request

    assert run_while_waiting(lambda: client.call(1, timeout=LINE_TIMEOUT), answer) == (2, 1)
    server.close()


def test_shm_compat_module_has_the_service_and_action_names():
    from eshm import shm_pub_sub

    assert shm_pub_sub.ServiceServer is eshm.ServiceServer
    assert shm_pub_sub.ServiceClient is eshm.ServiceClient
    assert shm_pub_sub.ActionServer is eshm.ActionServer
    assert shm_pub_sub.ActionClient is eshm.ActionClient
    assert shm_pub_sub.ACTION_STATUS.PREEMPTED is eshm.GoalStatus.CANCELED
    assert [int(s) for s in (eshm.ACTION_STATUS.ACTIVE, eshm.ACTION_STATUS.REJECTED,
                             eshm.ACTION_STATUS.SUCCEEDED, eshm.ACTION_STATUS.PREEMPTED)] == [0, 1, 2, 3]


def test_services_are_listed(name):
    with eshm.ServiceServer(name, eshm.u8, eshm.u8, lambda x: x):
        client = eshm.ServiceClient(name, eshm.u8, eshm.u8)
        client.call(1, timeout=5.0)
        (entry,) = [e for e in eshm.list() if e["name"] == name]
        assert entry["kind"] == "service"
        assert entry["alive"]
        assert entry["service"]["clients"] == 1
        assert entry["service"]["calls"] >= 1
