"""The dashboard's actions that the older pilot tests only ran on the daemon double, here against the REAL daemon
(in-process, ``DaemonControl``, real SQLite files) and the simulator on loopback: a company API token file, the
missing-scopes warning, the backfill's start date, pause, resume and cancel, the failed list's filter, a bulk
discard after its count, and a delivery's entries and attempts as Pennylane answered them.

Shop ``s2`` has no connection at start; ``s1`` is connected by a token of the configuration (real_daemon.py).
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from bridge_setup import secret_file
from peer import audited
from real_daemon import Real, history, real_world, until
from textual import events
from textual.message import Message
from textual.notifications import Notify
from textual.pilot import Pilot
from textual.widgets import DataTable, Input
from tui_session import settle, shown_text, shows

from outboxd.demo.tickets import poison_ticket
from outboxd.rules.daily import day_piece
from tui.messages import ConnectionChanged
from tui.modals import ConfirmModal, ReasonModal

pytestmark = pytest.mark.timeout(60)

STALL_MS = 1000
"""Pennylane's delay on every request while a backfill is paused or cancelled from the keyboard: far longer than
the keys take, so they land before anything is sent."""
MAX_ATTEMPTS = 2
"""Few attempts, so a delivery Pennylane keeps refusing is failed (with its answers) within a second."""


@pytest.fixture
async def real(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Real]:
    monkeypatch.setattr("tui.screens.overview.REFRESH_SECONDS", 0.2)
    monkeypatch.setattr("tui.screens.failed.REFRESH_SECONDS", 0.2)
    async with real_world(tmp_path, daemon_extra=f"max_attempts = {MAX_ATTEMPTS}") as world:
        yield world


async def paste(pilot: Pilot[None], text: str) -> None:
    """Into the focused field, as a terminal pastes (typing key by key is slow with the overview live behind)."""
    field = pilot.app.focused
    assert isinstance(field, Input), f"no field has the focus: {field!r}"
    field.post_message(events.Paste(text))
    await pilot.pause()


def _token(real: Real, shop: str, scopes: tuple[str, ...]) -> Path:
    """A company API token with ``scopes``, in a 0600 file on the server, as Pennylane's settings issue it."""
    token = real.bench.sandbox.issue_api_token(real.bench.companies[shop], scopes)
    directory = real.daemon.config.secrets.token_files_directory  # the only place connect/token reads from
    directory.mkdir(mode=0o700, exist_ok=True)
    return secret_file(directory / f"{shop}-{len(scopes)}.token", token)


async def test_connect_with_a_token_file_warns_about_missing_scopes_then_a_full_token(real: Real) -> None:
    wanted = real.daemon.config.pennylane.scopes
    fewer = _token(real, "s2", wanted[:-1])
    full = _token(real, "s2", wanted)
    app = real.operator_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("down", "c")
        await settle(pilot)
        assert "- disconnected" in shown_text(app, "#connection")

        await pilot.press("t")
        await paste(pilot, str(fewer))
        await pilot.press("enter")
        await shows(pilot, lambda: "company: Cave Durand" in shown_text(app, "#connection"), what="connected")
        connection = shown_text(app, "#connection")
        assert "✓ connected, Cave Durand, API token" in connection
        assert f"⚠ missing scopes: {wanted[-1]}: reconnect and grant them" in connection
        s2 = (await real.client.shop("s2"))["connection"]
        assert (s2["kind"], s2["missing_scopes"]) == ("api_token", [wanted[-1]])  # read from Pennylane's answer

        await pilot.press("t", "ctrl+a", "ctrl+k")  # the field keeps the last path: replace it
        await paste(pilot, str(full))
        await pilot.press("enter")
        await shows(pilot, lambda: "missing scopes" not in shown_text(app, "#connection"), what="every scope")
        assert f"scopes: {', '.join(wanted)}" in shown_text(app, "#connection")
        assert app.screen.focused is None  # the connect left the field: b is the backfill offer
        await pilot.press("b")
        await settle(pilot)
        assert type(app.screen).__name__ == "BackfillScreen"
    assert (await real.client.shop("s2"))["connection"]["missing_scopes"] == []
    actions = [a["action"] for a in (await real.client.audit("s2"))["items"]]
    assert actions == ["connect.token", "connect.token"]


def polled(seen: list[Message]) -> int:
    """How many times the Connect screen has read the connection."""
    return sum(isinstance(m, ConnectionChanged) for m in seen)


