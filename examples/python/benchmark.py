#!/usr/bin/env python3
"""eshm's Python benchmark: round trips and throughput between two Python processes, next to
what Python users have today, measured in the same run.

    .venv/bin/python examples/python/benchmark.py            # about 30 s
    .venv/bin/python examples/python/benchmark.py --quick    # 10x fewer iterations
    .venv/bin/python examples/python/benchmark.py --smoke    # 1000x fewer: runs every row, measures nothing
    .venv/bin/python examples/python/benchmark.py --numpy    # arrays, zero-copy (numpy_benchmark.py)

(Build the module with `cd eshm-py && ../.venv/bin/maturin develop --release` first: the test
command builds it in debug mode.)

Round trip: process A sends a value, B sends it back, A waits for it; the median, p99 and
p99.9 over many round trips. Modes: busy-polling (`wait="spin"`), blocking (the default: spin
20 us, then sleep on a futex) and sleeping at once (`wait="park"`). Peers: a raw
`multiprocessing.shared_memory` spin loop (two counters and a payload, the floor of Python
IPC: anything else does more work) and `multiprocessing.Pipe`.

Throughput: A publishes floats as fast as it can, B receives them; messages received per
second, and how many B lost because it fell behind (eshm has no back-pressure: a publisher
never waits for subscribers). `Pipe` delivers everything (it blocks the sender).

Each process pins itself to its own core (A on CPU 0, B on CPU 1). Every figure is also
printed as a machine-readable `RESULT` line.
"""

from __future__ import annotations  # Queue[...] and Connection[...] are not subscriptable at run time

import argparse
import multiprocessing as mp
import os
import statistics
import struct
import sys
import time
import uuid
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from typing import TypedDict, TypeVar

import eshm
from eshm import msg

CPU_A, CPU_B = 0, 1
T = TypeVar("T")


class Stats(TypedDict):
    n: int
    p50_us: float
    p99_us: float
    p999_us: float
    mean_us: float


class Throughput(TypedDict):
    msgs_per_s: float
    received: int
    lost: int


class EshmThroughput(Throughput):
    sent_per_s: float


def pin(cpu: int) -> None:
    try:
        os.sched_setaffinity(0, {cpu % (os.cpu_count() or 1)})
    except OSError:
        pass


def stats(samples_ns: list[int]) -> Stats:
    s = sorted(samples_ns)
    n = len(s)

    def q(p: float) -> float:
        return s[min(n - 1, int(p * n))] / 1000

    return {"n": n, "p50_us": q(0.5), "p99_us": q(0.99), "p999_us": q(0.999), "mean_us": statistics.fmean(s) / 1000}


# ---------------------------------------------------------------------------------------------
# eshm


# The default value gives a topic its type: float (0.0) or msg.Pose. The generic halves below
# (echo, round_trips) take a publisher and a subscriber of one type.


def eshm_echo(tag: str, kind: str, wait: str, total: int, ready: Event) -> None:
    pin(CPU_B)
    if kind == "float":
        sub = eshm.Subscriber(f"{tag}/ping", 0.0, wait=wait, history=0)
        echo(sub, eshm.Publisher(f"{tag}/pong", 0.0, buffer_num=64), total, ready)
    else:
        pose_sub = eshm.Subscriber(f"{tag}/ping", msg.Pose, wait=wait, history=0)
        echo(pose_sub, eshm.Publisher(f"{tag}/pong", msg.Pose, buffer_num=64), total, ready)


def echo(sub: eshm.Subscriber[T], pub: eshm.Publisher[T], total: int, ready: Event) -> None:
    ready.set()
    for _ in range(total):
        pub.publish(sub.recv())


def eshm_round_trips(kind: str, wait: str, iters: int) -> Stats:
    tag = f"eshm-bench-py/{os.getpid()}-{uuid.uuid4().hex[:6]}"
    if kind == "float":
        pub = eshm.Publisher(f"{tag}/ping", 0.0, buffer_num=64)
        sub = eshm.Subscriber(f"{tag}/pong", 0.0, wait=wait, history=0)
        return round_trips(tag, kind, wait, iters, pub, sub, float, lambda back: back)
    pose = msg.Pose()

    def pose_at(i: int) -> msg.Pose:
        pose.position.x = float(i)
        return pose

    pose_pub = eshm.Publisher(f"{tag}/ping", msg.Pose, buffer_num=64)
    pose_sub = eshm.Subscriber(f"{tag}/pong", msg.Pose, wait=wait, history=0)
    return round_trips(tag, kind, wait, iters, pose_pub, pose_sub, pose_at, lambda back: back.position.x)


