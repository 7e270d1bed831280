"""Every Python block of SHM's tutorial (the `shm_pub_sub` module) runs against eshm with only
its import changed: `import shm_pub_sub` becomes COMPAT_IMPORT (`from eshm import shm_pub_sub`).

The blocks are read from the tutorial at test time (TUTORIAL; their code is not ours to copy)
and picked out by a marker string each; a block the table does not know fails
test_every_block_is_accounted_for. Each block runs in a child process of its own, with the
test's ESHM_SHM_DIR. Endless blocks are watched from outside (their output, or a probe process
that subscribes to their topics) and then stopped. Semantics the blocks depend on:
subscribe() returns the newest value with success while it is younger than the 2 s expiry,
read or not; the last value stays readable after the publisher exits; a leading "/" in a name
is ignored.

Where a reading process must start right after a writing one has ended (the value is only
fresh for 2 s), it is started ahead and released through its stdin ("gated"), so that the gap
is not the start-up time of an interpreter on a loaded machine.
"""

import os
import pathlib
import re
import textwrap
import time

import pytest

# The reference documents live next to the repository (../shared/reference), not in it.
_DEFAULT_TUTORIAL = pathlib.Path(__file__).resolve().parents[3] / "shared" / "reference" / "shm-python-tutorial.md"
TUTORIAL = pathlib.Path(os.environ.get("SHM_TUTORIAL", _DEFAULT_TUTORIAL))
COMPAT_IMPORT = os.environ.get("SHM_COMPAT_IMPORT", "from eshm import shm_pub_sub")  # or "import eshm as shm_pub_sub"

# block id -> a string that block alone contains
MARKERS = {
    "publisher_signatures": "pub_bool = shm_pub_sub.Publisher(name: str",
    "publish_calls": "pub_bool.publish(True)",
    "sensor_publisher": 'Publisher("temperature_sensor", 0.0, 5)',
    "subscriber_signatures": "sub_bool = shm_pub_sub.Subscriber(name: str",
    "subscribe_calls": "data, is_success = sub_bool.subscribe()",
    "multi_subscriber": "def temperature_monitor",
    "error_create": "Failed to create shared memory",
    "error_no_data": "# success = False",
    "error_conflict": "Shared memory already exists",
    "benchmark": "def benchmark_publish_subscribe",
    "independent": "# Test publisher only",
    "robot": "class RobotSensorNetwork",
    "analytics": "class DataAnalytics",
    "naming": '"robot/sensors/lidar/distance"',
    "robust": "def robust_subscriber",
    "managed": "class ManagedPublisher",
}
# Fenced as Python, but not programs: call signatures with annotations, and error transcripts.
NOT_PROGRAMS = {"publisher_signatures", "subscriber_signatures", "error_create", "error_no_data", "error_conflict"}

IMPORT_LINE = re.compile(r"^(\s*)import shm_pub_sub\s*$", re.M)


def blocks():
    if not TUTORIAL.exists():
        pytest.skip(f"{TUTORIAL} is not here (set SHM_TUTORIAL)")
    text = TUTORIAL.read_text(encoding="utf-8")
    return [textwrap.dedent(b) for b in re.findall(r"```python\n(.*?)```", text, re.S)]


def snippet(block_id):
    """The block's code with only its import changed (or, if it has none, COMPAT_IMPORT put
    first: it is written to follow one)."""
    [code] = [b for b in blocks() if MARKERS[block_id] in b]
    if IMPORT_LINE.search(code):
        return IMPORT_LINE.sub(lambda m: m[1] + COMPAT_IMPORT, code)
    return COMPAT_IMPORT + "\n" + code


def probe(spawn, code, label="probe"):
    """Runs `code` (after COMPAT_IMPORT) in a child and returns its stdout lines (exit 0)."""
    p = spawn.code(COMPAT_IMPORT + "\n" + textwrap.dedent(code), label=label)
    p.finish_ok(timeout=60)
    return p.lines


