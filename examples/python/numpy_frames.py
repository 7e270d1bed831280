#!/usr/bin/env python3
"""Camera frames as numpy arrays between two processes, zero-copy both ways: the camera writes
each 640x480 RGB frame straight into shared memory (`Publisher.loan()`), the viewer reads it
where it lies (`Subscriber.recv_view()`), and a Rust program could take either side (the topic
is the Rust `[[[u8; 3]; 640]; 480]`).

    .venv/bin/python examples/python/numpy_frames.py --frames 5
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event

import numpy as np

import eshm

FRAME = eshm.Array(eshm.u8, (480, 640, 3))


def viewer(name: str, frames: int, ready: Event, seen: Queue[int]) -> None:
    sub = eshm.Subscriber(name, FRAME, history=0)
    ready.set()
    for _ in range(frames):
        with sub.recv_view(timeout=10.0) as frame:  # read-only, in shared memory
            red = frame[..., 0]
            print(f"frame {int(frame[0, 0, 1])}: mean red {red.mean():.1f}, held {sub.held}", flush=True)
        seen.put(int(frame[0, 0, 1]))
    print(f"viewer: {sub.lost} lost", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=5)
    args = parser.parse_args()
    name = f"examples/numpy-frames/{os.getpid()}"
    camera = eshm.Publisher(name, FRAME)
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    seen: Queue[int] = ctx.Queue()
    view = ctx.Process(target=viewer, args=(name, args.frames, ready, seen))
    view.start()
    ready.wait()
    gradient = np.linspace(0, 255, 640, dtype=np.float32).astype(np.uint8)
    for i in range(args.frames):
        with camera.loan() as frame:  # writable, in shared memory; published at the end
            frame[..., 0] = gradient  # broadcast over the 480 rows
            frame[..., 1] = i
            frame[..., 2] = 0
        # One frame at a time, so that the viewer sees every one (a publisher never waits).
        assert seen.get(timeout=10.0) == i
    view.join()
    camera.close()


if __name__ == "__main__":
    main()
