"""The Python examples in examples/python run and do what they say (small parameters)."""

import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

from conftest import ROOT

EXAMPLES = ROOT / "examples" / "python"


def run(script, *args, timeout=120):
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, f"{script} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_simple_master_and_slave(name):
    slave = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "simple_slave.py"), "--name", name],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        master_out = run("simple_master.py", "--name", name, "--count", 3, "--interval", 0.01)
        slave_out, slave_err = slave.communicate(timeout=60)
    finally:
        slave.kill()
    assert slave.returncode == 0, slave_err
    assert [line for line in master_out.splitlines() if "got" in line] == [
        f"master: got 'Echo: Hello from master #{i}'" for i in range(3)
    ]
    assert "master: done; sent 4, received 3" in master_out
    assert "slave: done, answered 3 messages" in slave_out


def test_advanced_example(name):
    out = run("advanced_example.py", "--name", name, "--requests", 4)
    assert "add[0, 1, 2] = 3" in out and "mul[3, 4, 5] = 60" in out
    assert "sqrt[-1]: math domain error" in out
    assert "timed out as expected" in out and "late reply to request 5" in out
    assert "master: sent 7" in out and "worker: received 7" in out


def test_reconnect_demo(name):
    out = run("reconnect_demo.py", "--name", name)
    assert "slave: reconnected to master pid" in out
    assert "[slave] slave: done, 1 reconnection(s)" in out
    assert out.rstrip().endswith("the slave carried on with the new master without a restart")


def test_performance_test(name):
    out = run("performance_test.py", "--name", name, "--iterations", 200, "--messages", 200)
    rows = [line.split("|") for line in out.splitlines() if re.match(r"\s+\d+ \|", line)]
    assert [int(r[0]) for r in rows] == [8, 64, 1024, 16384, 65536]
    for row in rows:
        assert all(float(cell.replace(",", "")) > 0 for cell in row[1:]), row


def test_sensor_network(name):
    # 0.5 s: every topic's whole run fits in its ring (64 messages), so that a subscriber that
    # polls (rates, every 5 ms) sees every message however long the scheduler stalls it; the
    # logger counts what it loses, and receives the rest in order.
    out = run("sensor_network.py", "--duration", 0.5, "--prefix", f"{name}/")
    reports = dict(line.strip().split(": ", 1) for line in out.splitlines()[1:])
    assert set(reports) == {
        "fusion",
        "logger",
        "monitor",
        "publisher imu",
        "publisher pose",
        "publisher temperature",
        "rates",
    }
    published = {t: int(re.search(r"published (\d+)", reports[f"publisher {t}"])[1]) for t in ("temperature", "pose", "imu")}
    assert all(0 < n <= 64 for n in published.values()), published
    # Every imu message reached the logger in order, or was counted as lost.
    received, lost = map(int, re.search(r"(\d+) imu messages, lost (\d+), in order: True", reports["logger"]).groups())
    assert received + lost == published["imu"]
    seen = {t: int(n) for t, n in re.findall(r"(\w+) (\d+) msgs ~\d+ Hz", reports["rates"])}
    assert seen == published, "the rates subscriber saw every message of every topic (the rings hold the whole run)"
    assert int(re.match(r"(\d+) updates", reports["monitor"])[1]) > 0
    assert int(re.match(r"(\d+) imu samples fused", reports["fusion"])[1]) > 0


NUMBER = r"\d+\.\d\d"


def test_benchmark_prints_every_row(isolated):
    # --smoke: every row with 1000x fewer iterations (the figures mean nothing, their form does).
    out = run("benchmark.py", "--smoke").splitlines()
    assert re.fullmatch(r"eshm \S+ Python benchmark: Python 3\.\d+\.\d+, \d+ CPUs, processes pinned to CPU 0 and 1", out[0])
    rows = [
        ("raw shared memory spin (floor)", "raw", "float", "spin", 1000),
        ("eshm", "eshm-py", "float", "spin", 1000),
        ("eshm", "eshm-py", "Pose", "spin", 500),
        ("eshm", "eshm-py", "float", "default", 500),
        ("eshm", "eshm-py", "Pose", "default", 200),
        ("eshm", "eshm-py", "float", "park", 20),
        ("multiprocessing.Pipe", "multiprocessing.Pipe", "float", "blocking", 50),
    ]
    table = [re.fullmatch(rf"(.+?) +(\w+) +(\w+) +({NUMBER}) +({NUMBER}) +({NUMBER}) +({NUMBER})", line) for line in out]
    table = [m.groups() for m in table if m]
    results = [dict(kv.split("=") for kv in line.split()[1:]) for line in out if line.startswith("RESULT ")]
    rtt = [r for r in results if r["bench"] == "py_rtt"]
    assert [row[:3] for row in table] == [(t, m, w) for t, _, m, w, _ in rows]
    assert len(rtt) == len(rows)
    floor = float(table[0][3])
    for (transport, impl, message, wait, n), row, result in zip(rows, table, rtt):
        p50, p99, p999, ratio = map(float, row[3:])
        assert 0 < p50 <= p99 <= p999, row
        assert abs(ratio - p50 / floor) <= 0.01 * max(1.0, ratio), row
        assert result == {
            "impl": impl, "bench": "py_rtt", "message": message, "mode": wait, "n": str(n),
            "rtt_p50_us": row[3], "rtt_p99_us": row[4], "rtt_p999_us": row[5], "x_floor": row[6],
        }  # fmt: skip
    eshm_line = next(line for line in out if line.startswith("eshm ") and "msg/s received" in line)
    received, lost, total = map(int, re.search(r" (\d+) msg/s received \((\d+) of (\d+) lost; publisher sent \d+ msg/s\)$", eshm_line).groups())
    assert total == 10_000 and received > 0 and lost < total
    pipe_line = next(line for line in out if line.startswith("multiprocessing.Pipe ") and "msg/s" in line)
    assert re.search(r" \d+ msg/s \(nothing lost\) +eshm / Pipe = \d+\.\dx$", pipe_line), pipe_line
    tput = {r["impl"]: r for r in results if r["bench"] == "py_throughput"}
    assert set(tput) == {"eshm-py", "mp.Pipe"}
    assert int(tput["eshm-py"]["msgs_per_s"]) == received and int(tput["eshm-py"]["lost"]) == lost
    assert int(tput["mp.Pipe"]["msgs_per_s"]) > 0 and tput["mp.Pipe"]["lost"] == "0"


