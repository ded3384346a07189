"""Closings: the Z control of a shop, mismatches first; the selected closing's methods below, in euros.

Read when opened and on ``r``: the daemon compares each Z with the payments delivered so far, so a payment still
in flight shows as a difference until it is delivered.
"""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Header, Static

from outboxd.control.shapes import Closing
from outboxd.control.text import plural, printable, table
from tui.base import OperatorScreen, footer
from tui.cells import cell, cells

MISMATCH, MATCHES = "✗ mismatch", "✓ matches"


def differences(closing: Closing) -> str:
    """``cb -2.30, cash +1.00``: the methods that differ, ``-`` when none does."""
    gaps = [f"{r['method_id']} {'' if r['difference'].startswith('-') else '+'}{r['difference']}"
            for r in closing["rows"] if r["difference"] != "0.00"]  # fmt: skip
    return ", ".join(gaps) or "-"


class ClosingsScreen(OperatorScreen):
    """Read-only; a mismatch is told in words (``✗ mismatch``) and by the methods that differ, not by colour."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="closings.back"),
        Binding("m", "toggle_mismatch", "Mismatches only", id="closings.mismatch"),
        Binding("r", "reload", "Refresh", id="closings.refresh"),
    ]

    def __init__(self, shop_id: str) -> None:
        super().__init__()
        self.shop_id = shop_id
        self.mismatch_only = False
        self.closings: dict[str, Closing] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(cell(f"Z control of {self.shop_id}: loading…"), id="closings-summary", classes="panel")
        yield DataTable(id="closings", cursor_type="row", zebra_stripes=True)
        yield Static(id="closing-detail", classes="panel", markup=False)
        yield footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("day", "Z", "register", "state", "differences")
        self.load()

    def action_reload(self) -> None:
        self.load()

    def action_toggle_mismatch(self) -> None:
        self.mismatch_only = not self.mismatch_only
        self.load()

    @work(group="closings", exclusive=True, exit_on_error=False, description="load the closings")
    async def load(self) -> None:
        answer = await self.client.closings(self.shop_id, mismatch_only=self.mismatch_only)
        ordered = sorted(answer["closings"], key=lambda c: not c["mismatch"])  # stable: newest first within each
        self.closings = {str(c["delivery_id"]): c for c in ordered}
        rows = self.query_one(DataTable)
        rows.clear()
        for key, c in self.closings.items():
            rows.add_row(*cells(c["business_date"], f"Z{c['z_number']}", c["register_name"] or c["register_id"],
                                MISMATCH if c["mismatch"] else MATCHES, differences(c)), key=key)  # fmt: skip
        shown = "mismatches only" if self.mismatch_only else "all"
        self.query_one("#closings-summary", Static).update(cell(
            f"Z control of {self.shop_id} since {answer['since']} ({shown}): "
            f"{'✗' if answer['mismatches'] else '✓'} {answer['mismatches']} mismatched"
            f" of {plural(len(ordered), 'closing')}"
        ))  # fmt: skip
        self._show_detail()

    def on_data_table_row_highlighted(self, _: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        rows = self.query_one(DataTable)
        detail = self.query_one("#closing-detail", Static)
        if rows.row_count == 0:
            detail.update("no closing delivered in this period")
            return
        c = self.closings[str(rows.coordinate_to_cell_key(rows.cursor_coordinate).row_key.value)]
        lines = [[r["label"], r["expected"], r["delivered"], r["difference"]] for r in c["rows"]]
        head = f"Z{c['z_number']} {c['register_id']} {c['business_date']}: expected by the Z, delivered, difference"
        detail.update(
            printable(head, lines=True) + "\n" + table(["method", "expected", "delivered", "difference"], lines)
        )
