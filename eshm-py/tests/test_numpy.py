"""Array and slice topics with numpy (issue 14): values, checks of what is published, loans
written in place, read-only views of held samples and their lifetime, the held-sample limits,
and views given back by a killed process. Rust interop: test_numpy_interop.py; without numpy:
test_numpy_absent.py."""

import gc
import json
import textwrap

import pytest

import eshm
from conftest import run_while_waiting

np = pytest.importorskip("numpy")

FRAME = eshm.Array(eshm.u8, (480, 640, 3))
# Frames are 900 KiB: a topic of them keeps its messages in a pool, and views hold them there.
BROKEN_WAIT_S = 20


def frame(i):
    """Frame `i`: byte `(i + k) % 251` at flat index `k` (as the Rust `interop arrays`)."""
    return ((np.arange(480 * 640 * 3, dtype=np.uint32) + i) % 251).astype(np.uint8).reshape(480, 640, 3)


def address(a):
    return a.__array_interface__["data"][0]


# ---------------------------------------------------------------------------------------------
# Values: publish and recv
# ---------------------------------------------------------------------------------------------


def test_numpy_array_topic_round_trip(name):
    sub = eshm.Subscriber(name, FRAME)
    pub = eshm.Publisher(name, FRAME)
    assert pub.type_name == "[[[u8; 3]; 640]; 480]" and pub.fingerprint == FRAME.FINGERPRINT
    image = frame(3)
    pub.publish(image)
    got = sub.recv(timeout=BROKEN_WAIT_S)
    assert isinstance(got, np.ndarray)
    assert (got.dtype, got.shape) == (np.uint8, (480, 640, 3))
    assert np.array_equal(got, image)
    # A copy of the caller's own: writable, and not the published array.
    assert got.flags.writeable and not np.shares_memory(got, image)
    got[0, 0, 0] = 99
    assert sub.try_recv() is None


def test_numpy_publish_takes_strided_arrays_and_array_likes(name):
    vec = eshm.Array(eshm.f32, 3)
    sub = eshm.Subscriber(name, vec)
    pub = eshm.Publisher(name, vec)
    base = np.arange(12, dtype=np.float32).reshape(4, 3)
    pub.publish(base[1:, 1])  # a column: strided
    assert sub.recv(timeout=BROKEN_WAIT_S).tolist() == [4.0, 7.0, 10.0]
    pub.publish(base[::-1, ::-1][0])  # negative strides
    assert sub.recv(timeout=BROKEN_WAIT_S).tolist() == [11.0, 10.0, 9.0]
    pub.publish(memoryview(np.array([1, 2, 3], dtype=np.float32)))
    assert sub.recv(timeout=BROKEN_WAIT_S).tolist() == [1.0, 2.0, 3.0]
    pub.publish([0.5, 1.5, 2.5])  # no buffer: numpy.asarray(value, float32)
    assert sub.recv(timeout=BROKEN_WAIT_S).tolist() == [0.5, 1.5, 2.5]
    big = eshm.Subscriber(name + "/frame", FRAME)
    frames = eshm.Publisher(name + "/frame", FRAME)
    wide = np.zeros((480, 1280, 3), dtype=np.uint8)
    wide[:, ::2] = frame(1)
    frames.publish(wide[:, ::2])  # a strided frame, straight into the pool block
    assert np.array_equal(big.recv(timeout=BROKEN_WAIT_S), frame(1))


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (lambda: np.zeros((480, 640, 3), np.float32), "expected uint8 of shape (480, 640, 3), got float32 of shape (480, 640, 3)"),
        (lambda: np.zeros((640, 480, 3), np.uint8), "expected uint8 of shape (480, 640, 3), got uint8 of shape (640, 480, 3)"),
        (lambda: np.zeros((480, 640, 3), np.int8), "got int8"),
        (lambda: np.zeros(480 * 640 * 3, np.uint8), "got uint8 of shape (921600,)"),
        (lambda: np.zeros((480, 640, 3), ">u2")[..., 0].astype(">u2"), "got format"),
    ],
)
def test_numpy_publish_checks_dtype_and_shape(name, value, words):
    pub = eshm.Publisher(name, FRAME)
    with pytest.raises(eshm.ArgumentTypeError) as err:
        pub.publish(value())
    assert words in str(err.value)
    assert pub.published == 0