def round_trips(
    tag: str,
    kind: str,
    wait: str,
    iters: int,
    pub: eshm.Publisher[T],
    sub: eshm.Subscriber[T],
    value_at: Callable[[int], T],
    x_of: Callable[[T], float],
) -> Stats:
    """Times `iters` round trips (after `iters // 10` of warm-up) of `value_at(i)`, published
    on `pub` and echoed back to `sub` by another process; `x_of` reads the number back."""
    warmup = iters // 10
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    b = ctx.Process(target=eshm_echo, args=(tag, kind, wait, warmup + iters, ready))
    b.start()
    ready.wait()
    pin(CPU_A)
    # B's subscriber attached before it set `ready`; give its pong topic to ours.
    while sub.try_recv() is None and not sub.is_connected:
        time.sleep(0.001)
    samples: list[int] = []
    clock = time.perf_counter_ns
    for i in range(warmup + iters):
        value = value_at(i)
        t0 = clock()
        pub.publish(value)
        back = sub.recv()
        t1 = clock()
        if i >= warmup:
            samples.append(t1 - t0)
    b.join()
    check = x_of(back)
    assert check == float(warmup + iters - 1), check
    return stats(samples)


def eshm_sink(tag: str, total: int, ready: Event, result: Queue[tuple[int, int, float, float]]) -> None:
    pin(CPU_B)
    sub = eshm.Subscriber(tag, 0.0, wait="spin", history=0)
    ready.set()
    first = sub.recv()
    start = time.perf_counter()
    received = 1
    last = first
    while last != total:
        last = sub.recv()
        received += 1
    elapsed = time.perf_counter() - start
    result.put((received, sub.lost, first, elapsed))


def eshm_throughput(total: int) -> EshmThroughput:
    tag = f"eshm-bench-py/{os.getpid()}-{uuid.uuid4().hex[:6]}/tput"
    pub = eshm.Publisher(tag, 0.0, buffer_num=4096)
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    result: Queue[tuple[int, int, float, float]] = ctx.Queue()  # received, lost, first, elapsed
    b = ctx.Process(target=eshm_sink, args=(tag, total, ready, result))
    b.start()
    ready.wait()
    pin(CPU_A)
    publish = pub.publish
    start = time.perf_counter()
    for i in range(1, total + 1):
        publish(float(i))
    sent_secs = time.perf_counter() - start
    received, lost, first, elapsed = result.get()
    b.join()
    assert received + lost + first - 1 == total
    return {"msgs_per_s": received / elapsed, "sent_per_s": total / sent_secs, "received": received, "lost": lost}


# ---------------------------------------------------------------------------------------------
# The Python floor: a raw multiprocessing.shared_memory spin loop.

LAYOUT = struct.Struct("<QdQd")  # ping seq, ping value, pong seq, pong value (two cache lines)
PING, PONG = 0, 64


def raw_echo(shm_name: str, total: int, ready: Event) -> None:
    from multiprocessing import shared_memory

    pin(CPU_B)
    shm = shared_memory.SharedMemory(name=shm_name)
    buf = shm.buf
    assert buf is not None  # None only once closed
    unpack, pack = struct.Struct("<Qd").unpack_from, struct.Struct("<Qd").pack_into
    ready.set()
    # Wait for the exact next number: `struct` reads bytes one by one, so a read racing the
    # writer can see a mix of the old and new number (which the next read corrects).
    for expected in range(1, total + 1):
        while True:
            seq, value = unpack(buf, PING)
            if seq == expected:
                break
        pack(buf, PONG, seq, value)
    del buf
    shm.close()


def raw_round_trips(iters: int) -> Stats:
    from multiprocessing import shared_memory

    shm = shared_memory.SharedMemory(create=True, size=4096)
    buf = shm.buf
    assert buf is not None  # None only once closed
    buf[:128] = bytes(128)
    warmup = iters // 10
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    b = ctx.Process(target=raw_echo, args=(shm.name, warmup + iters, ready))
    b.start()
    ready.wait()
    pin(CPU_A)
    unpack, pack = struct.Struct("<Qd").unpack_from, struct.Struct("<Qd").pack_into
    clock = time.perf_counter_ns
    samples: list[int] = []
    for i in range(1, warmup + iters + 1):
        t0 = clock()
        pack(buf, PING, i, float(i))
        while unpack(buf, PONG)[0] != i:
            pass
        t1 = clock()
        if i > warmup:
            samples.append(t1 - t0)
    b.join()
    del buf
    shm.close()
    shm.unlink()
    return stats(samples)


# ---------------------------------------------------------------------------------------------
# multiprocessing.Pipe


def pipe_echo(conn: Connection[bytes, bytes], total: int) -> None:
    pin(CPU_B)
    for _ in range(total):
        conn.send_bytes(conn.recv_bytes())


