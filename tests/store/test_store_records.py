"""Sent entries, id caches, connections (encrypted at rest), pending OAuth flows, shops and backfills."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from store_helpers import FakeClock, Producer, sqlite_only

from outboxd.exceptions import StoreError
from outboxd.outbox import OutboxSource
from outboxd.store import Connection, OAuthPending, Store, open_store


def _file_bytes(path: Path) -> bytes:
    """The database file and its WAL, where a page may still live."""
    wal = Path(f"{path}-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


class ReversingCipher:
    """Stands for TokenCipher: enough to tell ciphertext from plaintext."""

    def encrypt(self, plaintext: str) -> str:
        return "ct:" + plaintext[::-1]

    def decrypt(self, ciphertext: str) -> str:
        assert ciphertext.startswith("ct:")
        return ciphertext[3:][::-1]


async def test_entry_recorded_before_post_then_unknown_then_posted(
    store: Store, source: OutboxSource, producer: Producer
) -> None:
    producer.insert("order:a")
    await store.deliveries.ingest_from(source)
    (a,) = await store.deliveries.claim(10)
    assert await store.entries.record_first("shop-1", "KC-r1-1", a.id, 11, dt.date(2026, 3, 14), "h1") is None
    await store.entries.mark_unknown("shop-1", "KC-r1-1")
    again = await store.entries.record_first("shop-1", "KC-r1-1", a.id, 12, dt.date(2026, 3, 14), "h2")
    assert again is not None
    assert (again.state, again.entry_date, again.journal_id, again.body_hash) == ("unknown", "2026-03-14", 11, "h1")
    await store.entries.mark_posted("shop-1", "KC-r1-1", 987)
    with pytest.raises(StoreError, match="record it before"):
        await store.entries.mark_posted("shop-1", "never-recorded", 1)
    assert [e.piece_number for e in await store.entries.of_delivery(a.id)] == ["KC-r1-1"]


async def test_id_caches_per_shop(store: Store) -> None:
    await store.caches.save_journal("s1", "r1", "KC1", 5)
    await store.caches.save_ledger_account("s1", "707100", 42)
    await store.caches.save_customer("s1", "c-77", 8, 43, "411C77")
    await store.caches.save_order_account("s1", "o-1", 43)
    j = await store.caches.journal("s1", "r1")
    assert await store.caches.journal("s2", "r1") is None
    assert j is not None
    assert (j.code, j.pennylane_id) == ("KC1", 5)
    assert await store.caches.ledger_account("s1", "707100") == 42
    customer = await store.caches.customer("s1", "c-77")
    assert customer is not None
    assert customer.account_number == "411C77"
    assert await store.caches.order_account("s1", "o-1") == 43
    await store.caches.forget_shop("s1")
    assert await store.caches.ledger_account("s1", "707100") is None


@sqlite_only  # reads the file's bytes
async def test_tokens_are_stored_encrypted(state_path: Path, clock: FakeClock) -> None:
    expires = clock() + dt.timedelta(hours=24)
    connection = Connection("s1", "oauth", "access-SECRET-1", "refresh-SECRET-1", expires, ("journals:all",), 9,
                            "ACME", "connected")  # fmt: skip
    async with open_store(state_path, owner="t", clock=clock, cipher=ReversingCipher()) as store:
        await store.connections.save(connection)
        await store.connections.save_tokens("s1", "access-SECRET-2", "refresh-SECRET-2", expires)
        loaded = await store.connections.get("s1")
        assert loaded is not None
        assert (loaded.access_token, loaded.refresh_token, loaded.scopes) == ("access-SECRET-2", "refresh-SECRET-2",
                                                                               ("journals:all",))  # fmt: skip
        assert "SECRET" not in repr(loaded)
        await store.connections.add_pending(OAuthPending("st-1", "s1", "verifier-SECRET", expires))
    raw = _file_bytes(state_path)
    with sqlite3.connect(state_path) as conn:
        columns = conn.execute("SELECT access_token_ct, refresh_token_ct FROM connections").fetchone()
    assert columns == ("ct:" + "access-SECRET-2"[::-1], "ct:" + "refresh-SECRET-2"[::-1])
    assert b"SECRET" not in raw
    async with open_store(state_path, owner="t", clock=clock, cipher=ReversingCipher()) as store:
        pending = await store.connections.take_pending("st-1")
        assert pending is not None
        assert pending.code_verifier == "verifier-SECRET"
        assert await store.connections.take_pending("st-1") is None  # single use


async def test_pending_authorizations_until_the_last_expires(state_path: Path, clock: FakeClock) -> None:
    """What keeps the OAuth callback listening, on both backends (its statement once reached PostgreSQL in
    SQLite's dialect and stopped every replica at start)."""
    async with open_store(state_path, owner="t", clock=clock, cipher=ReversingCipher()) as store:
        assert await store.connections.pending_until() is None
        soon, later = clock() + dt.timedelta(minutes=5), clock() + dt.timedelta(minutes=10)
        await store.connections.add_pending(OAuthPending("st-1", "s1", "v1", later))
        await store.connections.add_pending(OAuthPending("st-2", "s2", "v2", soon))
        assert await store.connections.pending_until() == later
        clock.advance(11 * 60)
        assert await store.connections.pending_until() is None  # both expired


async def test_connections_need_a_cipher(store: Store) -> None:
    with pytest.raises(StoreError, match="cipher"):
        await store.connections.save(Connection("s1", "api_token", "tok", None, None, (), None, None, "connected"))


async def test_shops_pause_and_latest_reference_wins(store: Store) -> None:
    await store.shops.pause("s1", "mapping review", actor="alice")
    shop = await store.shops.get("s1")
    assert shop is not None
    assert (shop.paused, shop.pause_reason) == (True, "mapping review")
    await store.shops.resume("s1", actor="alice")
    assert [e.action for e in await store.audit.list(shop_id="s1")] == ["shop.resume", "shop.pause"]
    await store.shops.save_reference("s1", '{"v": 2}', 20)
    await store.shops.save_reference("s1", '{"v": 1}', 10)
    assert await store.shops.reference("s1") == ('{"v": 2}', 20)
    assert await store.shops.ids() == ["s1"]


async def test_backfill_lifecycle(store: Store) -> None:
    from outboxd.store import ImportedEvent

    backfill = await store.backfills.create("s1", dt.date(2026, 1, 1), None, "daily", actor="alice")
    await store.backfills.update(backfill.id, state="running", total_events=2)
    events = [ImportedEvent(f"old-{i}", "s1", "order.recorded", f"order:{i}", "t", "{}") for i in range(2)]
    assert await store.deliveries.ingest_rows(events, backfill_id=backfill.id) == 2
    done = await store.backfills.update(backfill.id, state="done", imported_events=2)
    assert (done.state, done.imported_events, done.started_at is not None, done.finished_at is not None) == (
        "done", 2, True, True)  # fmt: skip
    assert await store.backfills.progress(backfill.id) == {"pending": 2}
    assert all(d.backfill for d in await store.deliveries.claim(10))
