"""One daemon per SQLite state database, held by an advisory lock on a file beside it.

Replicas need PostgreSQL (its lane leases); on SQLite a second ``outboxd run`` on the same state would double
the rate limit per token and take leases the first still works on. Holding the lock also means every lease
found at start belongs to a dead process, so it can be taken back at once instead of after ``lease_seconds``.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from outboxd.exceptions import StoreError

__all__ = ["hold_state_lock"]


@contextmanager
def hold_state_lock(state_database: Path) -> Iterator[Path]:
    """Hold ``<state database>.lock`` (flock, released by the kernel when the process dies, even by kill -9)."""
    path = state_database.with_name(state_database.name + ".lock")
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StoreError(f"cannot open the lock file {path}: {exc.strerror}") from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StoreError(
                f"another outboxd daemon uses the state database {state_database} (it holds {path}): "
                "stop it first (systemctl stop outboxd); several daemons need a PostgreSQL state database"
            ) from None
        yield path
    finally:
        os.close(fd)
