"""Connect a shop to Pennylane: OAuth through the daemon's callback listener or a pasted redirect URL,
or a company API token file; disconnect with confirmation. A connect is followed by the backfill offer.

The authorize URL is shown unboxed at the left edge (a mouse selection in Textual copies it whole, Ctrl-C), and
``y`` copies it through the terminal (OSC 52), ``o`` opens it here: no field has the focus, so those keys act at
once, and a paste anywhere on the screen goes to the redirect-URL field.
"""

from __future__ import annotations

from typing import ClassVar

from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Header, Input, Static

from outboxd.control.shapes import Connection
from outboxd.control.text import connection_label, printable
from tui.base import OperatorScreen, footer
from tui.cells import cell
from tui.messages import ConnectionChanged
from tui.modals import ConfirmModal

POLL_SECONDS = 1.0
IDLE = "s: start OAuth, then open the authorize URL in a browser on your own machine"
NO_URL = "no authorize URL yet: s starts OAuth"


class ConnectScreen(OperatorScreen):
    """While an OAuth start is pending, the screen polls the shop's connection every second."""

    AUTO_FOCUS = ""  # keys act on the screen until a field is chosen
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="connect.back"),
        Binding("s", "start", "OAuth", id="connect.start"),
        Binding("y", "copy_url", "Copy", id="connect.copy"),
        Binding("o", "open_url", "Open", id="connect.open"),
        Binding("t", "focus_token", "Token", id="connect.token"),
        Binding("d", "disconnect", "Disconnect", id="connect.disconnect"),
        Binding("b", "backfill", "Backfill", id="connect.backfill"),
    ]

    def __init__(self, shop_id: str) -> None:
        super().__init__()
        self.shop_id = shop_id
        self.authorize_url: str | None = None
        self.connection: Connection | None = None
        self.replacing: Connection | None = None
        """On a reconnect, the connection the new grant replaces: while the shop shows it, the grant is pending."""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(cell(f"Pennylane connection of {self.shop_id}"), classes="section")
        yield Static("loading…", id="connection", classes="panel", markup=False)
        yield Static(IDLE, id="url", markup=False)
        yield Input(placeholder="paste the URL the browser landed on, then Enter", id="redirect-url")
        yield Input(
            placeholder="or: name of a company API token file in the daemon's token directory, then Enter", id="token"
        )
        yield footer()

    def on_mount(self) -> None:
        self.poll()
        self.set_interval(POLL_SECONDS, self._tick)

    def _tick(self) -> None:
        if self.authorize_url is not None:
            self.poll()

    @work(group="connection", exclusive=True, exit_on_error=False, description="read the connection")
    async def poll(self) -> None:
        shop = await self.client.shop(self.shop_id)
        self.post_message(ConnectionChanged(self.shop_id, shop["connection"]))

    def on_connection_changed(self, message: ConnectionChanged) -> None:
        c = self.connection = message.connection
        lines = [connection_label(c, self.clock())]
        if c["state"] == "connected" and c != self.replacing:
            if self.authorize_url is not None:  # the URL is used: said instead of it
                self.query_one("#url", Static).update("✓ authorized: the authorize URL is used up")
            if isinstance(self.focused, Input):  # keys act on the screen again (b: backfill)
                self.set_focus(None)
            self.authorize_url = self.replacing = None
        if c["state"] == "connected":
            lines.append(f"company: {c['company_name']} (id {c['company_id']})")
            lines.append(f"scopes: {', '.join(c['scopes']) or '-'}")
            if c["missing_scopes"]:
                lines.append(f"⚠ missing scopes: {', '.join(c['missing_scopes'])}: reconnect and grant them")
            lines.append("b: backfill the shop's history now")
        self.query_one("#connection", Static).update(printable("\n".join(lines), lines=True))

    @work(group="action", exclusive=True, exit_on_error=False, description="start OAuth")
    async def action_start(self) -> None:
        start = await self.client.connect_start(self.shop_id)
        self.replacing = self.connection if self.connection and self.connection["state"] == "connected" else None
        self.authorize_url = start["authorize_url"]
        self.query_one("#url", Static).update(printable(
            f"Open in a browser on your own machine (y: copy, o: open here):\n{start['authorize_url']}\n"
            f"It comes back to {start['redirect_uri']}: this screen notices; else paste where it landed."
        , lines=True))  # fmt: skip
        self.poll()

    def action_copy_url(self) -> None:
        if self.authorize_url:
            self.app.copy_to_clipboard(self.authorize_url)
            self.notify("authorize URL copied to your clipboard (OSC 52: if your terminal allows it)")
        else:
            self.notify(NO_URL, severity="warning")

    def action_open_url(self) -> None:
        if self.authorize_url:
            self.app.open_url(self.authorize_url)
            self.notify("authorize URL sent to a browser on this machine (over SSH: y copies it instead)")
        else:
            self.notify(NO_URL, severity="warning")

    def on_paste(self, event: events.Paste) -> None:
        """A paste while no field has the focus: the address the browser landed on, completed at once."""
        if not isinstance(self.focused, Input) and event.text.strip():
            event.stop()
            self.query_one("#redirect-url", Input).value = event.text.strip()
            self.complete(event.text.strip())

    def action_focus_token(self) -> None:
        self.set_focus(self.query_one("#token", Input))  # now: keys typed ahead go to the field

    def on_input_submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        if not value:
            return
        if event.input.id == "redirect-url":
            self.complete(value)
        else:
            self.use_token(value)

    @work(group="action", exclusive=True, exit_on_error=False, description="complete OAuth")
    async def complete(self, redirect_url: str) -> None:
        connection = await self.client.connect_complete(self.shop_id, redirect_url)
        self.post_message(ConnectionChanged(self.shop_id, connection))
        self.notify(f"✓ {self.shop_id} connected to {connection['company_name']}")

    @work(group="action", exclusive=True, exit_on_error=False, description="use an API token")
    async def use_token(self, token_file: str) -> None:
        connection = await self.client.connect_token(self.shop_id, token_file)
        self.post_message(ConnectionChanged(self.shop_id, connection))
        self.notify(f"✓ {self.shop_id} uses a company API token")

    @work(group="action", exclusive=True, exit_on_error=False, description="disconnect")
    async def action_disconnect(self) -> None:
        if not await self.app.push_screen_wait(ConfirmModal(f"Revoke Pennylane access of {self.shop_id}?")):
            return
        self.post_message(ConnectionChanged(self.shop_id, await self.client.disconnect(self.shop_id)))

    def action_backfill(self) -> None:
        if self.connection and self.connection["state"] == "connected":
            self.operator_app.action_backfill(self.shop_id)
        else:
            self.notify("connect the shop first", severity="warning")
