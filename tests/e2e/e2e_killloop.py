"""kill -9 of ``outboxd run`` at random moments while a producer keeps writing the outbox; then the count.

Used by tests/e2e/test_e2e_kill.py and test_e2e_restart_ratelimit.py (bounded) and bench/kill_loop.py (a person
picks the counts). The simulator answers with some latency, so kills land with requests in flight; one kill in five
lands during start-up. With ``rate_limit`` the simulator enforces it and every 429 it sends is counted; with
``token_life`` the shops connect through OAuth and their access tokens live that many seconds (rotated every few
seconds); a kill then waits until no refresh is near (a pair Pennylane issued but the daemon did not save yet is lost
with the process: docs/reliability.md).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from e2e_harness import SHOPS, DaemonProcess, Layout, StateView, World, booked_pieces, expected, folded, settle

from outboxd.pennylane_simulator import Faults, Sandbox, run_sandbox
from outboxd.pennylane_simulator.tokens import ACCESS_TOKEN_LIFETIME
from outboxd.shop_simulator import simulate_shop

ORDERS_PER_DAY = 8


@dataclass
class KillLoopResult:
    events: int
    kills: int
    delivered: int
    lost: int
    """Events not delivered, plus expected piece_numbers missing in Pennylane."""
    duplicates: int
    """Entries beyond the first for any piece_number."""
    balance_exact: bool
    found_after_crash: int
    """Entries a restarted daemon found already in Pennylane (the dedup lookup at work)."""
    seconds: float
    rate_limited: int = 0
    """429 answers the simulator sent."""
    rotations: int = 0
    """OAuth refreshes (each kills the pair before it)."""
    refresh_reused: int = 0
    """Refreshes asked with a refresh token already rotated away (a rotation the daemon lost)."""

    def lines(self) -> list[str]:
        return [
            f"events      {self.events}",
            f"kills       {self.kills}",
            f"delivered   {self.delivered}",
            f"lost        {self.lost}",
            f"duplicates  {self.duplicates}",
            f"balance     {'exact' if self.balance_exact else 'WRONG'}",
            f"dedup hits  {self.found_after_crash} (entries found in Pennylane after a crash or unknown outcome)",
            f"429         {self.rate_limited}",
            f"rotations   {self.rotations} (refresh tokens used twice: {self.refresh_reused})",
            f"seconds     {self.seconds:.1f}",
        ]


def shop_rows(shop_id: str, events: int, seed: int) -> list[dict[str, Any]]:
    """The first ``events`` rows of a long enough simulated history (the reference snapshot first)."""
    start = dt.date(dt.date.today().year, 1, 5)
    rows = simulate_shop(shop_id, days=10_000, orders_per_day=ORDERS_PER_DAY, registers=2, seed=seed, start=start)
    return list(itertools.islice(rows, events))


async def produce(layout: Layout, rows: dict[str, list[dict[str, Any]]], spread: float) -> None:
    """Insert every shop's rows in small transactions, evenly over ``spread`` seconds."""
    batches = 50
    for n in range(batches):
        for shop_rows in rows.values():
            size = -(-len(shop_rows) // batches)
            layout.insert(shop_rows[n * size : (n + 1) * size])
        await asyncio.sleep(spread / batches)


def _rotation_near(sandbox: Sandbox, token_life: int) -> bool:
    """Whether a kill now could land inside a refresh: a pair Pennylane issued that no request carried yet (maybe not
    saved), or a live one within half a second of the daemon's refresh (half its life before expiry)."""
    now = time.time()
    for token, access in sandbox.tokens.access.items():
        if access.refresh_token is not None and (
            token not in sandbox.request_count or access.expires_at - token_life / 2 - 0.5 <= now
        ):
            return True
    return False


async def kill_loop(
    root: Path,
    *,
    kills: int,
    events: int,
    seed: int = 1,
    latency_ms: int = 20,
    progress: bool = False,
    rate_limit: tuple[int, float] | None = None,
    token_life: int | None = None,
) -> KillLoopResult:
    began = time.monotonic()
    rng = random.Random(seed)
    faults = Faults(latency_ms=latency_ms, seed=seed)
    sandbox = Sandbox(rate_limit=rate_limit, faults=faults, access_token_lifetime=token_life or ACCESS_TOKEN_LIFETIME)
    async with run_sandbox(sandbox) as handle:
        companies = {shop: sandbox.add_company(f"Boutique {shop}").id for shop in SHOPS}
        tokens = {shop: None if token_life else sandbox.issue_api_token(cid) for shop, cid in companies.items()}
        limit = rate_limit or (100_000, 1.0)
        layout = Layout(root, handle, tokens, lease_seconds=3.0, backoff=(0.1, 1.0), rate_limit=limit).write()
        rows = {shop: shop_rows(shop, events // len(SHOPS), seed + n) for n, shop in enumerate(SHOPS)}
        daemon = DaemonProcess(layout)
        state = StateView(layout.state)
        if token_life:
            world = World(sandbox, handle, companies, layout, daemon, state)
            await daemon.start_ready()
            for shop in SHOPS:
                await world.connect_oauth(shop)
            daemon.kill9()
        producer = asyncio.create_task(produce(layout, rows, spread=kills * 1.2))
        try:
            for k in range(kills):
                daemon.start()
                if k % 5 == 4:
                    await asyncio.sleep(rng.uniform(0.05, 0.6))  # during start-up: migrations, restore, ingest
                else:
                    await daemon.ready()
                    await asyncio.sleep(rng.uniform(0.0, 1.2))  # a random moment of steady traffic
                if token_life:
                    await _between_rotations(sandbox, token_life)
                daemon.kill9()
                if progress:
                    done = sum(state.counts(shop)["delivered"] for shop in SHOPS)
                    print(f"kill {k + 1:3d}/{kills}: {done} delivered so far", flush=True)
            await producer
            await daemon.start_ready()
            await settle(state, {shop: len(r) for shop, r in rows.items()}, 120, daemon)
            assert await daemon.terminate(15) == 0
        finally:
            producer.cancel()
            await daemon.close()
        config = layout.config()
        lost = duplicates = 0
        exact = True
        delivered = 0
        for shop, shop_rows_ in rows.items():
            states = state.states(shop)
            delivered += sum(states.get(r["event_id"]) == "delivered" for r in shop_rows_)
            want = expected(shop_rows_, config, shop)
            got = booked_pieces(sandbox, companies[shop])
            lost += sum(states.get(r["event_id"]) != "delivered" for r in shop_rows_)
            lost += len(set(want.pieces) - set(got))
            duplicates += sum(n - 1 for n in got.values())
            exact = exact and folded(sandbox.trial_balance(companies[shop])) == want.balance
        found = daemon.log_path.read_text().count("delivery.found_after_unknown_outcome")
        return KillLoopResult(
            sum(map(len, rows.values())), kills, delivered, lost, duplicates, exact, found, time.monotonic() - began,
            sum(sandbox.throttled_count.values()), len(sandbox.tokens.spent), sandbox.tokens.reused,
        )  # fmt: skip


async def _between_rotations(sandbox: Sandbox, token_life: int) -> None:
    """Wait until no refresh is near (5 s at most: an idle lane refreshes only when it calls again)."""
    for _ in range(100):
        if not _rotation_near(sandbox, token_life):
            return
        await asyncio.sleep(0.05)
