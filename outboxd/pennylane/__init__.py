"""Pennylane Company API v2: OAuth 2, rate limit per token, typed calls, errors classified.

Callers import from here, not from the modules inside.
"""

from outboxd.pennylane.auth import (
    ApiTokenConnection,
    Connection,
    ConnectionState,
    HeldGrant,
    OAuthConnection,
    OnRotate,
    SharedGrant,
)
from outboxd.pennylane.client import SEND_GATE, PennylaneClient, filter_param
from outboxd.pennylane.entries import MAX_LINES, LedgerEntryLine, LedgerEntryRequest
from outboxd.pennylane.errors import error_for_response, error_for_transport, parse_error_message
from outboxd.pennylane.models import (
    Address,
    CreatedCustomer,
    Customer,
    FiscalYear,
    Journal,
    LedgerAccount,
    Me,
    PostedEntry,
)
from outboxd.pennylane.oauth import BRIDGE_SCOPES, OAuthApp, TokenSet
from outboxd.pennylane.ratelimit import RateLimiter, RateUsage, SendLog
from outboxd.pennylane.trace import Exchange, RecordingTrace, TraceHook

__all__ = [
    "BRIDGE_SCOPES",
    "MAX_LINES",
    "SEND_GATE",
    "Address",
    "ApiTokenConnection",
    "Connection",
    "ConnectionState",
    "CreatedCustomer",
    "Customer",
    "Exchange",
    "FiscalYear",
    "HeldGrant",
    "Journal",
    "LedgerAccount",
    "LedgerEntryLine",
    "LedgerEntryRequest",
    "Me",
    "OAuthApp",
    "OAuthConnection",
    "OnRotate",
    "PennylaneClient",
    "PostedEntry",
    "RateLimiter",
    "RateUsage",
    "RecordingTrace",
    "SendLog",
    "SharedGrant",
    "TokenSet",
    "TraceHook",
    "error_for_response",
    "error_for_transport",
    "filter_param",
    "parse_error_message",
]
