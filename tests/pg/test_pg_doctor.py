"""``outboxd doctor`` on PostgreSQL: the state database and Kash.Click's outbox checked on a real server."""

from __future__ import annotations

import secrets
from pathlib import Path

import asyncpg
from bridge_setup import Bridge
from pg_helpers import to_postgres
from store_helpers import FakeClock

from outboxd.doctor import run_doctor
from outboxd.doctor.postgres import check_pg_migrations, check_pg_outbox, check_pg_state
from outboxd.doctor.result import CheckResult, Status
from outboxd.store import known_migrations, open_store
from outboxd.store.pg.store import PgStore


def by_check(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.check: r for r in results}


async def test_a_healthy_installation_on_postgresql(outbox_url: str, tmp_path: Path, clock: FakeClock) -> None:
    async with open_store(outbox_url, owner="doctor-test", clock=clock):
        pass  # what the first `outboxd run` does: the schema
    bridge = Bridge(tmp_path / "bridge", "http://127.0.0.1:9/api/external/v2", {"shop-1": "token"}).write()
    to_postgres(bridge.config_path, outbox_url)
    found = by_check(await run_doctor(bridge.config_path, offline=True))
    assert found["state_database"].status is Status.OK, found["state_database"]
    assert found["migrations"].status is Status.OK, found["migrations"]
    assert str(known_migrations("postgres")[-1].version) in found["migrations"].summary
    assert found["outbox"].status is Status.OK, found["outbox"]
    assert "NOTIFY trigger present" in found["outbox"].summary
    assert found["stored_tokens"].status is Status.OK
    assert found["disk"].status is Status.SKIP


async def test_a_database_before_the_first_start_warns(pg_url: str) -> None:
    state, migrations = await check_pg_state(pg_url), await check_pg_migrations(pg_url)
    assert state.status is Status.WARN
    assert "no tables yet" in state.summary
    assert migrations.status is Status.WARN
    assert "pending" in migrations.summary
    outbox = await check_pg_outbox(pg_url)
    assert outbox.status is Status.FAIL
    assert "has no outbox table" in outbox.summary


async def test_an_outbox_without_the_trigger_warns_and_one_not_bigserial_fails(outbox_url: str) -> None:
    conn = await asyncpg.connect(outbox_url)
    try:
        await conn.execute("DROP TRIGGER outbox_notify ON outbox")
        found = await check_pg_outbox(outbox_url)
        assert found.status is Status.WARN
        assert "safety poll" in found.summary
        assert "outbox.sql" in found.fix
        await conn.execute("ALTER TABLE outbox ALTER COLUMN id DROP DEFAULT; DROP SEQUENCE outbox_id_seq")
        found = await check_pg_outbox(outbox_url)
        assert found.status is Status.FAIL
        assert "BIGSERIAL" in found.summary
        await conn.execute("ALTER TABLE outbox DROP COLUMN aggregate_id")
        found = await check_pg_outbox(outbox_url)
        assert found.status is Status.FAIL
        assert "aggregate_id" in found.summary
    finally:
        await conn.close()


async def test_a_role_without_select_is_told_the_grant(outbox_url: str) -> None:
    role = f"outboxd_doctor_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(outbox_url)
    await admin.execute(f"CREATE ROLE {role} LOGIN")
    try:
        found = await check_pg_outbox(outbox_url.replace("postgres@", f"{role}@"))
        assert found.status is Status.FAIL
        assert f"GRANT SELECT ON outbox TO {role}" in found.fix
        state = await check_pg_state(outbox_url.replace("postgres@", f"{role}@"))
        assert state.status is Status.FAIL  # PostgreSQL >= 15: no CREATE on schema public for other roles
        assert "may not create tables" in state.summary
    finally:
        await admin.execute(f"DROP OWNED BY {role}; DROP ROLE {role}")
        await admin.close()


async def test_an_unreachable_server_fails_without_showing_the_password() -> None:
    url = "postgresql://outboxd:s3cret-pw@127.0.0.1:1/outboxd"
    for check in (check_pg_state, check_pg_migrations, check_pg_outbox):
        found = await check(url)
        assert found.status is Status.FAIL
        assert "s3cret-pw" not in found.summary
        assert "outboxd:***@127.0.0.1:1" in found.summary


async def test_a_schema_newer_than_the_code_fails(state_path: str, clock: FakeClock) -> None:
    async with open_store(state_path, owner="doctor-test", clock=clock) as store:
        assert isinstance(store, PgStore)
        await store.pg.write("INSERT INTO schema_migrations (version, name) VALUES (999, 'future')")
    found = await check_pg_migrations(state_path)
    assert found.status is Status.FAIL
    assert "version 999" in found.summary