class Gated:
    """A child started ahead with its interpreter up and COMPAT_IMPORT done, which runs `code`
    only when `run()` is called; `run()` returns its stdout lines from then on (exit 0)."""

    def __init__(self, spawn, code, label="gated probe"):
        prelude = COMPAT_IMPORT + "\nimport sys\nprint('ready', flush=True)\nsys.stdin.readline()\n"
        self.proc = spawn.code(prelude + textwrap.dedent(code), label=label, stdin=True)
        self.proc.expect_exact("ready")

    def run(self):
        self.proc.send("go")
        self.proc.finish_ok(timeout=60)
        return self.proc.lines[1:]


NUM = r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?"  # 9, 9.0, 3.141590118408203 (SHM's were C floats)
# The stored tutorial is mojibake ("°C" reads "Â°C", emoji are garbled), and so is what its blocks
# print: patterns match only the ASCII parts ("\S*C" for the degree sign).


# --------------------------------------------------------------------------------------------


def test_every_block_is_accounted_for():
    found = blocks()
    assert len(found) == 16
    for b in found:
        ids = [k for k, marker in MARKERS.items() if marker in b]
        assert len(ids) == 1, f"block matched {ids}:\n{b}"
    for k, marker in MARKERS.items():
        assert sum(marker in b for b in found) == 1, k


@pytest.mark.parametrize("block_id", sorted(NOT_PROGRAMS))
def test_documentation_blocks_are_not_programs(block_id):
    with pytest.raises(SyntaxError):
        compile(snippet(block_id), block_id, "exec")


def test_documented_constructors_publish_and_subscribe(spawn):
    """The API reference: the constructor forms of the two signature blocks, then the publish
    block and the subscribe block unchanged. The subscribers are created after the publishes,
    and each reads its value with success, twice (newest value, not only new value)."""
    prelude = """
        pub_bool = shm_pub_sub.Publisher("api/bool", False, 3)
        pub_int = shm_pub_sub.Publisher("api/int", 0, 3)
        pub_float = shm_pub_sub.Publisher("api/float", 0.0, 3)
    """
    subscribers = """
        sub_bool = shm_pub_sub.Subscriber("api/bool", False)
        sub_int = shm_pub_sub.Subscriber("api/int", 0)
        sub_float = shm_pub_sub.Subscriber("api/float", 0.0)
    """
    epilogue = """
        print("last", data, is_success)
        for s in (sub_bool, sub_int, sub_float):
            print("again", *s.subscribe())
    """
    code = (
        textwrap.dedent(prelude)
        + snippet("publish_calls").replace(COMPAT_IMPORT, "")
        + textwrap.dedent(subscribers)
        + snippet("subscribe_calls").replace(COMPAT_IMPORT, "")
        + textwrap.dedent(epilogue)
    )
    lines = probe(spawn, code)
    # eshm keeps the three types apart (SHM's Boost build turned every topic into a C float).
    assert lines == ["last 3.14159 True", "again True True", "again 42 True", "again 3.14159 True"]


@pytest.mark.timeout(120)
def test_sensor_publisher_with_multi_subscriber(spawn):
    """The monitor and logger threads (started before the topic exists) see the publisher's
    values; when the publisher has ended, its last value is still logged (younger than 2 s)."""
    watchers = spawn.code(snippet("multi_subscriber"), label="multi_subscriber")
    publisher = spawn.code(snippet("sensor_publisher"), label="sensor_publisher")
    publisher.finish_ok(timeout=60)  # 100 values at 10 Hz
    ended = time.time()
    published = [m[1] for m in publisher.matching(rf"^Published temperature: ({NUM})\S*C$")]
    assert len(published) == 100
    assert all(15.0 <= float(t) <= 35.0 for t in published)

    log = re.compile(rf"LOG: \[(\d+\.\d{{3}})\] Temperature: ({NUM})\S*C$")
    watchers.wait_until(
        lambda lines: any((m := log.search(l)) and float(m[1]) > ended for l in lines),
        "a LOG line written after the publisher ended",
        timeout=5,
    )
    logged = watchers.matching(log.pattern)
    assert {m[2] for m in logged} <= set(published), "only published values are logged"
    after_end = {m[2] for m in logged if float(m[1]) > ended}
    assert after_end == {published[-1]}, "after the end: the last value, and only it"
    # 1 in 4 values is above 30 C: with 100 of them an alert is all but certain (0.75^100).
    assert watchers.matching(rf"HIGH TEMPERATURE ALERT: ({NUM})\S*C$")
    assert not watchers.matching("LOW TEMPERATURE ALERT"), "no value is below 15 C"
    assert watchers.proc.poll() is None, watchers.report()
    watchers.kill()  # two non-daemon threads looping forever: only SIGKILL ends it


