#!/usr/bin/env python3
"""A robot's sensor network: three publishers at 10, 30 and 100 Hz, four subscribers, each in
its own process, for a few seconds; then every process reports what it saw.

    python examples/python/sensor_network.py                 # 5 s
    python examples/python/sensor_network.py --duration 2

Topics (under --prefix, default "robot/"):
  temperature   float       10 Hz   published by `thermometer`
  pose          msg.Pose    30 Hz   published by `localizer`
  imu           msg.Imu    100 Hz   published by `imu_driver`

Subscribers:
  monitor   polls `temperature` the way SHM users do (`subscribe() -> (value, is_new)`),
            20 times a second, and raises an alert above 30 degrees;
  logger    receives every `imu` message in order (`for msg in sub`), counting losses;
  fusion    blocks on `imu` and keeps the newest `pose` (`latest()`) for each sample;
  rates     counts each topic's messages and prints the rates it measured.
"""

import argparse
import math
import multiprocessing as mp
import random
import time
from collections.abc import Callable
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from typing import TypeAlias, TypeVar

import eshm
from eshm import msg

T = TypeVar("T")
# (who, what it saw), one per process; quoted: multiprocessing's Queue is not subscriptable at run time
Reports: TypeAlias = "Queue[tuple[str, str]]"


def temperature_at(t: float) -> float:
    return 25.0 + 8.0 * math.sin(t) + random.uniform(-0.5, 0.5)


def pose_at(t: float) -> msg.Pose:
    return msg.Pose(
        position=msg.Vector3(x=math.cos(t), y=math.sin(t)),
        orientation=msg.Quaternion(z=math.sin(t / 2), w=math.cos(t / 2)),
    )


def imu_at(t: float) -> msg.Imu:
    return msg.Imu(
        stamp_ns=time.monotonic_ns(),
        orientation=msg.Quaternion(w=1.0),
        angular_velocity=msg.Vector3(z=1.0),
        linear_acceleration=msg.Vector3(x=-math.cos(t), y=-math.sin(t), z=9.81),
    )


def publisher(prefix: str, topic: str, rate_hz: int, duration: float, out: Reports) -> None:
    # The default value gives each topic its type: Publisher[float], [msg.Pose], [msg.Imu].
    if topic == "temperature":
        publish(eshm.Publisher(prefix + topic, 0.0, buffer_num=64), temperature_at, topic, rate_hz, duration, out)
    elif topic == "pose":
        publish(eshm.Publisher(prefix + topic, msg.Pose, buffer_num=64), pose_at, topic, rate_hz, duration, out)
    else:
        publish(eshm.Publisher(prefix + topic, msg.Imu, buffer_num=64), imu_at, topic, rate_hz, duration, out)


def publish(
    pub: eshm.Publisher[T], value_at: Callable[[float], T], topic: str, rate_hz: int, duration: float, out: Reports
) -> None:
    """Publishes `value_at(seconds since start)` at `rate_hz` for `duration` seconds, on an
    absolute schedule (no drift)."""
    period = 1.0 / rate_hz
    with pub:
        start = time.monotonic()
        n = 0
        while (now := time.monotonic()) < start + duration:
            pub.publish(value_at(now - start))
            n += 1
            time.sleep(max(0.0, start + n * period - time.monotonic()))
        out.put((f"publisher {topic}", f"published {pub.published} messages at {rate_hz} Hz"))


def monitor(prefix: str, stop: Event, out: Reports, ready: Event) -> None:
    sub = eshm.Subscriber(prefix + "temperature", 0.0)
    ready.set()
    alerts = updates = 0
    value = 0.0
    while not stop.is_set():
        value, is_new = sub.subscribe()
        if is_new:
            updates += 1
            if value > 30.0:
                alerts += 1
        time.sleep(0.05)
    out.put(("monitor", f"{updates} updates, {alerts} high-temperature alerts, last {value:.1f} C"))


