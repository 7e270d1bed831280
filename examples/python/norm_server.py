#!/usr/bin/env python3
"""The server of the ``geometry/norm`` service in Python: answers an ``eshm.msg.Vector3`` with
its length. ``norm_client.py`` calls it (and calls the Rust server, ``cargo run --example
norm_server``, just the same: the service's types are the same in both languages).

    python examples/python/norm_server.py                  # serves until Ctrl-C
    python examples/python/norm_server.py --count 3        # three calls, then exits
"""

import argparse
import math

import eshm
from eshm import msg


def norm(v: msg.Vector3) -> float:
    return math.sqrt(v.x * v.x + v.y * v.y + v.z * v.z)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--name", default="geometry/norm", help="service name (default: %(default)s)")
    ap.add_argument("--count", type=int, default=0, help="calls to answer, then exit (default: forever)")
    args = ap.parse_args()

    with eshm.ServiceServer(args.name, msg.Vector3, float) as server:
        print(f"server: serving {args.name!r}", flush=True)
        answered = 0
        # The blocking loop; `eshm.ServiceServer(name, msg.Vector3, float, norm)` would
        # instead answer every request with `norm` on a thread of its own.
        for request in server:
            request.respond(norm(request.request))
            answered += 1
            if answered == args.count:
                break
        print(f"server: answered {answered} calls", flush=True)


if __name__ == "__main__":
    main()
