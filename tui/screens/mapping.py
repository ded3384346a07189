"""Mapping: the shop's effective journals and accounts, and whether each exists in Pennylane."""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Header, Static

from outboxd.control.text import in_pennylane
from tui.base import OperatorScreen, footer
from tui.cells import cell, cells


class MappingScreen(OperatorScreen):
    """Read-only. A journal or account not yet in Pennylane is created there the first time something is booked on
    it; an account the mapping lacks (a VAT rate it does not know) is what fails deliveries with ``booking``."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="mapping.back"),
        Binding("r", "reload", "Refresh", id="mapping.refresh"),
    ]

    def __init__(self, shop_id: str) -> None:
        super().__init__()
        self.shop_id = shop_id

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(cell(f"Journals of {self.shop_id} (one per register)"), classes="section")
        yield DataTable(id="journals", cursor_type="row")
        yield Static("Accounts (per VAT rate, payment method, chapter...)", classes="section")
        yield DataTable(id="accounts", cursor_type="row")
        yield footer()

    def on_mount(self) -> None:
        self.query_one("#journals", DataTable).add_columns("register", "journal", "in Pennylane")
        self.query_one("#accounts", DataTable).add_columns("role", "key", "account", "in Pennylane", "label")
        self.query_one("#accounts", DataTable).focus()  # the long list: arrows and PgDn scroll it at once
        self.load()

    def action_reload(self) -> None:
        self.load()

    @work(group="mapping", exclusive=True, exit_on_error=False, description="load the mapping")
    async def load(self) -> None:
        mapping = await self.client.mapping(self.shop_id)
        journals = self.query_one("#journals", DataTable)
        journals.clear()
        for j in mapping["journals"]:
            journals.add_row(*cells(f"{j['register_name']} ({j['register_id']})", j["code"], in_pennylane(j["exists"])))
        accounts = self.query_one("#accounts", DataTable)
        accounts.clear()
        for a in mapping["accounts"]:
            # the key carries the VAT rate; "in Pennylane" before the label: it must show at 80 columns
            accounts.add_row(*cells(a["role"], a["key"], a["number"], in_pennylane(a["exists"]), a["label"]))
