"""Latency from Kash.Click's INSERT to Pennylane's 201, one event at a time into an idle daemon.

Each event is inserted (its commit time taken just before), then the next waits until the daemon has settled
it and a short random pause has passed. The simulator stamps each entry it stores (``created_at``, ms); the
state database says which entries belong to which event. Latency = that stamp - the INSERT time, for the
last entry of the event. Same clock on both sides (one machine).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import bridge, daemon, figure, fill, shop_template, simulator, state_counts, wait_for

from outboxd.outbox import INSERT_SQL, open_outbox


def run(*, samples: int = 300, warm: int = 30) -> list[dict[str, Any]]:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory(prefix="obx-bench-") as tmp, simulator(1) as sim:
        laid = bridge(Path(tmp) / "bridge", sim)
        (shop,) = laid.shop_tokens
        template = shop_template(warm + samples)
        fill(laid.outbox, [shop], template[:warm], tag="warm")
        inserted: dict[str, float] = {}
        with daemon(laid):
            wait_for(lambda: state_counts(laid.state).get("delivered", 0) >= warm, within=60)
            conn = open_outbox(laid.outbox)
            for i, (kind, aggregate, occurred, payload) in enumerate(template[warm:]):
                event_id = f"live-{i}"
                started = time.time()
                with conn:
                    conn.execute(INSERT_SQL, (event_id, shop, kind, aggregate, occurred, payload))
                inserted[event_id] = started
                wait_for(lambda event_id=event_id: settled(laid.state, event_id), within=30, every=0.002)
                time.sleep(rng.uniform(0.05, 0.15))
            conn.close()
            entries = sim.get(f"/_sandbox/companies/{sim.tokens[0][0]}/entries")
            stored = {e["piece_number"]: e["created_at"] for e in entries}
        pieces = last_pieces(laid.state)
    latencies = sorted(
        (dt.datetime.fromisoformat(stored[pieces[event_id]]).timestamp() - at) * 1000
        for event_id, at in inserted.items()
        if event_id in pieces
    )
    p50, p99 = statistics.median(latencies), latencies[max(0, int(len(latencies) * 0.99) - 1)]
    note = f"{len(latencies)} events with an entry (of {len(inserted)} inserted), max {latencies[-1]:.0f} ms"
    return [
        figure("latency INSERT -> 201, p50", p50, "ms", "< 100 ms", p50 < 100, note),
        figure("latency INSERT -> 201, p99", p99, "ms", "< 500 ms", p99 < 500),
    ]


def settled(state: Path, event_id: str) -> bool:
    conn = sqlite3.connect(f"file:{state}?mode=ro", uri=True, timeout=5)
    try:
        row = conn.execute("SELECT state FROM deliveries WHERE event_id = ?", (event_id,)).fetchone()
    finally:
        conn.close()
    return row is not None and row[0] in ("delivered", "failed", "skipped")


def last_pieces(state: Path) -> dict[str, str]:
    """event_id -> the piece_number of its last entry (the one whose 201 ends the delivery)."""
    conn = sqlite3.connect(f"file:{state}?mode=ro", uri=True, timeout=5)
    try:
        rows = conn.execute(
            "SELECT d.event_id, e.piece_number FROM sent_entries e JOIN deliveries d ON d.id = e.delivery_id "
            "WHERE e.state = 'posted' ORDER BY e.id"
        ).fetchall()
    finally:
        conn.close()
    return dict(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=300)
    run(samples=parser.parse_args().samples)


if __name__ == "__main__":
    main()