async def test_oauth_granting_fewer_scopes_is_warned_and_a_reconnect_granting_all_clears_it(real: Real) -> None:
    wanted = real.daemon.config.pennylane.scopes
    app = real.operator_app()
    seen: list[Message] = []
    async with app.run_test(size=(80, 24), message_hook=seen.append) as pilot:
        await settle(pilot)
        app.action_connect("s2")
        await settle(pilot)
        for granted in (wanted[1:], wanted):  # the person unticks the first scope, then reconnects with all
            before = shown_text(app, "#url")
            await pilot.press("s")

            def new_url(before: str = before) -> bool:
                return shown_text(app, "#url") != before

            await shows(pilot, new_url, what="the authorize URL")
            url = next(w for w in shown_text(app, "#url").split() if w.startswith(real.bench.handle.authorize_url))
            redirect = real.bench.sandbox.approve(url, real.bench.companies["s2"], scopes=granted)

            def polled_twice(polls: int = polled(seen)) -> bool:  # the 1 s poll reads the still-connected shop
                return polled(seen) >= polls + 2

            await shows(pilot, polled_twice, what="polls while the browser is away")
            app.screen.post_message(events.Paste(redirect))  # as a terminal pastes: completed at once
            await shows(pilot, lambda: "company: Cave Durand" in shown_text(app, "#connection"), what="connected")
            if granted != wanted:
                assert f"⚠ missing scopes: {wanted[0]}: reconnect and grant them" in shown_text(app, "#connection")
        await shows(pilot, lambda: "missing scopes" not in shown_text(app, "#connection"), what="every scope granted")
        assert f"scopes: {', '.join(wanted)}" in shown_text(app, "#connection")
    connection = (await real.client.shop("s2"))["connection"]
    assert (connection["kind"], connection["missing_scopes"]) == ("oauth", [])


async def test_a_token_file_readable_by_others_is_refused_and_said(real: Real) -> None:
    path = _token(real, "s2", real.daemon.config.pennylane.scopes)
    path.chmod(0o644)
    app = real.operator_app()
    seen: list[Message] = []
    async with app.run_test(size=(80, 24), message_hook=seen.append) as pilot:
        await settle(pilot)
        app.action_connect("s2")
        await settle(pilot)
        await pilot.press("t")
        await paste(pilot, str(path))
        await pilot.press("enter")

        def refusals() -> list[str]:
            return [str(m.notification.message) for m in seen if isinstance(m, Notify)]

        await shows(pilot, lambda: bool(refusals()), what="the refusal")
        (refusal,) = refusals()
        assert refusal.startswith(f"✗ {path} has mode 0644: a token must be 0600 or 0400")
        assert refusal.endswith(f"(chmod 600 {path})")
        assert "- disconnected" in shown_text(app, "#connection")
    assert (await real.client.shop("s2"))["connection"]["state"] == "disconnected"


