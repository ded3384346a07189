"""The help screen: every screen's keys and how to complete OAuth over SSH."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# outboxd dashboard

Keys are shown in the footer; **Ctrl+P** opens the command palette; **Esc** leaves a text field, then
goes back; **q** quits.

- **Overview**: **c** connect, **b** backfill, **f**/Enter failed, **m** mapping, **z** closings (Z control),
  **p** pause/resume the shop, **space** freeze live refresh, **r** refresh now
- **Connect**: **s** start OAuth, **y** copy the URL, **o** open it, Enter on a pasted redirect URL,
  **t** API token file, **d** disconnect, **b** backfill
- **Backfill**: **e** edit the date, Enter re-estimates, **m** switch mode, **s** start, **p** pause/resume,
  **x** cancel
- **Failed**: **/** filters, Enter detail, **r** retry, **d** discard (reason), **R** retry all matching,
  **D** discard all matching
- **Detail**: **r** retry, **d** discard
- **Closings**: mismatches first (✗ mismatch, with the methods that differ); **m** mismatches only, **r** refresh

States are words and symbols: ✓ connected, ✗ reconnect needed / failed, ⏸ paused, ▶ running, ⚠ warning.

OAuth over SSH: connect with `ssh -L 8765:127.0.0.1:8765 server` so your browser reaches the daemon's callback
listener, or paste the address the browser landed on.
"""


class HelpScreen(ModalScreen[None]):
    """Read-only; Esc, q or ? closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "dismiss", "Close", id="help.close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Markdown(HELP)
