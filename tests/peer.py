"""The audit actor a control call from this test process is recorded as (the daemon reads the socket's peer)."""

from __future__ import annotations

import os

from outboxd.control.server import audit_actor, login


def audited(declared: str) -> str:
    """What the audit log says for a client of this process that declared itself ``declared``."""
    return audit_actor(login(os.getuid()), declared)