# The peers' Python IPC harness lives next to the repository (../shared/peers/python), not in it.
PEERS_BENCH = pathlib.Path(os.environ.get("PEERS_BENCH", ROOT.parent / "shared" / "peers" / "python" / "bench.py"))


def test_peers_adapter_runs_in_the_harness(isolated, tmp_path):
    if not PEERS_BENCH.exists():
        pytest.skip(f"{PEERS_BENCH} is not here (set PEERS_BENCH)")
    report = tmp_path / "peers.json"
    proc = subprocess.run(
        [sys.executable, str(PEERS_BENCH), "--plugin", str(EXAMPLES / "peers_adapter.py"),
         "--only", "eshm-channel", "eshm-pubsub", "--quick", "--no-pin",
         "--json", str(report), "--log", str(tmp_path / "workers.log")],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"
    rows = {(r["transport"], r["mode"]): r["tests"] for r in json.loads(report.read_text())["rows"]}
    assert set(rows) == {(t, m) for t in ("eshm-channel", "eshm-pubsub") for m in ("spin", "blocking")}
    for (transport, mode), tests in rows.items():
        sizes = ["rtt:8B", "rtt:64B", "rtt:1MiB"] if transport == "eshm-channel" else ["rtt:8B"]
        for size in sizes:
            t = tests[size]
            assert t["n"] > 0 and 0 < t["min_us"] <= t["median_us"] <= t["p99_us"], (transport, mode, size, t)
        t = tests["tput:8B"]
        assert t["sent"] > 0 and t["received"] + t["drops"] == t["sent"] and t["out_of_order"] == 0, t
        assert t["msgs_per_s"] > 0
        if transport == "eshm-channel":
            assert t["drops"] == 0, "the channel has back-pressure"
        else:
            for size in ("rtt:64B", "rtt:1MiB"):
                assert tests[size] == {"skip": "topics carry typed messages; this adapter uses an i64 topic"}
    # The printed table: a row per transport and mode, with numbers in the measured columns.
    cell = r"\d+\.\d / \d+\.\d"
    for transport, mode in rows:
        row = re.search(rf"^{re.escape(transport)} +\| {mode} +\| ({cell}) +\| (\S.*?) +\| (\S.*?) +\| ([\d,]+k)(.*?)\|", proc.stdout, re.M)
        assert row, (transport, mode, proc.stdout)
        large = [row[2], row[3]] if transport == "eshm-channel" else []
        assert all(re.fullmatch(cell, c) for c in large), row.groups()


def test_norm_server_and_client(name):
    server = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "norm_server.py"), "--name", name, "--count", "12"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out = run("norm_client.py", "--name", name, "--calls", 10)
        server_out, server_err = server.communicate(timeout=60)
    finally:
        server.kill()
    assert server.returncode == 0, server_err
    assert "client: |(3, 4, 0)| = 5.0" in out
    assert "client: |(1, 2, 2)| = 3.0 (ok=True)" in out
    assert re.search(r"client: 10 calls, [\d.]+ µs a call", out), out
    assert "server: answered 12 calls" in server_out


def test_rust_server_python_client(name):
    # The Rust server of the same service (cargo run --example norm_server).
    exe = ROOT / "target" / "debug" / "examples" / "norm_server"
    subprocess.run(
        ["cargo", "build", "--quiet", "-p", "eshm-examples", "--example", "norm_server"],
        cwd=ROOT,
        check=True,
    )
    server = subprocess.Popen([str(exe), name, "2"], stdout=subprocess.PIPE, text=True)
    try:
        out = run("norm_client.py", "--name", name)
        server_out, _ = server.communicate(timeout=60)
    finally:
        server.kill()
    assert "client: |(3, 4, 0)| = 5.0" in out and "client: |(1, 2, 2)| = 3.0 (ok=True)" in out
    assert "served 2 calls" in server_out


def test_move_to_action(name):
    out = run("move_to_action.py", "--name", name)
    assert "server: ready" in out
    assert [line for line in out.splitlines() if line.startswith("client: goal 1 at")] == [
        f"client: goal 1 at x={x:.2f}" for x in (0.25, 0.5, 0.75, 1.0)
    ]
    assert "client: goal 1 SUCCEEDED at x=1.00 after 4 steps" in out
    assert re.search(r"client: goal 2 CANCELED \(PREEMPTED\) at y=\d", out), out
    assert "client: goal below the floor: REJECTED" in out


def test_service_benchmark_prints_results():
    out = run("service_benchmark.py", "--calls", 400)
    results = [line for line in out.splitlines() if line.startswith("RESULT ")]
    assert len(results) == 5, out
    assert all("impl=eshm-py bench=service_" in r for r in results), out
    assert re.search(r"wait=default n=400 rtt_p50_us=[\d.]+", out), out
