"""eshm.ESHM: the duplex byte channel, with the signature of the original ESHM wrapper."""

import json

import pytest

import eshm
from eshm import ESHM, ESHMDisconnectBehavior, ESHMRole


def test_enums_keep_the_original_values():
    assert [int(r) for r in (ESHMRole.MASTER, ESHMRole.SLAVE, ESHMRole.AUTO)] == [0, 1, 2]
    assert [int(b) for b in ESHMDisconnectBehavior] == [0, 1, 2]
    assert ESHMDisconnectBehavior.ON_TIMEOUT.name == "ON_TIMEOUT"
    assert eshm.Role is ESHMRole


def test_master_and_slave_exchange_messages(name):
    with ESHM(name, role=ESHMRole.MASTER) as master, ESHM(name, role=ESHMRole.SLAVE) as slave:
        assert master.get_role() is ESHMRole.MASTER and slave.get_role() is ESHMRole.SLAVE
        master.write(b"hello")
        master.write(bytearray(b"byte array"))
        master.write(memoryview(b"--memory view--")[2:-2])
        master.write(b"")
        master.write(memoryview(b"a-b-c-")[::2])  # not contiguous
        master.write(bytearray())
        assert [slave.read() for _ in range(6)] == [b"hello", b"byte array", b"memory view", b"", b"abc", b""]
        assert slave.try_read() is None
        slave.write(json.dumps({"speed": 1.5}).encode())
        assert json.loads(master.read(timeout_ms=1000)) == {"speed": 1.5}
        assert master.is_remote_alive() and slave.is_remote_alive()


def test_auto_roles_and_exclusive_roles(name):
    first = ESHM(name)
    second = ESHM(name, role=ESHMRole.AUTO)
    assert (first.get_role(), second.get_role()) == (ESHMRole.MASTER, ESHMRole.SLAVE)
    with pytest.raises(eshm.RoleTakenError) as err:
        ESHM(name, role=ESHMRole.MASTER)
    assert isinstance(err.value, RuntimeError)
    with pytest.raises(eshm.RoleTakenError):
        ESHM(name, role=ESHMRole.SLAVE, max_reconnect_attempts=1, reconnect_retry_interval_ms=1)
    second.close()
    first.close()
    with pytest.raises(RuntimeError, match="closed"):
        first.write(b"x")


def test_timeouts_and_sizes(name):
    master = ESHM(name, role=ESHMRole.MASTER, max_message=100, capacity=4096)
    slave = ESHM(name, role=ESHMRole.SLAVE)
    with pytest.raises(TimeoutError):
        slave.read(timeout_ms=20)
    with pytest.raises(eshm.TimeoutError):
        slave.read(timeout_ms=0)
    with pytest.raises(eshm.MessageTooLargeError) as err:
        master.write(b"x" * 101)
    assert isinstance(err.value, ValueError)
    master.write(b"y" * 100)
    with pytest.raises(eshm.BufferTooSmallError):
        slave.read(buffer_size=10)
    assert slave.read(buffer_size=100) == b"y" * 100, "the message stayed queued"


def test_stats_have_the_original_keys(name):
    master = ESHM(name, role=ESHMRole.MASTER)
    slave = ESHM(name, role=ESHMRole.SLAVE)
    for i in range(3):
        master.write(b"m%d" % i)
    slave.read()
    slave.write(b"s")
    stats = master.get_stats()
    original = {
        "master_heartbeat", "slave_heartbeat", "master_pid", "slave_pid", "master_alive", "slave_alive",
        "stale_threshold", "master_heartbeat_delta", "slave_heartbeat_delta", "m2s_write_count",
        "m2s_read_count", "s2m_write_count", "s2m_read_count",
    }
    assert original <= set(stats)
    assert (stats["m2s_write_count"], stats["m2s_read_count"]) == (3, 1)
    assert (stats["s2m_write_count"], stats["s2m_read_count"]) == (1, 0)
    assert stats["master_alive"] is True and stats["slave_alive"] is True
    assert stats["stale_threshold"] == 100
    assert stats["master_heartbeat"] > 0 and stats["master_heartbeat_delta"] >= 0
    assert {"reconnects", "stale_events", "lost", "m2s_bytes_written"} <= set(stats)


def test_disconnect_behaviours(name):
    # As the original: a master writes before its slave exists, and finds nothing to read
    # rather than an error; the first slave receives what was queued.
    alone = ESHM(name, role=ESHMRole.MASTER, disconnect_behavior=ESHMDisconnectBehavior.IMMEDIATELY)
    assert not alone.is_remote_alive()
    alone.write(b"queued")
    assert alone.try_read() is None
    with pytest.raises(eshm.NoDataError) as no_data:
        alone.read(timeout_ms=0)
    assert isinstance(no_data.value, TimeoutError) and isinstance(no_data.value, RuntimeError)
    with ESHM(name, role=ESHMRole.SLAVE) as slave:
        assert slave.read() == b"queued"
        slave.write(b"bye")
    # Only IMMEDIATELY turns a remote that went into an error, after what it wrote.
    assert alone.read() == b"bye"
    with pytest.raises(eshm.DisconnectedError) as err:
        alone.try_read()
    assert isinstance(err.value, RuntimeError)
    alone.close()
    # ON_TIMEOUT (the default): a master never gives up on its slave ...
    waiting = ESHM(name, role=ESHMRole.MASTER, reconnect_wait_ms=1, reconnect_retry_interval_ms=1)
    waiting.write(b"x")
    with pytest.raises(eshm.TimeoutError):
        waiting.read(timeout_ms=5)
    # ... a slave does, once its master has been gone for reconnect_wait_ms.
    slave = ESHM(name, role=ESHMRole.SLAVE, reconnect_wait_ms=1, reconnect_retry_interval_ms=1)
    assert slave.read() == b"x"
    waiting.close()
    with pytest.raises(eshm.DisconnectedError):
        slave.read(timeout_ms=10_000)


def test_slave_waits_for_its_master_in_another_process(name, child):
    slave = child(
        """
        import sys
        from eshm import ESHM, ESHMRole
        with ESHM(sys.argv[1], role=ESHMRole.SLAVE, max_reconnect_attempts=0) as ch:
            print("attached", flush=True)
            while True:
                data = ch.read(timeout_ms=10000)
                if data == b"quit":
                    break
                ch.write(data[::-1])
        """,
        name,
    )
    master = ESHM(name, role=ESHMRole.MASTER)
    slave.expect_exact("attached")
    for i in range(1000):
        payload = b"message %d" % i * (i % 7)
        master.write(payload)
        assert master.read(timeout_ms=10000) == payload[::-1]
    master.write(b"quit")
    slave.finish_ok()
    assert master.get_stats()["s2m_read_count"] == 1000


def test_a_writer_waits_for_room_in_a_full_queue(name):
    import threading

    master = ESHM(name, role=ESHMRole.MASTER, max_message=100, capacity=4096)
    slave = ESHM(name, role=ESHMRole.SLAVE)
    sent = [bytearray(f"message {i:04d} ".encode() * 6) for i in range(500)]  # ~16 fit at once

    def write_all():
        for data in sent:
            master.write(data)  # blocks while the queue is full (GIL released)

    writer = threading.Thread(target=write_all)
    writer.start()
    received = [slave.read(buffer_size=100, timeout_ms=10_000) for _ in sent]
    writer.join()
    assert received == [bytes(d) for d in sent]
    assert master.get_stats()["m2s_write_count"] == 500
