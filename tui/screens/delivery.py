"""One delivery in detail, any state: how it ended, its entries with their Pennylane ids, the attempts and
Pennylane's answers, then the payload. After a retry the screen stays and follows the delivery until it settles, so
the operator sees it booked (or failed again) without leaving."""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Header, Static

from outboxd.control.shapes import DeliveryDetail
from outboxd.control.text import REFUSED_HERE, delivery_text, printable
from tui.base import OperatorScreen, footer
from tui.modals import ReasonModal

FOLLOW_SECONDS = 1.0
SETTLED = ("delivered", "failed", "discarded", "skipped")


def how_to_fix(d: DeliveryDetail, config_file: str | None) -> str:
    """For an error the bridge decided (the mapping, the event's content): where to change it, then ``r``."""
    if d["state"] != "failed" or d["error_class"] not in REFUSED_HERE:
        return ""
    where = f"the configuration file {config_file}" if config_file else "the daemon's configuration file"
    return f"how to fix: edit {where} as the message says, restart the daemon, then r (retry); or d (discard)\n"


def render_detail(d: DeliveryDetail, config_file: str | None = None) -> str:
    """The detail as plain text (shown with markup off: payloads and labels may contain brackets)."""
    return printable(how_to_fix(d, config_file), lines=True) + delivery_text(d)


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
        self.following = False
        """After a retry: read again every FOLLOW_SECONDS until the delivery settles."""

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll():
            yield Static(f"loading delivery {self.delivery_id}…", id="delivery-detail", markup=False)
        yield footer()

    def on_mount(self) -> None:
        self.load()
        self.set_interval(FOLLOW_SECONDS, self._follow)

    def _follow(self) -> None:
        if self.following:
            self.load()

    @work(group="delivery", exclusive=True, exit_on_error=False, description="load the delivery")
    async def load(self) -> None:
        detail = await self.client.delivery(self.delivery_id)
        text = render_detail(detail, self.operator_app.daemon_info.get("config_file"))
        if self.following:
            if detail["state"] in SETTLED:
                self.following = False
                booked = detail["state"] == "delivered"
                self.notify(f"{'✓' if booked else '✗'} delivery {self.delivery_id} {detail['state']}",
                            severity="information" if booked else "error")  # fmt: skip
            else:
                text = f"↻ queued again: following it until it settles…\n{text}"
        self.query_one("#delivery-detail", Static).update(text)

    @work(group="action", exit_on_error=False, description="retry a delivery")
    async def action_retry(self) -> None:
        await self.client.retry(self.delivery_id)
        self.notify(f"↻ delivery {self.delivery_id} queued again")
        self.following = True
        self.load()

    def action_discard(self) -> None:
        def discard(reason: str | None) -> None:
            if reason:
                self.discard(reason)

        self.app.push_screen(ReasonModal(f"Discard delivery {self.delivery_id}: why?"), discard)

    @work(group="action", exit_on_error=False, description="discard a delivery")
    async def discard(self, reason: str) -> None:
        await self.client.discard(self.delivery_id, reason)
        self.notify(f"🗑 delivery {self.delivery_id} discarded")
        below = self.app.screen_stack[-2]
        self.dismiss()  # nothing more will happen to it: back to where it was opened from
        if hasattr(below, "load"):
            below.load()
