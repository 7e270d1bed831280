#!/usr/bin/env python3
"""Re-creates, in eshm's test suite, the behaviour of the original ESHM example
py/examples/performance_test.py (chongmx/eshm, its last version, 3059eb6): the same calls,
output lines and arguments. Written for eshm, not copied from ESHM.

Throughput (10000 one-way 100-byte messages) and round-trip latency (1000 PING/PONG) over one
channel. Usage:
    performance_test.py <master|slave> [shm_name] [stats_interval]
(defaults "perf_test" and 10000). The master ends by itself; the slave runs until Ctrl+C.
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from eshm import ESHM, ESHMRole  # noqa: E402

STATS_PRINT_INTERVAL = 10000  # the slave prints a progress line every this many messages

THROUGHPUT_MESSAGES = 10000
PAYLOAD = b"X" * 100
ROUND_TRIPS = 1000


def master(name):
    print("=== ESHM Performance Test - Master ===")
    print(f"PID: {os.getpid()}")
    print(f"SHM Name: {name}\n")
    with ESHM(name, role=ESHMRole.MASTER) as ch:
        print("Waiting for slave to connect...")
        give_up = time.time() + 10
        while not ch.is_remote_alive():
            if time.time() > give_up:
                print("ERROR: Slave did not connect within timeout!")
                return
            time.sleep(0.1)
        print("Slave connected. Starting performance test...\n")
        time.sleep(0.5)

        print("=== Throughput Test ===")
        t0 = time.time()
        for _ in range(THROUGHPUT_MESSAGES):
            ch.write(PAYLOAD)
        took = time.time() - t0
        rate = THROUGHPUT_MESSAGES / took
        print(f"Sent {THROUGHPUT_MESSAGES} messages in {took:.3f} seconds")
        print(f"Throughput: {rate:.0f} messages/second")
        print(f"Throughput: {rate * len(PAYLOAD) / 1024 / 1024:.2f} MB/s\n")

        print("=== Latency Test (Round-trip) ===")
        samples = []
        for i in range(ROUND_TRIPS):
            ping = f"PING_{i}\0".encode("utf-8")
            sent_at = time.time()
            ch.write(ping)
            while not ch.try_read():  # any reply is the pong
                time.sleep(0.00001)
            samples.append((time.time() - sent_at) * 1e6)
        print(f"Completed {ROUND_TRIPS} round-trips")
        print(f"Average latency: {sum(samples) / len(samples):.1f} µs")
        print(f"Min latency: {min(samples):.1f} µs")
        print(f"Max latency: {max(samples):.1f} µs\n")

        stats = ch.get_stats()
        print("=== Final Statistics ===")
        print(f"Master->Slave writes: {stats['m2s_write_count']}")
        print(f"Slave->Master reads: {stats['s2m_read_count']}")


def slave(name):
    print("=== ESHM Performance Test - Slave ===")
    print(f"PID: {os.getpid()}")
    print(f"SHM Name: {name}\n")
    with ESHM(name, role=ESHMRole.SLAVE) as ch:
        print("Connected to master. Ready for performance test...")
        print(f"Printing stats every {STATS_PRINT_INTERVAL} messages\n")
        sys.stdout.flush()

        received = pings = 0
        t0 = time.time()
        try:
            while True:
                # As in the original, a TimeoutError anywhere in here only means "nothing yet".
                try:
                    data = ch.read(timeout_ms=10)
                    if data:
                        received += 1
                        if data.startswith(b"PING_"):
                            pings += 1
                            ch.write(b"PONG")
                        if received % STATS_PRINT_INTERVAL == 0:
                            took = time.time() - t0
                            per_sec = received / took if took > 0 else 0
                            print(f"[SLAVE] Messages: received={received}, pings={pings}, rate={per_sec:.0f} msg/sec")
                            sys.stdout.flush()
                except TimeoutError:
                    pass
        except KeyboardInterrupt:
            print("\n[SLAVE] Shutting down...")

        print(f"\nTotal messages received: {received}")
        print(f"Total pings responded: {pings}")


def usage():
    print("Usage: python performance_test.py <master|slave> [shm_name] [stats_interval]")
    print("\nPerformance Test:")
    print("IMPORTANT: Start in this order:")
    print("1. Start master: python performance_test.py master [shm_name] [stats_interval]")
    print("2. Start slave:  python performance_test.py slave [shm_name] [stats_interval]  (in another terminal)")
    print("\nParameters:")
    print("  shm_name: Shared memory name (default: 'perf_test')")
    print(f"  stats_interval: Print stats every N messages (default: {STATS_PRINT_INTERVAL})")


def main():
    global STATS_PRINT_INTERVAL
    if len(sys.argv) < 2:
        usage()
        return
    mode = sys.argv[1]
    name = sys.argv[2] if len(sys.argv) > 2 else "perf_test"
    if len(sys.argv) > 3:
        try:
            STATS_PRINT_INTERVAL = int(sys.argv[3])
        except ValueError:
            print(f"Error: Invalid stats_interval '{sys.argv[3]}' - must be an integer")
            return
        if STATS_PRINT_INTERVAL <= 0:
            print("Error: stats_interval must be positive")
            return
    if mode == "master":
        master(name)
    elif mode == "slave":
        slave(name)
    else:
        print(f"Invalid mode: {mode}")
        print("Must be 'master' or 'slave'")


if __name__ == "__main__":
    main()
