"""Array and slice topics between Rust and Python (issue 14), with the Rust `interop` example:
`interop arrays` publishes `[[[u8; 3]; 640]; 480]` frames and `[f32]` clouds, `interop
array-sums` receives them in place and prints sums."""

import pytest

import eshm

np = pytest.importorskip("numpy")

FRAME = eshm.Array(eshm.u8, (480, 640, 3))
CLOUD = eshm.Slice(eshm.f32, max_len=1 << 20)
EXEC = "import os, sys; os.execv(sys.argv[1], sys.argv[1:])"


def frame(i):
    return ((np.arange(480 * 640 * 3, dtype=np.uint32) + i) % 251).astype(np.uint8).reshape(480, 640, 3)


def cloud(i):
    return np.float32(i) + np.arange(1000 * i + 1, dtype=np.float32) * np.float32(0.25)


def test_numpy_interop_rust_publishes_python_views(name, interop_binary, spawn):
    count = 4
    rust = spawn.code(EXEC, interop_binary, "arrays", name, count, stdin=True)
    rust.expect("^ready")
    frames = eshm.Subscriber(name + "/rgb", FRAME, history=0)
    clouds = eshm.Subscriber(name + "/points", CLOUD, history=0)
    assert frames.type_name == "[[[u8; 3]; 640]; 480]" and clouds.type_name == "[f32]"
    for i in range(count):
        rust.send("next")
        rust.expect(f"^sent {i}$")
        if i % 2 == 0:
            with frames.recv_view(timeout=30) as f, clouds.recv_view(timeout=30) as c:
                assert not f.flags.writeable and not c.flags.writeable
                assert np.array_equal(f, frame(i))
                assert c.dtype == np.float32 and np.array_equal(c, cloud(i))
        else:
            assert np.array_equal(frames.recv(timeout=30), frame(i))
            assert np.array_equal(clouds.recv(timeout=30), cloud(i))
    assert frames.lost == 0 and clouds.lost == 0
    rust.send("done")
    rust.finish_ok()


def test_numpy_interop_python_publishes_rust_receives(name, interop_binary, spawn):
    count = 4
    rust = spawn.code(EXEC, interop_binary, "array-sums", name, count)
    rust.expect("^ready")
    frames = eshm.Publisher(name + "/rgb", FRAME)
    clouds = eshm.Publisher(name + "/points", CLOUD)
    for i in range(count):
        if i % 2 == 0:
            with frames.loan() as f:
                f[...] = frame(i)
            points = cloud(i)
            with clouds.loan(len(points)) as c:
                c[:] = points
        else:
            frames.publish(frame(i))
            clouds.publish(cloud(i))
        expected = frame(i).reshape(-1)
        got = rust.expect(r"^rgb (\d+) (\d+) (\d+)$").groups()
        assert tuple(map(int, got)) == (int(expected.sum(dtype=np.uint64)), int(expected[0]), int(expected[-1]))
        n, total = rust.expect(r"^points (\d+) (\S+)$").groups()
        assert int(n) == len(cloud(i))
        assert float(total) == pytest.approx(float(cloud(i).astype(np.float64).sum()))
    rust.finish_ok()
