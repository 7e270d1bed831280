"""The API of the SHM library's Python module, ``shm_pub_sub``: an SHM script runs on eshm
with its import line changed to ``from eshm import shm_pub_sub``.

``Publisher(name, default_value, buffer_num)``, ``Subscriber(name, default_value)`` and
``subscribe() -> (value, is_success)`` behave as in SHM: ``subscribe()`` returns the newest
value, successfully while it is younger than the data expiry (2 s; see
``setDataExpiryTime_us``), the last value stays readable after its publisher exits, and a
leading ``/`` in a name is ignored.

SHM's services and actions (C++ only in SHM) are here under their SHM names too:
``ServiceServer``, ``ServiceClient`` (``call(request, timeout_us) -> (ok, response)``),
``ActionServer`` (``waitNewGoalAvailable``, ``acceptNewGoal``, ``rejectNewGoal``,
``isPreemptRequested``, ``setPreempted``, ``publishResult``, ``publishFeedback``),
``ActionClient`` (``sendGoal``, ``waitForResult``, ``getResult``, ``getFeedback``,
``getStatus``, ``cancelGoal``, ``isServerConnected``, ``waitForServer``) and
``ACTION_STATUS`` (``ACTIVE``, ``REJECTED``, ``SUCCEEDED``, ``PREEMPTED``, plus ``PENDING``
and ``ABORTED``). Their types are given as in eshm: ``ServiceServer(name, request_type,
response_type, handler)``."""

from ._eshm import (
    ACTION_STATUS,
    ActionClient,
    ActionServer,
    Publisher,
    ServiceClient,
    ServiceServer,
    Subscriber,
)

__all__ = [
    "ACTION_STATUS",
    "ActionClient",
    "ActionServer",
    "Publisher",
    "ServiceClient",
    "ServiceServer",
    "Subscriber",
]
