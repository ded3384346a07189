"""Turn an HTTP answer (or the lack of one) into the domain errors of ``outboxd.exceptions``.

The line that matters is *was the request sent?* Pennylane has no idempotency key, so once a POST has left
the process, a 5xx, a timeout or a reset means "maybe applied" (:class:`UnknownOutcomeError`) and the caller
must look before posting again. Before sending, or for a GET, the same failures are plainly retryable.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import aiohttp

from outboxd.exceptions import (
    AuthError,
    PennylaneError,
    PermanentError,
    RateLimited,
    RetryableError,
    UnknownOutcomeError,
)

__all__ = [
    "BODY_LIMIT",
    "DEFAULT_RETRY_AFTER",
    "error_for_response",
    "error_for_transport",
    "parse_error_message",
    "parse_retry_after",
]

BODY_LIMIT = 2000
"""Characters of a response body kept on an error (enough for a validation message, never a whole page)."""

DEFAULT_RETRY_AFTER = 5.0
"""Seconds to wait after a 429 without a usable ``retry-after``: one full Pennylane window."""

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _truncate(text: str) -> str:
    return text if len(text) <= BODY_LIMIT else text[:BODY_LIMIT] + "…"


def parse_error_message(text: str) -> str:
    """The reason of an error body, from every shape Pennylane documents; the raw text when none fits.

    Shapes: ``{"error": "...", "status": 422}`` (spec), ``{"error": "code", "message": "...", "details": {...}}``
    (guide), ``{"message": "...", "field": "...", "code": "..."}`` (400 validation), and plain text.
    """
    try:
        body: Any = json.loads(text)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return _truncate(text.strip()) or "(empty body)"
    error, message = body.get("error"), body.get("message")
    field, code, details = body.get("field"), body.get("code"), body.get("details")
    if isinstance(message, str) and message:
        text_out = f"{field}: {message}" if isinstance(field, str) and field else message
        if isinstance(code, str) and code:
            text_out += f" ({code})"
        if isinstance(error, str) and error and error != message:
            text_out = f"{error}: {text_out}"
        if details:
            text_out += " " + json.dumps(details, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        return _truncate(text_out)
    if isinstance(error, str) and error:
        return _truncate(error)
    return _truncate(text.strip())


def parse_retry_after(headers: Mapping[str, str]) -> float:
    """Seconds from ``retry-after`` (seconds form); the default when missing or unreadable."""
    raw = headers.get("retry-after", "")
    try:
        seconds = float(raw)
    except ValueError:
        return DEFAULT_RETRY_AFTER
    return seconds if seconds >= 0 else DEFAULT_RETRY_AFTER


def error_for_response(method: str, status: int, text: str, headers: Mapping[str, str]) -> PennylaneError | None:
    """The error an answer stands for, or None for a success. 401 is returned as AuthError; the caller
    decides whether a refresh comes first."""
    if status < 400:
        return None
    message = parse_error_message(text)
    body = _truncate(text)
    if status == 429:
        return RateLimited(message, retry_after=parse_retry_after(headers), status=status, body=body)
    if status == 401:
        return AuthError(message, status=status, body=body)
    if status == 408:
        return RetryableError(message, status=status, body=body)
    if status >= 500:
        if method.upper() in _SAFE_METHODS:
            return RetryableError(message, status=status, body=body)
        return UnknownOutcomeError(message, status=status, body=body)
    return PermanentError(message, status=status, body=body)


def _sent_before_failure(exc: BaseException) -> bool:
    """False only when the request certainly never reached the server (DNS, refused, connect timeout)."""
    return not isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError | aiohttp.InvalidURL)


def error_for_transport(method: str, exc: BaseException, what: str) -> PennylaneError:
    """The error a transport failure stands for; ``what`` names the call (``POST /ledger_entries``)."""
    kind = "timeout" if isinstance(exc, asyncio.TimeoutError) else type(exc).__name__
    if method.upper() in _SAFE_METHODS or not _sent_before_failure(exc):
        return RetryableError(f"{what}: {kind}, safe to send again")
    return UnknownOutcomeError(f"{what}: {kind} after the request was sent, outcome unknown")
