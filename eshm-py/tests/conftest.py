"""Shared fixtures: unique names, isolated segment directories, and child processes whose
output lines can be awaited.

Child processes (`Proc`) have their stdout and stderr drained by threads: `expect` never misses
a line that is already in Python's read buffer (select() on a buffered pipe can), and a chatty
child never blocks on a full pipe. Every child runs with the test's own segment directory
(`ESHM_SHM_DIR`, under tmp_path), PYTHONUNBUFFERED=1 and PYTHONIOENCODING=utf-8, in tmp_path as
its working directory (so no `eshm/` directory in the cwd can shadow the module), with the
default SIGINT handler (Ctrl-C raises KeyboardInterrupt even if the test runner's parent ignores
SIGINT).
"""

import os
import pathlib
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
HERE = pathlib.Path(__file__).resolve().parent
SCRIPTS = HERE / "scripts"

# How long any single awaited line may take. Generous: the machines are 2-core and shared.
LINE_TIMEOUT = 30.0

# Runs argv[1] as `__main__` with argv[2:] as its arguments, as `python script.py args` would
# (sys.path[0] is the script's directory).
#   ESHM_TEST_PREIMPORT=1  import our eshm before the script runs: `sys.modules` beats the
#                          script's own sys.path.insert(0, '<script>/..'), so this is how a user
#                          whose old py/eshm.py still sits next to the examples runs them unchanged;
#   ESHM_TEST_ANNOUNCE=1   (implies pre-import) print "[launcher] ESHM('<name>') called" just
#                          before each ESHM(...) call the script makes, so that a test can start
#                          the master only once the slave is really looking for it;
#   ESHM_TEST_GATE=1       (implies pre-import) before each ESHM(...) call, print
#                          "[launcher] ESHM('<name>') waiting for go" and wait for a line on
#                          stdin: the process is started (interpreter up, eshm imported) ahead
#                          of time, and its channel opened exactly when the test says, so that
#                          a start order does not depend on how long an interpreter takes to
#                          start on a loaded machine.
LAUNCHER = r"""
import os, runpy, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
script = os.path.abspath(sys.argv[1])
sys.argv = [script] + sys.argv[2:]
sys.path[0] = os.path.dirname(script)
_flags = {f: os.environ.get(f"ESHM_TEST_{f}") == "1" for f in ("PREIMPORT", "ANNOUNCE", "GATE")}
if any(_flags.values()):
    import eshm
    print(f"[launcher] eshm from {os.path.dirname(eshm.__file__)}", flush=True)
    if _flags["ANNOUNCE"] or _flags["GATE"]:
        _real = eshm.ESHM
        def ESHM(*args, **kwargs):
            if _flags["GATE"]:
                print(f"[launcher] ESHM({args[0]!r}) waiting for go", flush=True)
                if sys.stdin.readline().strip() != "go":
                    sys.exit("[launcher] no go")
            if _flags["ANNOUNCE"]:
                print(f"[launcher] ESHM({args[0]!r}) called", flush=True)
            return _real(*args, **kwargs)
        eshm.ESHM = ESHM
runpy.run_path(script, run_name="__main__")
"""

# Put before the code of every `python -c` child.
CODE_PRELUDE = "import signal; signal.signal(signal.SIGINT, signal.default_int_handler)\n"


@pytest.fixture
def name(request):
    """A topic or channel name no other test (or run) uses."""
    return f"eshm-pytest/{request.node.name}/{os.getpid()}-{uuid.uuid4().hex[:8]}"


