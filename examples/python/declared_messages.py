#!/usr/bin/env python3
"""Message types declared in Python: an IMU driver publishes `Imu` messages, a logger receives
every one of them, and the log they make (the messages' bytes back to back) is read back as a
numpy structured array without a loop.

    python examples/python/declared_messages.py
    python examples/python/declared_messages.py --count 1000 --name robot/imu

`Imu` and `Mode` are the Rust types of `examples/declared.rs` (`cargo run --example declared
fingerprint` prints the same fingerprints), so a Rust process publishes to this logger too.

The field types are written as `typing.Annotated[what the field reads as, eshm type]`, which
`mypy --strict` accepts (it refuses `eshm.Array(eshm.f32, 3)` as an annotation); at run time
both forms declare the same class.
"""

import argparse
import threading
from typing import Annotated

import numpy as np
from numpy.typing import NDArray

import eshm


class Mode(eshm.Enum, repr=eshm.u8):
    """What the sensor is doing."""

    Idle = 0
    Streaming = 1
    Fault = 255


class Imu(eshm.Message):
    """One inertial measurement."""

    stamp_ns: Annotated[int, eshm.u64]
    accel: Annotated[NDArray[np.float32], eshm.Array(eshm.f32, 3)]
    gyro: Annotated[NDArray[np.float32], eshm.Array(eshm.f32, 3)]
    valid: bool
    mode: Mode
    _pad: Annotated[NDArray[np.uint8], eshm.Array(eshm.u8, 6)]


def driver(name: str, count: int, ready: threading.Event) -> None:
    """Publishes `count` measurements once the logger is ready."""
    with eshm.Publisher(name, Imu, buffer_num=count) as pub:
        ready.wait()
        imu = Imu(valid=True, mode=Mode.Streaming)
        for i in range(count):
            imu.stamp_ns = 1_000_000 * i
            imu.accel[:] = (0.0, 0.0, 9.81)  # a numpy view: writes into the message
            imu.gyro[2] = 0.01 * i
            pub.publish(imu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", default="example/declared/imu", help="topic name")
    parser.add_argument("--count", type=int, default=100, help="measurements to publish")
    args = parser.parse_args()

    print(Imu.SCHEMA, end="")
    print(f"fingerprint {Imu.FINGERPRINT:#018x}, {Imu.SIZE} bytes")

    log = bytearray()
    ready = threading.Event()
    thread = threading.Thread(target=driver, args=(args.name, args.count, ready))
    thread.start()
    with eshm.Subscriber(args.name, Imu) as sub:
        ready.set()
        for _ in range(args.count):
            imu = sub.recv(timeout=10.0)
            assert imu.mode is Mode.Streaming
            log += imu.to_bytes()
    thread.join()

    records = Imu.frombuffer(bytes(log))  # the log as columns, without a loop
    print(f"received {len(records)}, lost {sub.lost}")
    print(f"last stamp {records['stamp_ns'][-1]} ns, mean gyro z {records['gyro'][:, 2].mean():.3f}")
    print(f"modes {sorted(set(Mode(m).name for m in records['mode']))}")


if __name__ == "__main__":
    main()
