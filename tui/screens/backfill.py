"""Backfill: estimate both modes from an editable start date, start, then follow progress, rate and ETA."""

from __future__ import annotations

from typing import ClassVar

from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Header, Input, ProgressBar, Static

from outboxd.control.backend import BACKFILL_MODES
from outboxd.control.shapes import Backfill, BackfillEstimate, BackfillMode
from outboxd.control.text import duration, plural
from tui.base import OperatorScreen, footer
from tui.booking import BACKFILL_MODES_TOLD, LIVE_TOLD
from tui.cells import cell
from tui.messages import BackfillLoaded, EstimateLoaded
from tui.modals import ConfirmModal
from tui.progress import RateWindow

POLL_SECONDS = 1.0
MODES: tuple[BackfillMode, ...] = BACKFILL_MODES


class BackfillScreen(OperatorScreen):
    """Sends the shop's history: one entry per ticket (detailed) or per register and day (daily)."""

    AUTO_FOCUS = ""  # keys act on the screen until a field is chosen
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="backfill.back"),
        Binding("e", "edit_date", "Edit date", id="backfill.edit"),
        Binding("m", "switch_mode", "Mode", id="backfill.mode"),
        Binding("s", "start", "Start", id="backfill.start"),
        Binding("p", "pause_resume", "Pause/resume", id="backfill.pause"),
        Binding("x", "cancel", "Cancel", id="backfill.cancel"),
    ]

    def __init__(self, shop_id: str) -> None:
        super().__init__()
        self.shop_id = shop_id
        self.mode: BackfillMode = MODES[0]
        self.estimate: BackfillEstimate | None = None
        self.backfill: Backfill | None = None
        self.pace = RateWindow()
        self.requests_per_event: dict[str, float] = {}
        """Per mode, from the last estimate: what the events left will cost in requests."""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(cell(f"Backfill of {self.shop_id}: send its history to Pennylane"), classes="section")
        yield Input(placeholder="start date YYYY-MM-DD (Enter: estimate)", id="start-date")
        yield Static(id="estimate-summary", classes="panel")
        yield DataTable(id="estimate", cursor_type="none", show_cursor=False)
        yield Static(id="mode", classes="panel")
        yield Static("progress", classes="section")
        yield ProgressBar(id="progress", show_eta=False)
        yield Static("no backfill yet", id="progress-text", classes="panel")
        yield footer()

    def on_mount(self) -> None:
        self.query_one("#estimate", DataTable).add_columns("mode", "requests", "time")
        self._show_mode()
        self.load_estimate(None)
        self.load_backfill()
        self.set_interval(POLL_SECONDS, self.load_backfill)

    @work(group="estimate", exclusive=True, exit_on_error=False, description="estimate the backfill")
    async def load_estimate(self, start_date: str | None) -> None:
        self.post_message(EstimateLoaded(await self.client.backfill_estimate(self.shop_id, start_date)))

    @work(group="backfill", exclusive=True, exit_on_error=False, description="follow the backfill")
    async def load_backfill(self) -> None:
        self.post_message(BackfillLoaded(await self.client.backfill_get(self.shop_id)))

    def on_estimate_loaded(self, message: EstimateLoaded) -> None:
        e = self.estimate = message.estimate
        date_input = self.query_one("#start-date", Input)
        if not date_input.value and not date_input.has_focus:  # an estimate never rewrites a date being typed
            date_input.value = e["start_date"]
        summary = (
            f"from {e['start_date']} (default: {e['default_start_date']}, fiscal year start): {e['events']} events"
        )
        if e["refused"]:
            summary += f"\n✗ refused: {e['refused']}"
        self.query_one("#estimate-summary", Static).update(cell(summary))
        if e["events"]:
            self.requests_per_event = {mode: e["modes"][mode]["requests"] / e["events"] for mode in MODES}
        table = self.query_one("#estimate", DataTable)
        table.clear()
        for mode in MODES:
            figures = e["modes"][mode]
            marker = "▶ " if mode == self.mode else "  "
            table.add_row(marker + mode, figures["requests"], duration(figures["seconds"]))

    def on_backfill_loaded(self, message: BackfillLoaded) -> None:
        b = self.backfill = message.backfill
        if b is None:
            return
        bar = self.query_one(ProgressBar)
        bar.update(total=max(b["total"], 1), progress=b["done"])
        symbol = {"running": "▶", "paused": "⏸", "cancelled": "✗", "done": "✓"}.get(b["state"], "?")
        left = b["total"] - b["done"]
        rate = self.pace.rate(b["id"], self.clock(), b["done"], b["rate"])
        pace = ""
        if b["state"] in ("running", "paused"):
            requests = round(left * self.requests_per_event.get(b["mode"], 1.0))
            eta = duration(self.pace.eta(left, rate)) if b["state"] == "running" else "paused"
            pace = f"\n{rate:.1f} events/s over the last minutes, ETA {eta}, about {plural(requests, 'request')} left"
        self.query_one("#progress-text", Static).update(
            f"{symbol} {b['state']}: {b['done']}/{b['total']} events from {b['start_date']} ({b['mode']}){pace}"
        )

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.load_estimate(event.value.strip() or None)
        self.set_focus(None)

    def action_edit_date(self) -> None:
        self.set_focus(self.query_one("#start-date", Input))  # now: keys typed ahead go to the field

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if event.widget.id == "start-date":  # says where the keys go (and when the field has them: type after)
            self.query_one("#mode", Static).update("editing the start date: YYYY-MM-DD, Enter: estimate")

    def on_descendant_blur(self, _: events.DescendantBlur) -> None:
        self._show_mode()

    def _show_mode(self, told: bool = False) -> None:
        """The mode chosen; once the operator chooses (m), what it means and how it relates to live booking."""
        text = f"mode: ▶ {self.mode} (m: switch)   s: start"
        if told:
            text += f"\n{BACKFILL_MODES_TOLD[self.mode]}\n{LIVE_TOLD}"
        self.query_one("#mode", Static).update(cell(text))

    def action_switch_mode(self) -> None:
        self.mode = MODES[(MODES.index(self.mode) + 1) % len(MODES)]
        self._show_mode(told=True)
        if self.estimate is not None:
            self.post_message(EstimateLoaded(self.estimate))

    @work(group="action", exclusive=True, exit_on_error=False, description="start the backfill")
    async def action_start(self) -> None:
        e = self.estimate
        if e is None:
            return
        if e["refused"]:
            self.notify(f"✗ refused: {e['refused']}", severity="error")
            return
        question = f"Send {e['events']} events from {e['start_date']} in {self.mode} mode to Pennylane?"
        if not await self.app.push_screen_wait(ConfirmModal(question)):
            return
        self.post_message(BackfillLoaded(await self.client.backfill_start(self.shop_id, e["start_date"], self.mode)))

    @work(group="action", exit_on_error=False, description="pause or resume the backfill")
    async def action_pause_resume(self) -> None:
        state = self.backfill["state"] if self.backfill else None
        if state == "running":
            self.post_message(BackfillLoaded(await self.client.backfill_pause(self.shop_id)))
        elif state == "paused":
            self.post_message(BackfillLoaded(await self.client.backfill_resume(self.shop_id)))

    @work(group="action", exclusive=True, exit_on_error=False, description="cancel the backfill")
    async def action_cancel(self) -> None:
        if not self.backfill or self.backfill["state"] not in ("running", "paused"):
            return
        if await self.app.push_screen_wait(ConfirmModal("Cancel the backfill? What was sent stays booked.")):
            self.post_message(BackfillLoaded(await self.client.backfill_cancel(self.shop_id)))