async def test_backfill_from_an_edited_date_cancelled_then_again_paused_resumed_done(real: Real) -> None:
    rows = history("s2", days=3)
    real.bench.insert(rows)  # s2 is not connected: all of it waits, and is held at the connection
    held = [r for r in rows if r["event_type"] != "reference.updated"]  # references flow at once: not history
    since = (dt.date.today() - dt.timedelta(days=2)).isoformat()
    from_since = [r for r in held if r["occurred_at"][:10] >= since]
    assert 0 < len(from_since) < len(held)

    async def waiting() -> bool:  # read from the outbox: only what waits at the first connection is history
        return bool((await real.client.shop("s2"))["queue_depth"] >= len(held))

    async def counted() -> bool:  # at the dispatcher's next pass after the connection
        return bool((await real.client.backfill_estimate("s2", None))["events"] == len(held))

    await until(waiting, what="the events read from the outbox")
    await real.client.connect_token("s2", str(_token(real, "s2", real.daemon.config.pennylane.scopes)))
    await until(counted, what=f"the history held ({len(held)} events)")

    def entries() -> list[Any]:
        return real.bench.sandbox.entries(real.bench.companies["s2"])

    app = real.operator_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.action_backfill("s2")
        await settle(pilot)
        await shows(pilot, lambda: f": {len(held)} events" in shown_text(app, "#estimate-summary"), what="the estimate")
        await pilot.press("e", "ctrl+a", "ctrl+k", *since, "enter")
        await shows(pilot, lambda: f"from {since} " in shown_text(app, "#estimate-summary"), what="re-estimated")
        assert f": {len(from_since)} events" in shown_text(app, "#estimate-summary")
        await start(pilot, real, f"Send {len(from_since)} events from {since} in detailed mode to Pennylane?")

        # cancelled at once: Pennylane stalled, the backfill is still resolving what it needs
        await pilot.press("x")
        await shows(pilot, lambda: isinstance(app.screen, ConfirmModal), what="the cancel confirmation")
        assert shown_text(app, "#question") == "Cancel the backfill? What was sent stays booked."
        await pilot.press("y")
        await shows(pilot, lambda: "✗ cancelled" in shown_text(app, "#progress-text"), what="cancelled")
        real.bench.sandbox.faults.update(latency_ms=0)
        cancel = (await real.client.audit("s2"))["items"][0]
        assert (cancel["action"], cancel["actor"]) == ("backfill.cancel", audited("operator"))
        given_back = cancel["detail"]["held_again"]
        assert 0 < given_back <= len(from_since)  # what was not sent is history again, for a later backfill

        # a second backfill from the same date: the estimate counts what was given back; paused, resumed, done
        await pilot.press("e", "enter")
        await shows(
            pilot, lambda: f": {given_back} events" in shown_text(app, "#estimate-summary"), what="re-estimated"
        )
        await start(pilot, real, f"Send {given_back} events from {since} in detailed mode to Pennylane?")
        await pilot.press("p")  # at once: Pennylane still stalled
        await shows(pilot, lambda: "⏸ paused" in shown_text(app, "#progress-text"), what="paused")
        backfill = await real.client.backfill_get("s2")
        assert backfill is not None
        assert (backfill["state"], backfill["start_date"], backfill["total"]) == ("paused", since, given_back)
        assert backfill["done"] < given_back
        real.bench.sandbox.faults.update(latency_ms=0)
        await pilot.press("p")
        await shows(pilot, lambda: f"✓ done: {given_back}/{given_back} events" in shown_text(app, "#progress-text"),
                    what="the resumed backfill done")  # fmt: skip
    actions = [a["action"] for a in (await real.client.audit("s2"))["items"] if a["action"].startswith("backfill.")]
    assert actions == ["backfill.resume", "backfill.pause", "backfill.create", "backfill.cancel", "backfill.create"]
    pieces = {e.piece_number for e in entries()}
    after = {r["payload"]["number"] for r in from_since if r["event_type"] == "order.recorded"}
    before = {r["payload"]["number"] for r in held if r["occurred_at"][:10] < since and "number" in r["payload"]}
    assert after
    assert before
    assert all(any(p.startswith(t) for p in pieces) for t in after)  # every ticket since the date, booked
    assert not any(p.startswith(tuple(before)) for p in pieces)  # and nothing before it


async def test_backfill_in_daily_mode_books_one_entry_per_register_and_day(real: Real) -> None:
    rows = history("s2", days=2)
    real.bench.insert(rows)
    held = [r for r in rows if r["event_type"] != "reference.updated"]
    first = min(r["occurred_at"][:10] for r in held)

    async def waiting() -> bool:
        return bool((await real.client.shop("s2"))["queue_depth"] >= len(held))

    async def counted() -> bool:
        return bool((await real.client.backfill_estimate("s2", first))["events"] == len(held))

    await until(waiting, what="the events read from the outbox")
    await real.client.connect_token("s2", str(_token(real, "s2", real.daemon.config.pennylane.scopes)))
    await until(counted, what="the history held")
    app = real.operator_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.action_backfill("s2")
        await settle(pilot)
        await pilot.press("e", "ctrl+a", "ctrl+k", *first, "enter")
        await shows(pilot, lambda: f"from {first} " in shown_text(app, "#estimate-summary"), what="re-estimated")
        await pilot.press("m")
        await shows(pilot, lambda: "mode: ▶ daily" in shown_text(app, "#mode"), what="daily mode")
        estimate = app.screen.query_one("#estimate", DataTable)
        assert [str(estimate.get_row_at(i)[0]) for i in range(2)] == ["  detailed", "▶ daily"]
        assert estimate.get_row_at(1)[1] < estimate.get_row_at(0)[1]  # fewer requests
        await pilot.press("s")
        await shows(pilot, lambda: isinstance(app.screen, ConfirmModal), what="the confirmation")
        assert shown_text(app, "#question") == f"Send {len(held)} events from {first} in daily mode to Pennylane?"
        await pilot.press("y")
        await shows(pilot, lambda: f"✓ done: {len(held)}/{len(held)} events" in shown_text(app, "#progress-text"),
                    what="the daily backfill done")  # fmt: skip
        assert "(daily)" in shown_text(app, "#progress-text")
    days = {(r["payload"]["business_date"], r["payload"]["register_id"]) for r in held if "register_id" in r["payload"]}
    expected = {day_piece("", dt.date.fromisoformat(day), register) for day, register in days}
    pieces = [str(e.piece_number) for e in real.bench.sandbox.entries(real.bench.companies["s2"])]
    assert sorted(pieces) == sorted(expected)  # one entry per register and day, nothing per ticket


