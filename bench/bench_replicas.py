"""Deliveries per second with 1, 2 and 3 replicas on one PostgreSQL database, rate limit off.

Each run gets a scratch database (outbox and state), starts the replicas (``outboxd run``, each with its own
config), waits until the shops are spread between them (lane leases), then inserts every shop's events in one
transaction; the rate is taken between 10 % and 90 % of the deliveries. The simulator is ``outboxd sandbox`` in its
own process, as in bench_throughput.py. On one machine the replicas, PostgreSQL and the simulator share the same
CPUs: the figures say what scale-out costs and whether the replicas get in each other's way, not what N machines do.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from harness import bridge, cpu_seconds, daemon, figure, shop_template, simulator

sys.path[:0] = [str(Path(__file__).resolve().parent.parent / "tests" / d) for d in ("pg", "store")]
from pg_helpers import delivery_states, insert_rows, lane_owners, to_postgres  # noqa: E402
from store_helpers import scratch_database  # noqa: E402

from outboxd.outbox import outbox_ddl  # noqa: E402

T = TypeVar("T")
LEASE = 6.0
"""Lane lease seconds: a heartbeat every 2 s, so the shops spread within seconds of the start."""


def _postgres_cpu() -> float:
    """CPU seconds of the PostgreSQL server's processes (every database: other users of the server count too)."""
    total = 0.0
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and (proc / "comm").read_text().startswith("postgres"):
                total += cpu_seconds(int(proc.name))
        except OSError:  # the process ended meanwhile
            continue
    return total


async def _read(url: str, read: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """One read on a connection of its own."""
    conn = await asyncpg.connect(url)
    try:
        return await read(conn)
    finally:
        await conn.close()


async def _delivered(url: str) -> int:
    return (await _read(url, delivery_states)).get("delivered", 0)


async def _spread(url: str, replicas: int, shops: int) -> bool:
    held = list((await _read(url, lane_owners)).values())
    return len(held) == replicas and sum(held) == shops and max(held) <= math.ceil(shops / replicas) + 1


async def _one(replicas: int, shops: int, per_shop: int, sim: Any) -> dict[str, Any]:
    template = shop_template(per_shop)
    async with scratch_database() as url:
        conn = await asyncpg.connect(url)
        await conn.execute(outbox_ddl())
        await conn.close()
        with tempfile.TemporaryDirectory(prefix="obx-bench-") as tmp, ExitStack() as stack:
            procs = []
            for n in range(replicas):
                laid = bridge(Path(tmp) / f"replica-{n}", sim)
                text = laid.config_path.read_text().replace("lease_seconds = 30.0", f"lease_seconds = {LEASE}")
                laid.config_path.write_text(text)
                to_postgres(laid.config_path, url)
                procs.append(stack.enter_context(daemon(laid)))
            deadline = time.monotonic() + 60
            while not await _spread(url, replicas, len(sim.tokens)):
                if time.monotonic() > deadline:
                    raise RuntimeError("the shops were not spread between the replicas within 60 s")
                await asyncio.sleep(0.2)
            names = [f"shop-{n:03d}" for n in range(len(sim.tokens))]
            rows = [
                {"event_id": f"e-{shop}-{i}", "shop_id": shop, "event_type": kind, "aggregate_id": aggregate,
                 "occurred_at": occurred, "payload": payload}
                for i, (kind, aggregate, occurred, payload) in enumerate(template) for shop in names
            ]  # fmt: skip
            total = len(rows)
            await insert_rows(url, rows)
            marks: list[tuple[float, int, float, float, float]] = []
            deadline = time.monotonic() + max(120.0, total / 20)
            while time.monotonic() < deadline:
                done = await _delivered(url)
                cpu = sum(p.cpu_seconds() for p in procs)
                marks.append((time.monotonic(), done, cpu, _postgres_cpu(), sim.cpu_seconds()))
                if done >= total:
                    break
                await asyncio.sleep(0.25)
    delivered = marks[-1][1]
    lo = next(m for m in marks if m[1] >= delivered * 0.1)
    hi = next(m for m in marks if m[1] >= delivered * 0.9)
    span, count = hi[0] - lo[0], hi[1] - lo[1]
    rate = count / span if span > 0 else 0.0
    cpu_ms = [(hi[k] - lo[k]) / count * 1000 if count else 0.0 for k in (2, 3, 4)]
    note = (
        f"{shops} shops x {per_shop} events, {delivered:,}/{total:,} delivered; CPU per delivery: replicas "
        f"{cpu_ms[0]:.2f} ms, PostgreSQL {cpu_ms[1]:.2f} ms, simulator {cpu_ms[2]:.2f} ms"
    )
    return figure(f"replicas on PostgreSQL: {replicas}, rate limit off", rate, "deliveries/s", "(none)", None, note)


def run(*, shops: int = 50, per_shop: int = 100, counts: tuple[int, ...] = (1, 2, 3)) -> list[dict[str, Any]]:
    with simulator(shops) as sim:
        return [asyncio.run(_one(n, shops, per_shop, sim)) for n in counts]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shops", type=int, default=50)
    parser.add_argument("--per-shop", type=int, default=100, help="events per shop (default 100)")
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args()
    run(shops=args.shops, per_shop=args.per_shop, counts=tuple(args.replicas))


if __name__ == "__main__":
    main()
