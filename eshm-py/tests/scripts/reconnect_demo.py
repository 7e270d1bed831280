#!/usr/bin/env python3
"""Re-creates, in eshm's test suite, the behaviour of the original ESHM example
py/examples/reconnect_demo.py (chongmx/eshm): the same calls, output lines and arguments.
Written for eshm, not copied from ESHM.

A slave that outlives its master: kill the master (Ctrl+C or kill -9), start it again, and the
slave carries on. Usage: reconnect_demo.py <master|slave>; the channel is "reconnect_demo".
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from eshm import ESHM, ESHMRole  # noqa: E402

CHANNEL = "reconnect_demo"


def master():
    print("=== ESHM Reconnection Demo - Master ===")
    print(f"PID: {os.getpid()}")
    print("You can kill this process with Ctrl+C or 'kill -9'")
    print("The slave will wait and reconnect when you restart the master\n")
    with ESHM(CHANNEL, role=ESHMRole.MASTER) as ch:
        print(f"Master initialized as {ch.get_role().name}")
        n = 0
        try:
            while True:
                text = f"Master message #{n}"
                ch.write(text.encode("utf-8"))
                print(f"[MASTER] Sent: {text}")
                reply = ch.try_read()
                if reply:
                    print(f"[MASTER] Received: {reply.decode('utf-8')}")
                n += 1
                time.sleep(1)
        except KeyboardInterrupt:
            print("\n[MASTER] Shutting down gracefully...")


def slave():
    print("=== ESHM Reconnection Demo - Slave ===")
    print(f"PID: {os.getpid()}")
    print("Configured with UNLIMITED reconnection attempts")
    print("This slave will wait indefinitely for the master to restart\n")
    # 0 attempts and 0 ms both mean "no limit".
    with ESHM(
        CHANNEL,
        role=ESHMRole.SLAVE,
        max_reconnect_attempts=0,
        reconnect_wait_ms=0,
        reconnect_retry_interval_ms=100,
    ) as ch:
        print(f"Slave initialized as {ch.get_role().name}")
        print("Waiting for messages...\n")
        acks = 0
        timeouts = 0
        try:
            while True:
                try:
                    data = ch.read()  # the default 1000 ms
                    if data:
                        print(f"[SLAVE] Received: {data.decode('utf-8')}")
                        ack = f"ACK #{acks}"
                        ch.write(ack.encode("utf-8"))
                        print(f"[SLAVE] Sent: {ack}")
                        acks += 1
                        timeouts = 0
                except TimeoutError:
                    timeouts += 1
                    if timeouts % 10 == 0:  # every ten empty reads
                        if ch.is_remote_alive():
                            print(f"[SLAVE] Waiting for data... ({timeouts} timeouts)")
                        else:
                            print(f"[SLAVE] Master not alive - reconnection in progress... ({timeouts} timeouts)")
        except KeyboardInterrupt:
            print("\n[SLAVE] Shutting down...")

        stats = ch.get_stats()
        print("\n=== Final Statistics ===")
        print(f"Messages received: {stats['m2s_read_count']}")
        print(f"Messages sent: {stats['s2m_write_count']}")


def main():
    if len(sys.argv) < 2:
        print("Usage: python reconnect_demo.py <master|slave>")
        print("\nReconnection Demo:")
        print("1. Start slave first:  python reconnect_demo.py slave")
        print("2. Start master:       python reconnect_demo.py master")
        print("3. Kill master with:   kill -9 <master_pid>")
        print("4. Restart master:     python reconnect_demo.py master")
        print("\nThe slave will automatically reconnect when master restarts!")
        return
    run = {"master": master, "slave": slave}.get(sys.argv[1])
    if run is None:
        print(f"Invalid mode: {sys.argv[1]}")
        print("Must be 'master' or 'slave'")
        return
    run()


if __name__ == "__main__":
    main()
