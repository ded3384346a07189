"""Outbox data as the dashboard shows it: always text, never markup (a shop id ``shop[/]`` is a name, not a tag),
never a terminal escape (control characters and bidi marks written as ``\\uXXXX``, see ``outboxd.control.text``)."""

from __future__ import annotations

from rich.markup import escape
from rich.text import Text

from outboxd.control.text import printable

__all__ = ["cell", "cells"]


def cell(value: object, style: str = "") -> Text:
    """One value (a name in a sentence, a panel's text) as plain text for a Static; ``None`` reads ``-``."""
    return Text("-" if value is None else printable(value, lines=True), style=style)


def cells(*values: object) -> list[object]:
    """A table row: DataTable reads a ``str`` cell as markup, so each is escaped (it shows as written); numbers
    stay numbers (right-aligned)."""
    return [v if isinstance(v, int | float) and not isinstance(v, bool) else escape(printable("-" if v is None else v))
            for v in values]  # fmt: skip
