"""Logging: named events with context, JSON lines for journald, and no secret ever written.

Events are named ``area.what`` so a person can grep them (``delivery.posted``, ``delivery.unknown_outcome``,
``token.rotated``); the context comes from ``structlog.contextvars.bound_contextvars(shop=..., event_id=...,
piece_number=...)``. Every line, from structlog or from the stdlib (aiohttp, asyncio), passes through one
``Redactor`` before it is rendered: it masks secret-named keys at any depth, ``Bearer``/``Basic`` credentials,
``token=...`` in URLs and bodies, and every secret value registered at run time (the client secret, each token).

The registered values are the live ones only: a shop's tokens are held under the shop (``live``), and a rotation
replaces them; the generation before stays masked for lines still in flight, older ones are forgotten. So the
set stays a few values per shop however long the daemon runs, and its one pattern is rebuilt only when the set
changed, at the next line that needs it.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from outboxd.secrets import MASK, Secret

__all__ = ["Redactor", "configure_logging", "get_logger"]

_SECRET_KEYS = frozenset(
    {"access_token", "refresh_token", "id_token", "client_secret", "authorization", "proxy_authorization",
     "password", "passwd", "token", "code_verifier", "secret", "api_token", "api_key", "cookie", "set_cookie"}
)  # fmt: skip
_SECRET_SUFFIXES = ("_token", "_secret", "_password")
_NAMES = "access_token|refresh_token|id_token|client_secret|code_verifier|password|api_token|token|code"
_TEXT_PATTERNS = (
    (re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9\-._~+/]+=*", re.IGNORECASE), rf"\1 {MASK}"),
    (re.compile(rf"\b({_NAMES})=[^&\s\"'<>]+"), rf"\1={MASK}"),
    (re.compile(rf"([\"'])({_NAMES}|authorization)\1(\s*:\s*)([\"'])(?:(?!\4).)*\4", re.IGNORECASE),
     rf"\1\2\1\3\4{MASK}\4"),
)  # fmt: skip
_TEXT_NEEDS: tuple[Callable[[str], bool], ...] = (
    lambda text: len(text.split(None, 1)) == 2,  # a word, whitespace (re's \s is str.isspace), a word
    lambda text: "=" in text,
    lambda text: '"' in text or "'" in text,
)
"""What a text needs to contain before the matching pattern of _TEXT_PATTERNS can match."""
_MIN_SECRET = 6  # shorter values would mask ordinary words; real secrets and tokens are far longer
_SCALARS = (int, float, bool, type(None))


class Redactor:
    """A structlog processor that masks secrets in the whole event dict: values given for good
    (``register_secret``: the client secret) and each owner's live ones (``live``: a shop's tokens)."""

    def __init__(self, secrets: Iterable[str | Secret] = ()) -> None:
        self._fixed: set[str] = set()
        self._owned: dict[str, tuple[frozenset[str], frozenset[str]]] = {}  # owner: (current, previous)
        self._pattern: re.Pattern[str] | None = None
        self._stale = False
        for secret in secrets:
            self.register_secret(secret)

    def register_secret(self, value: str | Secret) -> None:
        """Mask this exact value for as long as the process runs (values under 6 characters are ignored)."""
        text = _revealed(value)
        if len(text) >= _MIN_SECRET and text not in self._fixed:
            self._fixed.add(text)
            self._stale = True

    def live(self, owner: str, *values: str | Secret) -> None:
        """``owner``'s secrets are now ``values`` (none: it has none left). The previous ones stay masked until
        the next change, for lines about requests still in flight; older ones are forgotten."""
        current = frozenset(text for text in map(_revealed, values) if len(text) >= _MIN_SECRET)
        before = self._owned.get(owner, (frozenset(), frozenset()))[0]
        if current != before:
            self._owned[owner] = (current, before)
            self._stale = True

    @property
    def held(self) -> int:
        """How many values are masked now (the live ones, the generation before, the fixed ones)."""
        return len(self._values())

    def _values(self) -> set[str]:
        return self._fixed.union(*(current | previous for current, previous in self._owned.values()))

    def _compiled(self) -> re.Pattern[str] | None:
        if self._stale:  # rebuilt once per change of the set, not once per value registered
            alternatives = sorted(self._values(), key=len, reverse=True)  # longest first: a secret inside another
            self._pattern = re.compile("|".join(map(re.escape, alternatives))) if alternatives else None
            self._stale = False
        return self._pattern

    def __call__(self, logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
        return {key: self._value(key, value) for key, value in event_dict.items()}

    def scrub(self, text: str) -> str:
        """``text`` with registered secrets, credentials and token-like parameters masked."""
        if len(text) >= _MIN_SECRET and (pattern := self._compiled()) is not None:
            text = pattern.sub(MASK, text)
        for (pattern, replacement), needed in zip(_TEXT_PATTERNS, _TEXT_NEEDS, strict=True):
            if needed(text):  # a cheap test first: most values (ids, names, timestamps) cannot match
                text = pattern.sub(replacement, text)
        return text

    def _value(self, key: Any, value: Any) -> Any:
        if isinstance(key, str) and _is_secret_key(key) and value not in (None, ""):
            return MASK
        return self._clean(value)

    def _clean(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, _SCALARS):
            return value
        if isinstance(value, Secret):
            return MASK
        if isinstance(value, Mapping):
            return {key: self._value(key, item) for key, item in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self._clean(item) for item in value]
        if isinstance(value, BaseException):
            return self.scrub(f"{type(value).__name__}: {value}")
        if isinstance(value, bytes):
            return self.scrub(value.decode("utf-8", errors="replace"))
        return self.scrub(str(value))


def _revealed(value: str | Secret) -> str:
    return value.reveal() if isinstance(value, Secret) else value


def _is_secret_key(key: str) -> bool:
    name = key.lower().replace("-", "_")
    return name in _SECRET_KEYS or name.endswith(_SECRET_SUFFIXES)


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """The root handler configure_logging installs (a class of its own so a second call replaces it)."""


def configure_logging(
    level: str = "info", fmt: str = "auto", *, stream: TextIO | None = None, redactor: Redactor | None = None
) -> Redactor:
    """Route structlog and stdlib logging through one redacting chain to ``stream`` (stdout by default).

    ``fmt`` is ``json`` (one JSON object per line, for journald), ``console`` (aligned, coloured on a TTY) or
    ``auto`` (console on a TTY, JSON otherwise). Returns the redactor, where the daemon registers its secrets.
    Calling it again replaces the previous setup.
    """
    out = stream if stream is not None else sys.stdout
    redactor = redactor if redactor is not None else Redactor()
    numeric = logging.getLevelNamesMapping()[level.upper()]
    use_json = fmt == "json" or (fmt == "auto" and not out.isatty())
    renderer: Processor = (
        structlog.processors.JSONRenderer(default=str)
        if use_json
        else structlog.dev.ConsoleRenderer(colors=out.isatty(), exception_formatter=structlog.dev.plain_traceback)
    )
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
    ]
    structlog.configure(
        processors=[*shared, redactor, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.WriteLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    handler = _Handler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, redactor, renderer],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    # aiohttp logs one line per request: noise in journald (and URLs may carry codes), kept for debugging
    logging.getLogger("aiohttp.access").setLevel(logging.DEBUG if numeric <= logging.DEBUG else logging.WARNING)
    return redactor


def get_logger(name: str) -> Any:
    """A structlog logger whose lines carry ``logger=name`` like the stdlib ones."""
    return structlog.get_logger().bind(logger=name)
