"""Migration 0005: a customer's 411 number may be NULL (read only for display), on both backends.

A database written before it keeps its customers and their numbers; a customer saved without a number gets one
later with ``save_customer_number``.
"""

from __future__ import annotations

from pathlib import Path

import aiosqlite
import asyncpg
from store_helpers import FakeClock

from outboxd.store import known_migrations, open_store
from outboxd.store.migrate import apply_migrations
from outboxd.store.pg.migrate import apply_pg_migrations

_ROW = ("s1", "kashclick:s1:c-1", 8, 43, "411C1")


async def _write_version_4_with_a_customer(backend: str, state_path: Path | str) -> None:
    if backend == "sqlite":
        async with aiosqlite.connect(state_path) as conn:
            await apply_migrations(conn, known_migrations()[:4])
            await conn.execute("INSERT INTO customers VALUES (?, ?, ?, ?, ?)", _ROW)
            await conn.commit()
        return
    conn = await asyncpg.connect(str(state_path))
    try:
        await apply_pg_migrations(conn, known_migrations("postgres")[:4])
        await conn.execute("INSERT INTO customers VALUES ($1, $2, $3, $4, $5)", *_ROW)
    finally:
        await conn.close()


async def test_customers_of_before_keep_their_number_and_new_ones_may_have_none(
    backend: str, state_path: Path | str, clock: FakeClock
) -> None:
    await _write_version_4_with_a_customer(backend, state_path)
    async with open_store(state_path, owner="test", clock=clock) as store:
        before = await store.caches.customer("s1", "kashclick:s1:c-1")
        assert before is not None
        assert (before.customer_id, before.ledger_account_id, before.account_number) == (8, 43, "411C1")

        await store.caches.save_customer("s1", "kashclick:s1:c-2", 9, 44)
        new = await store.caches.customer("s1", "kashclick:s1:c-2")
        assert new is not None
        assert (new.ledger_account_id, new.account_number) == (44, None)

        await store.caches.save_customer_number("s1", "kashclick:s1:c-2", "411C2")
        await store.caches.save_customer_number("s1", "kashclick:s1:unknown", "411X")  # no row: nothing written
        read = await store.caches.customer("s1", "kashclick:s1:c-2")
        assert read is not None
        assert (read.customer_id, read.ledger_account_id, read.account_number) == (9, 44, "411C2")
        assert await store.caches.customer("s1", "kashclick:s1:unknown") is None
