"""The numpy examples run and print what they should: `numpy_frames.py` (frames through loans
and views between two processes), and the numpy rows of the benchmark in their smoke form (the
figures mean nothing, their form does)."""

import re
import subprocess
import sys

import pytest

from conftest import ROOT

pytest.importorskip("numpy")
EXAMPLES = ROOT / "examples" / "python"
NUMBER = r"\d+(?:\.\d+)?"


def run(script, *args, timeout=180):
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *map(str, args)], capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, f"{script} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_numpy_frames_example(isolated):
    out = run("numpy_frames.py", "--frames", 4).splitlines()
    assert out == [f"frame {i}: mean red 127.0, held 1" for i in range(4)] + ["viewer: 0 lost"]


def test_numpy_benchmark_prints_every_row(isolated):
    out = run("benchmark.py", "--numpy", "--smoke").splitlines()
    assert re.fullmatch(r"eshm \S+ numpy benchmark: Python 3\.\d+\.\d+, numpy \S+, \d+ CPUs, .*load average [\d. ]+", out[0])
    results = [dict(kv.split("=") for kv in line.split()[1:]) for line in out if line.startswith("RESULT ")]
    rtt = [(r["impl"], r["array"], r["mode"]) for r in results if r["bench"] == "py_np_rtt"]
    assert rtt == [
        (impl, array, mode)
        for array in ("1_MiB_float32", "640x480x3_uint8")
        for impl, mode in (("raw", "spin"), ("eshm-py", "spin"), ("eshm-py", "default"))
    ]
    for r in results:
        if r["bench"] == "py_np_rtt":
            assert 0 < float(r["rtt_p50_us"]) <= float(r["rtt_p99_us"]) <= float(r["rtt_p999_us"]), r
    stream = [(r["impl"], float(r["frames_per_s"]) > 0) for r in results if r["bench"] == "py_np_stream"]
    assert stream == [("raw", True), ("eshm-py", True)]
    assert any(re.fullmatch(rf"eshm loan \+ recv_view +{NUMBER} \(\d+ of \d+ lost.*x floor = {NUMBER}", line) for line in out)