@pytest.mark.timeout(120)
def test_benchmark(spawn):
    """Publishes 10000 values, then calls subscribe() until it has succeeded 10000 times: this
    ends only because subscribe() keeps succeeding on the (unchanged) newest value."""
    p = spawn.code(snippet("benchmark"), label="benchmark")
    p.finish_ok(timeout=60)
    assert p.matching(r"Performance Results:$")
    assert p.matching(r"^   Messages: 10000$")
    assert p.matching(r"^   Duration: \d+\.\d{3} seconds$")
    assert p.matching(r"^   Throughput: \d+ messages/second$")
    assert p.matching(r"^   Average latency: \d+\.\d{3} ms$")


def test_independent_check_in_one_process(spawn):
    p = spawn.code(snippet("independent"), label="independent")
    p.finish_ok()
    assert p.lines[:10] == [f"Published: {i}" for i in range(10)]
    assert p.lines[10:] == ["Received: 9, Success: True"] * 10


def test_independent_check_in_two_processes(spawn):
    """As the block's comment says: the subscriber half in a separate process, started after the
    publisher half has exited. The last value is still there (it is younger than 2 s)."""
    code = snippet("independent")
    cut = code.index("# Test subscriber only")
    sub = Gated(spawn, code[cut:], label="subscriber half")
    pub = spawn.code(code[:cut], label="publisher half")
    pub.finish_ok()
    assert pub.lines == [f"Published: {i}" for i in range(10)]
    assert sub.run() == ["Received: 9, Success: True"] * 10


@pytest.mark.timeout(120)
def test_robot_sensor_network(spawn):
    """Three publisher threads at 10, ~30 and 100 Hz, and a subscriber to a topic nobody
    publishes; checked from outside, then stopped with Ctrl-C."""
    robot = spawn.code(snippet("robot"), label="robot")
    ranges = {"lidar_distance": (0.1, 10.0), "camera_fps": (25.0, 35.0), "imu_acceleration": (-2.0, 2.0)}
    lines = probe(
        spawn,
        f"""
        import time
        subs = {{t: shm_pub_sub.Subscriber(t, 0.0) for t in {list(ranges)!r}}}
        seen = {{t: set() for t in subs}}  # distinct values: a repeat of the newest one is no news
        deadline = time.monotonic() + 30
        while min(len(v) for v in seen.values()) < 3 and time.monotonic() < deadline:
            for t, s in subs.items():
                value, ok = s.subscribe()
                if ok:
                    seen[t].add(value)
            time.sleep(0.005)
        for t, v in seen.items():
            print(t, len(v), min(v, default="nan"), max(v, default="nan"))
        """,
    )
    assert len(lines) == 3
    for line in lines:
        topic, n, low, high = line.split()
        lo, hi = ranges[topic]
        assert int(n) >= 3, line
        assert lo - 1e-6 <= float(low) <= float(high) <= hi + 1e-6, line
    assert robot.proc.poll() is None, robot.report()
    assert robot.lines == [], "the block prints nothing"
    robot.interrupt()  # KeyboardInterrupt in thread.join(); the daemon threads die with it
    robot.finish(timeout=20)
    assert "KeyboardInterrupt" in robot.stderr, robot.report()


@pytest.mark.timeout(120)
def test_data_analytics_from_a_single_value(spawn):
    """One value published once fills the 10-sample window (subscribe() succeeds every 10 ms
    while the value is younger than 2 s), so the moving average is printed and published."""
    analytics = spawn.code(snippet("analytics"), label="analytics")  # before its input exists
    feeder = spawn.code(
        COMPAT_IMPORT
        + textwrap.dedent(
            """
            import threading
            pub = shm_pub_sub.Publisher("sensor_data", 0.0, 3)
            pub.publish(5.0)
            print("published", flush=True)
            threading.Event().wait()  # stays the live publisher until the test ends
            """
        ),
        label="feeder",
    )
    feeder.expect_exact("published")
    analytics.expect(r"Analytics: Moving average = 5\.000$", timeout=10)
    lines = probe(spawn, 'print(*shm_pub_sub.Subscriber("analytics_result", 0.0).subscribe())')
    assert lines == ["5.0 True"]
    assert analytics.proc.poll() is None, analytics.report()
    analytics.interrupt()
    analytics.finish(timeout=20)
    assert "KeyboardInterrupt" in analytics.stderr, analytics.report()


