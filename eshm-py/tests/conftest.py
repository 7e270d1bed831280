"""Shared fixtures: unique names, and helpers that run code in another process."""

import os
import pathlib
import subprocess
import sys
import textwrap
import uuid

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def name(request):
    """A topic or channel name no other test (or run) uses."""
    return f"eshm-pytest/{request.node.name}/{os.getpid()}-{uuid.uuid4().hex[:8]}"


class Child:
    """A Python child process running `code`; stdout lines can be awaited."""

    def __init__(self, code, *args):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(code), *map(str, args)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def expect(self, prefix, timeout=60):
        """The next stdout line starting with `prefix` (fails if the child exits first)."""
        import select

        while True:
            ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
            assert ready, f"no {prefix!r} line within {timeout} s; stderr: {self.stderr_now()}"
            line = self.proc.stdout.readline()
            assert line, f"child exited before printing {prefix!r}; stderr: {self.stderr_now()}"
            if line.startswith(prefix):
                return line.rstrip("\n")

    def stderr_now(self):
        if self.proc.poll() is None:
            return "(still running)"
        return self.proc.stderr.read()

    def finish(self, timeout=60):
        """Closes stdin, waits, and returns (returncode, stdout, stderr)."""
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out, err

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


@pytest.fixture
def child():
    """Starts child processes (`child(code, *args)`), killed at the end of the test."""
    children = []

    def start(code, *args):
        c = Child(code, *args)
        children.append(c)
        return c

    yield start
    for c in children:
        c.kill()


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


def assert_other_threads_run_during(wait):
    """Runs `wait()` (a call that blocks, then raises TimeoutError) while another thread
    counts; fails unless the count shows that the GIL was released meanwhile."""
    import threading

    progress = 0
    stop = threading.Event()

    def spin():
        nonlocal progress
        while not stop.is_set():
            progress += 1

    t = threading.Thread(target=spin)
    t.start()
    try:
        with pytest.raises(TimeoutError):
            wait()
    finally:
        stop.set()
        t.join()
    assert progress > 1000, f"the other thread made only {progress} steps: the GIL was not released"