def logger(prefix: str, stop: Event, out: Reports, ready: Event) -> None:
    sub = eshm.Subscriber(prefix + "imu", msg.Imu)
    ready.set()
    received, last_stamp, in_order = 0, 0, True
    imu: msg.Imu | None  # recv() returns a msg.Imu, try_recv() one or None
    while not stop.is_set():
        try:
            imu = sub.recv(timeout=0.5)
        except TimeoutError:
            continue
        received += 1
        in_order &= imu.stamp_ns > last_stamp
        last_stamp = imu.stamp_ns
    while (imu := sub.try_recv()) is not None:  # what is left after the publishers stopped
        received += 1
        in_order &= imu.stamp_ns > last_stamp
        last_stamp = imu.stamp_ns
    out.put(("logger", f"{received} imu messages, lost {sub.lost}, in order: {in_order}"))


def fusion(prefix: str, stop: Event, out: Reports, ready: Event) -> None:
    imu_sub = eshm.Subscriber(prefix + "imu", msg.Imu)
    pose_sub = eshm.Subscriber(prefix + "pose", msg.Pose)
    ready.set()
    fused = 0
    worst_age_ms = 0.0
    pose: msg.Pose | None = None
    while not stop.is_set():
        try:
            imu = imu_sub.recv(timeout=0.5)
        except TimeoutError:
            continue
        # latest(): the newest pose if one arrived since the last call (skipping older ones).
        newest = pose_sub.latest()
        if newest is not None:
            pose = newest
        if pose is None:
            continue  # no pose yet
        fused += 1
        worst_age_ms = max(worst_age_ms, (time.monotonic_ns() - imu.stamp_ns) / 1e6)
    out.put(("fusion", f"{fused} imu samples fused with the latest pose; oldest imu sample {worst_age_ms:.2f} ms old"))


def rates(prefix: str, stop: Event, out: Reports, ready: Event) -> None:
    subs: dict[str, eshm.Subscriber[float] | eshm.Subscriber[msg.Pose] | eshm.Subscriber[msg.Imu]] = {
        "temperature": eshm.Subscriber(prefix + "temperature", 0.0),
        "pose": eshm.Subscriber(prefix + "pose", msg.Pose),
        "imu": eshm.Subscriber(prefix + "imu", msg.Imu),
    }
    ready.set()
    counts = dict.fromkeys(subs, 0)
    first: dict[str, float] = {}
    last: dict[str, float] = {}
    while True:
        stopping = stop.is_set()  # read before the last pass, so that it drains everything
        for topic, sub in subs.items():
            while sub.try_recv() is not None:
                now = time.monotonic()
                counts[topic] += 1
                first.setdefault(topic, now)
                last[topic] = now
        if stopping:
            break
        time.sleep(0.005)
    parts = []
    for topic, n in counts.items():
        span = last.get(topic, 0) - first.get(topic, 0)
        rate = (n - 1) / span if n > 1 and span > 0 else 0.0
        parts.append(f"{topic} {n} msgs ~{rate:.0f} Hz")
    out.put(("rates", ", ".join(parts)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=5.0, help="seconds to run (default: %(default)s)")
    ap.add_argument("--prefix", default="robot/", help="topic name prefix (default: %(default)s)")
    args = ap.parse_args()

    ctx = mp.get_context("spawn")
    out: Reports = ctx.Queue()
    # Subscribers start first and stop after the publishers, so that they see the whole run
    # (a subscriber receives what is published after it was created, and by default the one
    # message before).
    stop = ctx.Event()
    subscribers = []
    for f in (monitor, logger, fusion, rates):
        ready = ctx.Event()
        subscribers.append((ctx.Process(target=f, args=(args.prefix, stop, out, ready), name=f.__name__), ready))
    publishers = [
        ctx.Process(target=publisher, args=(args.prefix, topic, hz, args.duration, out), name=topic)
        for topic, hz in (("temperature", 10), ("pose", 30), ("imu", 100))
    ]
    procs = [p for p, _ in subscribers] + publishers
    print(f"running {len(procs)} processes for {args.duration} s ...", flush=True)
    for p, ready in subscribers:
        p.start()
    for p, ready in subscribers:
        while not ready.wait(0.1):
            if not p.is_alive():
                raise SystemExit(f"{p.name} failed")
    for p in publishers:
        p.start()
    for p in publishers:
        p.join()
    stop.set()
    for p, _ in subscribers:
        p.join()
    reports = dict(out.get() for _ in range(sum(p.exitcode == 0 for p in procs)))
    for who in sorted(reports):
        print(f"{who:>22}: {reports[who]}")
    failed = [p.name for p in procs if p.exitcode != 0]
    if failed:
        raise SystemExit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