class Proc:
    """A child process; its stdout lines are collected and can be awaited in order."""

    def __init__(self, argv, *, env, cwd, label, stdin=False):
        self.label = label
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            env=env,
            cwd=cwd,
        )
        self.pid = self.proc.pid
        self.lines = []  # every stdout line so far, without the newline
        self.err_lines = []
        self.cursor = 0  # `expect` looks at lines from here on
        self._cond = threading.Condition()
        self._eof = False
        self._finished = False
        self._threads = [
            threading.Thread(target=self._drain, args=(self.proc.stdout, self.lines, True), daemon=True),
            threading.Thread(target=self._drain, args=(self.proc.stderr, self.err_lines, False), daemon=True),
        ]
        for t in self._threads:
            t.start()

    def _drain(self, stream, sink, is_stdout):
        for line in stream:
            with self._cond:
                sink.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            if is_stdout:
                self._eof = True
            self._cond.notify_all()

    # -- talking to it ----------------------------------------------------------------------

    def send(self, line):
        """Writes `line` and a newline to the child's stdin (started with stdin=True)."""
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def go(self, timeout=LINE_TIMEOUT):
        """For a script spawned with gate=True: waits until it is about to open its channel, then
        lets it. (Does not move the `expect` cursor.)"""
        rx = re.compile(r"^\[launcher\] ESHM\(.*\) waiting for go$")
        self.wait_until(lambda lines: any(map(rx.match, lines)), "waiting for go", timeout)
        self.send("go")

    # -- waiting for output -----------------------------------------------------------------

    def expect(self, pattern, timeout=LINE_TIMEOUT):
        """The first line from the cursor on that `re.search`es `pattern`; moves the cursor past
        it. Fails if the child's stdout ends first or the line takes longer than `timeout`."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                while self.cursor < len(self.lines):
                    line = self.lines[self.cursor]
                    self.cursor += 1
                    m = rx.search(line)
                    if m:
                        return m
                if self._eof:
                    pytest.fail(f"{self.label} ended without a line matching {pattern!r}\n{self._report()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(f"{self.label}: no line matching {pattern!r} within {timeout} s\n{self._report()}")
                self._cond.wait(left)

    def expect_exact(self, text, timeout=LINE_TIMEOUT):
        """The next line (from the cursor on) that is exactly `text`."""
        return self.expect("^" + re.escape(text) + "$", timeout)

    def wait_until(self, predicate, what, timeout=LINE_TIMEOUT):
        """Waits until `predicate(self.lines)` is true (re-checked on every new line)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self.lines):
                if self._eof:
                    pytest.fail(f"{self.label} ended before {what}\n{self._report()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(f"{self.label}: not {what} within {timeout} s\n{self._report()}")
                self._cond.wait(left)

    def wait_for_line(self, text, start=0, timeout=LINE_TIMEOUT):
        """Waits for the exact line `text` at index `start` or later; returns its index."""
        self.wait_until(lambda lines: text in lines[start:], repr(text), timeout)
        with self._cond:
            return self.lines.index(text, start)

    def matching(self, pattern, start=0):
        """All `re.search` matches among the lines from index `start` on (does not wait)."""
        rx = re.compile(pattern)
        with self._cond:
            return [m for m in map(rx.search, self.lines[start:]) if m]

    # -- ending -----------------------------------------------------------------------------

    def interrupt(self):
        """Ctrl-C."""
        self.proc.send_signal(signal.SIGINT)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()

    def finish(self, timeout=LINE_TIMEOUT):
        """Closes stdin, waits for the exit and for the output to be drained; returns the exit
        code. Fails (after killing it) if the child does not exit within `timeout`."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            try:
                self.proc.stdin.close()
            except BrokenPipeError:
                pass
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            self.proc.wait()
            self._close_streams(timeout)
            pytest.fail(f"{self.label} did not exit within {timeout} s\n{self._report()}")
        self._close_streams(timeout)
        return self.proc.returncode

    def _close_streams(self, timeout):
        if self._finished:
            return
        for t in self._threads:
            t.join(timeout)
        for stream in (self.proc.stdout, self.proc.stderr):
            stream.close()  # else a ResourceWarning, an error under the house filterwarnings
        self._finished = True

    def finish_ok(self, timeout=LINE_TIMEOUT):
        code = self.finish(timeout)
        assert code == 0, f"{self.label} exited with {code}\n{self._report()}"

    @property
    def stdout(self):
        with self._cond:
            return "\n".join(self.lines)

    @property
    def stderr(self):
        with self._cond:
            return "\n".join(self.err_lines)

    def report(self):
        """The child's output so far (long outputs shortened), for failure messages."""
        with self._cond:
            return self._report()

    def _report(self):
        lines = self.lines if len(self.lines) <= 60 else [*self.lines[:15], "[...]", *self.lines[-45:]]
        out = "\n".join(lines)
        err = "\n".join(self.err_lines[-40:])
        return f"--- {self.label} stdout ---\n{out}\n--- {self.label} stderr (last lines) ---\n{err}"


@pytest.fixture
def shm_dir(tmp_path):
    """The segment directory every process of the test uses (not yet this one: see `isolated`)."""
    d = tmp_path / "shm"
    d.mkdir(mode=0o700)
    return d


@pytest.fixture(autouse=True)
def isolated(shm_dir, monkeypatch):
    """Makes this test process use `shm_dir` too (eshm reads ESHM_SHM_DIR at every open), and
    every process it starts with its environment: every test, so that what the tests leave
    (topics outlive their publishers, as in SHM) stays out of /dev/shm."""
    monkeypatch.setenv("ESHM_SHM_DIR", str(shm_dir))
    return shm_dir


@pytest.fixture
def child_env(shm_dir):
    def env(**extra):
        e = dict(os.environ, ESHM_SHM_DIR=str(shm_dir), PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8")
        e.pop("ESHM_TEST_PREIMPORT", None)
        e.pop("ESHM_TEST_ANNOUNCE", None)
        e.update({k: str(v) for k, v in extra.items()})
        return e

    return env


@pytest.fixture
def spawn(tmp_path, child_env):
    """spawn(script, *args, label=..., announce=False, preimport=False, gate=False) runs a
    script (a path, or a name under scripts/) through LAUNCHER (a gated one: see `Proc.go`); spawn.code(code, *args, stdin=False) runs
    `python -c code`. Every child still running at the end of the test is killed."""
    procs = []

    def start_script(script, *args, label=None, announce=False, preimport=False, gate=False):
        path = pathlib.Path(script)
        if not path.is_absolute():
            path = SCRIPTS / path
        extra = {}
        if announce:
            extra["ESHM_TEST_ANNOUNCE"] = 1
        if preimport:
            extra["ESHM_TEST_PREIMPORT"] = 1
        if gate:
            extra["ESHM_TEST_GATE"] = 1
        p = Proc(
            [sys.executable, "-c", LAUNCHER, str(path), *map(str, args)],
            env=child_env(**extra),
            cwd=tmp_path,
            label=label or f"{path.name} {' '.join(map(str, args))}".strip(),
            stdin=gate,
        )
        procs.append(p)
        return p

    def start_code(code, *args, label="python -c", stdin=False):
        p = Proc(
            [sys.executable, "-c", CODE_PRELUDE + textwrap.dedent(code), *map(str, args)],
            env=child_env(),
            cwd=tmp_path,
            label=label,
            stdin=stdin,
        )
        procs.append(p)
        return p

    start_script.code = start_code
    yield start_script
    for p in procs:
        p.kill()
    for p in procs:
        p.finish(timeout=10)


@pytest.fixture
def child(spawn, isolated):
    """child(code, *args) runs `python -c code` (dedented) with its stdin a pipe (`send`), in
    the test's segment directory, which this test process uses too. Killed at the end."""

    def start(code, *args, label="child"):
        return spawn.code(code, *args, label=label, stdin=True)

    return start


@pytest.fixture(scope="session")
def interop_binary():
    """The Rust `interop` example (built if missing)."""
    exe = ROOT / "target" / "debug" / "examples" / "interop"
    subprocess.run(
        ["cargo", "build", "--quiet", "-p", "eshm-examples", "--example", "interop"],
        cwd=ROOT,
        check=True,
    )
    assert exe.exists(), exe
    return exe


# Longer than any test: while it is the switch interval, a thread that waits for the GIL gets it
# only when the thread holding it releases it of its own accord (blocking I/O, a lock, or native
# code that detaches), never because the interpreter switches threads.
_NEVER_SWITCH = 1000.0

# How many times the other thread of `run_while_waiting` releases and takes back the GIL before
# it acts.
GIL_ROUND_TRIPS = 1000


def run_while_waiting(wait, act):
    """Calls `wait()` in this thread with `act()` ready to run in another thread as soon as it
    gets the GIL, and returns what `wait()` returned (and `act()`'s result, as a pair).

    With the switch interval longer than the test, the other thread gets the GIL only when this
    one releases it of its own accord; between arming `act` and calling `wait` this thread
    releases it nowhere. So `act` runs during `wait` if and only if `wait` releases the GIL while
    it waits. A test makes `act` the very thing `wait` waits for (publishing the value `recv`
    waits for): a wait that held the GIL would end by its timeout instead (or never, for a call
    without one), whatever the scheduler does; `test_blocking` shows that on a pure-Python wait.

    Before `act`, the other thread hands the GIL back and takes it again `GIL_ROUND_TRIPS`
    times, which takes milliseconds while the wait leaves the GIL alone. A wait that let go of
    the GIL only for a moment (held it while it slept, and released it between its 50 ms
    slices) would take it back at each of these: 50 s for them all, longer than the tests
    let their waits last.
    """
    go = threading.Event()
    outcome = []  # ("ok", value) or ("error", exception): what act() did

    def other():
        go.wait()
        try:
            for _ in range(GIL_ROUND_TRIPS):
                time.sleep(0)  # releases the GIL, and needs it back
            outcome.append(("ok", act()))
        except BaseException as e:  # reported by the test's thread, below
            outcome.append(("error", e))

    previous = sys.getswitchinterval()
    sys.setswitchinterval(_NEVER_SWITCH)
    t = threading.Thread(target=other, daemon=True)
    try:
        # start() waits for the thread to run, which then holds the GIL until it blocks in
        # go.wait(): from here on it needs this thread to release the GIL.
        t.start()
        go.set()  # uncontended: takes no lock that would release the GIL
        result = wait()
    finally:
        sys.setswitchinterval(previous)
        go.set()
        t.join(LINE_TIMEOUT)
    assert outcome, "the other thread did not finish"
    kind, value = outcome[0]
    if kind == "error":
        raise value
    return result, value
