"""The daemon behind the control API (docs/control-api.md): :class:`DaemonControl` answers each call from the
store and the lanes, through the part that owns it.

- ``backend``: the wiring; the shops' status, pause and resume, backfill routing, the audit listing.
- ``connect``: OAuth and company API token connects, disconnect, and the ``Connection`` a status shows.
- ``failed``: failed deliveries: the listing, one delivery's detail, retry and discard (one or in bulk).
- ``mapping``: the journals and accounts a shop's mapping books on, and whether each exists in Pennylane.

The store is the truth for queues, failures, attempts and the audit log; the lanes for what only the running
process knows (connection health, rate-limit usage, throughput, pause). Mutating calls are audited once: by the
store method that changes state when it audits (pause, retry, discard, bulk), else by the part with
``audit.append``. Backfills are the ``Backfiller``'s, which the backend is given and only routes to.
"""

from outboxd.daemon.operations.backend import DaemonControl
from outboxd.daemon.operations.mapping import mapping_accounts

__all__ = ["DaemonControl", "mapping_accounts"]
