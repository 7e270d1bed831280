#!/usr/bin/env python3
"""Automatic reconnection: a slave outlives its master being killed and restarted.

    python examples/python/reconnect_demo.py            # the whole scenario, scripted
    python examples/python/reconnect_demo.py slave      # terminal 1
    python examples/python/reconnect_demo.py master     # terminal 2: Ctrl-C or kill -9 it,
                                                        # start it again, watch terminal 1

The scripted demo starts a slave, then a master; kills the master with SIGKILL (no chance to
clean up) after a few messages; starts a new master, which takes the channel over; and shows
the slave carrying on with it without being restarted.
"""

import argparse
import signal
import subprocess
import sys
import time

import eshm
from eshm import ESHM, ESHMDisconnectBehavior, ESHMRole


def run_master(name: str, count: int, interval: float) -> None:
    with ESHM(name, role=ESHMRole.MASTER) as ch:
        print(f"master: up (pid {ch.get_stats()['master_pid']})", flush=True)
        i = 0
        while count == 0 or i < count:
            ch.write(f"tick {i}".encode())
            try:
                print(f"master: {ch.read(timeout_ms=2000).decode()}", flush=True)
            except eshm.TimeoutError:
                print("master: no reply within 2 s", flush=True)
            i += 1
            time.sleep(interval)
        ch.write(b"bye")


def run_slave(name: str) -> None:
    # NEVER: reads keep waiting for a master to come back instead of failing;
    # 0 attempts: retry forever.
    with ESHM(
        name,
        role=ESHMRole.SLAVE,
        disconnect_behavior=ESHMDisconnectBehavior.NEVER,
        max_reconnect_attempts=0,
        stale_threshold_ms=100,
    ) as ch:
        stats = ch.get_stats()
        master = stats["master_pid"]
        print(f"slave: attached to master pid {master}", flush=True)
        alive = True
        while True:
            try:
                data = ch.read(timeout_ms=200)
            except eshm.TimeoutError:
                if alive and not ch.is_remote_alive():
                    alive = False
                    print("slave: master is gone; waiting for a new one", flush=True)
                continue
            stats = ch.get_stats()
            if stats["master_pid"] != master:
                master = stats["master_pid"]
                print(f"slave: reconnected to master pid {master} (reconnects: {stats['reconnects']})", flush=True)
            alive = True
            if data == b"bye":
                break
            print(f"slave: {data.decode()}", flush=True)
            try:
                ch.write(b"ack " + data)
            except eshm.TimeoutError:
                print("slave: the master went away before the reply could be written", flush=True)
        print(f"slave: done, {stats['reconnects']} reconnection(s), {stats['lost']} message(s) lost", flush=True)


def expect(proc: subprocess.Popen[str], prefix: str, who: str) -> None:
    """Echoes `proc`'s output until a line starts with `prefix`."""
    assert proc.stdout is not None  # started with stdout=subprocess.PIPE
    for line in proc.stdout:
        print(f"  [{who}] {line}", end="", flush=True)
        if line.startswith(prefix):
            return
    raise SystemExit(f"{who} exited before printing {prefix!r}")


def demo(name: str) -> int:
    me = [sys.executable, __file__]
    print("1. start a slave: it waits for a master", flush=True)
    slave = subprocess.Popen([*me, "slave", "--name", name], stdout=subprocess.PIPE, text=True)
    print("2. start a master", flush=True)
    master = subprocess.Popen([*me, "master", "--name", name, "--interval", "0.05"], stdout=subprocess.PIPE, text=True)
    expect(slave, "slave: attached", "slave")
    expect(master, "master: ack tick 2", "master 1")
    print("3. kill the master with SIGKILL", flush=True)
    master.send_signal(signal.SIGKILL)
    master.wait()
    expect(slave, "slave: master is gone", "slave")
    print("4. start a new master: it takes the channel over", flush=True)
    master = subprocess.Popen(
        [*me, "master", "--name", name, "--interval", "0.05", "--count", "3"], stdout=subprocess.PIPE, text=True
    )
    expect(slave, "slave: reconnected", "slave")
    assert master.stdout is not None
    for line in master.stdout:
        print(f"  [master 2] {line}", end="", flush=True)
    expect(slave, "slave: done", "slave")
    ok = master.wait() == 0 and slave.wait() == 0
    print("5. the slave carried on with the new master without a restart" if ok else "FAILED", flush=True)
    return 0 if ok else 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("role", nargs="?", choices=("demo", "master", "slave"), default="demo")
    ap.add_argument("--name", default="eshm-example-reconnect", help="channel name (default: %(default)s)")
    ap.add_argument("--count", type=int, default=0, help="master: messages to send, 0 = until killed")
    ap.add_argument("--interval", type=float, default=0.5, help="master: seconds between messages")
    args = ap.parse_args()
    if args.role == "master":
        run_master(args.name, args.count, args.interval)
    elif args.role == "slave":
        run_slave(args.name)
    else:
        sys.exit(demo(args.name))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
