#!/usr/bin/env python3
"""The slave end of a duplex byte channel: answers each message from the master until the
master says "bye". Start it before or after simple_master.py: it waits for the master, and
if the master restarts it reconnects by itself.

    python examples/python/simple_slave.py
"""

import argparse

import eshm
from eshm import ESHM, ESHMRole


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--name", default="eshm-example-channel", help="channel name (default: %(default)s)")
    args = ap.parse_args()

    # Until the master exists the constructor retries every 100 ms, 0 attempts = forever.
    print(f"slave: attaching to {args.name!r}", flush=True)
    with ESHM(args.name, role=ESHMRole.SLAVE, max_reconnect_attempts=0) as ch:
        print("slave: attached", flush=True)
        answered = 0
        while True:
            try:
                data = ch.read(timeout_ms=1000)
            except eshm.TimeoutError:
                continue  # nothing this second; a master that went away is reconnected to
            except eshm.DisconnectedError:
                print("slave: the master is gone and did not come back", flush=True)
                break
            if data == b"bye":
                break
            ch.write(b"Echo: " + data)
            answered += 1
        print(f"slave: done, answered {answered} messages", flush=True)


if __name__ == "__main__":
    main()
