"""The shops' stored Pennylane tokens: read from the state database's ``connections`` table and decrypted.

Read here with plain SQL rather than through the Store, because opening the Store migrates the schema and the
doctor must not change anything. The token key is read once; a key that cannot decrypt what is stored means the
key file was replaced and every OAuth shop must reconnect (or the old key be restored).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from outboxd.doctor.databases import connect
from outboxd.doctor.result import CheckResult
from outboxd.exceptions import ConfigError
from outboxd.secrets import Secret, TokenCipher, read_secret

__all__ = ["StoredToken", "check_stored_tokens", "check_token_rows", "read_stored_tokens", "tokens_from_rows"]

Row = Any
"""A ``connections`` row by column name: sqlite3.Row or asyncpg.Record."""


@dataclass(frozen=True, slots=True)
class StoredToken:
    """A shop's stored connection; ``access_token`` is None when the key cannot decrypt it."""

    shop_id: str
    kind: str
    state: str
    access_token: Secret | None = field(repr=False)
    has_refresh_token: bool
    expires_at: dt.datetime | None
    scopes: tuple[str, ...]


def _rows(path: Path) -> list[sqlite3.Row]:
    if not path.exists():
        return []
    with closing(connect(path)) as conn:
        conn.row_factory = sqlite3.Row
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'connections'").fetchone():
            return []
        return list(conn.execute("SELECT * FROM connections ORDER BY shop_id"))


def _decrypt(cipher: TokenCipher | None, text: str | None) -> Secret | None:
    if cipher is None or text is None:
        return None
    try:
        return cipher.decrypt(text)
    except ConfigError:
        return None


def read_stored_tokens(state_database: Path, token_key: Path) -> dict[str, StoredToken]:
    """Every stored connection by shop id, decrypted where the key allows (an unreadable key decrypts nothing)."""
    return tokens_from_rows(_rows(state_database), token_key)


def tokens_from_rows(rows: Iterable[Row], token_key: Path) -> dict[str, StoredToken]:
    """The ``connections`` rows of either backend, by shop id."""
    try:
        cipher: TokenCipher | None = TokenCipher(read_secret(token_key))
    except ConfigError:
        cipher = None
    stored = {}
    for row in rows:
        expires = dt.datetime.fromisoformat(row["expires_at"]) if row["expires_at"] else None
        stored[row["shop_id"]] = StoredToken(
            row["shop_id"],
            row["kind"],
            row["state"],
            _decrypt(cipher, row["access_token_ct"]),
            bool(row["refresh_token_ct"]),
            expires,
            tuple(row["scopes"].split()),
        )
    return stored


def check_stored_tokens(state_database: Path, token_key: Path) -> CheckResult:
    """Every stored token (access and refresh) decrypts with the configured key."""
    try:
        rows = _rows(state_database)
    except sqlite3.DatabaseError as exc:
        return CheckResult.skip("stored_tokens", "stored tokens", f"cannot read the state database ({exc})")
    return check_token_rows(rows, token_key)


def check_token_rows(rows: list[Row], token_key: Path) -> CheckResult:
    """The ``connections`` rows of either backend decrypt with the configured key."""
    check, title = "stored_tokens", "stored tokens"
    try:
        cipher = TokenCipher(read_secret(token_key))
    except ConfigError as exc:
        return CheckResult.skip(check, title, f"cannot use the token key ({exc.reason})")
    if not rows:
        return CheckResult.ok(check, title, "no stored tokens yet")
    refused = sorted(
        {
            row["shop_id"]
            for row in rows
            for text in (row["access_token_ct"], row["refresh_token_ct"])
            if text is not None and _decrypt(cipher, text) is None
        }
    )
    if refused:
        summary = f"{token_key} cannot decrypt the tokens of {', '.join(refused)}: it is not the key that made them"
        fix = "restore the token key from its backup, or reconnect those shops: outboxd ctl connect <shop>"
        return CheckResult.fail(check, title, summary, fix)
    return CheckResult.ok(check, title, f"the key decrypts the tokens of {len(rows)} shop(s)")