def test_numpy_publish_rejects_values_without_a_buffer_of_the_type(name):
    pub = eshm.Publisher(name, eshm.Array(eshm.i32, 2))
    with pytest.raises(eshm.ArgumentTypeError, match=r"expected int32 of shape \(2,\), got int32 of shape \(3,\)"):
        pub.publish([1, 2, 3])
    with pytest.raises(eshm.ArgumentTypeError, match=r"got float64"):
        pub.publish(np.array([1.0, 2.0]))


def test_numpy_bool_arrays_are_checked_both_ways(name):
    flags = eshm.Array(eshm.bool_, 4)
    sub = eshm.Subscriber(name, flags)
    pub = eshm.Publisher(name, flags)
    pub.publish(np.array([True, False, True, True]))
    assert sub.recv(timeout=BROKEN_WAIT_S).tolist() == [True, False, True, True]
    with pytest.raises(eshm.InvalidMessageError, match="holds 2, which is not a valid bool"):
        pub.publish(np.array([0, 1, 2, 1], dtype=np.uint8).view(np.bool_))
    with pytest.raises(eshm.ArgumentTypeError, match="bool or enum"):
        pub.loan()


def test_numpy_slice_topic_round_trip(name):
    cloud = eshm.Slice(eshm.Array(eshm.f32, 3), max_len=1000)
    sub = eshm.Subscriber(name, cloud)
    pub = eshm.Publisher(name, cloud)
    points = np.arange(30, dtype=np.float32).reshape(10, 3)
    pub.publish(points)
    got = sub.recv(timeout=BROKEN_WAIT_S)
    assert (got.dtype, got.shape) == (np.float32, (10, 3)) and np.array_equal(got, points)
    pub.publish(np.zeros((0, 3), np.float32))
    assert sub.recv(timeout=BROKEN_WAIT_S).shape == (0, 3)
    pub.publish(points[::2])
    assert np.array_equal(sub.try_recv(), points[::2])
    with pytest.raises(eshm.ArgumentTypeError, match=r"up to 1000 elements, each of shape \(3,\), got float32 of shape \(1001, 3\)"):
        pub.publish(np.zeros((1001, 3), np.float32))
    with pytest.raises(eshm.ArgumentTypeError, match=r"got float32 of shape \(4, 2\)"):
        pub.publish(np.zeros((4, 2), np.float32))
    with pytest.raises(eshm.InvalidArgumentError, match="at most 1000 elements; got 1001"):
        pub.loan(1001)
    with pytest.raises(eshm.ArgumentTypeError, match="number of elements"):
        pub.loan()


def test_numpy_slice_topic_latest_and_subscribe(name):
    cloud = eshm.Slice(eshm.f32, max_len=100)
    sub = eshm.Subscriber(name, cloud, history=0)
    pub = eshm.Publisher(name, cloud)
    value, ok = sub.subscribe()
    assert (value.shape, ok) == ((0,), False)
    for n in (3, 5):
        pub.publish(np.full(n, n, np.float32))
    assert sub.latest().tolist() == [5.0] * 5
    assert sub.latest() is None
    pub.publish(np.ones(2, np.float32))
    value, ok = sub.subscribe()
    assert (value.tolist(), ok) == ([1.0, 1.0], True)


def test_numpy_message_topics_are_unchanged_and_refuse_loans(name):
    sub = eshm.Subscriber(name, eshm.msg.Pose)
    pub = eshm.Publisher(name, eshm.msg.Pose)
    with pytest.raises(eshm.ArgumentTypeError, match="loan.. is for array and slice topics"):
        pub.loan()
    pose = eshm.msg.Pose(position=eshm.msg.Vector3(x=1.0))
    pub.publish(pose)
    # recv_view of a message topic: the decoded message (a copy); nothing stays held.
    with sub.recv_view(timeout=BROKEN_WAIT_S) as got:
        assert got == pose and sub.held == 0


