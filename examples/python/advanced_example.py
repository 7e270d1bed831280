#!/usr/bin/env python3
"""JSON requests and replies over a duplex channel, with custom timeouts and statistics.

A client (the master, this process) sends JSON requests to a worker (the slave, a child
process started here) and waits for each reply with its own timeout; one request is slower
than its timeout on purpose. At the end both ends' statistics are printed.

    python examples/python/advanced_example.py
    python examples/python/advanced_example.py --requests 50
"""

import argparse
import itertools
import json
import math
import multiprocessing as mp
import os
import time
from collections.abc import Callable

import eshm
from eshm import ESHM, ESHMDisconnectBehavior, ESHMRole


def send_json(ch: ESHM, obj: dict[str, object]) -> None:
    ch.write(json.dumps(obj, separators=(",", ":")).encode())


def worker(name: str) -> None:
    """The slave: evaluates requests until told to stop."""
    ops: dict[str, Callable[[list[float]], float]] = {
        "add": lambda a: sum(a),
        "mul": lambda a: math.prod(a),
        "sqrt": lambda a: math.sqrt(a[0]),
    }
    with ESHM(
        name,
        role=ESHMRole.SLAVE,
        stale_threshold_ms=200,  # the master counts as gone after 200 ms without a heartbeat
        max_reconnect_attempts=0,  # wait for the master as long as it takes
    ) as ch:
        while True:
            request = json.loads(ch.read(buffer_size=65536, timeout_ms=10_000))
            if request["op"] == "stop":
                send_json(ch, {"id": request["id"], "stats": ch.get_stats()})
                return
            if request["op"] == "sleep":
                time.sleep(request["args"][0])
                reply: dict[str, object] = {"id": request["id"], "result": None}
            elif request["op"] in ops:
                try:
                    reply = {"id": request["id"], "result": ops[request["op"]](request["args"])}
                except (ValueError, TypeError) as e:
                    reply = {"id": request["id"], "error": str(e)}
            else:
                reply = {"id": request["id"], "error": f"unknown op {request['op']!r}"}
            send_json(ch, reply)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--name", default=f"eshm-example-json/{os.getpid()}", help="channel name")
    ap.add_argument("--requests", type=int, default=10, help="arithmetic requests to send (default: %(default)s)")
    args = ap.parse_args()

    with ESHM(
        args.name,
        role=ESHMRole.MASTER,
        # Fail writes and reads 2 s after the worker stops answering heartbeats.
        disconnect_behavior=ESHMDisconnectBehavior.ON_TIMEOUT,
        reconnect_wait_ms=2000,
        stale_threshold_ms=200,
        max_message=65536,
    ) as ch:
        proc = mp.get_context("spawn").Process(target=worker, args=(args.name,))
        proc.start()
        while not ch.is_remote_alive():
            if not proc.is_alive():
                raise SystemExit(f"worker failed with exit code {proc.exitcode}")
            time.sleep(0.01)
        ids = itertools.count()

        def call(op: str, values: list[int], timeout_ms: int) -> dict[str, object]:
            rid = next(ids)
            send_json(ch, {"id": rid, "op": op, "args": values})
            reply: dict[str, object] = json.loads(ch.read(buffer_size=65536, timeout_ms=timeout_ms))
            assert reply["id"] == rid, reply
            return reply

        start = time.perf_counter()
        for i in range(args.requests):
            values = [i, i + 1, i + 2]
            op = ("add", "mul")[i % 2]
            reply = call(op, values, timeout_ms=1000)
            print(f"{op}{values} = {reply['result']}", flush=True)
        print(f"sqrt[-1]: {call('sqrt', [-1], timeout_ms=1000)['error']}", flush=True)
        elapsed = time.perf_counter() - start

        # A request slower than its timeout: read raises eshm.TimeoutError (a TimeoutError),
        # and the late reply stays queued until we read it.
        send_json(ch, {"id": next(ids), "op": "sleep", "args": [0.3]})
        try:
            ch.read(timeout_ms=50)
        except TimeoutError as e:
            print(f"timed out as expected: {e}", flush=True)
        late = json.loads(ch.read(timeout_ms=5000))
        print(f"late reply to request {late['id']} arrived afterwards", flush=True)

        send_json(ch, {"id": next(ids), "op": "stop"})
        worker_stats = json.loads(ch.read(buffer_size=65536, timeout_ms=5000))["stats"]
        proc.join()
        stats = ch.get_stats()
        print(f"{args.requests + 1} requests answered in {elapsed * 1000:.2f} ms", flush=True)
        print(
            f"master: sent {stats['m2s_write_count']} ({stats['m2s_bytes_written']} B), "
            f"received {stats['s2m_read_count']} ({stats['s2m_bytes_read']} B)",
            flush=True,
        )
        print(
            f"worker: received {worker_stats['m2s_read_count']}, sent {worker_stats['s2m_write_count']}, "
            f"master heartbeat {worker_stats['master_heartbeat_delta']} ms old",
            flush=True,
        )
        if proc.exitcode != 0:
            raise SystemExit(f"worker failed with exit code {proc.exitcode}")


if __name__ == "__main__":
    main()
