#!/usr/bin/env python3
"""The master end of a duplex byte channel: sends a greeting once a second and prints the
slave's replies. Run simple_slave.py in another terminal (either may start first).

    python examples/python/simple_master.py              # 10 messages, one a second
    python examples/python/simple_master.py --count 3 --interval 0.1
"""

import argparse
import time

from eshm import ESHM, ESHMRole


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--name", default="eshm-example-channel", help="channel name (default: %(default)s)")
    ap.add_argument("--count", type=int, default=10, help="messages to send (default: %(default)s)")
    ap.add_argument("--interval", type=float, default=1.0, help="seconds between messages (default: %(default)s)")
    args = ap.parse_args()

    # The master creates the channel. `with` closes it (and, with auto_cleanup, removes it).
    with ESHM(args.name, role=ESHMRole.MASTER) as ch:
        print(f"master: channel {args.name!r} created, waiting for a slave", flush=True)
        while not ch.is_remote_alive():
            time.sleep(0.05)
        print("master: slave connected", flush=True)
        for i in range(args.count):
            ch.write(f"Hello from master #{i}".encode())
            # Waits up to 2 s for the reply; eshm.TimeoutError (a TimeoutError) if none comes.
            reply = ch.read(timeout_ms=2000)
            print(f"master: got {reply.decode()!r}", flush=True)
            time.sleep(args.interval)
        ch.write(b"bye")
        stats = ch.get_stats()
        print(
            f"master: done; sent {stats['m2s_write_count']}, received {stats['s2m_read_count']}, "
            f"slave pid {stats['slave_pid']}",
            flush=True,
        )


if __name__ == "__main__":
    main()
