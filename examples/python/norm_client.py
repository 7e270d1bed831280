#!/usr/bin/env python3
"""A client of the ``geometry/norm`` service: ``norm_server.py`` (Python) or ``cargo run
--example norm_server`` (Rust) answers it; start either first.

    python examples/python/norm_client.py
    python examples/python/norm_client.py --calls 100000     # and time them
"""

import argparse
import time

import eshm
from eshm import msg


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--name", default="geometry/norm", help="service name (default: %(default)s)")
    ap.add_argument("--calls", type=int, default=0, help="calls to time after the demo (default: none)")
    args = ap.parse_args()

    client = eshm.ServiceClient(args.name, msg.Vector3, float)
    if not client.wait_for_server(timeout=30.0):
        raise SystemExit(f"client: no server for {args.name!r}")
    # eshm's form: the response, or an exception (TimeoutError, eshm.ServerGoneError, ...).
    length = client.call(msg.Vector3(x=3.0, y=4.0), timeout=5.0)
    print(f"client: |(3, 4, 0)| = {length}", flush=True)
    # SHM's form: a timeout in µs, and (ok, response).
    ok, length = client.call(msg.Vector3(x=1.0, y=2.0, z=2.0), 5_000_000)
    print(f"client: |(1, 2, 2)| = {length} (ok={ok})", flush=True)
    if args.calls:
        start = time.perf_counter()
        for i in range(args.calls):
            client.call(msg.Vector3(x=float(i)), timeout=5.0)
        elapsed = time.perf_counter() - start
        print(f"client: {args.calls} calls, {elapsed / args.calls * 1e6:.2f} µs a call", flush=True)
    client.close()


if __name__ == "__main__":
    main()