def test_numpy_a_topic_of_another_shape_is_a_type_mismatch(name):
    eshm.Publisher(name, FRAME)
    with pytest.raises(eshm.TypeMismatchError):
        eshm.Subscriber(name, eshm.Array(eshm.u8, (640, 480, 3)))
    with pytest.raises(eshm.TypeMismatchError):
        eshm.Subscriber(name, eshm.Slice(eshm.u8, max_len=480 * 640 * 3))


# ---------------------------------------------------------------------------------------------
# Loans and views: in place, and how long
# ---------------------------------------------------------------------------------------------


def test_numpy_loan_publishes_at_the_end_of_the_block(name):
    sub = eshm.Subscriber(name, FRAME, history=0)
    pub = eshm.Publisher(name, FRAME)
    with pub.loan() as f:
        assert (type(f), f.dtype, f.shape, f.flags.writeable) == (np.ndarray, np.uint8, (480, 640, 3), True)
        f[...] = frame(5)
        assert sub.try_recv() is None  # nothing before the end of the block
        with pytest.raises(eshm.FullError, match="a loan of this publisher is open"):
            pub.publish(frame(0))
        with pytest.raises(eshm.FullError, match="a loan of this publisher is open"):
            pub.loan()
    assert pub.published == 1
    assert np.array_equal(sub.recv(timeout=BROKEN_WAIT_S), frame(5))


def test_numpy_an_exception_in_the_loan_block_publishes_nothing(name):
    sub = eshm.Subscriber(name, FRAME, history=0)
    pub = eshm.Publisher(name, FRAME)
    with pytest.raises(ZeroDivisionError):
        with pub.loan() as f:
            f[...] = 1
            1 / 0
    assert pub.published == 0 and sub.try_recv() is None
    pub.publish(frame(2))  # the publisher goes on
    assert np.array_equal(sub.recv(timeout=BROKEN_WAIT_S), frame(2))
    loan = pub.loan()
    loan.discard()
    loan.discard()
    with pytest.raises(eshm.ClosedError, match="already published or discarded"):
        loan.publish()
    with pytest.raises(BufferError):
        loan.array()
    del loan
    unused = pub.loan()
    del unused  # dropped unpublished: given back
    pub.publish(frame(3))
    assert np.array_equal(sub.recv(timeout=BROKEN_WAIT_S), frame(3))


def test_numpy_loan_and_view_are_the_shared_memory_itself(name):
    """The loan's array and the view of the message it became are the same bytes: a write
    through the loan's array after the block (which the docs say not to do) shows in the held
    view. Neither side copied."""
    sub = eshm.Subscriber(name, FRAME, history=0)
    pub = eshm.Publisher(name, FRAME)
    with pub.loan() as f:
        before = address(f)
        f[...] = 4
        assert address(f) == before
    with sub.recv_view(timeout=BROKEN_WAIT_S) as v:
        assert not v.flags.writeable and int(v[0, 0, 0]) == 4
        f[0, 0, 0] = 200
        assert int(v[0, 0, 0]) == 200
        with pytest.raises(ValueError, match="read-only"):
            v[0, 0, 0] = 1
        # The view's array is over the sample's exporter: numpy keeps it as the base.
        assert np.shares_memory(v, v.base)
    # A copy is another array.
    pub.publish(frame(1))
    copy = sub.recv(timeout=BROKEN_WAIT_S)
    assert not np.shares_memory(copy, v)


def test_numpy_a_loan_collected_while_publish_converts_its_value(name):
    """A loan dropped by the garbage collector while `publish` converts a value (here through
    `__array__`) gives its room back; the publish then goes on (no lock held meanwhile)."""
    pub = eshm.Publisher(name, eshm.Array(eshm.u8, 4))
    sub = eshm.Subscriber(name, eshm.Array(eshm.u8, 4), history=0)
    cycle: list = [pub.loan()]
    cycle.append(cycle)
    del cycle

    class Collecting:
        def __array__(self, dtype=None, copy=None):
            gc.collect()
            return np.arange(4, dtype=np.uint8)

    pub.publish(Collecting())
    assert sub.recv(timeout=BROKEN_WAIT_S).tolist() == [0, 1, 2, 3]


