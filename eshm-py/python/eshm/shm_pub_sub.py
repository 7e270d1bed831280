"""The API of the SHM library's Python module, ``shm_pub_sub``: an SHM script runs on eshm
with its import line changed to ``from eshm import shm_pub_sub``.

``Publisher(name, default_value, buffer_num)``, ``Subscriber(name, default_value)`` and
``subscribe() -> (value, is_success)`` behave as in SHM: ``subscribe()`` returns the newest
value, successfully while it is younger than the data expiry (2 s; see
``setDataExpiryTime_us``), the last value stays readable after its publisher exits, and a
leading ``/`` in a name is ignored."""

from ._eshm import Publisher, Subscriber

__all__ = ["Publisher", "Subscriber"]
