"""Overview: every shop at a glance, refreshed every second by a worker; the selected shop in detail.

A shop held by a failed reference snapshot reads ``✗ held``: its queue grows while nothing of it fails, so
without the word it would look like a slow shop.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widgets import DataTable, Header, Input, Sparkline, Static

from outboxd.control.shapes import ShopStatus, Status
from outboxd.control.text import age, connection_label, duration, held_label, plural, printable, status_page
from outboxd.exceptions import ControlError, DaemonNotRunning
from tui.base import OperatorScreen, footer
from tui.booking import booking_line
from tui.cells import cell, cells
from tui.messages import StatusLoaded
from tui.modals import ReasonModal
from tui.progress import RateWindow

REFRESH_SECONDS = 1.0
Z_REFRESH_SECONDS = 30.0
"""The Z mismatch count is a heavier read than the status, and closings come once a day: read it seldom."""
LIVE = "● live, every 1 s (space: freeze) · Ctrl+P: commands, e.g. delivery 11"
FROZEN = "‖ frozen (space: live) · Ctrl+P: commands, e.g. delivery 11"
COLUMNS = ("Shop", "State", "Pennylane", "Queue", "Oldest", "Today", "Failed", "Rate")
PAGE = 50
"""Shops per page: the daemon reads only the page's rows, however many shops it knows."""


