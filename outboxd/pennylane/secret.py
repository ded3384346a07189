"""A string that never shows itself: repr, str and format all print ``***``.

Client secrets and tokens travel inside config objects and token sets that end up in logs, tracebacks and
the TUI; wrapping them makes leaking one an explicit act (``reveal()``) rather than an accident.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["MASK", "Secret", "redact"]

MASK = "***"
_SHORTEST_REDACTED = 8  # shorter values are test placeholders; masking them would garble every body


class Secret:
    """An opaque secret value; compare and hash like the value, print as ``***``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The clear value, for the one place that must send it."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{MASK}')"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


def redact(text: str, secrets: Iterable[str | Secret]) -> str:
    """``text`` with every occurrence of every secret (of 8 characters or more) replaced by ``***``."""
    for secret in secrets:
        value = secret.reveal() if isinstance(secret, Secret) else secret
        if len(value) >= _SHORTEST_REDACTED:
            text = text.replace(value, MASK)
    return text
