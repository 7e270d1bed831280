"""asyncio (issue 14): recv_async, stream, ESHM.read_async/write_async, ServiceClient.call_async.

Waits are registered with the process's waiter thread (`eshm/src/aio`); `_aio_stats()` says how
many futures wait, which the tests use to know that a task is really waiting (instead of
sleeping and hoping), and how many registrations a writer's commit resolved (`signalled`) as
opposed to their 200 ms limit (`expired`), so that a waiter thread that never wakes on a
commit fails the tests instead of making them slower.
"""

import asyncio
import os
import threading

import pytest

import eshm
from conftest import LINE_TIMEOUT
from eshm import ESHM, ESHMRole, msg

stats = eshm._eshm._aio_stats


def os_threads():
    return len(os.listdir("/proc/self/task"))


async def until(predicate, what):
    """Yields to the loop until `predicate()` holds (failing after LINE_TIMEOUT)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + LINE_TIMEOUT
    while not predicate():
        assert loop.time() < end, f"never: {what}"
        await asyncio.sleep(0.001)


async def waiting(n):
    """Until `n` futures wait in the registry."""
    await until(lambda: stats()["waiting"] == n, f"{n} waiting")


def test_two_tasks_receive_from_two_topics_concurrently(name):
    async def main():
        pubs = [eshm.Publisher(f"{name}/{t}", 0, 16) for t in "ab"]
        subs = [eshm.Subscriber(f"{name}/{t}", 0) for t in "ab"]
        before = stats()["signalled"]
        tasks = [asyncio.create_task(s.recv_async(timeout=LINE_TIMEOUT)) for s in subs]
        await waiting(2)
        assert not any(t.done() for t in tasks)
        pubs[1].publish(22)
        assert await tasks[1] == 22
        assert not tasks[0].done()
        pubs[0].publish(11)
        assert await tasks[0] == 11
        # The writers' commits woke them, not the registrations' time limit.
        assert stats()["signalled"] - before >= 2
        assert stats()["waiting"] == 0

    asyncio.run(main())


def test_a_message_already_there_is_returned_without_waiting(name):
    async def main():
        pub = eshm.Publisher(name, msg.Vector3(), 16)
        sub = eshm.Subscriber(name, msg.Vector3())
        pub.publish(msg.Vector3(x=1.0))
        got = await sub.recv_async(timeout=0)
        assert got.x == 1.0
        with pytest.raises(eshm.TimeoutError) as err:
            await sub.recv_async(timeout=0.01)
        assert isinstance(err.value, TimeoutError)

    asyncio.run(main())


def test_cancelled_wait_leaves_the_message_for_the_next_recv(name):
    async def main():
        pub = eshm.Publisher(name, 0, 16)
        sub = eshm.Subscriber(name, 0)
        task = asyncio.create_task(sub.recv_async())
        await waiting(1)
        # Published, then cancelled before the task runs again: its registration may have
        # been resolved, but nothing was taken for it.
        pub.publish(1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert stats()["waiting"] == 0
        assert await sub.recv_async(timeout=LINE_TIMEOUT) == 1
        # A timeout is a cancellation too.
        with pytest.raises(eshm.TimeoutError):
            await sub.recv_async(timeout=0.01)
        pub.publish(2)
        assert await sub.recv_async(timeout=LINE_TIMEOUT) == 2
        # The registration of a cancelled wait is withdrawn: no thread keeps watching it.
        task = asyncio.create_task(sub.recv_async())
        await waiting(1)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await until(lambda: stats()["registrations"] == 0, "registration withdrawn")

    asyncio.run(main())


def test_a_thousand_concurrent_waits_need_a_bounded_number_of_threads(name):
    topics, per_topic = 250, 4

    async def main():
        pubs = [eshm.Publisher(f"{name}/{i}", 0, 16) for i in range(topics)]
        subs = [eshm.Subscriber(f"{name}/{i}", 0) for i in range(topics)]
        py_threads, threads = threading.active_count(), os_threads()
        tasks = [
            asyncio.create_task(s.recv_async(timeout=LINE_TIMEOUT)) for s in subs for _ in range(per_topic)
        ]
        await waiting(topics * per_topic)
        # One registration per subscriber, at most 127 per waiter thread: 2 threads, however
        # many tasks wait (the first may have been started by an earlier test).
        assert stats()["registrations"] == topics
        assert os_threads() <= threads + 2 and stats()["threads"] <= 2
        assert threading.active_count() == py_threads
        for i, p in enumerate(pubs):
            for k in range(per_topic):
                p.publish(i * 10 + k)
        got = await asyncio.gather(*tasks)
        for i in range(topics):
            assert sorted(got[i * per_topic : (i + 1) * per_topic]) == [i * 10 + k for k in range(per_topic)]
        assert os_threads() <= threads + 2

    asyncio.run(main())


def test_stream_yields_in_order_and_ends_when_closed(name):
    async def main():
        pub = eshm.Publisher(name, 0, 16)
        sub = eshm.Subscriber(name, 0)
        for v in range(3):
            pub.publish(v)
        got = []
        async for v in sub.stream():
            got.append(v)
            if v == 2:
                asyncio.get_running_loop().call_soon(sub.close)
        assert got == [0, 1, 2]
        # Closed while a stream waits: the waiting iteration ends (at its next look).
        sub = eshm.Subscriber(name, 0, history=0)
        waiting_stream = asyncio.create_task(anext(sub.stream(), "ended"))
        await waiting(1)
        sub.close()
        assert await waiting_stream == "ended"
        with pytest.raises(eshm.ClosedError):
            await sub.recv_async()

    asyncio.run(main())


ECHO = """
    import asyncio, sys, eshm
    async def main():
        ping = eshm.Subscriber(sys.argv[1] + "/ping", 0)
        pong = eshm.Publisher(sys.argv[1] + "/pong", 0, 16)
        print("ready", flush=True)
        while True:
            v = await ping.recv_async()
            pong.publish(v + 1)
            if v < 0:
                return
    asyncio.run(main())
