"""10,000 shops on one daemon, 300 of them active at once: RSS, idle CPU, INSERT -> 201 and the status calls.

No shop has a section in the configuration file. Each shop is seen in the outbox (its reference snapshot, before
the daemon starts) and connected with a company API token of the simulator, saved in the state database as
``ctl connect-token`` leaves it (kind api_token, the company's id and name). The daemon starts, delivers every
shop's snapshot, then:

- RSS and idle CPU (% of one core) over a quiet window with every lane known;
- 300 shops get a ticket each in turn, continuously (one every ``period`` seconds per shop); latency = the moment
  the daemon recorded the delivery (``delivered_at``, just after the last 201) - the INSERT's commit time;
- ``outboxd ctl status`` (one page) as a subprocess, and the control API's status call (first page and a search).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sqlite3
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import BIN, Bridge, Simulator, daemon, figure, fill, shop_template, simulator, state_counts, wait_for

from outboxd.control.client import ControlClient
from outboxd.outbox import INSERT_SQL, open_outbox
from outboxd.secrets import TokenCipher, read_secret
from outboxd.store import Connection, open_store
from outboxd.store.history import History


def run(*, shops: int = 10_000, active: int = 300, seconds: float = 60.0, quiet: float = 30.0,
        period: float = 5.0) -> list[dict[str, Any]]:  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="obx-bench-") as tmp, simulator(shops) as sim:
        laid = Bridge(Path(tmp) / "bridge", sim.api_url, {}).write()  # no [shops] section at all
        names = [f"shop-{n:05d}" for n in range(shops)]
        template = shop_template(2 + int(seconds / period))
        fill(laid.outbox, names, template[:1], tag="ref")  # each shop seen in the outbox: its reference snapshot
        asyncio.run(_connect(laid, sim, names))
        with daemon(laid, ready_within=600) as proc:
            started = time.monotonic()
            wait_for(lambda: _settled(laid.state) >= shops, within=1800, every=1.0)
            print(f"{shops:,} snapshots delivered in {time.monotonic() - started:.0f} s", flush=True)
            rss_known = proc.rss_mb()
            before, at = proc.cpu_seconds(), time.monotonic()
            time.sleep(quiet)
            idle = (proc.cpu_seconds() - before) / (time.monotonic() - at) * 100
            inserted = _active(laid.outbox, names[:active], template[1:], seconds, period)
            wait_for(lambda: _settled(laid.state) >= shops + len(inserted), within=300, every=0.5)
            rss_active = proc.rss_mb()
            ctl = _timed(lambda: subprocess.run(
                [str(BIN / "outboxd"), "ctl", "--socket", str(laid.socket), "status"],
                capture_output=True, check=True,
            ))  # fmt: skip
            api, search = asyncio.run(_status_calls(laid.socket, names[active // 2]))
        latencies = _latencies(laid.state, inserted)
        if not latencies:
            raise RuntimeError(f"no ticket delivered: {state_counts(laid.state)}")
    p50, p99 = statistics.median(latencies), latencies[max(0, int(len(latencies) * 0.99) - 1)]
    note = (
        f"{len(latencies):,} of {len(inserted):,} tickets delivered, {active} shops active, max {latencies[-1]:.0f} ms"
    )
    return [
        figure(f"daemon RSS, {shops:,} shops known", rss_known, "MB", "< 500 MB", rss_known < 500,
               f"{rss_active:.0f} MB after the active phase"),
        figure(f"idle CPU, {shops:,} lanes", idle, "% of a core", "< 5 %", idle < 5, f"over {quiet:.0f} s"),
        figure("active shop INSERT -> 201, p50", p50, "ms", "(none)", None, note),
        figure("active shop INSERT -> 201, p99", p99, "ms", "< 500 ms", p99 < 500),
        figure("outboxd ctl status", ctl * 1000, "ms", "< 1 s", ctl < 1, "the process's whole run, first page"),
        figure("control API status, first page", api * 1000, "ms", "< 1 s", api < 1, "the dashboard's overview"),
        figure("control API status, a search", search * 1000, "ms", "< 1 s", search < 1),
    ]  # fmt: skip


async def _connect(laid: Bridge, sim: Simulator, names: list[str]) -> None:
    """Each shop connected with its company's API token as ``ctl connect-token`` leaves it: the connection saved,
    the first connection recorded (nothing to hold: a reference snapshot is never history)."""
    cipher = TokenCipher(read_secret(laid.root / "token.key"))
    async with open_store(laid.state, owner="bench", cipher=cipher) as store:
        history = History(store.db, store.clock)
        for name, (company, token) in zip(names, sim.tokens, strict=True):
            row = Connection(name, "api_token", token, None, None, (), company, f"company {company}", "connected")
            await store.connections.save(row)
            await history.first_connection(name, hold=False, through=len(names))


def _active(outbox: Path, shops: list[str], template: list[tuple[str, str, str, str]], seconds: float,
            period: float) -> dict[str, float]:  # fmt: skip
    """One ticket per shop in turn, spread evenly: ``len(shops) / period`` inserts a second for ``seconds``."""
    conn = open_outbox(outbox)
    inserted: dict[str, float] = {}
    gap = period / len(shops)
    deadline = time.monotonic() + seconds
    step = 0
    try:
        while time.monotonic() < deadline:
            if step // len(shops) >= len(template):
                break
            kind, aggregate, occurred, payload = template[step // len(shops)]
            shop = shops[step % len(shops)]
            event_id = f"live-{shop}-{step}"
            at = time.time()
            with conn:
                conn.execute(INSERT_SQL, (event_id, shop, kind, aggregate, occurred, payload))
            inserted[event_id] = at
            step += 1
            time.sleep(max(0.0, gap - (time.time() - at)))
    finally:
        conn.close()
    return inserted


def _settled(state: Path) -> int:
    counts = state_counts(state)
    return sum(counts.get(s, 0) for s in ("delivered", "failed", "skipped"))


def _timed(call: Any) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


async def _status_calls(socket: Path, shop: str) -> tuple[float, float]:
    async with ControlClient(socket) as client:
        started = time.perf_counter()
        await client.status()
        first = time.perf_counter() - started
        started = time.perf_counter()
        await client.status(search=shop)
        return first, time.perf_counter() - started


def _latencies(state: Path, inserted: dict[str, float]) -> list[float]:
    conn = sqlite3.connect(f"file:{state}?mode=ro", uri=True, timeout=5)
    try:
        rows = conn.execute(
            "SELECT event_id, delivered_at FROM deliveries WHERE event_id LIKE 'live-%' AND state = 'delivered'"
        ).fetchall()
    finally:
        conn.close()
    return sorted(
        (dt.datetime.fromisoformat(at).timestamp() - inserted[event_id]) * 1000
        for event_id, at in rows if event_id in inserted
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shops", type=int, default=10_000)
    parser.add_argument("--active", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=60.0, help="the active phase")
    parser.add_argument("--quiet", type=float, default=30.0, help="the idle CPU window")
    args = parser.parse_args()
    run(shops=args.shops, active=args.active, seconds=args.seconds, quiet=args.quiet)


if __name__ == "__main__":
    main()