class OverviewScreen(OperatorScreen):
    """Connection, queue, failures and rate limit per shop; paused shops are named in the header."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "connect", "Connect", id="overview.connect"),
        Binding("b", "backfill", "Backfill", id="overview.backfill"),
        Binding("f,enter", "failed", "Failed", id="overview.failed"),
        Binding("m", "mapping", "Mapping", id="overview.mapping"),
        Binding("z", "closings", "Closings", id="overview.closings"),
        Binding("p", "toggle_pause", "Pause", id="overview.pause"),
        Binding("o", "booking", "Booking", show=False, id="overview.booking"),  # said on the shop's detail
        Binding("space", "toggle_live", "Freeze", show=False, id="overview.live"),  # said on #live-state
        Binding("r", "reload", "Refresh", show=False, id="overview.refresh"),
        Binding("slash", "search", "Find", id="overview.search"),
        Binding("right_square_bracket", "page(1)", "Next page", id="overview.next_page"),
        Binding("left_square_bracket", "page(-1)", "Prev page", id="overview.previous_page"),
    ]

    live: reactive[bool] = reactive(True)

    def __init__(self) -> None:
        super().__init__()
        self.shops: dict[str, ShopStatus] = {}
        self.z_control: dict[str, str] = {}
        """Per shop, the line saying how many recent closings were checked and how many do not match (read every
        Z_REFRESH_SECONDS, and again when the shop's failed count changes: a retry may settle a closing)."""
        self.pace: dict[str, RateWindow] = {}
        """Per shop, its backfill's rate over a sliding window (tui.progress): the ETA does not swing."""
        self.search = ""
        self.first_shop = 0
        """The page's offset among the shops the search matches."""
        self.matched = 0
        """How many shops the search matches (the pages go through them)."""

    @property
    def shop_ids(self) -> list[str]:
        return list(self.shops)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="/ search shops by id or name", id="search")
        yield DataTable(id="shops", cursor_type="row", zebra_stripes=True)
        yield Static(id="page")
        with Vertical(id="detail"):
            yield Static(id="shop-detail")
            with Horizontal(id="throughput-row"):
                yield Static("deliveries/min, 30 min:", id="throughput-label")
                yield Sparkline([], id="throughput")
        yield Static(LIVE, id="live-state")
        yield footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(*COLUMNS)
        self.query_one(DataTable).focus()  # the keys act on the shops; / goes to the search box
        self.load()
        self.set_interval(REFRESH_SECONDS, self._tick)
        self.set_interval(Z_REFRESH_SECONDS, self._z_tick)
        self.watch_live(self.live)

    def _tick(self) -> None:
        if self.live:
            self.load()

    def _z_tick(self) -> None:
        if self.live:
            self.z_control.clear()  # the next refresh reads every shop's count again

    @work(group="status", exclusive=True, exit_on_error=False, description="refresh status")
    async def load(self) -> None:
        status = await self.client.status(self.search, PAGE, self.first_shop)
        for shop in status["shops"]:
            if shop["failed"] != self.shops.get(shop["shop_id"], shop)["failed"]:
                self.z_control.pop(shop["shop_id"], None)
            if shop["shop_id"] not in self.z_control:
                self.z_control[shop["shop_id"]] = await self._z_line(shop["shop_id"])
        self.post_message(StatusLoaded(status))

    async def _z_line(self, shop_id: str) -> str:
        """How many recent closings were checked against their payments and how many do not match (the Closings screen
        has them); never a "match" when no closing was checked."""
        try:
            answer = await self.client.closings(shop_id)
        except DaemonNotRunning:
            raise
        except ControlError as exc:  # the status is still worth showing
            return f"⚠ Z control unavailable: {exc}"
        n, checked, since = answer["mismatches"], len(answer["closings"]), answer["since"]
        if not checked:
            return f"Z control: no closing delivered since {since}, none checked yet"
        if n:
            return f"✗ Z mismatch: {n} of {plural(checked, 'closing')} since {since} (z: Closings)"
        return f"✓ Z control: {plural(checked, 'closing')} since {since}, every one matches its payments"

    def on_status_loaded(self, message: StatusLoaded) -> None:
        self.shops = {s["shop_id"]: s for s in message.status["shops"]}
        self._show_page(message.status)
        self.operator_app.daemon_info = message.status["daemon"]
        now = self.clock()
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        for s in self.shops.values():
            rate = s["rate_limit"]
            table.add_row(
                *cells(
                    s["shop_id"],
                    ("⏸ paused" if s["paused"] else "✗ held" if s["held_by_reference"] else "▶ on")
                    + (" · daily" if s.get("booking") == "daily" else ""),
                    connection_label(s["connection"], now).split(",")[0],
                    s["queue_depth"],
                    _oldest(s),
                    s["delivered_today"],
                    f"✗ {s['failed']}" if s["failed"] else "0",
                    f"{rate['used']}/{rate['limit']}",
                ),
                key=s["shop_id"],
            )
        if self.shops:
            table.move_cursor(row=min(cursor, len(self.shops) - 1))
        paused = [s for s, v in self.shops.items() if v["paused"]]
        held = [s for s, v in self.shops.items() if v["held_by_reference"]]
        trouble = [f"{mark}: {', '.join(ids)}" for mark, ids in (("⏸ paused", paused), ("✗ held", held)) if ids]
        shops = message.status["totals"]["shops"]
        self.app.sub_title = printable(" · ".join(trouble) or f"{plural(shops, 'shop')}, all running")
        self._show_detail()

    def _show_page(self, status: Status) -> None:
        if (self.matched > PAGE) != (status["totals"]["matched"] > PAGE):
            self.refresh_bindings()
        self.matched = status["totals"]["matched"]
        keys = " · [ ]: pages" if self.matched > PAGE else ""
        self.query_one("#page", Static).update(printable(status_page(status) + keys))

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.search, self.first_shop = event.value.strip(), 0
        self.load()

    def on_input_submitted(self, _: Input.Submitted) -> None:
        self.query_one(DataTable).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The page keys are in the footer only while the shops take more than one page."""
        return action != "page" or self.matched > PAGE

    def action_page(self, step: int) -> None:
        first = self.first_shop + step * PAGE
        if 0 <= first < max(self.matched, 1):
            self.first_shop = first
            self.load()

    def on_data_table_row_highlighted(self, _: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def _selected(self) -> str | None:
        table = self.query_one(DataTable)
        if not self.shops or table.row_count == 0:
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    def _show_detail(self) -> None:
        shop_id = self._selected()
        if shop_id is None or shop_id not in self.shops:
            return
        s = self.shops[shop_id]
        c = s["connection"]
        head = Text.assemble(cell(s["name"], "bold"), cell(f" ({shop_id})  {connection_label(c, self.clock())}"))
        lines: list[str] = []
        if c["scopes"]:
            lines.append(f"scopes: {', '.join(c['scopes'])}")
        if c["missing_scopes"]:
            lines.append(f"⚠ missing scopes: {', '.join(c['missing_scopes'])}")
        if s["paused"]:
            lines.append(f"⏸ paused: {s['pause_reason'] or 'no reason given'} (p: resume)")
        if s["held_by_reference"]:
            lines.append(f"{held_label(s['held_by_reference'])} (f: failed)")
        rate = s["rate_limit"]
        oldest = s["oldest_pending_age"]
        waiting = f"oldest live event {age(oldest)}" if oldest is not None else (
            "only history waits" if s["queue_depth"] else "empty")  # fmt: skip
        lines.append(
            f"queue {s['queue_depth']} ({waiting}), rate limit "
            f"{rate['used']}/{rate['limit']} per {rate['window']:g}s, {plural(rate['waits'], 'wait')}"
        )
        if z_control := self.z_control.get(shop_id):
            lines.append(z_control)
        if "booking" in s:
            lines.append(booking_line(s["booking"]))
        if s["backfill"]:
            b = s["backfill"]
            state = "waits: the shop is paused" if s["paused"] and b["state"] == "running" else b["state"]
            pace = self.pace.setdefault(shop_id, RateWindow()).rate(b["id"], self.clock(), b["done"], b["rate"])
            eta = RateWindow.eta(b["total"] - b["done"], pace)
            left = f", about {duration(eta)} left" if eta and b["state"] == "running" else ""
            lines.append(f"backfill {state}: {b['done']}/{b['total']} events{left}")
        self.query_one("#shop-detail", Static).update(Text("\n").join([head, *map(cell, lines)]))
        self.query_one(Sparkline).data = list(s["throughput"])

    def watch_live(self, live: bool) -> None:
        if self.is_mounted:
            self.query_one("#live-state", Static).update(LIVE if live else FROZEN)

    def action_toggle_live(self) -> None:
        self.live = not self.live

    def action_reload(self) -> None:
        self.load()

    def _with_shop(self, action: str) -> None:
        shop_id = self._selected()
        if shop_id is None:
            self.notify("no shop selected", severity="warning")
            return
        getattr(self.operator_app, f"action_{action}")(shop_id)

    def action_connect(self) -> None:
        self._with_shop("connect")

    def action_backfill(self) -> None:
        self._with_shop("backfill")

    def action_failed(self) -> None:
        self._with_shop("failed")

    def action_mapping(self) -> None:
        self._with_shop("mapping")

    def action_closings(self) -> None:
        self._with_shop("closings")

    def action_booking(self) -> None:
        self._with_shop("booking")

    def action_toggle_pause(self) -> None:
        shop_id = self._selected()
        if shop_id is None:
            return
        if self.shops[shop_id]["paused"]:
            self._set_paused(shop_id, None)
        else:

            def paused(reason: str | None) -> None:
                if reason is not None:
                    self._set_paused(shop_id, reason)

            self.app.push_screen(ReasonModal(f"Pause {shop_id}: why? (shown here and kept in the audit log)"), paused)

    @work(group="shop", exit_on_error=False, description="pause or resume the shop")
    async def _set_paused(self, shop_id: str, reason: str | None) -> None:
        if reason is None:
            await self.client.resume(shop_id)
            self.notify(f"▶ {shop_id} resumed")
        else:
            await self.client.pause(shop_id, reason)
            self.notify(f"⏸ {shop_id} paused")
        self.load()


def _oldest(shop: ShopStatus) -> str:
    """The oldest live event's age; ``history`` when the queue holds only history (held until a backfill, or being
    backfilled), whose age says nothing of the bridge's delay; ``-`` for an empty queue."""
    if shop["oldest_pending_age"] is not None:
        return duration(shop["oldest_pending_age"])
    return "history" if shop["queue_depth"] else "-"