async def start(pilot: Pilot[None], real: Real, question: str) -> None:
    """``s``, the confirmation asking ``question``, ``y``: the backfill runs, Pennylane stalled."""
    app = pilot.app
    real.bench.sandbox.faults.update(latency_ms=STALL_MS)  # every request waits: the next keys land before a send
    await pilot.press("s")
    await shows(pilot, lambda: isinstance(app.screen, ConfirmModal), what="the confirmation")
    assert shown_text(app, "#question") == question
    await pilot.press("y")
    await shows(pilot, lambda: "▶ running" in shown_text(app, "#progress-text"), what="running")


async def test_a_cancelled_backfill_counts_as_done_only_what_was_settled(real: Real) -> None:
    rows = history("s2", days=1)
    real.bench.insert(rows)
    held = [r for r in rows if r["event_type"] != "reference.updated"]

    async def waiting() -> bool:
        return bool((await real.client.shop("s2"))["queue_depth"] >= len(held))

    await until(waiting, what="the events read from the outbox")
    await real.client.connect_token("s2", str(_token(real, "s2", real.daemon.config.pennylane.scopes)))
    since = (await real.client.backfill_estimate("s2", None))["start_date"]

    async def counted() -> bool:
        return bool((await real.client.backfill_estimate("s2", since))["events"] == len(held))

    await until(counted, what="the history held")
    real.bench.sandbox.faults.update(latency_ms=100)
    await real.client.backfill_start("s2", since, "detailed")
    cancelled = await real.client.backfill_cancel("s2")
    given_back = (await real.client.audit("s2"))["items"][0]["detail"]["held_again"]
    assert given_back > 0
    assert cancelled["done"] <= cancelled["total"] - given_back  # what was given back is never counted done

    async def settled() -> bool:  # the deliveries in flight at the cancel finish, and only they are counted
        backfill = await real.client.backfill_get("s2")
        return backfill is not None and backfill["done"] == cancelled["total"] - given_back

    await until(settled, what="the deliveries in flight at the cancel counted done")


def _poison(number: int) -> list[dict[str, Any]]:
    """The demo's 8.5 % ticket and its payment, as ticket ``number`` (its own order, aggregate and payment)."""
    rows = copy.deepcopy(poison_ticket("s1", dt.date.today() - dt.timedelta(days=1)))
    order_id = f"poison-{number}"
    for row in rows:
        row["aggregate_id"] = f"order:{order_id}"
        row["payload"]["order_id"] = order_id
    rows[0]["payload"]["number"] = f"P-{number:06d}"
    rows[1]["payload"]["payment_id"] = f"{order_id}-p1"
    return rows


async def test_failed_list_filters_then_bulk_discard_says_its_count(real: Real) -> None:
    rows = history("s1", days=1)
    real.bench.insert(rows[:4] + _poison(1) + _poison(2) + rows[4:])
    app = real.operator_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        await shows(pilot, lambda: table.get_row("s1")[6] == "✗ 2", what="two failed on the overview")
        await pilot.press("f")
        await settle(pilot)
        failed = app.screen.query_one("#failed", DataTable)
        await shows(pilot, lambda: failed.row_count == 2, what="the two failed rows")
        ids = [failed.get_row_at(i)[0] for i in range(2)]

        await pilot.press("slash", "tab")  # shop is s1 already; the event type
        await paste(pilot, "payment.recorded")
        await pilot.press("enter")
        await shows(pilot, lambda: failed.row_count == 0, what="nothing of that type")
        assert "no failed delivery" in shown_text(app, "#failed-count")
        await pilot.press("slash", "tab", "ctrl+a", "ctrl+k")
        await paste(pilot, "order.recorded")
        await pilot.press("tab")
        await paste(pilot, "booking")
        await pilot.press("enter")
        await shows(pilot, lambda: failed.row_count == 2, what="the two orders")

        await pilot.press("D")
        await shows(pilot, lambda: isinstance(app.screen, ReasonModal), what="the reason")
        await paste(pilot, "booked by hand")
        await pilot.press("enter")
        await shows(pilot, lambda: isinstance(app.screen, ConfirmModal), what="the count")
        question = shown_text(app, "#question")
        assert question == "Discard 2 failed deliveries?\n(shop=s1, event_type=order.recorded, error_class=booking)"
        await pilot.press("y")
        await shows(pilot, lambda: failed.row_count == 0, what="both discarded")
        # their payments run now and fail (their tickets were never booked): another filter shows them
        await pilot.press("slash", "tab", "ctrl+a", "ctrl+k")
        await paste(pilot, "payment.recorded")
        await pilot.press("tab", "ctrl+a", "ctrl+k", "enter")
        await shows(pilot, lambda: failed.row_count == 2, what="the two payments")
        assert {failed.get_row_at(i)[2] for i in range(2)} == {"payment.recorded"}
        assert app.screen.query_one("#filter-error_class", Input).value == ""
    for delivery_id in ids:
        assert (await real.client.delivery(delivery_id))["state"] == "discarded"
    audit = [a for a in (await real.client.audit("s1"))["items"] if a["action"].startswith("delivery.")]
    assert {a["detail"].get("reason") for a in audit} == {"booked by hand"}
    assert {a["actor"] for a in audit} == {audited("operator")}


