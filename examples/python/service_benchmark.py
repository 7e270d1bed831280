#!/usr/bin/env python3
"""Service calls from Python: round trips of an 8-byte request and response (``eshm.u64``)
between a client process and a server process (pinned to CPU 0 and 1), with the default wait
(spin 20 µs, then sleep) and busy-polling; then calls per second with 1, 2 and 4 client
processes calling one server. Prints a ``RESULT`` line per figure.

    python examples/python/service_benchmark.py               # about 30 s
    python examples/python/service_benchmark.py --calls 2000  # a quick look
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

import eshm


def pin(cpu: int) -> None:
    try:
        os.sched_setaffinity(0, {cpu})
    except (AttributeError, OSError):
        pass


def serve(name: str, wait: str) -> None:
    pin(1)
    server = eshm.ServiceServer(name, eshm.u64, eshm.u64, wait=wait)
    print("ready", flush=True)
    for request in server:
        request.respond(request.request + 1)


def call_loop(name: str, calls: int) -> None:
    pin(0)
    client = eshm.ServiceClient(name, eshm.u64, eshm.u64)
    client.wait_for_server(timeout=30.0)
    print("ready", flush=True)
    sys.stdin.readline()
    for i in range(calls):
        client.call(i, timeout=30.0)
    print("done", flush=True)


def start(*args: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, __file__, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


def round_trips(wait: str, calls: int) -> list[int]:
    name = f"eshm-py-service-bench/{os.getpid()}/{wait}"
    server = start("--role", "server", "--name", name, "--wait", wait)
    pin(0)
    client = eshm.ServiceClient(name, eshm.u64, eshm.u64, wait=wait)
    for i in range(calls // 10):
        client.call(i, timeout=30.0)
    samples = []
    for i in range(calls):
        t = time.perf_counter_ns()
        answer = client.call(i, timeout=30.0)
        samples.append(time.perf_counter_ns() - t)
        assert answer == i + 1
    client.close()
    server.kill()
    server.wait()
    return samples


def throughput(clients: int, calls: int) -> float:
    name = f"eshm-py-service-bench/{os.getpid()}/tput-{clients}"
    server = start("--role", "server", "--name", name, "--wait", "default")
    procs = [start("--role", "client", "--name", name, "--calls", str(calls)) for _ in range(clients)]
    t = time.perf_counter()
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    for p in procs:
        assert p.stdout is not None
        assert p.stdout.readline().strip() == "done"
        p.wait()
    elapsed = time.perf_counter() - t
    server.kill()
    server.wait()
    return clients * calls / elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--role", choices=["bench", "server", "client"], default="bench")
    ap.add_argument("--name", default="")
    ap.add_argument("--wait", default="default")
    ap.add_argument("--calls", type=int, default=200_000, help="calls per figure (default: %(default)s)")
    args = ap.parse_args()
    if args.role == "server":
        serve(args.name, args.wait)
        return
    if args.role == "client":
        call_loop(args.name, args.calls)
        return
    print("round trip of a call, u64 -> u64, Python client and server processes:")
    for wait in ["default", "spin"]:
        samples = sorted(round_trips(wait, args.calls))
        p50 = samples[len(samples) // 2] / 1e3
        p99 = samples[int(len(samples) * 0.99)] / 1e3
        p999 = samples[int(len(samples) * 0.999)] / 1e3
        mean = statistics.fmean(samples) / 1e3
        print(f"  wait={wait:8} p50 {p50:6.2f} µs  p99 {p99:6.2f} µs  p99.9 {p999:7.2f} µs  mean {mean:6.2f} µs")
        print(
            f"RESULT impl=eshm-py bench=service_rtt payload=8 wait={wait} n={len(samples)} "
            f"rtt_p50_us={p50:.2f} rtt_p99_us={p99:.2f} rtt_p999_us={p999:.2f} rtt_mean_us={mean:.2f}"
        )
    print("calls per second, one server process:")
    for clients in [1, 2, 4]:
        rate = throughput(clients, args.calls // clients)
        print(f"  {clients} client(s): {rate:12.0f} calls/s")
        print(f"RESULT impl=eshm-py bench=service_throughput payload=8 clients={clients} msgs_per_s={rate:.0f}")


if __name__ == "__main__":
    main()
