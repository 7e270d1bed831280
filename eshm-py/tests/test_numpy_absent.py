"""Array and slice topics without numpy (issue 14): values are `memoryview`s with the element's
format and the topic's shape. Each test runs in a child interpreter where `import numpy` fails
(`sys.modules["numpy"] = None`), so it holds whether or not numpy is installed here."""

import subprocess
import sys
import textwrap

PRELUDE = """
import sys
sys.modules["numpy"] = None  # `import numpy` raises ImportError from here on
import array, eshm
name = sys.argv[1]
"""


def run(code, name):
    out = subprocess.run(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(code), name],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_numpy_absent_values_are_memoryviews(name):
    out = run(
        """
        try:
            import numpy
        except ImportError:
            print("no numpy")
        t = eshm.Array(eshm.f32, (2, 3))
        sub = eshm.Subscriber(name, t)
        pub = eshm.Publisher(name, t)
        pub.publish(array.array("f", [1, 2, 3, 4, 5, 6]))  # flat: wrong shape
        """.replace(
            "pub.publish(array.array(\"f\", [1, 2, 3, 4, 5, 6]))  # flat: wrong shape",
            """try:
            pub.publish(array.array("f", [1, 2, 3, 4, 5, 6]))
        except eshm.ArgumentTypeError as e:
            print("refused:", e)
        src = memoryview(array.array("f", [1, 2, 3, 4, 5, 6])).cast("B").cast("f", (2, 3))
        pub.publish(src)
        got = sub.recv(timeout=10)
        print(type(got).__name__, got.format, got.shape, got.readonly, got.tolist())
        try:
            pub.publish([1.0, 2.0])
        except eshm.ArgumentTypeError as e:
            print("list:", e)
        try:
            t.dtype
        except ImportError:
            print("dtype needs numpy")""",
        ),
        name,
    )
    assert out.splitlines() == [
        "no numpy",
        "refused: expected float32 of shape (2, 3), got float32 of shape (6,)",
        "memoryview f (2, 3) False [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]",
        "list: expected an array of float32 of shape (2, 3) (an object with the buffer protocol,"
        " such as a numpy array or memoryview), got list",
        "dtype needs numpy",
    ]


def test_numpy_absent_loans_and_views(name):
    out = run(
        """
        t = eshm.Array(eshm.u8, (480, 640, 3))
        sub = eshm.Subscriber(name, t, history=0)
        pub = eshm.Publisher(name, t)
        with pub.loan() as f:
            print("loan", type(f).__name__, f.format, f.shape, f.readonly)
            f[0, 0, 0] = 7
            f[479, 639, 2] = 9
        with sub.recv_view(timeout=10) as v:
            print("view", type(v).__name__, v.format, v.shape, v.readonly, v[0, 0, 0], v[479, 639, 2])
            print("held", sub.held)
        del v
        print("held", sub.held)
        s = eshm.Slice(eshm.Array(eshm.i16, 2), max_len=10)
        ssub = eshm.Subscriber(name + "/s", s)
        spub = eshm.Publisher(name + "/s", s)
        with spub.loan(3) as c:
            print("slice loan", c.format, c.shape)
            c[2, 1] = -5
        print("slice", ssub.recv(timeout=10).tolist())
        with spub.loan(0):
            pass
        e = ssub.recv(timeout=10)
        print("empty", e.format, e.shape, e.tolist())
        """,
        name,
    )
    assert out.splitlines() == [
        "loan memoryview B (480, 640, 3) False",
        "view memoryview B (480, 640, 3) True 7 9",
        "held 1",
        "held 0",
        "slice loan h (3, 2)",
        "slice [[0, 0], [0, 0], [0, -5]]",
        "empty h (0,) []",
    ]


def test_numpy_absent_array_fields_of_generated_classes_are_memoryviews(name):
    out = run(
        """
        import robot_messages
        b = robot_messages.BatteryState(cell_charge=[1, 0.5, 0.25, 0])
        c = b.cell_charge
        print(type(c).__name__, c.format, c.shape, c.readonly)
        c[0] = 5.0
        print(b.cell_charge.tolist())
        g = robot_messages.Grid()
        g.pixels[1, 1, 2] = 9
        print(g.pixels.format, g.pixels.shape, g.pixels[1, 1, 2])
        b.cell_charge = array.array("f", [2, 2, 2, 2])
        print(b.cell_charge.tolist())
        """,
        name,
    )
    assert out.splitlines() == [
        "memoryview f (4,) False",
        "[5.0, 0.5, 0.25, 0.0]",
        "B (2, 2, 3) 9",
        "[2.0, 2.0, 2.0, 2.0]",
    ]
