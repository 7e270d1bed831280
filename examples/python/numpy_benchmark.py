#!/usr/bin/env python3
"""eshm's numpy benchmark (issue 14): arrays between two Python processes, zero-copy, next to a
raw `multiprocessing.shared_memory` numpy handoff (the floor) in the same run.

    .venv/bin/python examples/python/benchmark.py --numpy           # runs this (about 40 s)
    .venv/bin/python examples/python/numpy_benchmark.py --smoke     # every row, measures nothing

Round trips of a 1 MiB float32 array and a 640x480x3 uint8 frame: A writes the array (a copy
of a prepared one) and sends it, B reads every element (`.sum()`), writes its reply the same
way, and A reads every element of it. eshm writes through `Publisher.loan()` and reads through
`Subscriber.recv_view()` (the array lies in shared memory both ways); the floor writes with
`numpy.copyto` into an array over a `SharedMemory` block and hands it over with a sequence
number (one block per direction, the reader spinning on the number), which is all a handoff can
do. Stream: A sends 1920x1080x3 frames as fast as B takes them (B sums each): frames per
second; eshm's publisher never waits (B may lose frames: counted), the floor's writer waits
for B (two blocks, double-buffered).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time
import uuid
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from typing import Any, TypedDict

import numpy as np
from numpy.typing import NDArray

import eshm

CPU_A, CPU_B = 0, 1
MIB_F32 = ((1 << 20) // 4,)
FRAME = (480, 640, 3)
HD = (1080, 1920, 3)


class Stats(TypedDict):
    n: int
    p50_us: float
    p99_us: float
    p999_us: float


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

    return {"n": n, "p50_us": q(0.5), "p99_us": q(0.99), "p999_us": q(0.999)}


def source(shape: tuple[int, ...], dtype: str) -> NDArray[Any]:
    return np.arange(int(np.prod(shape)), dtype=np.uint32).astype(dtype).reshape(shape)


def descriptor(shape: tuple[int, ...], dtype: str) -> eshm.Array:
    return eshm.Array(eshm.f32 if dtype == "float32" else eshm.u8, shape)


# ---------------------------------------------------------------------------------------------
# eshm: loans and views


def eshm_echo(tag: str, shape: tuple[int, ...], dtype: str, wait: str, total: int, ready: Event) -> None:
    pin(CPU_B)
    t = descriptor(shape, dtype)
    sub = eshm.Subscriber(f"{tag}/ping", t, wait=wait, history=0)
    pub = eshm.Publisher(f"{tag}/pong", t)
    src = source(shape, dtype)
    ready.set()
    for _ in range(total):
        with sub.recv_view() as v:
            v.sum()
            seq = v.flat[0]
        with pub.loan() as f:
            np.copyto(f, src)
            f.flat[0] = seq


def eshm_round_trips(shape: tuple[int, ...], dtype: str, wait: str, iters: int) -> Stats:
    tag = f"eshm-bench-np/{os.getpid()}-{uuid.uuid4().hex[:6]}"
    t = descriptor(shape, dtype)
    pub = eshm.Publisher(f"{tag}/ping", t)
    sub = eshm.Subscriber(f"{tag}/pong", t, wait=wait, history=0)
    warmup = iters // 10
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    b = ctx.Process(target=eshm_echo, args=(tag, shape, dtype, wait, warmup + iters, ready))
    b.start()
    ready.wait()
    pin(CPU_A)
    while not sub.is_connected:
        sub.try_recv()
        time.sleep(0.001)
    src = source(shape, dtype)
    clock = time.perf_counter_ns
    samples: list[int] = []
    for i in range(warmup + iters):
        t0 = clock()
        with pub.loan() as f:
            np.copyto(f, src)
            f.flat[0] = i % 251
        with sub.recv_view() as v:
            v.sum()
            back = int(v.flat[0])
        t1 = clock()
        assert back == i % 251, (back, i)
        if i >= warmup:
            samples.append(t1 - t0)
    b.join()
    return stats(samples)


def eshm_frame_sink(tag: str, total: int, ready: Event, result: Queue[tuple[int, int, float]]) -> None:
    pin(CPU_B)
    sub = eshm.Subscriber(tag, eshm.Array(eshm.u8, HD), wait="spin", history=0)
    ready.set()
    received, start, last = 0, 0.0, -1
    while last != total - 1:
        with sub.recv_view() as v:
            v.sum(dtype=np.uint64)
            last = int(v[0, 0, 0]) | int(v[0, 0, 1]) << 8 | int(v[0, 0, 2]) << 16
        if received == 0:
            start = time.perf_counter()
        received += 1
    result.put((received - 1, sub.lost, time.perf_counter() - start))


def eshm_frame_stream(total: int) -> tuple[float, int]:
    tag = f"eshm-bench-np/{os.getpid()}-{uuid.uuid4().hex[:6]}/hd"
    pub = eshm.Publisher(tag, eshm.Array(eshm.u8, HD), buffer_num=4)
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    result: Queue[tuple[int, int, float]] = ctx.Queue()
    b = ctx.Process(target=eshm_frame_sink, args=(tag, total, ready, result))
    b.start()
    ready.wait()
    pin(CPU_A)
    src = source(HD, "uint8")
    for i in range(total):
        with pub.loan() as f:
            np.copyto(f, src)
            f[0, 0] = (i & 0xFF, i >> 8 & 0xFF, i >> 16 & 0xFF)
    received, lost, elapsed = result.get()
    b.join()
    return received / elapsed, lost


# ---------------------------------------------------------------------------------------------
# The floor: numpy arrays over multiprocessing.shared_memory, a sequence number per block.

HEADER = 64  # the sequence number's cache line, then the array


def raw_views(buf: memoryview, shape: tuple[int, ...], dtype: str, blocks: int) -> list[tuple[NDArray[np.uint64], NDArray[Any]]]:
    size = int(np.prod(shape)) * np.dtype(dtype).itemsize
    stride = HEADER + size
    return [
        (
            np.ndarray((1,), np.uint64, buf, k * stride),
            np.ndarray(shape, dtype, buf, k * stride + HEADER),
        )
        for k in range(blocks)
    ]


def raw_echo(shm_name: str, shape: tuple[int, ...], dtype: str, total: int, ready: Event) -> None:
    from multiprocessing import shared_memory

    pin(CPU_B)
    shm = shared_memory.SharedMemory(name=shm_name)
    assert shm.buf is not None
    (ping_seq, ping), (pong_seq, pong) = raw_views(shm.buf, shape, dtype, 2)
    src = source(shape, dtype)
    ready.set()
    for i in range(1, total + 1):
        while ping_seq[0] != i:
            pass
        ping.sum()
        np.copyto(pong, src)
        pong_seq[0] = i
    del ping_seq, ping, pong_seq, pong
    shm.close()


def raw_round_trips(shape: tuple[int, ...], dtype: str, iters: int) -> Stats:
    from multiprocessing import shared_memory

    size = int(np.prod(shape)) * np.dtype(dtype).itemsize
    shm = shared_memory.SharedMemory(create=True, size=2 * (HEADER + size))
    assert shm.buf is not None
    (ping_seq, ping), (pong_seq, pong) = raw_views(shm.buf, shape, dtype, 2)
    ping_seq[0] = pong_seq[0] = 0
    warmup = iters // 10
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    b = ctx.Process(target=raw_echo, args=(shm.name, shape, dtype, warmup + iters, ready))
    b.start()
    ready.wait()
    pin(CPU_A)
    src = source(shape, dtype)
    clock = time.perf_counter_ns
    samples: list[int] = []
    for i in range(1, warmup + iters + 1):
        t0 = clock()
        np.copyto(ping, src)
        ping_seq[0] = i  # x86: stores become visible in order, after the array's
        while pong_seq[0] != i:
            pass
        pong.sum()
        t1 = clock()
        if i > warmup:
            samples.append(t1 - t0)
    b.join()
    del ping_seq, ping, pong_seq, pong
    shm.close()
    shm.unlink()
    return stats(samples)


def raw_frame_sink(shm_name: str, total: int, ready: Event, result: Queue[float]) -> None:
    from multiprocessing import shared_memory

    pin(CPU_B)
    shm = shared_memory.SharedMemory(name=shm_name)
    assert shm.buf is not None
    blocks = raw_views(shm.buf, HD, "uint8", 3)
    ack = blocks[2][0]  # frames taken so far
    ready.set()
    start = 0.0
    for i in range(1, total + 1):
        seq, frame = blocks[i % 2]
        while seq[0] != i:
            pass
        frame.sum(dtype=np.uint64)
        ack[0] = i
        if i == 1:
            start = time.perf_counter()
    result.put(time.perf_counter() - start)
    del blocks, ack
    shm.close()


def raw_frame_stream(total: int) -> float:
    from multiprocessing import shared_memory

    size = int(np.prod(HD))
    shm = shared_memory.SharedMemory(create=True, size=3 * (HEADER + size))
    assert shm.buf is not None
    blocks = raw_views(shm.buf, HD, "uint8", 3)
    for seq, _ in blocks:
        seq[0] = 0
    ack = blocks[2][0]
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    result: Queue[float] = ctx.Queue()
    b = ctx.Process(target=raw_frame_sink, args=(shm.name, total, ready, result))
    b.start()
    ready.wait()
    pin(CPU_A)
    src = source(HD, "uint8")
    for i in range(1, total + 1):
        while i - int(ack[0]) > 2:  # both blocks still unread: wait for the reader
            pass
        seq, frame = blocks[i % 2]
        np.copyto(frame, src)
        seq[0] = i
    elapsed = result.get()
    b.join()
    del blocks, ack, seq, frame
    shm.close()
    shm.unlink()
    return (total - 1) / elapsed


# ---------------------------------------------------------------------------------------------


def run(scale: int) -> None:
    """Prints the numpy rows (`scale`: divide the iterations by it)."""
    print(f"eshm {eshm.__version__} numpy benchmark: Python {sys.version.split()[0]}, numpy {np.__version__}, "
          f"{os.cpu_count()} CPUs, processes pinned to CPU {CPU_A} and {CPU_B}, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    def progress(what: str) -> None:
        print(f"# {time.strftime('%H:%M:%S')} {what} ...", file=sys.stderr, flush=True)

    print("\nround trip between two Python processes, every element written and read at both ends (us):")
    print(f"{'transport':34} {'array':16} {'wait':8} {'p50':>9} {'p99':>9} {'p99.9':>9} {'x floor':>8}")
    for label, shape, dtype, iters in [("1 MiB float32", MIB_F32, "float32", 5000), ("640x480x3 uint8", FRAME, "uint8", 5000)]:
        progress(f"raw round trips, {label}")
        floor = raw_round_trips(shape, dtype, max(10, iters // scale))
        rows = [("raw shared memory (floor)", "spin", floor)]
        for wait in ("spin", "default"):
            progress(f"eshm round trips, {label}, wait={wait}")
            rows.append(("eshm loan + recv_view", wait, eshm_round_trips(shape, dtype, wait, max(10, iters // scale))))
        for transport, wait, s in rows:
            ratio = s["p50_us"] / floor["p50_us"]
            print(f"{transport:34} {label:16} {wait:8} {s['p50_us']:9.1f} {s['p99_us']:9.1f} {s['p999_us']:9.1f} {ratio:8.2f}")
            impl = "eshm-py" if transport.startswith("eshm") else "raw"
            print(f"RESULT impl={impl} bench=py_np_rtt array={label.replace(' ', '_')} mode={wait} n={s['n']} "
                  f"rtt_p50_us={s['p50_us']:.1f} rtt_p99_us={s['p99_us']:.1f} rtt_p999_us={s['p999_us']:.1f} x_floor={ratio:.2f}")
    frames = max(20, 1500 // scale)
    progress("raw 1920x1080x3 frame stream")
    raw_fps = raw_frame_stream(frames)
    progress("eshm 1920x1080x3 frame stream")
    eshm_fps, lost = eshm_frame_stream(frames)
    print("\n1920x1080x3 uint8 frames one way, each summed by the reader (frames/s):")
    print(f"{'raw shared memory (floor)':34} {raw_fps:9.0f} (the writer waits for the reader)")
    print(f"{'eshm loan + recv_view':34} {eshm_fps:9.0f} ({lost} of {frames} lost: the publisher never waits)   "
          f"x floor = {eshm_fps / raw_fps:.2f}")
    print(f"RESULT impl=raw bench=py_np_stream array=1920x1080x3_uint8 frames_per_s={raw_fps:.0f} lost=0")
    print(f"RESULT impl=eshm-py bench=py_np_stream array=1920x1080x3_uint8 frames_per_s={eshm_fps:.0f} lost={lost}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10x fewer iterations")
    parser.add_argument("--smoke", action="store_true", help="100x fewer: runs every row, the figures mean nothing")
    args = parser.parse_args()
    run(100 if args.smoke else 10 if args.quick else 1)


if __name__ == "__main__":
    main()
