"""The Python examples in examples/python run and do what they say (small parameters)."""

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
    out = run("sensor_network.py", "--duration", 1, "--prefix", f"{name}/")
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
    assert all(n > 0 for n in published.values()), published
    # Every imu message reached the logger in order, or was counted as lost.
    received, lost = map(int, re.search(r"(\d+) imu messages, lost (\d+), in order: True", reports["logger"]).groups())
    assert received + lost == published["imu"]
    seen = {t: int(n) for t, n in re.findall(r"(\w+) (\d+) msgs", reports["rates"])}
    assert seen == published, "the rates subscriber saw every message of every topic"
    assert int(re.match(r"(\d+) updates", reports["monitor"])[1]) > 0
    assert int(re.match(r"(\d+) imu samples fused", reports["fusion"])[1]) > 0


@pytest.mark.parametrize("script", ["benchmark.py", "peers_adapter.py"])
def test_benchmark_scripts_compile(script):
    # They take minutes (benchmark.py) or need the peers' harness (peers_adapter.py): checked
    # for syntax here, run by hand (see the README).
    compile((EXAMPLES / script).read_text(), script, "exec")


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
