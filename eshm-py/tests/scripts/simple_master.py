#!/usr/bin/env python3
"""Re-creates, in eshm's test suite, the behaviour of the original ESHM example
py/examples/simple_master.py (chongmx/eshm): the same calls, output lines and arguments.
Written for eshm, not copied from ESHM.

Master half of the basic exchange: greets the slave twice a second and prints its replies.
Usage: simple_master.py [shm_name]   (default "eshm1"); stop with Ctrl+C.
"""

import os
import sys
import time

# The originals find their wrapper in the directory above examples/. Kept, so that the tests run
# a script that looks for the module the same way.
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from eshm import ESHM, ESHMError, ESHMRole  # noqa: E402,F401  (ESHMError unused, imported like the original)

NUL = "\0"  # C++ peers expect NUL-terminated strings


def print_final_stats(channel):
    s = channel.get_stats()
    print("\n=== Final Statistics ===")
    print(f"Master PID: {s['master_pid']}")
    print(f"Slave PID: {s['slave_pid']}")
    print(f"Master->Slave: writes={s['m2s_write_count']}, reads={s['m2s_read_count']}")
    print(f"Slave->Master: writes={s['s2m_write_count']}, reads={s['s2m_read_count']}")


def greet_forever(channel):
    n = 0
    while True:
        text = f"Hello from Python master #{n}"
        channel.write((text + NUL).encode("utf-8"))
        print(f"[MASTER] Sent: {text}")

        reply = channel.try_read()  # never waits
        if reply:
            print(f"[MASTER] Received: {reply.decode('utf-8').rstrip(NUL)}")

        if not channel.is_remote_alive():
            print("[MASTER] WARNING: Slave is not alive/connected")

        n += 1
        time.sleep(0.5)


def main():
    name = sys.argv[1] if len(sys.argv) > 1 else "eshm1"
    print("=== ESHM Python Master Example ===")
    print(f"PID: {os.getpid()}")
    print(f"SHM Name: {name}\n")

    with ESHM(name, role=ESHMRole.MASTER) as channel:
        print(f"Initialized as {channel.get_role().name}")
        print("Press Ctrl+C to stop\n")
        try:
            greet_forever(channel)
        except KeyboardInterrupt:
            print("\n[MASTER] Shutting down...")
        print_final_stats(channel)


if __name__ == "__main__":
    main()
