"""A shop's booking mode on the dashboard: the line the overview shows, and the switch (``o``, or the palette's
"Booking mode of SHOP"), confirmed in a dialog that says what changes and asks the first business date and why."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, ClassVar, NamedTuple

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from outboxd.control.shapes import BackfillMode, Booking
from outboxd.control.text import plural, printable
from outboxd.exceptions import ControlError

if TYPE_CHECKING:
    from tui.app import OutboxdApp

MEANING: dict[BackfillMode, str] = {
    "detailed": "one entry per event",
    "daily": "one entry per register and day, booked at its closing",
}


BACKFILL_MODES_TOLD: dict[BackfillMode, str] = {
    "detailed": "detailed: one entry per ticket, payment and closing, as live detailed booking posts them",
    "daily": "daily: one entry per register and closed day, the entry live daily booking posts at each closing;"
    " today and days already begun go one event at a time",
}
"""What a backfill's mode means, said on the backfill screen once a mode is chosen."""
LIVE_TOLD = "Live events follow the shop's booking mode (o on the overview), whatever the backfill's."


def booking_line(mode: BackfillMode) -> str:
    """The overview's line for the selected shop."""
    return f"booking: {mode}, {MEANING[mode]} (o: switch)"


class Switch(NamedTuple):
    mode: BackfillMode
    from_date: str
    reason: str


class BookingModal(ModalScreen[Switch | None]):
    """Switch to the other mode from a business date on; Enter in the reason confirms, Escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="booking.cancel")]

    def __init__(self, booking: Booking, today: dt.date) -> None:
        super().__init__()
        self.booking = booking
        self.target: BackfillMode = "daily" if booking["mode"] == "detailed" else "detailed"
        self.today = today

    def compose(self) -> ComposeResult:
        b, target = self.booking, self.target
        waiting = b["waiting_for_closing"]
        question = (
            f"{b['shop_id']} books {b['mode']} today ({MEANING[b['mode']]}).\n"
            f"Switch to {target} ({MEANING[target]}) from this business date on?\n"
            "A register-day already on its way in one mode stays in it."
            + (f"\n{plural(waiting, 'live event')} wait for their register's closing." if waiting else "")
        )
        with Vertical(classes="dialog"):
            yield Static(printable(question, lines=True), id="question", markup=False)
            yield Input(self.today.isoformat(), placeholder="first business date, YYYY-MM-DD", id="from-date")
            yield Input(placeholder="reason (kept in the audit log)", id="reason")
            yield Label("", id="booking-error", classes="error")
            yield Label(f"[b]Enter[/b] switch to {target}    [b]Esc[/b] cancel", classes="hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "from-date":
            self.query_one("#reason", Input).focus()
            return
        error = self.query_one("#booking-error", Label)
        day, reason = self.query_one("#from-date", Input).value.strip(), event.value.strip()
        try:
            dt.date.fromisoformat(day)
        except ValueError:
            error.update("✗ the first business date is a date YYYY-MM-DD")
            return
        if not reason:
            error.update("✗ a reason is required")
            return
        self.dismiss(Switch(self.target, day, reason))

    def action_cancel(self) -> None:
        self.dismiss(None)


async def ask_switch(app: OutboxdApp, shop_id: str) -> None:
    """Read the shop's mode, ask, then switch (a refusal is a notification, as for every dashboard action)."""
    try:
        booking = await app.client.booking(shop_id)
    except ControlError as exc:
        app.notify(f"✗ {exc}", title="booking mode", severity="error")
        return

    def chosen(switch: Switch | None) -> None:
        if switch is not None:
            app.run_worker(_switch(app, shop_id, switch), group="booking", description="switch the booking mode")

    await app.push_screen(BookingModal(booking, dt.date.today()), chosen)


async def _switch(app: OutboxdApp, shop_id: str, switch: Switch) -> None:
    try:
        answer = await app.client.booking_switch(shop_id, switch.mode, switch.from_date, switch.reason)
    except ControlError as exc:
        app.notify(f"✗ {exc}", title="booking mode", severity="error")
        return
    app.notify(f"{shop_id} books {switch.mode} from {switch.from_date} on (today: {answer['mode']})")
