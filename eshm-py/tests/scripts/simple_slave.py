#!/usr/bin/env python3
"""Re-creates, in eshm's test suite, the behaviour of the original ESHM example
py/examples/simple_slave.py (chongmx/eshm): the same calls, output lines and arguments.
Written for eshm, not copied from ESHM.

Slave half of the basic exchange: answers every message from the master with an ACK.
Usage: simple_slave.py [shm_name]   (default "eshm1"); stop with Ctrl+C.
Retries forever (max_reconnect_attempts=0) when the master goes away.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from eshm import ESHM, ESHMError, ESHMRole  # noqa: E402,F401

NUL = "\0"


def print_final_stats(channel):
    s = channel.get_stats()
    print("\n=== Final Statistics ===")
    print(f"Master PID: {s['master_pid']}")
    print(f"Slave PID: {s['slave_pid']}")
    print(f"Master->Slave: writes={s['m2s_write_count']}, reads={s['m2s_read_count']}")
    print(f"Slave->Master: writes={s['s2m_write_count']}, reads={s['s2m_read_count']}")


def answer_forever(channel):
    acks = 0
    while True:
        # Like the original, a TimeoutError anywhere in receive-and-answer is "nothing yet" (or
        # "the master is being looked for again"); anything else ends the script.
        try:
            data = channel.read()  # up to 1000 ms
            if data:
                print(f"[SLAVE] Received ({len(data)} bytes): {data.decode('utf-8').rstrip(NUL)}")
                ack = f"ACK from Python slave #{acks}"
                channel.write((ack + NUL).encode("utf-8"))
                print(f"[SLAVE] Sent: {ack}")
                acks += 1
        except TimeoutError:
            pass

        if not channel.is_remote_alive():
            print("[SLAVE] WARNING: Master is not alive - waiting for reconnection...")


def main():
    name = sys.argv[1] if len(sys.argv) > 1 else "eshm1"
    print("=== ESHM Python Slave Example ===")
    print(f"PID: {os.getpid()}")
    print(f"SHM Name: {name}\n")

    with ESHM(name, role=ESHMRole.SLAVE, max_reconnect_attempts=0, reconnect_retry_interval_ms=100) as channel:
        print(f"Initialized as {channel.get_role().name}")
        print("Waiting for messages from master...")
        print("Press Ctrl+C to stop\n")
        try:
            answer_forever(channel)
        except KeyboardInterrupt:
            print("\n[SLAVE] Shutting down...")
        print_final_stats(channel)


if __name__ == "__main__":
    main()