"""


def test_round_trip_between_two_processes(name, child):
    echo = child(ECHO, name)
    echo.expect_exact("ready")

    async def main():
        ping = eshm.Publisher(name + "/ping", 0, 16)
        pong = eshm.Subscriber(name + "/pong", 0)
        for i in range(200):
            ping.publish(i)
            assert await pong.recv_async(timeout=LINE_TIMEOUT) == i + 1
        ping.publish(-5)
        assert await pong.recv_async(timeout=LINE_TIMEOUT) == -4

    asyncio.run(main())
    echo.finish_ok()


def test_recv_async_on_a_dead_publisher_waits_as_recv_does(name, child):
    pub = child(
        """
        import sys, eshm
        p = eshm.Publisher(sys.argv[1], 0, 16)
        p.publish(1)
        print("published", flush=True)
        sys.stdin.readline()
        """,
        name,
    )
    pub.expect_exact("published")
    sub = eshm.Subscriber(name, 0)

    async def main():
        assert await sub.recv_async(timeout=LINE_TIMEOUT) == 1
        task = asyncio.create_task(sub.recv_async(timeout=LINE_TIMEOUT))
        await waiting(1)
        pub.kill()
        pub.finish()
        # As recv: no error, a timeout ...
        with pytest.raises(eshm.TimeoutError):
            await sub.recv_async(timeout=0.3)
        # ... and the pending wait gets the next publisher's message.
        again = eshm.Publisher(name, 0, 16)
        again.publish(2)
        assert await task == 2

    asyncio.run(main())


def test_channel_read_async_and_write_async(name):
    async def main():
        master = ESHM(name, role=ESHMRole.MASTER, max_message=100, capacity=4096)
        slave = ESHM(name, role=ESHMRole.SLAVE)
        await master.write_async(b"hello")
        assert await slave.read_async() == b"hello"
        # A read waits for the message.
        before = stats()["signalled"]
        task = asyncio.create_task(master.read_async(timeout_ms=int(LINE_TIMEOUT * 1000)))
        await waiting(1)
        slave.write(bytearray(b"back"))
        assert await task == b"back"
        assert stats()["signalled"] > before
        with pytest.raises(eshm.NoDataError):
            await master.read_async(timeout_ms=0)
        with pytest.raises(eshm.TimeoutError):
            await master.read_async(timeout_ms=10)
        # A write waits for room in a full queue; the reader makes room.
        sent = 0
        while True:
            try:
                master.try_write(sent.to_bytes(4, "little") * 20)
            except eshm.FullError:
                break
            sent += 1
        before = stats()["signalled"]
        task = asyncio.create_task(master.write_async(sent.to_bytes(4, "little") * 20))
        await waiting(1)
        assert not task.done()
        first = await slave.read_async(buffer_size=100)
        assert first == bytes(4) * 20
        await task
        assert stats()["signalled"] > before
        rest = [await slave.read_async(buffer_size=100) for _ in range(sent)]
        assert rest == [i.to_bytes(4, "little") * 20 for i in range(1, sent + 1)]
        master.close()
        slave.close()

    asyncio.run(main())


def test_read_async_from_a_dead_master_raises_what_read_raises(name, child):
    master = child(
        """
        import sys
        from eshm import ESHM, ESHMRole
        ch = ESHM(sys.argv[1], role=ESHMRole.MASTER)
        print("ready", flush=True)
        sys.stdin.readline()
        """,
        name,
    )
    master.expect_exact("ready")
    slave = ESHM(name, role=ESHMRole.SLAVE, reconnect_wait_ms=1, reconnect_retry_interval_ms=1)
    master.kill()
    master.finish()

    async def main():
        with pytest.raises(eshm.DisconnectedError):
            await slave.read_async(timeout_ms=int(LINE_TIMEOUT * 1000))

    asyncio.run(main())
    with pytest.raises(eshm.DisconnectedError):
        slave.read(timeout_ms=int(LINE_TIMEOUT * 1000))


def test_call_async_against_a_server_in_another_thread(name):
    gate = threading.Event()

    def handler(x):
        if x == 99:
            gate.wait(LINE_TIMEOUT)
        return x * x

    async def main():
        with eshm.ServiceServer(name, eshm.u64, eshm.u64, handler):
            client = eshm.ServiceClient(name, eshm.u64, eshm.u64)
            assert await client.call_async(3, timeout=LINE_TIMEOUT) == 9
            got = await asyncio.gather(*(client.call_async(i, timeout=LINE_TIMEOUT) for i in range(20)))
            assert got == [i * i for i in range(20)]
            # Cancelled while its server works: the next call gets its own answer.
            task = asyncio.create_task(client.call_async(99))
            await waiting(1)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            assert task.cancelled()
            gate.set()
            assert await client.call_async(5, timeout=LINE_TIMEOUT) == 25
        lonely = eshm.ServiceClient(name + "/none", eshm.u64, eshm.u64, wait_for_server=False)
        with pytest.raises(eshm.NoServerError):
            await lonely.call_async(1)
        waits = eshm.ServiceClient(name + "/none", eshm.u64, eshm.u64)
        with pytest.raises(eshm.TimeoutError):
            await waits.call_async(1, timeout=0.05)

    asyncio.run(main())


def test_call_async_waits_for_room_and_a_given_up_call_frees_its_entry(name):
    gate = threading.Event()
    served = []

    def handler(x):
        served.append(x)
        gate.wait(LINE_TIMEOUT)
        return x + 1000

    async def main():
        with eshm.ServiceServer(name, eshm.u64, eshm.u64, handler, max_in_flight=2):
            client = eshm.ServiceClient(name, eshm.u64, eshm.u64)
            # Five calls, two entries: the last three wait for room (they fail as `call`
            # would, with TooManyCallsError, if they did not), and each gets its own answer.
            tasks = [asyncio.create_task(client.call_async(i, timeout=LINE_TIMEOUT)) for i in range(5)]
            await until(lambda: len(served) == 1, "the server holds the first call")
            assert not any(t.done() for t in tasks)
            gate.set()
            assert await asyncio.gather(*tasks) == [i + 1000 for i in range(5)]
        # A call cancelled before its answer is given up: once its answer comes, its entry
        # (the only one here) goes to the next calls; kept, it would block them for good.
        gate.clear()
        served.clear()
        with eshm.ServiceServer(name + "/one", eshm.u64, eshm.u64, handler, max_in_flight=1):
            client = eshm.ServiceClient(name + "/one", eshm.u64, eshm.u64)
            cancelled = asyncio.create_task(client.call_async(7, timeout=LINE_TIMEOUT))
            await until(lambda: served == [7], "the server holds the call")
            cancelled.cancel()
            await asyncio.gather(cancelled, return_exceptions=True)
            gate.set()
            got = [await client.call_async(i, timeout=LINE_TIMEOUT) for i in (8, 9, 10)]
            assert got == [1008, 1009, 1010]

    asyncio.run(main())


SERVER = """
    import sys, eshm
    from eshm import msg
    server = eshm.ServiceServer(sys.argv[1], msg.Vector3, msg.Vector3)
    print("ready", flush=True)
    server.serve(lambda v: msg.Vector3(x=v.x, y=v.y, z=v.z * 2 + 1))
