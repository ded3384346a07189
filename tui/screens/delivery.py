"""One delivery in detail: the event payload, the entries it produced, the attempts and Pennylane's answers."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Header, Static

from outboxd.control.shapes import DeliveryDetail
from outboxd.control.text import blocked_label, table, timestamp
from tui.base import OperatorScreen, footer
from tui.modals import ReasonModal


def _answer(response: Any) -> str:
    """Pennylane's answer as it came: the API gives the body as text, shown as is (not quoted again)."""
    return response if isinstance(response, str) else json.dumps(response, ensure_ascii=False)


def _outcome(d: DeliveryDetail) -> str:
    """The last error for a delivery that has one; a delivered (or untried) one says so instead."""
    attempts = f"({len(d['attempts'])} attempts)"
    if d["error_class"] is None:
        return f"✓ {d['state']} {attempts}" if d["state"] == "delivered" else f"{d['state']} {attempts}"
    return f"✗ {d['error_class']} HTTP {d['http_status'] or '-'}: {d['message']} {attempts}"


def render_detail(d: DeliveryDetail) -> str:
    """The detail as plain text sections (escaped: payloads may contain brackets)."""
    parts = [
        f"delivery {d['id']} ({d['state']}): {d['event_type']} {d['aggregate_id']} of {d['shop_id']}, "
        f"{d['business_date']}",
        _outcome(d),
        *filter(None, [blocked_label(d)]),  # at the top: what it holds matters more than its payload
        "",
        "── payload ──",
        json.dumps(d["payload"], indent=2, ensure_ascii=False),
        "",
        "── entries ──",
    ]
    for entry in d["entries"]:
        parts.append(f"{entry['piece_number']} journal {entry['journal']} {entry['date']} ({entry['state']})")
        rows = [[ln["account"], ln["label"], ln["debit"], ln["credit"]] for ln in entry["lines"]]
        parts.append(table(["account", "label", "debit", "credit"], rows))
    parts += ["", "── attempts ──"]
    for a in d["attempts"]:
        parts.append(f"{timestamp(a['at'])}  {a['outcome']}  HTTP {a['http_status'] or '-'}  {a['message']}")
        parts.append(f"  Pennylane answered: {_answer(a['response'])}")
    return escape("\n".join(parts))


class DeliveryScreen(OperatorScreen):
    """Read the detail, then retry or discard (with a reason) from here."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="delivery.back"),
        Binding("r", "retry", "Retry", id="delivery.retry"),
        Binding("d", "discard", "Discard", id="delivery.discard"),
    ]

    def __init__(self, delivery_id: int) -> None:
        super().__init__()
        self.delivery_id = delivery_id

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll():
            yield Static(f"loading delivery {self.delivery_id}…", id="delivery-detail")
        yield footer()

    def on_mount(self) -> None:
        self.load()

    @work(group="delivery", exclusive=True, exit_on_error=False, description="load the delivery")
    async def load(self) -> None:
        detail = await self.client.delivery(self.delivery_id)
        self.query_one("#delivery-detail", Static).update(render_detail(detail))

    @work(group="action", exit_on_error=False, description="retry a delivery")
    async def action_retry(self) -> None:
        await self.client.retry(self.delivery_id)
        self.notify(f"↻ delivery {self.delivery_id} queued again")
        self._back_to_list()

    def action_discard(self) -> None:
        def discard(reason: str | None) -> None:
            if reason:
                self.discard(reason)

        self.app.push_screen(ReasonModal(f"Discard delivery {self.delivery_id}: why?"), discard)

    @work(group="action", exit_on_error=False, description="discard a delivery")
    async def discard(self, reason: str) -> None:
        await self.client.discard(self.delivery_id, reason)
        self.notify(f"🗑 delivery {self.delivery_id} discarded")
        self._back_to_list()

    def _back_to_list(self) -> None:
        listing = self.app.screen_stack[-2]
        self.dismiss()
        if hasattr(listing, "load"):
            listing.load()
