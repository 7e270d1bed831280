#!/usr/bin/env python3
"""Your own message types in Python: the classes robot_messages (this crate) generates from
its Rust structs, published and received with eshm.

    pip install ./eshm-py ./examples/python/custom_messages
    python examples/python/custom_messages/demo.py
"""

import os

import eshm
from eshm import msg
from robot_messages import BatteryState, Odometry

print(BatteryState.SCHEMA)
print(f"fingerprint {BatteryState.FINGERPRINT:#018x}, {BatteryState.SIZE} bytes\n")

topic = f"robot-demo/{os.getpid()}"
with eshm.Publisher(f"{topic}/battery", BatteryState) as battery_pub, eshm.Subscriber(
    f"{topic}/battery", BatteryState
) as battery_sub, eshm.Publisher(f"{topic}/odom", Odometry) as odom_pub, eshm.Subscriber(
    f"{topic}/odom", Odometry
) as odom_sub:
    state = BatteryState(stamp_ns=1, voltage=24.6, current=-3.5, cell_charge=[0.9, 0.9, 0.88, 0.91], supply=1)
    battery_pub.publish(state)
    received = battery_sub.recv(timeout=1.0)
    print(f"received {received}")
    assert received == state

    odom_pub.publish(Odometry(stamp_ns=2, wheels=[1.5, 1.6], velocity=msg.Vector3(x=0.5)))
    odom = odom_sub.recv(timeout=1.0)
    print(f"received {odom}")
    print(f"velocity.x = {odom.velocity.x}, wheels = {odom.wheels.tolist()}")

    # A subscriber for the wrong type is refused, naming the first difference.
    try:
        eshm.Subscriber(f"{topic}/battery", Odometry)
    except eshm.TypeMismatchError as e:
        print(f"\nwrong type refused: {e}")