"""


def test_call_async_against_a_server_in_another_process(name, child):
    server = child(SERVER, name)
    server.expect_exact("ready")

    async def main():
        client = eshm.ServiceClient(name, msg.Vector3, msg.Vector3)
        for i in range(50):
            r = await client.call_async(msg.Vector3(x=float(i), z=float(i)), timeout=LINE_TIMEOUT)
            assert (r.x, r.z) == (float(i), 2.0 * i + 1)
        # The server goes: a call in flight raises ServerGoneError, as call does.
        server.kill()
        server.finish()
        with pytest.raises(eshm.ServerGoneError):
            await client.call_async(msg.Vector3(), timeout=LINE_TIMEOUT)

    asyncio.run(main())


def test_action_feedback_and_result_awaited(name):
    async def main():
        server = eshm.ActionServer(name, eshm.u32, eshm.u32, eshm.u32)
        client = eshm.ActionClient(name, eshm.u32, eshm.u32, eshm.u32)
        goal = client.send_goal(3)
        taken = server.recv_goal(timeout=LINE_TIMEOUT)
        taken.accept()
        before = stats()["signalled"]
        feedback = asyncio.create_task(client.next_feedback_async(goal, timeout=LINE_TIMEOUT))
        result = asyncio.create_task(client.wait_for_result_async(goal, timeout=LINE_TIMEOUT))
        await waiting(2)
        taken.publish_feedback(1)
        assert await feedback == 1
        assert not result.done()
        # Cancelled while it waits: the feedback stays for the next call.
        cancelled = asyncio.create_task(client.next_feedback_async(goal))
        await waiting(2)
        taken.publish_feedback(2)
        cancelled.cancel()
        await asyncio.gather(cancelled, return_exceptions=True)
        assert cancelled.cancelled()
        assert await client.next_feedback_async(goal, timeout=LINE_TIMEOUT) == 2
        taken.succeed(9)
        assert await result == (eshm.GoalStatus.SUCCEEDED, 9)
        assert await client.next_feedback_async(goal, timeout=LINE_TIMEOUT) is None
        assert stats()["signalled"] > before
        with pytest.raises(eshm.UnknownGoalError):
            await client.wait_for_result_async(12345)

    asyncio.run(main())
