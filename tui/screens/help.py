"""The help screen: every screen's keys, where the configuration is, and how to complete OAuth over SSH (with the
daemon's real callback port)."""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import urlsplit

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

from outboxd.control.shapes import DaemonInfo

HELP = """\
# outboxd dashboard

Keys are shown in the footer; **Ctrl+P** opens the command palette (type `delivery 11` to open any delivery);
**Esc** leaves a text field, then goes back; **q** or **Ctrl+C** quits. Scroll this page with the arrows.

Configuration file: `{config}`

- **Overview**: **c** connect, **b** backfill, **f**/Enter failed, **m** mapping, **z** closings (Z control),
  **p** pause (a reason is asked) / resume the shop, **space** freeze live refresh, **r** refresh now,
  **/** find shops by id or name (Enter: back to the list), **[** **]** previous and next page of 50 shops
- **Connect**: **s** start OAuth, **y** copy the URL, **o** open it, Enter on a pasted redirect URL,
  **t** API token file, **d** disconnect, **b** backfill
- **Backfill**: **e** edit the date, Enter re-estimates, **m** switch mode, **s** start, **p** pause/resume,
  **x** cancel
- **Failed**: **/** filters, Enter detail, **r** retry, **d** discard (reason), **R** retry all matching,
  **D** discard all matching
- **Detail** (any delivery): **r** retry (the screen follows it until booked), **d** discard
- **Closings**: mismatches first (✗ mismatch, with the methods that differ); **m** mismatches only, **r** refresh

States are words and symbols: ✓ connected, ✗ reconnect needed / failed, ⏸ paused, ▶ running, ⚠ warning.

OAuth over SSH: connect with `ssh -L {port}:127.0.0.1:{port} server` so your browser reaches the daemon's
callback listener ({callback}), or paste the address the browser landed on.

— end of help: Esc closes it —
"""


def help_text(daemon: DaemonInfo) -> str:
    """The help with the daemon's configuration file and callback (from the last status; defaults before one)."""
    callback = daemon.get("redirect_uri") or "http://127.0.0.1:8765/oauth/callback"
    port = urlsplit(callback).port or 8765
    return HELP.format(config=daemon.get("config_file") or "(not said by the daemon)", callback=callback, port=port)


class HelpScreen(ModalScreen[None]):
    """Read-only; Esc, q or ? closes it. It scrolls (the arrows, PgUp/PgDn), its border says so."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "dismiss", "Close", id="help.close")]

    def __init__(self, daemon: DaemonInfo | None = None) -> None:
        super().__init__()
        self.daemon = daemon or {}

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help") as scroll:
            scroll.border_title = "Help"
            scroll.border_subtitle = "↑↓ PgUp PgDn: scroll · Esc: close"
            yield Markdown(help_text(self.daemon))

    def on_mount(self) -> None:
        self.query_one("#help", VerticalScroll).focus()