async def test_delivery_detail_shows_entries_and_the_attempts_pennylane_answered_then_retry(real: Real) -> None:
    rows = history("s1", days=1)
    first = next(i for i, r in enumerate(rows) if r["event_type"] == "order.recorded")
    order = rows[first]
    payments = [r for r in rows if r["aggregate_id"] == order["aggregate_id"] and r is not order]
    real.bench.insert(rows[:first])  # the reference data first, delivered while Pennylane answers

    async def settled() -> bool:
        return bool((await real.client.shop("s1"))["delivered_today"] == first)

    await until(settled, what="the reference data delivered")
    real.bench.sandbox.faults.update(fail_rate=1.0)  # every request answered 503
    real.bench.insert([order, *payments])
    app = real.operator_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f")
        await settle(pilot)
        failed = app.screen.query_one("#failed", DataTable)
        await shows(pilot, lambda: failed.row_count == 1, what="the refused ticket")
        delivery_id, _, event, error_class, status, *_ = failed.get_row_at(0)
        assert (event, error_class, status) == ("order.recorded", "retryable", "503")
        await pilot.press("enter")
        await shows(pilot, lambda: "── attempts ──" in shown_text(app, "#delivery-detail"), what="the detail")
        detail = shown_text(app, "#delivery-detail")
        piece = f"{order['payload']['number']}-{order['payload']['register_id']}"
        total = order["payload"]["total_incl_tax"]
        assert f"{piece}  journal " in detail  # the entry it produced, with its lines: the customer's debit
        assert re.search(rf"^411\S*\s+Ticket {order['payload']['number']}\s+{total}\s+0\.00$", detail, re.MULTILINE)
        attempts = detail.split("── attempts ──")[1]
        assert attempts.count("HTTP 503") == MAX_ATTEMPTS
        assert attempts.count('"error": "Service Unavailable (injected)"') == MAX_ATTEMPTS
        assert f"({MAX_ATTEMPTS} attempts)" in detail
        assert payments
        assert f"⏸ {len(payments)} event" in detail  # its payments wait behind it

        real.bench.sandbox.faults.update(fail_rate=0.0)  # Pennylane is back
        await pilot.press("r")  # retry from the detail: it stays and follows the delivery until it is booked

        def booked() -> bool:
            return f"delivery {delivery_id} (delivered)" in shown_text(app, "#delivery-detail")

        await shows(pilot, booked, what="the retried delivery booked, on the detail itself")
        detail = shown_text(app, "#delivery-detail")
        assert f"({MAX_ATTEMPTS + 1} attempts)" in detail
        assert re.search(rf"^{piece}  journal \S+  \S+  ✓ booked, Pennylane id \d+$", detail, re.MULTILINE)
        attempts = detail.split("── attempts ──")[1].split("\n\n── ")[0]  # up to the next section
        tries = [line for line in attempts.strip().splitlines() if not line.startswith(" ")]
        assert len(tries) == MAX_ATTEMPTS + 1  # one line per attempt, Pennylane's answer indented under it
        assert all("HTTP 503" in line for line in tries[:MAX_ATTEMPTS])
        assert tries[-1].split()[2:5] == ["delivered", "HTTP", "201"]
        assert f'"piece_number": "{piece}"' in attempts.split(tries[-1])[1]  # the created entry, as Pennylane answered
        await pilot.press("escape")
        await shows(pilot, lambda: failed.row_count == 0, what="gone from the failed list")
    pieces = [e.piece_number for e in real.bench.sandbox.entries(real.bench.companies["s1"])]
    assert pieces.count(piece) == 1