def test_numpy_slice_loan(name):
    sub = eshm.Subscriber(name, eshm.Slice(eshm.f32, max_len=1 << 20), history=0)
    pub = eshm.Publisher(name, eshm.Slice(eshm.f32, max_len=1 << 20))
    with pub.loan(1 << 18) as cloud:
        assert (cloud.dtype, cloud.shape) == (np.float32, (1 << 18,))
        cloud[:] = np.arange(1 << 18, dtype=np.float32)
    with pub.loan(0) as empty:
        assert empty.shape == (0,)
    with sub.recv_view(timeout=BROKEN_WAIT_S) as got:
        assert got.shape == (1 << 18,) and got[-1] == (1 << 18) - 1
    assert sub.recv(timeout=BROKEN_WAIT_S).shape == (0,)


def test_numpy_view_held_while_the_publisher_laps_the_ring(name):
    """A view keeps its message while the publisher laps its ring of four many times over,
    within the `with` block and past it, until the last array over it is gone."""
    sub = eshm.Subscriber(name, FRAME, history=0)
    pub = eshm.Publisher(name, FRAME, buffer_num=4)
    pub.publish(frame(0))
    with sub.recv_view(timeout=BROKEN_WAIT_S) as kept:
        for i in range(1, 4 * 10):
            pub.publish(frame(i))
        assert np.array_equal(kept, frame(0))
    assert sub.held == 1  # `kept` still references the sample
    for i in range(40, 80):
        pub.publish(frame(i))
    assert np.array_equal(kept, frame(0))
    row = kept[10]  # a slice of the view holds it too
    del kept
    assert sub.held == 1
    for i in range(80, 120):
        pub.publish(frame(i))
    assert np.array_equal(row, frame(0)[10])
    del row
    assert sub.held == 0
    # The subscriber lost what the ring could not keep, and goes on from the oldest kept.
    got = sub.recv(timeout=BROKEN_WAIT_S)
    assert sub.lost > 0 and any(np.array_equal(got, frame(i)) for i in range(110, 120))


def test_numpy_try_recv_view_and_the_gil(name):
    sub = eshm.Subscriber(name, FRAME, history=0)
    pub = eshm.Publisher(name, FRAME)
    assert sub.try_recv_view() is None
    pub.publish(frame(7))
    view = sub.try_recv_view()
    with view as v:
        assert np.array_equal(v, frame(7))
    del v
    view.release()
    assert sub.held == 0
    got, _ = run_while_waiting(lambda: sub.recv_view(timeout=BROKEN_WAIT_S), lambda: pub.publish(frame(8)))
    with got as v:
        assert np.array_equal(v, frame(8))


def test_numpy_held_limit_raises_full_error(name):
    sub = eshm.Subscriber(name, FRAME, history=0, max_held=2)
    pub = eshm.Publisher(name, FRAME, buffer_num=8)
    for i in range(4):
        pub.publish(frame(i))
    a = sub.recv_view(timeout=BROKEN_WAIT_S).value
    b = sub.try_recv_view().value
    with pytest.raises(eshm.FullError, match=r"holds 2 samples, its limit \(`max_held`\)"):
        sub.recv_view(timeout=BROKEN_WAIT_S)
    with pytest.raises(eshm.FullError):
        sub.try_recv_view()
    assert sub.recv(timeout=BROKEN_WAIT_S) is not None  # copies are not held
    del a
    # The message the refused call left unread comes next.
    with sub.recv_view(timeout=BROKEN_WAIT_S) as c:
        assert np.array_equal(c, frame(3))
    assert np.array_equal(b, frame(1))


def test_numpy_hold_slots_full_raises_full_error(name):
    """The publisher allows four held samples (`held_samples`) among all its subscribers."""
    first = eshm.Subscriber(name, FRAME, history=0, max_held=3)
    second = eshm.Subscriber(name, FRAME, history=0, max_held=3)
    pub = eshm.Publisher(name, FRAME, buffer_num=8)
    for i in range(4):
        pub.publish(frame(i))
    held = [first.recv_view(timeout=BROKEN_WAIT_S).value for _ in range(3)]
    held.append(second.recv_view(timeout=BROKEN_WAIT_S).value)
    with pytest.raises(eshm.FullError, match=r"hold all 4 samples its publisher allows"):
        second.recv_view(timeout=BROKEN_WAIT_S)
    held.pop(0)
    with second.recv_view(timeout=BROKEN_WAIT_S) as v:
        assert np.array_equal(v, frame(1))


