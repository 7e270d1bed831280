#!/usr/bin/env python3
"""Re-creates, in eshm's test suite, the behaviour of the original ESHM example
py/examples/advanced_example.py (chongmx/eshm): the same calls, output lines and arguments.
Written for eshm, not copied from ESHM.

One JSON request and its JSON reply, with a custom read timeout, statistics and non-blocking
reads. Usage: advanced_example.py <master|slave>; the channel is "advanced_demo". Both sides end
by themselves.
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from eshm import ESHM, ESHMRole  # noqa: E402

CHANNEL = "advanced_demo"


def master():
    print("=== Advanced ESHM Master ===")
    print(f"PID: {os.getpid()}\n")
    with ESHM(CHANNEL, role=ESHMRole.MASTER) as ch:
        print(f"Role: {ch.get_role().name}")

        request = json.dumps(
            {"type": "sensor_data", "temperature": 25.5, "humidity": 60.2, "timestamp": time.time()}
        )
        ch.write(request.encode("utf-8"))
        print(f"Sent JSON data: {request}")

        print("Waiting for response (500ms timeout)...")
        try:
            print(f"Received response: {ch.read(timeout_ms=500).decode('utf-8')}")
        except TimeoutError:
            print("No response received (timeout)")

        stats = ch.get_stats()
        print("\n=== Statistics ===")
        for label, key in (
            ("Master heartbeat", "master_heartbeat"),
            ("Slave heartbeat", "slave_heartbeat"),
            ("Master alive", "master_alive"),
            ("Slave alive", "slave_alive"),
        ):
            print(f"{label}: {stats[key]}")
        print(f"Remote alive: {ch.is_remote_alive()}")

        print("\n=== Non-blocking Read Test ===")
        for attempt in (1, 2, 3):
            got = ch.try_read()
            print(f"  Read: {got.decode('utf-8')}" if got else f"  No data available (attempt {attempt})")
            time.sleep(0.1)


def slave():
    print("=== Advanced ESHM Slave ===")
    print(f"PID: {os.getpid()}\n")
    with ESHM(CHANNEL, role=ESHMRole.SLAVE, max_reconnect_attempts=10, reconnect_retry_interval_ms=200) as ch:
        print(f"Role: {ch.get_role().name}")
        print("Listening for messages...\n")
        try:
            data = ch.read()  # the default 1000 ms
            if data:
                text = data.decode("utf-8")
                print(f"Received: {text}")
                try:
                    request = json.loads(text)
                except json.JSONDecodeError:
                    print("Message is not JSON")
                    ch.write(b"ACK (non-JSON)")
                else:
                    print("Parsed JSON:")
                    for key, value in request.items():
                        print(f"  {key}: {value}")
                    reply = json.dumps(
                        {"status": "ok", "received_at": time.time(), "data_type": request.get("type", "unknown")}
                    )
                    ch.write(reply.encode("utf-8"))
                    print(f"\nSent response: {reply}")
        except TimeoutError:
            print("Timeout waiting for message")

        stats = ch.get_stats()
        print("\n=== Statistics ===")
        print(f"Messages read from master: {stats['m2s_read_count']}")
        print(f"Messages sent to master: {stats['s2m_write_count']}")


def main():
    if len(sys.argv) < 2:
        print("Usage: python advanced_example.py <master|slave>")
        print("\nExamples:")
        print("  Terminal 1: python advanced_example.py master")
        print("  Terminal 2: python advanced_example.py slave")
        return
    run = {"master": master, "slave": slave}.get(sys.argv[1])
    if run is None:
        print(f"Invalid mode: {sys.argv[1]}")
        print("Must be 'master' or 'slave'")
        return
    run()


if __name__ == "__main__":
    main()
