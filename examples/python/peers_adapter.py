"""eshm adapters for the peers' Python IPC benchmark (`../shared/peers/python/bench.py`), so that
eshm is measured in the same run as multiprocessing, pyzmq, iceoryx2 and the others:

    cd ../shared/peers/python && ./run.sh --plugin /path/to/eshm/examples/python/peers_adapter.py

(the harness's virtualenv must have eshm installed: `pip install /path/to/eshm/eshm-py`).

- `eshm-channel`: the byte channel (`eshm.ESHM`), master on side a, slave on side b; any size.
- `eshm-pubsub`: two `i64` topics (the harness's 8-byte payload is a sequence number). The
  throughput test's 32-byte report (`bench.REPORT`, four i64s starting with `REPORT_TAG`)
  goes as four messages.
- `eshm-zerocopy`: two byte-slice topics (`eshm.Slice(eshm.u8, max_len=max_size)`, the Rust
  `[u8]`), any size. `send` copies the buffer once, straight into shared memory (a loan);
  `recv` returns a read-only view of the held message (`recv_view`), valid until the next
  `recv`, so the 1 MiB echo reads in place and writes once per hop. (Messages under 4 KiB stay
  in the ring, where a view is a copy.)
"""

import struct
import time

# bench is the peers' harness script, which registers itself as `bench` when it loads a plugin:
# not installed, no stubs, so mypy cannot find it and its Adapter is Any here.
from bench import REPORT, REPORT_TAG, Adapter, register  # type: ignore[import-not-found]

SEQ = struct.Struct("<q")


@register
class EshmChannel(Adapter):  # type: ignore[misc]  # Adapter is Any: bench has no stubs
    """eshm's duplex byte channel (ESHM): one record queue per direction in shared memory.
    spin: busy-polling reads; blocking: spin 20 us, then sleep on a futex."""

    name = "eshm-channel"
    modes = ("spin", "blocking")
    lib = "eshm"

    def open(self, side: str, max_size: int) -> None:
        import eshm

        role = eshm.ESHMRole.MASTER if side == "a" else eshm.ESHMRole.SLAVE
        self.size = max(max_size, 8)
        self.ch = eshm.ESHM(
            self.tag,
            role=role,
            max_reconnect_attempts=0,
            reconnect_wait_ms=0,
            max_message=self.size,
            capacity=max(1 << 20, 4 * (self.size + 64)),
            wait="spin" if self.mode == "spin" else "default",
        )

    def wait_connected(self) -> None:
        while not self.ch.is_remote_alive():
            time.sleep(0.001)

    def send(self, buf: bytes | bytearray | memoryview) -> None:
        self.ch.write(buf)

    def recv(self) -> bytes:
        return self.ch.read(self.size, timeout_ms=3_600_000)

    def close(self) -> None:
        self.ch.close()


@register
class EshmPubSub(Adapter):  # type: ignore[misc]  # Adapter is Any: bench has no stubs
    """eshm publish/subscribe: one i64 topic per direction (payloads of 8 bytes only).
    spin: busy-polling recv(); blocking: spin 20 us, then sleep on a futex."""

    name = "eshm-pubsub"
    modes = ("spin", "blocking")
    lib = "eshm"
    max_payload = 8
    max_payload_why = "topics carry typed messages; this adapter uses an i64 topic"

    def open(self, side: str, max_size: int) -> None:
        import eshm

        tx, rx = self.tx_rx(side)
        wait = "spin" if self.mode == "spin" else "default"
        self.sub = eshm.Subscriber(rx, 0, wait=wait, history=0)
        self.pub = eshm.Publisher(tx, 0, buffer_num=4096)

    def wait_connected(self) -> None:
        while not self.sub.is_connected:
            self.sub.try_recv()
            time.sleep(0.001)

    def send(self, buf: bytes | bytearray | memoryview) -> None:
        if len(buf) == SEQ.size:
            self.pub.publish(SEQ.unpack_from(buf)[0])
        else:
            for word in REPORT.unpack_from(buf):
                self.pub.publish(word)

    def recv(self) -> bytes:
        value = self.sub.recv()
        if value != REPORT_TAG:
            return SEQ.pack(value)
        report: bytes = REPORT.pack(value, *(self.sub.recv() for _ in range(3)))  # REPORT: a struct.Struct
        return report

    def close(self) -> None:
        self.pub.close()
        self.sub.close()


@register
class EshmZeroCopy(Adapter):  # type: ignore[misc]  # Adapter is Any: bench has no stubs
    """eshm publish/subscribe of byte slices, zero-copy: the sender's bytes go straight into
    shared memory (one copy), the receiver views the message where it lies (recv_view).
    spin: busy-polling; blocking: spin 20 us, then sleep on a futex."""

    name = "eshm-zerocopy"
    modes = ("spin", "blocking")
    lib = "eshm"

    def open(self, side: str, max_size: int) -> None:
        import eshm

        tx, rx = self.tx_rx(side)
        wait = "spin" if self.mode == "spin" else "default"
        kind = eshm.Slice(eshm.u8, max_len=max(max_size, REPORT.size))
        self.sub = eshm.Subscriber(rx, kind, wait=wait, history=0)
        self.pub = eshm.Publisher(tx, kind, buffer_num=64 if max_size <= 4096 else 4)
        self.view: object = None

    def wait_connected(self) -> None:
        while not self.sub.is_connected:
            self.sub.try_recv()
            time.sleep(0.001)

    def send(self, buf: bytes | bytearray | memoryview) -> None:
        self.pub.publish(buf)  # any bytes-like object: a format "B" buffer of up to max_len bytes

    def recv(self) -> object:
        self.view = None  # gives the previous message back
        self.view = self.sub.recv_view().value
        return self.view

    def close(self) -> None:
        self.view = None
        self.pub.close()
        self.sub.close()
