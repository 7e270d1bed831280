#!/usr/bin/env python3
"""Throughput and latency of the duplex byte channel between two Python processes.

    python examples/python/performance_test.py                 # both ends, scripted
    python examples/python/performance_test.py slave           # terminal 1
    python examples/python/performance_test.py master          # terminal 2

For each message size: the round trip (master writes, slave echoes, master reads; median,
p99 and p99.9 over --iterations), then one-way throughput (master writes --messages
messages as fast as the queue lets it, slave reads them all). Build the module in release
mode for meaningful figures (`pip install ./eshm-py`, or `maturin develop --release`).
For eshm against other Python IPC libraries, see benchmark.py.
"""

import argparse
import multiprocessing as mp
import os
import struct
import time
from collections.abc import Callable

from eshm import ESHM, ESHMRole

SIZES = (8, 64, 1024, 16384, 65536)
HEADER = struct.Struct("<BI")  # phase (0 = round trip, 1 = stream, 2 = stop), size


def pin(cpu: int) -> None:
    try:
        os.sched_setaffinity(0, {cpu % (os.cpu_count() or 1)})
    except (AttributeError, OSError):
        pass


def percentile(sorted_ns: list[int], p: float) -> float:
    return sorted_ns[min(len(sorted_ns) - 1, int(p * len(sorted_ns)))] / 1000


def run_slave(name: str, wait: str) -> None:
    pin(1)
    with ESHM(name, role=ESHMRole.SLAVE, max_reconnect_attempts=0, max_message=1 << 20, wait=wait) as ch:
        print("slave: attached", flush=True)
        while True:
            phase, size = HEADER.unpack(ch.read(timeout_ms=60_000))
            if phase == 2:
                return
            count = struct.unpack("<Q", ch.read(timeout_ms=60_000))[0]
            if phase == 0:
                for _ in range(count):
                    ch.write(ch.read(buffer_size=size, timeout_ms=60_000))
            else:
                for _ in range(count):
                    ch.read(buffer_size=size, timeout_ms=60_000)
                ch.write(b"done")


def run_master(
    name: str, iterations: int, messages: int, wait: str, slave_running: Callable[[], bool] = lambda: True
) -> None:
    pin(0)
    with ESHM(name, role=ESHMRole.MASTER, max_message=1 << 20, capacity=8 << 20, wait=wait) as ch:
        print("master: waiting for the slave", flush=True)
        while not ch.is_remote_alive():
            if not slave_running():
                raise SystemExit("the slave process failed")
            time.sleep(0.01)
        print(
            f"{'size':>7} | {'RTT p50 us':>10} | {'p99 us':>8} | {'p99.9 us':>8} | {'msgs/s one way':>14} | {'MB/s':>8}",
            flush=True,
        )
        clock = time.perf_counter_ns
        for size in SIZES:
            payload = os.urandom(size)
            n = max(1000, iterations if size <= 1024 else iterations // 10)
            ch.write(HEADER.pack(0, size))
            ch.write(struct.pack("<Q", n))
            samples = []
            for _ in range(n):
                t0 = clock()
                ch.write(payload)
                back = ch.read(buffer_size=size, timeout_ms=10_000)
                samples.append(clock() - t0)
            assert back == payload
            samples.sort()
            count = max(1000, messages if size <= 1024 else messages // 10)
            ch.write(HEADER.pack(1, size))
            ch.write(struct.pack("<Q", count))
            start = time.perf_counter()
            for _ in range(count):
                ch.write(payload)
            assert ch.read(timeout_ms=60_000) == b"done"
            secs = time.perf_counter() - start
            print(
                f"{size:>7} | {percentile(samples, 0.5):>10.2f} | {percentile(samples, 0.99):>8.2f} | "
                f"{percentile(samples, 0.999):>8.2f} | {count / secs:>14,.0f} | {count * size / secs / 1e6:>8.1f}",
                flush=True,
            )
        ch.write(HEADER.pack(2, 0))
        stats = ch.get_stats()
        print(f"master: {stats['m2s_write_count']} messages sent, {stats['s2m_read_count']} received", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("role", nargs="?", choices=("both", "master", "slave"), default="both")
    ap.add_argument("--name", default="eshm-example-perf", help="channel name (default: %(default)s)")
    ap.add_argument("--iterations", type=int, default=20_000, help="round trips per size (default: %(default)s)")
    ap.add_argument("--messages", type=int, default=200_000, help="messages per size one way (default: %(default)s)")
    ap.add_argument("--wait", choices=("default", "spin", "park"), default="default", help="how reads wait")
    args = ap.parse_args()
    if args.role == "slave":
        run_slave(args.name, args.wait)
    elif args.role == "master":
        run_master(args.name, args.iterations, args.messages, args.wait)
    else:
        name = f"{args.name}/{os.getpid()}"
        slave = mp.get_context("spawn").Process(target=run_slave, args=(name, args.wait))
        slave.start()
        run_master(name, args.iterations, args.messages, args.wait, slave.is_alive)
        slave.join()
        raise SystemExit(slave.exitcode)


if __name__ == "__main__":
    main()
