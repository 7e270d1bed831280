"""`eshm record` and `eshm play` with third-party tools: a recording of Python publishers
opens with the `mcap` package, every message decodes with the `mcap-ros2-support` CDR decoder
to the published values (and re-encodes to the recorded bytes), the schemas pass Foxglove's
ros2msg rules, and the eshm schema in the channel metadata has the type's fingerprint; `eshm
play` of the file reaches a typed Python subscriber with the same values in the same order.
Slice topics (published by the Rust `interop` example) decode as sequences."""

import os
import pathlib
import queue
import signal
import subprocess
import threading
import time

import pytest

import eshm
from mcap_check import foxglove_problems, read

try:
    from robot_messages import Grid, Sample
except ImportError as e:  # the test command builds it; say how when run by hand
    raise ImportError(f"{e}: run `maturin develop -m examples/python/custom_messages/Cargo.toml` first") from e

ROOT = pathlib.Path(__file__).resolve().parents[2]
COUNT = 30


@pytest.fixture(scope="session")
def eshm_binary():
    """The `eshm` command built from eshm-cli (built if missing or stale)."""
    subprocess.run(["cargo", "build", "--quiet", "-p", "eshm-cli", "--bin", "eshm"], cwd=ROOT, check=True)
    exe = ROOT / "target" / "debug" / "eshm"
    assert exe.exists(), exe
    return exe


