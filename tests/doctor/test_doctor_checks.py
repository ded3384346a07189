"""Each check called directly on real files: databases, migrations, stored tokens, shops, socket, disk, clock."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path
from types import SimpleNamespace

import aiohttp
import aiosqlite
import pytest

from outboxd.config import DaemonConfig, ShopConfig, load_config
from outboxd.doctor import (
    DISK_FAIL_BYTES,
    DISK_WARN_BYTES,
    Status,
    StoredToken,
    check_clock,
    check_disk,
    check_listeners,
    check_migrations,
    check_outbox_sqlite,
    check_shop,
    check_socket,
    check_state_database,
    check_stored_tokens,
    read_stored_tokens,
)
from outboxd.pennylane import BRIDGE_SCOPES
from outboxd.pennylane_simulator import SandboxHandle
from outboxd.secrets import Secret, TokenCipher, generate_key, read_secret
from outboxd.store import apply_migrations, known_migrations, open_store
from tests.doctor.conftest import Install, ServiceUser, daemon_socket, make_outbox


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


def store_connection(install: Install, shop_id: str, cipher: TokenCipher, **values: object) -> None:
    row = {
        "shop_id": shop_id,
        "kind": "oauth",
        "access_token_ct": cipher.encrypt("access-token-value"),
        "refresh_token_ct": cipher.encrypt("refresh-token-value"),
        "expires_at": None,
        "scopes": " ".join(BRIDGE_SCOPES),
        "state": "connected",
        "updated_at": "2026-01-01T00:00:00.000000Z",
        **values,
    }
    with closing(sqlite3.connect(install.state)) as conn, conn:
        conn.execute(
            f"INSERT INTO connections ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",  # noqa: S608
            list(row.values()),
        )


# -- state database and migrations ---------------------------------------------------------------------------


def test_a_state_database_not_yet_created_is_a_warning(tmp_path: Path) -> None:
    result = check_state_database(tmp_path / "state.sqlite3")
    assert result.status is Status.WARN
    assert "creates it" in result.fix
    assert check_migrations(tmp_path / "state.sqlite3").status is Status.SKIP


def test_a_missing_state_directory_fails(tmp_path: Path) -> None:
    result = check_state_database(tmp_path / "nowhere" / "state.sqlite3")
    assert result.status is Status.FAIL
    assert "install -d -o outboxd" in result.fix


def test_a_file_that_is_not_a_database_fails_with_restore_as_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    path.write_bytes(b"this is not SQLite, " * 200)
    result = check_state_database(path)
    assert result.status is Status.FAIL
    assert "not a database" in result.summary
    assert "restore the last backup" in result.fix


def test_a_read_only_state_database_fails(install: Install, service_user: ServiceUser) -> None:
    state = service_user.directory / "state.sqlite3"
    shutil.copy(install.state, state)  # a healthy database, the service user's own
    service_user.own(state)
    assert service_user.check_state_database(state).status is Status.OK  # writable while its mode allows it
    state.chmod(0o400)
    result = service_user.check_state_database(state)
    assert result.status is Status.FAIL
    assert "readonly" in result.summary
    assert "chown" in result.fix


def test_a_healthy_state_database_is_writable_and_passes_quick_check(install: Install) -> None:
    result = check_state_database(install.state)
    assert result.status is Status.OK
    assert "quick_check ok" in result.summary


def test_a_schema_newer_than_the_code_fails(install: Install) -> None:
    newer = known_migrations()[-1].version + 1
    with closing(sqlite3.connect(install.state)) as conn, conn:
        conn.execute("INSERT INTO schema_migrations (version, name) VALUES (?, 'from_the_future')", (newer,))
    result = check_migrations(install.state)
    assert result.status is Status.FAIL
    assert f"at version {newer}" in result.summary
    assert "install the newer outboxd" in result.fix


async def test_a_schema_one_migration_behind_warns_then_is_current_after_start(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite3"
    known = known_migrations()
    async with aiosqlite.connect(state) as conn:  # the store's migration API, stopped one short
        await apply_migrations(conn, known[:-1])
    behind = check_migrations(state)
    assert behind.status is Status.WARN
    assert f"{known[-1].version:04d}_{known[-1].name}" in behind.summary
    assert "back up the state database" in behind.fix
    async with open_store(state, owner="t"):  # what `outboxd run` does at start
        pass
    current = check_migrations(state)
    assert current.status is Status.OK
    assert f"current: version {known[-1].version}" in current.summary


# -- outbox ----------------------------------------------------------------------------------------------------


def test_a_missing_outbox_table_fails(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    make_outbox(path, with_table=False)
    result = check_outbox_sqlite(path)
    assert result.status is Status.FAIL
    assert "has no outbox table" in result.summary
    assert "outbox-contract.md" in result.fix


def test_an_outbox_without_the_contract_columns_fails_naming_them(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("CREATE TABLE outbox (id INTEGER PRIMARY KEY, event_id TEXT, shop_id TEXT, payload TEXT)")
    result = check_outbox_sqlite(path)
    assert result.status is Status.FAIL
    assert "aggregate_id, created_at, event_type, occurred_at" in result.summary


def test_an_outbox_not_in_wal_mode_fails(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    make_outbox(path)
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA journal_mode = DELETE")
    result = check_outbox_sqlite(path)
    assert result.status is Status.FAIL
    assert "journal_mode=WAL" in result.fix


def test_a_missing_outbox_file_fails_and_is_not_created(tmp_path: Path) -> None:
    result = check_outbox_sqlite(tmp_path / "outbox.sqlite3")
    assert result.status is Status.FAIL
    assert not (tmp_path / "outbox.sqlite3").exists()


# -- stored tokens and shops ---------------------------------------------------------------------------------


def test_stored_tokens_decrypt_with_the_configured_key(install: Install) -> None:
    store_connection(install, "shop-2", TokenCipher(read_secret(install.key)))
    result = check_stored_tokens(install.state, install.key)
    assert result.status is Status.OK
    assert "1 shop(s)" in result.summary


def test_a_replaced_token_key_cannot_decrypt_and_fails(install: Install) -> None:
    store_connection(install, "shop-2", TokenCipher(generate_key()))
    result = check_stored_tokens(install.state, install.key)
    assert result.status is Status.FAIL
    assert "shop-2" in result.summary
    assert "restore the token key" in result.fix
    assert read_stored_tokens(install.state, install.key)["shop-2"].access_token is None


def _stored(token: str, **values: object) -> StoredToken:
    fields: dict[str, object] = {
        "shop_id": "shop-2",
        "kind": "oauth",
        "state": "connected",
        "access_token": Secret(token),
        "has_refresh_token": True,
        "expires_at": dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
        "scopes": BRIDGE_SCOPES,
        **values,
    }
    return StoredToken(**fields)  # type: ignore[arg-type]


async def test_a_stored_oauth_token_is_checked_with_get_me(install: Install, session: aiohttp.ClientSession) -> None:
    config = load_config(install.config)
    token = install.sandbox.issue_api_token(install.company_id, BRIDGE_SCOPES)
    shop = ShopConfig(shop_id="shop-2")
    assert (await check_shop(config, shop, session, _stored(token))).status is Status.OK
    no_refresh = await check_shop(config, shop, session, _stored(token, has_refresh_token=False))
    assert no_refresh.status is Status.WARN
    assert "no refresh token" in no_refresh.summary


async def test_stored_connection_states_are_reported_without_asking_pennylane(
    install: Install, session: aiohttp.ClientSession
) -> None:
    config = load_config(install.config)
    shop = ShopConfig(shop_id="shop-2")
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    missing = await check_shop(config, shop, session, None)
    assert (missing.status, missing.fix) == (Status.WARN, "outboxd ctl connect shop-2")
    dead = await check_shop(config, shop, session, _stored("x" * 20, state="reconnect_needed"))
    assert (dead.status, dead.fix) == (Status.FAIL, "outboxd ctl connect shop-2")
    expired = await check_shop(config, shop, session, _stored("x" * 20, expires_at=past))
    assert expired.status is Status.OK  # never refreshed here: the daemon holds the pair
    assert "refreshes it on use" in expired.summary
    stuck = await check_shop(config, shop, session, _stored("x" * 20, expires_at=past, has_refresh_token=False))
    assert stuck.status is Status.FAIL
    unreadable = await check_shop(config, shop, session, _stored("x", access_token=None))
    assert unreadable.status is Status.FAIL


# -- socket, disk, clock -------------------------------------------------------------------------------------


async def test_a_daemon_answering_on_the_socket_is_ok_and_none_is_a_warning(install: Install) -> None:
    assert (await check_socket(install.socket)).status is Status.WARN
    async with daemon_socket(install.socket):
        result = await check_socket(install.socket)
    assert result.status is Status.OK
    assert "1 shop(s)" in result.summary


@pytest.mark.parametrize(
    ("free", "status"),
    [(DISK_WARN_BYTES * 5, Status.OK), (DISK_WARN_BYTES - 1, Status.WARN), (DISK_FAIL_BYTES - 1, Status.FAIL)],
)
def test_disk_space_thresholds(tmp_path: Path, free: int, status: Status) -> None:
    seen: list[Path] = []

    def usage(path: Path) -> SimpleNamespace:
        seen.append(path)
        return SimpleNamespace(free=free)

    result = check_disk(tmp_path / "not-yet" / "created", usage=usage)
    assert result.status is status
    assert seen == [tmp_path]  # the nearest existing directory


@pytest.mark.parametrize(("skew", "status"), [(0.0, Status.OK), (60.0, Status.WARN), (-600.0, Status.FAIL)])
async def test_the_clock_is_compared_with_pennylanes_date_header(
    sandbox: SandboxHandle, session: aiohttp.ClientSession, skew: float, status: Status
) -> None:
    result = await check_clock(sandbox.api_url, session, now=lambda: time.time() + skew)
    assert result.status is status, result.summary
    if status is not Status.OK:
        assert "timedatectl" in result.fix
        assert ("behind" if skew < 0 else "ahead of") in result.summary


@pytest.mark.parametrize(
    ("metrics", "callback", "status", "named"),
    [
        ("127.0.0.1:9464", "127.0.0.1", Status.OK, None),
        (None, "localhost", Status.OK, None),
        ("[::1]:9464", "::1", Status.OK, None),
        ("0.0.0.0:9464", "127.0.0.1", Status.WARN, "daemon.metrics_listen = 0.0.0.0"),
        ("127.0.0.1:9464", "192.168.1.20", Status.WARN, "daemon.callback_host = 192.168.1.20"),
        ("127.0.0.1:9464", "bridge.example", Status.WARN, "daemon.callback_host = bridge.example"),
    ],
)
def test_a_listener_on_a_non_loopback_address_is_a_warning(
    metrics: str | None, callback: str, status: Status, named: str | None
) -> None:
    result = check_listeners(DaemonConfig(metrics_listen=metrics, callback_host=callback))
    assert result.status is status
    if named is not None:
        assert named in result.summary
        assert "127.0.0.1" in result.fix
