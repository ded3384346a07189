"""Checks of the two databases: the state database (ours) and Kash.Click's outbox (read only).

The doctor never changes either: it opens the state database without creating it, proves it writable with a
``BEGIN IMMEDIATE`` it rolls back, and compares its migrations with the code's instead of applying them (that is
``outboxd run``'s job, after a backup). Reads use the stdlib's sqlite3 from a worker thread.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from urllib.parse import quote

from outboxd.contract import ddl
from outboxd.doctor.result import CheckResult
from outboxd.store import known_migrations
from outboxd.store.migrate import Migration

__all__ = [
    "check_migrations",
    "check_outbox_sqlite",
    "check_state_database",
    "connect",
    "contract_columns",
    "migrations_result",
    "outbox_result",
]

_TIMEOUT = 5.0
_RESTORE = "stop outboxd and restore the last backup (docs/operations.md, Backup and restore)"


def connect(path: Path | str) -> sqlite3.Connection:
    """An autocommit connection to an existing SQLite file (``mode=rw`` never creates one)."""
    return sqlite3.connect(f"file:{quote(str(path))}?mode=rw", uri=True, timeout=_TIMEOUT, isolation_level=None)


def check_state_database(path: Path) -> CheckResult:
    """Reachable, writable (a write made and rolled back), and ``PRAGMA quick_check`` says ok.

    The write lock alone proves nothing: in WAL mode it lives in the ``-shm`` file, so a read-only database
    (mode 0400, another owner) takes it all the same and refuses only the first write.
    """
    check, title = "state_database", "state database"
    if not path.exists():
        if not path.parent.is_dir():
            fix = f"install -d -o outboxd -g outboxd -m 0700 {path.parent} (systemd does it: StateDirectory=)"
            return CheckResult.fail(check, title, f"{path.parent} does not exist", fix)
        fix = "nothing to do: the first `outboxd run` (systemctl start outboxd) creates it"
        return CheckResult.warn(check, title, f"{path} does not exist yet", fix)
    try:
        with closing(connect(path)) as conn:
            problems = [str(row[0]) for row in conn.execute("PRAGMA quick_check")]
            conn.execute("BEGIN IMMEDIATE")
            try:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                conn.execute(f"PRAGMA user_version = {int(version)}")  # the same value, rolled back
            finally:
                conn.execute("ROLLBACK")
    except sqlite3.DatabaseError as exc:
        return CheckResult.fail(check, title, f"{path}: {exc}", _db_fix(path, exc))
    if problems != ["ok"]:
        return CheckResult.fail(check, title, f"{path}: quick_check found {'; '.join(problems[:3])}", _RESTORE)
    return CheckResult.ok(check, title, f"{path}: writable, quick_check ok")


def _db_fix(path: Path, exc: sqlite3.DatabaseError) -> str:
    text = str(exc)
    if "readonly" in text or "unable to open" in text:
        return f"chown -R outboxd:outboxd {path.parent}; chmod 0600 {path} (and its -wal, -shm)"
    if "locked" in text:
        return "another process holds a write lock for more than 5 s: find it with fuser " + str(path)
    if "not a database" in text or "malformed" in text:
        return _RESTORE
    return "see the message; " + _RESTORE


def check_migrations(path: Path) -> CheckResult:
    """The schema version against the code's migrations: behind is applied at next start, newer cannot run."""
    check, title = "migrations", "migrations"
    known = known_migrations()
    newest = known[-1]
    if not path.exists():
        return CheckResult.skip(check, title, f"no state database yet: version {newest.version} at first start")
    try:
        with closing(connect(path)) as conn:
            exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
            rows = conn.execute("SELECT version FROM schema_migrations").fetchall() if exists.fetchone() else []
    except sqlite3.DatabaseError as exc:
        return CheckResult.fail(check, title, f"{path}: {exc}", _db_fix(path, exc))
    return migrations_result({int(row[0]) for row in rows}, known)


def migrations_result(applied: set[int], known: list[Migration]) -> CheckResult:
    """Applied versions against the code's: behind is applied at next start, newer cannot run (both backends)."""
    check, title = "migrations", "migrations"
    newest = known[-1]
    if applied and max(applied) > newest.version:
        summary = f"the database is at version {max(applied)}, this outboxd knows up to {newest.version}"
        fix = "install the newer outboxd that wrote it, or restore a backup taken before the upgrade"
        return CheckResult.fail(check, title, summary, fix)
    pending = [f"{m.version:04d}_{m.name}" for m in known if m.version not in applied]
    if pending:
        summary = f"{len(pending)} pending ({', '.join(pending)}): applied at the next start"
        fix = "back up the state database, then systemctl restart outboxd"
        return CheckResult.warn(check, title, summary, fix)
    return CheckResult.ok(check, title, f"current: version {newest.version} ({newest.name})")


def contract_columns() -> frozenset[str]:
    """The outbox columns of the contract, read from the very DDL Kash.Click is given."""
    with closing(sqlite3.connect(":memory:")) as conn:
        conn.executescript(ddl("sqlite"))
        return frozenset(str(row[1]) for row in conn.execute("PRAGMA table_info(outbox)"))


def check_outbox_sqlite(path: Path) -> CheckResult:
    """The file exists, has the contract's outbox table, is in WAL mode and can be read."""
    check, title = "outbox", "outbox database"
    if not path.is_file():
        fix = "set daemon.outbox_database to Kash.Click's outbox file (docs/outbox-contract.md gives its DDL)"
        return CheckResult.fail(check, title, f"{path} does not exist", fix)
    try:
        with closing(connect(path)) as conn:
            columns = {str(row[1]) for row in conn.execute("PRAGMA table_info(outbox)")}
            mode = str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower()
            last = conn.execute("SELECT MAX(id) FROM outbox").fetchone()[0] if columns else None
    except sqlite3.DatabaseError as exc:
        fix = "give outboxd read access: usermod -aG kashclick outboxd, and ReadWritePaths= on its directory"
        return CheckResult.fail(check, title, f"{path}: {exc}", fix)
    return outbox_result(str(path), columns, mode == "wal", last)


def outbox_result(where: str, columns: set[str], wal: bool, last: int | None) -> CheckResult:
    """The outbox table present with the contract's columns (and, for SQLite, in WAL mode)."""
    check, title = "outbox", "outbox database"
    if not columns:
        fix = "Kash.Click creates it with docs/outbox-contract.md's DDL; or fix daemon.outbox_database"
        return CheckResult.fail(check, title, f"{where} has no outbox table", fix)
    missing = sorted(contract_columns() - columns)
    if missing:
        fix = "Kash.Click's outbox must follow docs/outbox-contract.md (contract version 1)"
        return CheckResult.fail(check, title, f"{where}: outbox lacks column(s) {', '.join(missing)}", fix)
    if not wal:
        return CheckResult.fail(
            check, title, f"{where} is not in WAL mode", f"have Kash.Click run PRAGMA journal_mode=WAL on {where}"
        )
    return CheckResult.ok(check, title, f"{where}: outbox table readable, last id {last or 0}")