class Recorder:
    """`eshm record` in the background, its stderr lines collected as they come."""

    def __init__(self, exe, *args):
        self.proc = subprocess.Popen(
            [exe, "record", *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines = queue.Queue()
        self.seen = []
        self.pump = threading.Thread(target=self._pump, daemon=True)
        self.pump.start()

    def _pump(self):
        for line in self.proc.stderr:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_for(self, text, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            assert line is not None, f"recorder exited before saying {text!r}: {self.seen}"
            self.seen.append(line)
            if text in line:
                return line

    def stop(self, sig=signal.SIGINT):
        """Signals it, waits for it, and returns its stdout (the summary)."""
        self.proc.send_signal(sig)
        with self.proc.stdout as stdout:
            out = stdout.read()
        code = self.proc.wait(timeout=60)
        self.pump.join(timeout=60)
        self.proc.stderr.close()
        assert code == 0, (out, self.seen)
        return out


def sample(i):
    return Sample(
        stamp_ns=1000 + i,
        points=[eshm.msg.Vector3(x=float(i), y=-1.5, z=0.25), eshm.msg.Vector3(z=float(-i))],
        values=[0.5 * i, 1.0, -2.0],
        counts=[i, 65535 - i],
        valid=i % 2 == 0,
        mode=[0, 1, 7][i % 3],
        small=-i,
    )


def grid(i):
    return Grid(
        stamp_ns=i,
        pixels=[[[i, 1, 2], [3, 4, 5]], [[6, 7, 8], [9, 10, 255 - i]]],
        modes=[[0, 1, 7][i % 3], 7],
        level=-300 + i,
    )


def sample_fields(i):
    """What the ROS 2 decoder gives for sample(i): `Sample._pad` is `pad`, bytes as ints."""
    return {
        "stamp_ns": 1000 + i,
        "points": [{"x": float(i), "y": -1.5, "z": 0.25}, {"x": 0.0, "y": 0.0, "z": float(-i)}],
        "values": [0.5 * i, 1.0, -2.0],
        "counts": [i, 65535 - i],
        "valid": i % 2 == 0,
        "mode": [0, 1, 7][i % 3],
        "small": -i,
        "pad": [0] * 5,
    }


def grid_fields(i):
    """Nested arrays come flattened: [[[u8; 3]; 2]; 2] is uint8[12]."""
    return {
        "stamp_ns": i,
        "pixels": [i, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255 - i],
        "modes": [[0, 1, 7][i % 3], 7],
        "level": -300 + i,
    }


@pytest.fixture(scope="module")
def recording(tmp_path_factory, eshm_binary):
    """A recording of three topics (nested structs with arrays and an enum, nested arrays,
    a scalar) published by this process: (path, topic names, recorder's summary)."""
    base = f"eshm-pytest/mcap/{os.getpid()}"
    topics = {"sample": f"{base}/sample", "grid": f"{base}/grid", "speed": f"{base}/speed"}
    path = tmp_path_factory.mktemp("mcap") / "run.mcap"
    with pytest.MonkeyPatch.context() as mp:
        # The topics, and the recorder, in a directory of the module's own.
        mp.setenv("ESHM_SHM_DIR", str(tmp_path_factory.mktemp("shm")))
        with (
            eshm.Publisher(topics["sample"], Sample, buffer_num=64) as samples,
            eshm.Publisher(topics["grid"], Grid, buffer_num=64) as grids,
            eshm.Publisher(topics["speed"], 0.0, 64) as speed,
        ):
            rec = Recorder(eshm_binary, "-o", path, f"{base}/*")
            rec.wait_for("3 topic(s) now")
            for i in range(COUNT):
                samples.publish(sample(i))
                grids.publish(grid(i))
                speed.publish(i * 0.25)
                time.sleep(0.01)
            rec.wait_for(f"total {3 * COUNT} msgs")
            summary = rec.stop()
    return path, topics, summary


def test_the_recording_decodes_with_the_ros2_decoder(recording):
    path, topics, said = recording
    assert said.startswith(f"recorded {3 * COUNT} messages"), said
    assert ", 0 lost;" in said, said
    summary, metadata, messages = read(path)
    by_topic = {t: [m for m in messages if m["topic"] == t] for t in topics.values()}
    assert [m["fields"] for m in by_topic[topics["sample"]]] == [sample_fields(i) for i in range(COUNT)]
    assert [m["fields"] for m in by_topic[topics["grid"]]] == [grid_fields(i) for i in range(COUNT)]
    assert [m["fields"] for m in by_topic[topics["speed"]]] == [{"data": i * 0.25} for i in range(COUNT)]
    # Sequence numbers count from 1 (a gap would be a loss); publish time is the log time.
    assert [m["sequence"] for m in by_topic[topics["speed"]]] == list(range(1, COUNT + 1))
    assert all(m["publish_time"] == m["log_time"] for m in messages)
    assert {m["topic"]: m["schema"] for m in messages} == {
        topics["sample"]: "eshm/msg/Sample",
        topics["grid"]: "eshm/msg/Grid",
        topics["speed"]: "eshm/msg/Float64",
    }
    assert metadata["eshm.lost"] == {t: "0" for t in topics.values()}
    assert metadata["eshm.recording"]["stopped_by"] == "signal"
    assert summary.statistics.message_count == 3 * COUNT


def test_schemas_pass_foxglove_rules_and_carry_the_eshm_type(recording):
    path, topics, _ = recording
    summary, _, _ = read(path)
    types = {topics["sample"]: Sample, topics["grid"]: Grid}
    for channel in summary.channels.values():
        schema = summary.schemas[channel.schema_id]
        assert (schema.encoding, channel.message_encoding) == ("ros2msg", "cdr")
        assert foxglove_problems(schema.data.decode()) == [], schema.data.decode()
        # The exact eshm schema: it decodes to the fingerprint the metadata states, the type's.
        fingerprint = eshm.schema_fingerprint(bytes.fromhex(channel.metadata["eshm.schema"]))
        assert channel.metadata["eshm.fingerprint"] == f"{fingerprint:#018x}"
        if channel.topic in types:
            assert fingerprint == types[channel.topic].FINGERPRINT
    sample_schema = next(s for s in summary.schemas.values() if s.name == "eshm/msg/Sample")
    text = sample_schema.data.decode()
    assert "uint8 MODE_FAULT=7\nuint8 mode\n" in text and "uint8[5] pad  # _pad: [u8; 5]" in text, text


def test_play_reaches_a_typed_python_subscriber_in_order(recording, eshm_binary):
    path, topics, _ = recording
    _, _, messages = read(path)
    logged = [m["log_time"] for m in messages]
    span = (max(logged) - min(logged)) / 1e9
    with eshm.Subscriber(topics["sample"], Sample, history=0) as samples, eshm.Subscriber(
        topics["grid"], Grid, history=0
    ) as grids:
        started = time.monotonic()
        play = subprocess.Popen([eshm_binary, "play", path, "--rate", "2"], stdout=subprocess.PIPE, text=True)
        got_samples = [samples.recv(timeout=60) for _ in range(COUNT)]
        got_grids = [grids.recv(timeout=60) for _ in range(COUNT)]
        out, _ = play.communicate(timeout=60)
        took = time.monotonic() - started
        assert play.returncode == 0, out
        assert got_samples == [sample(i) for i in range(COUNT)]
        assert got_grids == [grid(i) for i in range(COUNT)]
        assert samples.lost == 0 and grids.lost == 0
    assert out.startswith(f"played {3 * COUNT} messages"), out
    # Paced by the recorded log times over --rate: never faster (a lower bound only, as the
    # machine is shared).
    assert took >= span / 2 * 0.8, f"{span:.3} s recorded, played in {took:.3} s at --rate 2"


def test_a_compressed_file_is_refused_with_the_remedy(tmp_path, eshm_binary):
    from mcap.writer import CompressionType, Writer

    path = tmp_path / "compressed.mcap"
    with open(path, "wb") as f:
        w = Writer(f, compression=CompressionType.ZSTD)
        w.start()
        schema = w.register_schema("eshm/msg/Float64", "ros2msg", b"float64 data\n")
        meta = {"eshm.schema": "010a", "eshm.fingerprint": f"{eshm.schema_fingerprint(bytes([1, 10])):#018x}"}
        channel = w.register_channel("speed", "cdr", schema, meta)
        w.add_message(channel, log_time=1, publish_time=1, data=b"\x00\x01\x00\x00" + bytes(8))
        w.finish()
    play = subprocess.run([eshm_binary, "play", path], capture_output=True, text=True)
    assert play.returncode == 4, play
    assert "has zstd compressed chunks" in play.stderr and "mcap decompress" in play.stderr, play.stderr
    info = subprocess.run([eshm_binary, "info", path], capture_output=True, text=True)
    assert info.returncode == 0, info
    assert "compression  zstd" in info.stdout, info.stdout


def test_ctrl_c_finishes_the_file_through_the_console_script(tmp_path, name):
    """`pip install` gives an `eshm` script that runs the command inside Python: Ctrl-C must
    end `record` as in the Rust binary (file finished, status 0), not in a KeyboardInterrupt."""
    import sys

    from mcap.reader import make_reader

    script = pathlib.Path(sys.executable).parent / "eshm"
    path = tmp_path / "script.mcap"
    with eshm.Publisher(name, 0.0, 8) as pub:
        # Started with the default Ctrl-C disposition, so that Python installs its handler.
        rec = subprocess.Popen(
            [script, "record", "-o", path, name],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        line = rec.stderr.readline()
        assert "1 topic(s) now" in line, line
        pub.publish(1.5)
        time.sleep(0.5)
        rec.send_signal(signal.SIGINT)
        out, err = rec.communicate(timeout=60)
    assert rec.returncode == 0, (out, err)
    assert "Traceback" not in err, err
    assert out.startswith("recorded 1 messages"), out
    with open(path, "rb") as f:
        assert make_reader(f).get_summary().statistics.message_count == 1


def test_slice_topics_decode_as_sequences(tmp_path, eshm_binary, interop_binary, name):
    """Slice topics ([f32] and [Vector3], published by a Rust process, 0 to the maximum
    elements): the decoder gives each message's elements, no more."""
    count = 20
    path = tmp_path / "slices.mcap"
    rust = subprocess.Popen([interop_binary, "slices", name, str(count)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert rust.stdout.readline().strip() == "ready"
        rec = Recorder(eshm_binary, "-o", path, f"{name}/*")
        rec.wait_for("2 topic(s) now")
        assert rust.stdout.readline().strip() == f"published {count}"
        rec.wait_for(f"total {2 * count} msgs")
        said = rec.stop()
    finally:
        rust.communicate(timeout=60)
    assert ", 0 lost;" in said, said
    summary, _, messages = read(path)
    scans = [m["fields"]["data"] for m in messages if m["topic"] == f"{name}/scan"]
    points = [m["fields"]["data"] for m in messages if m["topic"] == f"{name}/points"]
    assert scans == [[i + j * 0.5 for j in range(i % 9)] for i in range(count)]
    assert points == [[{"x": float(i), "y": float(j), "z": -1.0} for j in range(i % 4)] for i in range(count)]
    texts = {s.name: s.data.decode() for s in summary.schemas.values()}
    assert texts["eshm/msg/Float32Seq"] == "float32[<=8] data\n"
    assert texts["eshm/msg/Vector3Seq"].startswith("eshm/Vector3[<=3] data\n")
    assert all(foxglove_problems(t) == [] for t in texts.values()), texts
