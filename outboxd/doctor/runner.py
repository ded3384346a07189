"""Run every check of ``outboxd doctor``: the configuration first, then the rest at once where it waits on I/O.

File and SQLite checks run in worker threads, the socket and Pennylane checks on the event loop; the results come
back in a fixed order so that two reports of the same machine read the same.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import time
from collections.abc import Awaitable
from pathlib import Path

import aiohttp

from outboxd.config import Config
from outboxd.doctor.databases import check_migrations, check_outbox_sqlite, check_state_database
from outboxd.doctor.files import check_config, check_secret, secret_path, secret_refs
from outboxd.doctor.host import DiskUsage, check_disk, check_listeners, check_socket
from outboxd.doctor.postgres import (
    check_pg_migrations,
    check_pg_outbox,
    check_pg_state,
    check_pg_tokens,
    read_pg_tokens,
)
from outboxd.doctor.remote import Clock, check_clock, check_shop
from outboxd.doctor.result import CheckResult
from outboxd.doctor.tokens import check_stored_tokens, read_stored_tokens

__all__ = ["run_checks", "run_doctor"]


async def run_doctor(
    config_path: Path | str, *, offline: bool = False, now: Clock = time.time, disk_usage: DiskUsage = shutil.disk_usage
) -> list[CheckResult]:
    """Every check for the configuration at ``config_path``; only the first when the configuration is invalid."""
    result, config = await asyncio.to_thread(check_config, config_path)
    if config is None:
        return [result]
    return [result, *await run_checks(config, offline=offline, now=now, disk_usage=disk_usage)]


async def run_checks(
    config: Config, *, offline: bool = False, now: Clock = time.time, disk_usage: DiskUsage = shutil.disk_usage
) -> list[CheckResult]:
    """The checks that follow a valid configuration, run concurrently."""
    daemon = config.daemon
    state, url = daemon.state_database, daemon.state_database_url
    key = secret_path(config.secrets.token_key_file)
    checks: list[Awaitable[CheckResult]] = [
        *(
            (check_pg_state(url), check_pg_migrations(url))
            if url
            else (asyncio.to_thread(check_state_database, state), asyncio.to_thread(check_migrations, state))
        ),
        check_pg_outbox(daemon.outbox_database)
        if daemon.outbox_is_postgres
        else asyncio.to_thread(check_outbox_sqlite, Path(daemon.outbox_database)),
        *(asyncio.to_thread(check_secret, ref) for ref in secret_refs(config)),
        check_pg_tokens(url, key) if url else asyncio.to_thread(check_stored_tokens, state, key),
        check_socket(daemon.control_socket),
        _now(check_listeners(daemon)),
        _skipped_disk() if url else asyncio.to_thread(check_disk, state.parent, usage=disk_usage),
    ]
    results = list(await asyncio.gather(*checks))
    return results + await _remote(config, key, offline=offline, now=now)


async def _now(result: CheckResult) -> CheckResult:
    return result


async def _skipped_disk() -> CheckResult:
    return CheckResult.skip("disk", "disk space", "the state is in PostgreSQL: watch the database server's disk")


async def _remote(config: Config, key: Path, *, offline: bool, now: Clock) -> list[CheckResult]:
    shops = [shop for shop in config.shops.values() if shop.enabled]
    if offline:
        skipped = [CheckResult.skip(f"shop.{s.shop_id}", f"shop {s.shop_id}", "--offline") for s in shops]
        return [*skipped, CheckResult.skip("clock", "clock", "--offline")]
    try:
        stored = (
            await read_pg_tokens(config.daemon.state_database_url, key)
            if config.daemon.state_database_url
            else await asyncio.to_thread(read_stored_tokens, config.daemon.state_database, key)
        )
    except sqlite3.DatabaseError:  # the state database check reports why
        stored = {}
    async with aiohttp.ClientSession() as session:
        return list(
            await asyncio.gather(
                *(check_shop(config, shop, session, stored.get(shop.shop_id), now=now) for shop in shops),
                check_clock(config.pennylane.api_url, session, now=now),
            )
        )