def test_naming_convention_names(spawn):
    p = spawn.code(snippet("naming"), label="naming")
    p.finish_ok()


def test_robust_subscriber(spawn):
    """The block only defines the function (exit 0). Then, with the names it expects from its
    surroundings (`time`, `process_data`), the same function is run on a thread."""
    spawn.code(snippet("robust"), label="robust, as is").finish_ok()

    exercised = (
        "import time\n"
        + snippet("robust")
        + textwrap.dedent(
            """
            import threading
            seen = threading.Event()
            def process_data(data):
                print(f"processed {data}", flush=True)
                seen.set()
            threading.Thread(target=robust_subscriber, daemon=True).start()  # before the topic exists
            pub = shm_pub_sub.Publisher("data_topic", 0.0, 3)
            pub.publish(1.25)
            assert seen.wait(10)
            """
        )
    )
    p = spawn.code(exercised, label="robust, exercised")
    p.finish_ok()
    assert p.lines and set(p.lines) == {"processed 1.25"}, p.report()
    assert not p.matching("Error in subscriber")


def test_managed_publisher(spawn):
    """After the `with` block and the process have ended, the value is still readable."""
    reader = Gated(spawn, 'print(*shm_pub_sub.Subscriber("my_topic", 0.0).subscribe())')
    spawn.code(snippet("managed"), label="managed").finish_ok()
    assert reader.run() == ["42.0 True"]


# --------------------------------------------------------------------------------------------
# The semantics above, each on its own
# --------------------------------------------------------------------------------------------


def test_subscribe_repeats_the_newest_value_until_it_is_2_s_old(spawn):
    """Time is what is under test here: the value's age. Bounds are loose (2-core machines)."""
    lines = probe(
        spawn,
        """
        import time
        pub = shm_pub_sub.Publisher("expiry", 0, 3)
        sub = shm_pub_sub.Subscriber("expiry", 0)
        print(*sub.subscribe())
        for v in (1, 2, 7):
            pub.publish(v)
        t0 = time.monotonic()
        print(*sub.subscribe()); print(*sub.subscribe()); print(*sub.subscribe())
        while sub.subscribe()[1] and time.monotonic() - t0 < 10:
            time.sleep(0.01)
        print("expired after", round(time.monotonic() - t0, 2))
        pub.publish(8)
        print(*sub.subscribe())
        """,
    )
    assert lines[0].endswith(" False")
    assert lines[1:4] == ["7 True"] * 3
    age = float(lines[4].split()[-1])
    assert 1.9 <= age <= 4.0, lines
    assert lines[5] == "8 True"


def test_the_last_value_outlives_its_publisher(spawn, shm_dir):
    reader = Gated(
        spawn,
        """
        sub = shm_pub_sub.Subscriber("outlive", 0.0)
        print(*sub.subscribe()); print(*sub.subscribe())
        """,
        label="subscriber",
    )
    probe(spawn, 'shm_pub_sub.Publisher("outlive", 0.0, 3).publish(3.5)', label="publisher")
    assert len(list(shm_dir.iterdir())) == 1, "the topic's file stays after its publisher exited"
    assert reader.run() == ["3.5 True", "3.5 True"]


def test_a_leading_slash_is_ignored(spawn):
    lines = probe(
        spawn,
        """
        shm_pub_sub.Publisher("/lead/x", 0, 3).publish(5)
        print(*shm_pub_sub.Subscriber("lead/x", 0).subscribe())
        pub = shm_pub_sub.Publisher("other", 0, 3)
        pub.publish(6)
        print(*shm_pub_sub.Subscriber("/other", 0).subscribe())
        """,
    )
    assert lines == ["5 True", "6 True"]
