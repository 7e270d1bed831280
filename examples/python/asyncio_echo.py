#!/usr/bin/env python3
"""asyncio with eshm, in two processes: an echo process answers pings (``recv_async``) and
squares numbers (a service in a thread of its own); the main process sends pings from several
tasks at once, reads the echoes with ``async for ... in sub.stream()``, and calls the service
with ``call_async``, all on one event loop and without a thread per wait.

    python examples/python/asyncio_echo.py
    python examples/python/asyncio_echo.py --pings 1000 --tasks 8
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import uuid
from multiprocessing.synchronize import Event

import eshm


def ring(pings: int) -> int:
    """A ring that holds every ping (and pong) of the run: none is ever overwritten unread."""
    return 1 << max(8, (pings + 1).bit_length())


def echo_process(prefix: str, pings: int, ready: Event) -> None:
    """Echoes every ping back as a pong (negated), and serves ``square`` meanwhile."""

    async def run() -> None:
        ping = eshm.Subscriber(f"{prefix}/ping", 0, history=0)
        pong = eshm.Publisher(f"{prefix}/pong", 0, ring(pings))
        with eshm.ServiceServer(f"{prefix}/square", eshm.i64, eshm.i64, lambda x: x * x):
            ready.set()
            for _ in range(pings):
                pong.publish(-(await ping.recv_async(timeout=30.0)))
            # Serve until the main process has made its calls: its last ping (0) says so.
            await ping.recv_async(timeout=30.0)

    asyncio.run(run())


async def main(pings: int, tasks: int) -> None:
    prefix = f"eshm-example/asyncio/{os.getpid()}-{uuid.uuid4().hex[:6]}"
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    echo = ctx.Process(target=echo_process, args=(prefix, pings, ready))
    echo.start()
    ping = eshm.Publisher(f"{prefix}/ping", 0, ring(pings))
    pong = eshm.Subscriber(f"{prefix}/pong", 0, history=0)
    await asyncio.get_running_loop().run_in_executor(None, ready.wait)

    async def sender(first: int) -> None:
        for value in range(first, pings + 1, tasks):
            ping.publish(value)
            await asyncio.sleep(0)  # let the other senders and the reader run

    async def reader() -> int:
        total, count = 0, 0
        async for value in pong.stream():
            total, count = total + value, count + 1
            if count == pings:
                break
        return total

    reading = asyncio.create_task(reader())
    await asyncio.gather(*(sender(first) for first in range(1, tasks + 1)))
    total = await reading
    print(f"main: {pings} pongs from {tasks} tasks, sum {total}")

    client = eshm.ServiceClient(f"{prefix}/square", eshm.i64, eshm.i64)
    squares = await asyncio.gather(*(client.call_async(i, timeout=30.0) for i in range(1, 6)))
    print(f"main: squares {squares}")
    client.close()
    ping.publish(0)  # the echo process's last receive
    await asyncio.get_running_loop().run_in_executor(None, echo.join)
    print(f"main: echo process exited with {echo.exitcode}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pings", type=int, default=100, help="pings to send (default: %(default)s)")
    ap.add_argument("--tasks", type=int, default=4, help="tasks sending them (default: %(default)s)")
    args = ap.parse_args()
    asyncio.run(main(args.pings, args.tasks))