HOLDER = """
import sys, eshm
sub = eshm.Subscriber(sys.argv[1], eshm.Array(eshm.u8, (480, 640, 3)), history=0, max_held=2)
print("ready", flush=True)
views = [sub.recv_view(timeout=30).value for _ in range(2)]
print("holding", flush=True)
sys.stdin.readline()
"""


def holders(name, capfd):
    """The topic's holders, as `eshm info --json` lists them."""
    capfd.readouterr()
    assert eshm._eshm._cli_main(["eshm", "info", "--json", name]) == 0
    return json.loads(capfd.readouterr().out)["pool"]["holders"]


def test_numpy_killed_holders_give_their_views_back(name, spawn, capfd):
    """Processes killed while they hold views give them back: the publisher goes on, each new
    holder gets its samples (the topic has four hold slots; five holders of two each would
    run out if the dead ones kept theirs), and at the end nothing is held."""
    pub = eshm.Publisher(name, FRAME, buffer_num=4)
    n = 0
    for cycle in range(5):
        holder = spawn.code(textwrap.dedent(HOLDER), name, stdin=True)
        holder.expect("^ready")
        for _ in range(2):
            pub.publish(frame(n))
            n += 1
        holder.expect("^holding")
        assert {"pid": holder.pid, "samples": 2, "alive": True} in holders(name, capfd), cycle
        holder.kill()
        pub.publish(frame(n))
        n += 1
    # The publisher looks for dead holders while it publishes (now and then: a bounded wait).
    for _ in range(100_000):
        if not holders(name, capfd):
            break
        pub.publish(frame(n))
    assert holders(name, capfd) == []


def test_numpy_views_work_in_a_subprocess_without_leaking(name, spawn):
    """A child that takes and drops views in a loop never runs out of hold slots."""
    pub = eshm.Publisher(name, FRAME, buffer_num=4)
    code = """
        import sys, eshm
        sub = eshm.Subscriber(sys.argv[1], eshm.Array(eshm.u8, (480, 640, 3)), history=0, max_held=1)
        print("ready", flush=True)
        for i in range(50):
            with sub.recv_view(timeout=30) as f:
                print("frame", int(f[0, 0, 0]), sub.held, flush=True)
            del f
            print("ack", flush=True)
            sys.stdin.readline()
    """
    child = spawn.code(textwrap.dedent(code), name, stdin=True)
    child.expect("^ready")
    for i in range(50):
        pub.publish(frame(i))
        assert child.expect(r"^frame (\d+) (\d+)").groups() == (str(i % 251), "1")
        child.expect("^ack")
        child.send("next")
    child.finish_ok()


def test_numpy_recv_view_blocks_in_a_subprocess_until_a_frame_comes(name, spawn):
    code = """
        import sys, eshm
        sub = eshm.Subscriber(sys.argv[1], eshm.Array(eshm.u8, (480, 640, 3)), history=0)
        print("ready", flush=True)
        with sub.recv_view(timeout=30) as f:
            print("sum", int(f.sum(dtype="u8")), flush=True)
    """
    child = spawn.code(textwrap.dedent(code), name)
    child.expect("^ready")
    pub = eshm.Publisher(name, FRAME)
    pub.publish(frame(9))
    assert int(child.expect(r"^sum (\d+)").group(1)) == int(frame(9).sum(dtype=np.uint64))
    child.finish_ok()


def test_numpy_loan_outlives_a_closed_publisher(name):
    pub = eshm.Publisher(name, FRAME)
    loan = pub.loan()
    f = loan.array()
    pub.close()
    f[...] = 1  # the mapping is still there: the loan keeps it
    with pytest.raises(eshm.ClosedError, match="closed Publisher"):
        loan.publish()
    assert int(f[0, 0, 0]) == 1

