"""Plain classes with the fields of the original ESHM wrapper's ``ESHMConfig`` and
``ESHMStats`` (ctypes structures there), for scripts that import or build them."""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from ._eshm import ESHMDisconnectBehavior, ESHMRole


@dataclasses.dataclass
class ESHMConfig:
    """The settings of an :class:`eshm.ESHM` channel, with the original defaults.

    ``ESHM(**dataclasses.asdict(config))`` opens a channel with them."""

    shm_name: str = ""
    role: int = ESHMRole.AUTO
    disconnect_behavior: int = ESHMDisconnectBehavior.ON_TIMEOUT
    stale_threshold_ms: int = 100
    reconnect_wait_ms: int = 5000
    reconnect_retry_interval_ms: int = 100
    max_reconnect_attempts: int = 50
    auto_cleanup: bool = True
    use_threads: bool = True


@dataclasses.dataclass
class ESHMStats:
    """The original wrapper's statistics; ``ESHMStats.from_dict(ch.get_stats())`` fills one."""

    master_heartbeat: int = 0
    slave_heartbeat: int = 0
    master_pid: int = 0
    slave_pid: int = 0
    master_alive: bool = False
    slave_alive: bool = False
    stale_threshold: int = 0
    master_heartbeat_delta: int = 0
    slave_heartbeat_delta: int = 0
    m2s_write_count: int = 0
    m2s_read_count: int = 0
    s2m_write_count: int = 0
    s2m_read_count: int = 0

    @classmethod
    def from_dict(cls, stats: Mapping[str, Any]) -> ESHMStats:
        """The fields of ``stats`` (``get_stats()``'s dict) that this class has."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in stats.items() if k in names})
