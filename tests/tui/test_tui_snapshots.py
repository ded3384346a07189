"""Snapshots of the main screens at 80x24 (update with ``pytest --snapshot-update`` after a deliberate change)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot
from tui_session import ServedDaemon, settle

from tui.app import OutboxdApp


def test_overview(snap_compare: Any, make_app: Callable[[], OutboxdApp]) -> None:
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=settle)


def test_failed(snap_compare: Any, make_app: Callable[[], OutboxdApp]) -> None:
    async def open_failed(pilot: Pilot[None]) -> None:
        await settle(pilot)
        pilot.app.action_failed()  # type: ignore[attr-defined]
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=open_failed)


def test_backfill(snap_compare: Any, make_app: Callable[[], OutboxdApp], served: ServedDaemon) -> None:
    asyncio.run(served.daemon.backfill_start("paris-01", "ops", "2025-01-01", "detailed"))

    async def open_backfill(pilot: Pilot[None]) -> None:
        await settle(pilot)
        pilot.app.action_backfill("paris-01")  # type: ignore[attr-defined]
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=open_backfill)
