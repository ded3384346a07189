"""One shop under Pennylane's real rate limit (25 requests per 5 s per token): how much of the budget the
daemon uses, how many 429s it gets, and how many requests each event costs.

The simulator enforces 25/5 s; the daemon paces itself with the same figure. The outbox holds more events
than the window can carry. Measurement starts after the warm-up (journals, accounts, first customers).

Two traffic mixes, one daemon run each, and the steady state once more with lettering (on by default):
- steady state: every ticket's customer is already known to Pennylane and the daemon (the warm-up's customers
  stand in for those of later tickets), as in a shop that has been connected for a while, lettering off. The
  budget share, the 429s and the requests per event (goal <= 1.05) are measured here.
- the same with lettering: each ticket whose payments add up to it costs one more request (the lettering POST;
  its lines' ids come from the 201s). Reported, no goal.
- the simulator's mix as it comes: a young shop, where about 9 % of the tickets bring a new customer, each
  costing 2 more requests (find, create: its 411 number is read only for display). Reported, no goal.

The server counts fixed windows opened by their first request, and a saturated daemon sends each window's 25
requests in a burst, so a span cut at arbitrary instants holds 11 or 12 bursts in 60 s (92 % or 100 %). The
span is therefore taken from the start of one burst to the start of the last one within the duration, so it
holds whole windows only.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import (
    Simulator,
    bridge,
    count_rows,
    daemon,
    figure,
    fill,
    shop_template,
    simulator,
    state_counts,
    wait_for,
)

LIMIT, WINDOW = 25, 5.0
QUIET = 0.5
"""Seconds without a request that separate two bursts (a window waited out)."""

Template = list[tuple[str, str, str, str]]


def run(*, seconds: float = 60.0, warm: int = 60) -> list[dict[str, Any]]:
    events = int(seconds / WINDOW * LIMIT * 2) + warm + 100
    template = shop_template(events)
    steady = _window(_known_customers(template, warm), seconds, warm, lettering=False)
    lettered = _window(_known_customers(template, warm), seconds, warm)
    young = _window(template, seconds, warm)
    share = 100 * steady["requests"] / (LIMIT * steady["span"] / WINDOW)
    per_event = steady["requests"] / steady["delivered"] if steady["delivered"] else float("inf")
    young_per_event = young["requests"] / young["delivered"] if young["delivered"] else float("inf")
    lettered_per_event = lettered["requests"] / lettered["delivered"] if lettered["delivered"] else float("inf")
    note = (
        f"{steady['requests']} requests in {steady['span']:.1f} s of whole windows "
        f"(budget {LIMIT * steady['span'] / WINDOW:.0f}), {steady['delivered']} events delivered"
    )
    return [
        figure("rate limit: share of the 25 req / 5 s budget used", share, "%", ">= 95 %", share >= 95, note),
        figure("rate limit: 429s received", steady["throttled"] + young["throttled"] + lettered["throttled"], "",
               "0", steady["throttled"] + young["throttled"] + lettered["throttled"] == 0, "every run"),
        figure("rate limit: requests per event, steady state (customers known)", per_event, "", "<= 1.05",
               per_event <= 1.05, f"{steady['customers']} new customers meanwhile, lettering off"),
        figure("rate limit: requests per event, steady state with lettering", lettered_per_event, "", "(none)", None,
               f"{lettered['letterings']} tickets lettered in {lettered['delivered']} events"),
        figure("rate limit: requests per event, simulator mix (new customers)", young_per_event, "", "(none)", None,
               f"{young['customers']} new customers in {young['delivered']} events, 2 requests each (find, create)"),
    ]  # fmt: skip


def _known_customers(template: Template, warm: int) -> Template:
    """The template where every ticket after the warm-up carries one of the warm-up's customers."""
    known = [json.loads(p)["customer"] for kind, _, _, p in template[:warm] if kind == "order.recorded"]
    known = [c for c in known if c is not None]
    rng = random.Random(7)
    rows = template[:warm]
    for kind, aggregate, occurred, payload in template[warm:]:
        ticket = json.loads(payload)
        if kind == "order.recorded" and ticket.get("customer") is not None:
            ticket["customer"] = rng.choice(known)
            payload = json.dumps(ticket, ensure_ascii=False, separators=(",", ":"))
        rows.append((kind, aggregate, occurred, payload))
    return rows


def _window(template: Template, seconds: float, warm: int, *, lettering: bool = True) -> dict[str, Any]:
    """Requests, deliveries, new customers and letterings over whole server windows once the warm-up is delivered."""
    with tempfile.TemporaryDirectory(prefix="obx-bench-") as tmp, simulator(1, rate_limit=f"{LIMIT}/{WINDOW:g}") as sim:
        laid = bridge(Path(tmp) / "bridge", sim, rate_limit=(LIMIT, WINDOW))
        if not lettering:
            laid.config_path.write_text(laid.config_path.read_text() + "\n[mapping]\nlettering = false\n")
        fill(laid.outbox, list(laid.shop_tokens), template)
        with daemon(laid):
            wait_for(lambda: state_counts(laid.state).get("delivered", 0) >= warm, within=120)
            started, before = _burst_start(sim)
            delivered_before = state_counts(laid.state).get("delivered", 0)
            customers_before = count_rows(laid.state, "customers")
            lettered_before = _lettered(laid.state)
            time.sleep(max(0.0, seconds - WINDOW))
            ended, after = _burst_start(sim)
            delivered = state_counts(laid.state).get("delivered", 0) - delivered_before
            customers = count_rows(laid.state, "customers") - customers_before
            letterings = _lettered(laid.state) - lettered_before
    return {
        "span": ended - started,
        "requests": after["requests"] - before["requests"],
        "throttled": after["throttled"] - before["throttled"],
        "delivered": delivered,
        "customers": customers,
        "letterings": letterings,
    }


def _lettered(state: Path) -> int:
    """Orders lettered so far (the lettering step's own table)."""
    conn = sqlite3.connect(f"file:{state}?mode=ro", uri=True, timeout=5)
    try:
        return int(conn.execute("SELECT count(*) FROM letterings WHERE state = 'lettered'").fetchone()[0])
    finally:
        conn.close()


def _burst_start(sim: Simulator) -> tuple[float, dict[str, Any]]:
    """Wait for the first request after a quiet spell; the time it was seen and the stats just before it.

    Without a quiet spell within two windows (a daemon that paces evenly instead of bursting) the span starts
    now: then no cut can split a burst.
    """
    last, quiet_since = sim.stats(), time.monotonic()
    deadline = quiet_since + 2 * WINDOW
    while time.monotonic() < deadline:
        time.sleep(0.01)
        now, stats = time.monotonic(), sim.stats()
        if stats["requests"] == last["requests"]:
            continue
        if now - quiet_since >= QUIET:
            return now, last
        last, quiet_since = stats, now
    return time.monotonic(), sim.stats()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    run(seconds=parser.parse_args().seconds)


if __name__ == "__main__":
    main()