def pipe_round_trips(iters: int) -> Stats:
    a, b_end = mp.get_context("spawn").Pipe()
    warmup = iters // 10
    b = mp.get_context("spawn").Process(target=pipe_echo, args=(b_end, warmup + iters))
    b.start()
    pin(CPU_A)
    clock = time.perf_counter_ns
    samples: list[int] = []
    pack = struct.Struct("<d").pack
    for i in range(warmup + iters):
        t0 = clock()
        a.send_bytes(pack(float(i)))
        a.recv_bytes()
        t1 = clock()
        if i >= warmup:
            samples.append(t1 - t0)
    b.join()
    return stats(samples)


def pipe_sink(conn: Connection[bytes, bytes], total: int, result: Queue[float]) -> None:
    pin(CPU_B)
    conn.recv_bytes()
    start = time.perf_counter()
    for _ in range(total - 1):
        conn.recv_bytes()
    result.put(time.perf_counter() - start)


def pipe_throughput(total: int) -> Throughput:
    ctx = mp.get_context("spawn")
    a, b_end = ctx.Pipe()
    result: Queue[float] = ctx.Queue()  # the seconds the sink took
    b = ctx.Process(target=pipe_sink, args=(b_end, total, result))
    b.start()
    pin(CPU_A)
    pack = struct.Struct("<d").pack
    for i in range(total):
        a.send_bytes(pack(float(i)))
    elapsed = result.get()
    b.join()
    return {"msgs_per_s": (total - 1) / elapsed, "received": total, "lost": 0}


# ---------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10x fewer iterations")
    parser.add_argument("--smoke", action="store_true", help="1000x fewer: runs every row, the figures mean nothing")
    parser.add_argument("--numpy", action="store_true",
                        help="the numpy rows instead (numpy_benchmark.py: arrays through loans and views, next to raw shared memory)")
    args = parser.parse_args()
    scale = 1000 if args.smoke else 10 if args.quick else 1
    if args.numpy:
        import numpy_benchmark  # beside this script; needs numpy

        numpy_benchmark.run(min(scale, 100))
        return
    print(f"eshm {eshm.__version__} Python benchmark: Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
          f"processes pinned to CPU {CPU_A} and {CPU_B}")

    def progress(what: str) -> None:
        print(f"# {time.strftime('%H:%M:%S')} {what} ...", file=sys.stderr, flush=True)

    progress("raw shared memory round trips")
    floor = raw_round_trips(1_000_000 // scale)
    rows = [("raw shared memory spin (floor)", "float", "spin", floor)]
    for kind, wait, iters in [
        ("float", "spin", 1_000_000),
        ("Pose", "spin", 500_000),
        ("float", "default", 500_000),
        ("Pose", "default", 200_000),
        ("float", "park", 20_000),
    ]:
        progress(f"eshm round trips, {kind}, wait={wait}")
        rows.append(("eshm", kind, wait, eshm_round_trips(kind, wait, iters // scale)))
    progress("multiprocessing.Pipe round trips")
    pipe = pipe_round_trips(50_000 // scale)
    rows.append(("multiprocessing.Pipe", "float", "blocking", pipe))

    print("\nround trip between two Python processes (us):")
    print(f"{'transport':32} {'message':7} {'wait':8} {'p50':>8} {'p99':>8} {'p99.9':>8} {'x floor':>8}")
    for transport, kind, wait, s in rows:
        ratio = s["p50_us"] / floor["p50_us"]
        print(f"{transport:32} {kind:7} {wait:8} {s['p50_us']:8.2f} {s['p99_us']:8.2f} {s['p999_us']:8.2f} {ratio:8.2f}")
        impl = {"eshm": "eshm-py"}.get(transport, transport.split()[0])
        print(f"RESULT impl={impl} bench=py_rtt message={kind} mode={wait} n={s['n']} rtt_p50_us={s['p50_us']:.2f} "
              f"rtt_p99_us={s['p99_us']:.2f} rtt_p999_us={s['p999_us']:.2f} x_floor={ratio:.2f}")

    progress("eshm throughput")
    e = eshm_throughput(10_000_000 // scale)
    progress("multiprocessing.Pipe throughput")
    p = pipe_throughput(1_000_000 // scale)
    print("\none-way throughput, float messages:")
    print(f"{'eshm':32} {e['msgs_per_s']:12.0f} msg/s received ({e['lost']} of {e['received'] + e['lost']} lost; "
          f"publisher sent {e['sent_per_s']:.0f} msg/s)")
    print(f"{'multiprocessing.Pipe':32} {p['msgs_per_s']:12.0f} msg/s (nothing lost)   eshm / Pipe = {e['msgs_per_s'] / p['msgs_per_s']:.1f}x")
    for impl, r in (("eshm-py", e), ("mp.Pipe", p)):
        print(f"RESULT impl={impl} bench=py_throughput message=float msgs_per_s={r['msgs_per_s']:.0f} lost={r['lost']}")


if __name__ == "__main__":
    main()
