"""Failed deliveries: a filterable table; retry or discard one, or everything matching after a dry-run count."""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import DataTable, Header, Input, Static

from outboxd.control.shapes import BulkDiscarded, BulkRetried, DeliveryDetail, FailedFilter, FailedItem
from outboxd.control.text import HOLDS_SHOP, duration, failed_deliveries, http_label, printable
from outboxd.exceptions import NotFound
from tui.base import OperatorScreen, footer
from tui.cells import cells
from tui.messages import FailedLoaded
from tui.modals import ConfirmModal, ReasonModal

PAGE = 200
REFRESH_SECONDS = 2.0
"""A retried delivery leaves the list, then may fail again: the list follows without a key press."""
FILTERS = (
    ("shop", "shop"),
    ("event_type", "event type"),
    ("error_class", "error class"),
    ("http_status", "HTTP"),
    ("older_than", "older than (minutes)"),
)


class FailedScreen(OperatorScreen):
    """One row per failed delivery, oldest first; the filter applies on Enter in any filter field."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="failed.back"),
        Binding("slash", "focus_filters", "Filter", id="failed.filter"),
        Binding("r", "retry", "Retry", id="failed.retry"),
        Binding("d", "discard", "Discard", id="failed.discard"),
        Binding("R", "bulk('retry')", "Retry all", id="failed.retry_all"),
        Binding("D", "bulk('discard')", "Discard all", id="failed.discard_all"),
    ]

    def __init__(self, shop_id: str | None = None) -> None:
        super().__init__()
        self.initial_shop = shop_id or ""
        self.items: list[FailedItem] = []
        self.applied = FailedFilter()
        """The filter of the list shown: set on Enter, so a refresh never applies a half-typed one."""
        self.retried: dict[int, str] = {}
        """Deliveries retried from this list, and what became of them (they leave the list: said below it)."""

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(classes="filters"):
            for key, label in FILTERS:
                value = self.initial_shop if key == "shop" else ""
                yield Input(value=value, placeholder=label, id=f"filter-{key}", classes="filter")
        yield DataTable(id="failed", cursor_type="row", zebra_stripes=True)
        yield Static(id="failed-count", markup=False)
        yield footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Id", "Shop", "Event", "Class", "HTTP", "Age", "Message")
        table.focus()
        self.applied = self.current_filter()
        self.load()
        self.set_interval(REFRESH_SECONDS, self.load)

    def current_filter(self) -> FailedFilter:
        """The filter as typed; a field that does not parse is ignored and said so."""
        flt = FailedFilter()
        values = {key: self.query_one(f"#filter-{key}", Input).value.strip() for key, _ in FILTERS}
        for key in ("shop", "event_type", "error_class"):
            if values[key]:
                flt[key] = values[key]
        try:
            if values["http_status"]:
                flt["http_status"] = int(values["http_status"])
            if values["older_than"]:
                flt["older_than"] = float(values["older_than"]) * 60
        except ValueError:
            self.notify("✗ HTTP status and age must be numbers", severity="warning")
        return flt

    @work(group="failed", exclusive=True, exit_on_error=False, description="list failed deliveries")
    async def load(self) -> None:
        page = await self.client.failed(self.applied, limit=PAGE)
        for delivery_id, said in list(self.retried.items()):
            if not said.startswith("✓"):
                try:
                    self.retried[delivery_id] = _retried(await self.client.delivery(delivery_id))
                except NotFound:
                    del self.retried[delivery_id]
        self.post_message(FailedLoaded(page["total"], page["items"]))

    def on_failed_loaded(self, message: FailedLoaded) -> None:
        self.items = message.items
        table = self.query_one(DataTable)
        cursor, selected = table.cursor_row, self.selected_id()
        table.clear()
        for i in message.items:
            status = http_label(i["http_status"], i["error_class"], short=True)
            table.add_row(
                *cells(
                    i["id"],
                    i["shop_id"],
                    i["event_type"],
                    i["error_class"],
                    status,
                    duration(i["age"]),
                    (HOLDS_SHOP if i["holds_shop"] else "") + (i["message"] or ""),
                ),
                key=str(i["id"]),
            )
        if message.items:
            ids = [i["id"] for i in message.items]
            table.move_cursor(row=ids.index(selected) if selected in ids else min(cursor, len(ids) - 1))
        shown = f"{len(message.items)} of {message.total} failed deliveries — Enter: detail" if message.total else (
            "no failed delivery")  # fmt: skip
        for i in [i for i in message.items if i["holds_shop"]]:
            shown += f"\n✗ reference snapshot #{i['id']} holds every later event of {i['shop_id']}: retry it first"
        if config_file := self.operator_app.daemon_info.get("config_file"):
            shown += f"\nconfiguration: {config_file}"
        shown += "".join(f"\n{said}" for said in list(self.retried.values())[-3:])
        self.query_one("#failed-count", Static).update(printable(shown, lines=True))

    def on_input_submitted(self, _: Input.Submitted) -> None:
        self.applied = self.current_filter()
        self.load()
        self.query_one(DataTable).focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.operator_app.action_delivery(int(event.row_key.value))

    def action_focus_filters(self) -> None:
        self.set_focus(self.query_one("#filter-shop", Input))  # now: keys typed ahead go to the field

    def selected_id(self) -> int | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        return int(str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value))

    def action_retry(self) -> None:
        delivery_id = self.selected_id()
        if delivery_id is not None:
            self.retry(delivery_id)

    def action_discard(self) -> None:
        delivery_id = self.selected_id()
        if delivery_id is None:
            return

        def discard(reason: str | None) -> None:
            if reason:
                self.discard(delivery_id, reason)

        self.app.push_screen(ReasonModal(f"Discard delivery {delivery_id}: why?"), discard)

    @work(group="action", exit_on_error=False, description="retry a delivery")
    async def retry(self, delivery_id: int) -> None:
        await self.client.retry(delivery_id)
        self.retried[delivery_id] = f"↻ delivery {delivery_id} queued again…"
        self.notify(f"↻ delivery {delivery_id} queued again")
        self.load()

    @work(group="action", exit_on_error=False, description="discard a delivery")
    async def discard(self, delivery_id: int, reason: str) -> None:
        await self.client.discard(delivery_id, reason)
        self.notify(f"🗑 delivery {delivery_id} discarded")
        self.load()

    def action_bulk(self, verb: str) -> None:
        if verb == "retry":
            self.bulk(verb, None)
            return

        def with_reason(reason: str | None) -> None:
            if reason:
                self.bulk(verb, reason)

        self.app.push_screen(ReasonModal("Discard everything matching the filter: why?"), with_reason)

    @work(group="action", exclusive=True, exit_on_error=False, description="bulk action on failed deliveries")
    async def bulk(self, verb: str, reason: str | None) -> None:
        """Dry run for the count, confirmation showing it, then the same filter for real."""
        flt = self.current_filter()

        async def call(dry_run: bool) -> BulkRetried | BulkDiscarded:
            if reason is None:
                return await self.client.bulk_retry(flt, dry_run=dry_run)
            return await self.client.bulk_discard(flt, reason, dry_run=dry_run)

        matched = (await call(True))["matched"]
        if matched == 0:
            self.notify("nothing matches the filter")
            return
        scope = ", ".join(f"{k}={v}" for k, v in flt.items()) or "no filter: every shop"
        if not await self.app.push_screen_wait(
            ConfirmModal(f"{verb.capitalize()} {failed_deliveries(matched)}?\n({scope})")
        ):
            self.notify("nothing done")
            return
        done = await call(False)
        self.notify(f"{verb}: {done.get('retried', done.get('discarded'))} of {failed_deliveries(matched)}")
        self.load()


def _retried(d: DeliveryDetail) -> str:
    """What became of a delivery retried from the list: booked (with its Pennylane ids), failed again, or waiting."""
    n = d["id"]
    if d["state"] == "delivered":
        ids = ", ".join(
            f"{e['piece_number']} Pennylane id {e['pennylane_id']}" for e in d["entries"] if e["pennylane_id"]
        )
        return f"✓ delivery {n} booked: {ids or 'delivered'} (Ctrl+P: delivery {n})"
    if d["state"] == "failed":
        return f"✗ delivery {n} failed again: {d['message']}"
    return f"↻ delivery {n} {d['state']}…"
