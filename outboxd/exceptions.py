"""Every error outboxd raises, under one root.

    OutboxdError
    ├── ConfigError               the configuration file or a secret file is wrong; the daemon refuses to start
    │   └── SecretFileError       a secret file is missing, unreadable or readable by others
    ├── ContractError             an outbox row does not follow the outbox contract (names the field)
    ├── BookingError              a valid event cannot be booked with the shop's mapping (names what is missing)
    ├── StoreError                the state database refused an operation
    │   └── LeaseLost             a replica could not renew its lane leases in time: it stops and exits
    ├── ControlError              the control API answered with an error, or the daemon is not running
    │   ├── DaemonNotRunning      no daemon listens on the control socket
    │   ├── NotFound              the shop, delivery or backfill named in a control call does not exist
    │   └── BadRequest            a control call is malformed (missing actor, bad date, unknown mode)
    └── PennylaneError            a call to Pennylane did not succeed
        ├── RetryableError        not processed by Pennylane (5xx before sending, connection refused): try again later
        │   └── RateLimited       429: not processed, wait `retry_after` seconds, spend no attempt
        ├── AuthError             401 after a refresh, or invalid_grant: the shop needs to reconnect
        ├── PermanentError        400/403/404/409/422: the request itself is wrong, a person must act
        └── UnknownOutcomeError   the request was sent and no answer came back: look before posting again

Errors of aiohttp, aiosqlite and asyncpg are translated at the boundary (``raise ... from exc``) so
the delivery code reasons only in these terms.
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "BadRequest",
    "BookingError",
    "ConfigError",
    "ContractError",
    "ControlError",
    "DaemonNotRunning",
    "LeaseLost",
    "NotFound",
    "OutboxdError",
    "PennylaneError",
    "PermanentError",
    "PieceNumberTaken",
    "RateLimited",
    "RetryableError",
    "SecretFileError",
    "StoreError",
    "UnknownOutcomeError",
]


class OutboxdError(Exception):
    """Root of every error outboxd raises on purpose."""


class ConfigError(OutboxdError):
    """The configuration is invalid; ``key`` is the dotted path of the offending key."""

    def __init__(self, key: str, reason: str) -> None:
        self.key = key
        self.reason = reason
        super().__init__(f"{key}: {reason}" if key else reason)


class SecretFileError(ConfigError):
    """A secret file is missing, unreadable or too widely readable (it must be 0600 or 0400)."""


class ContractError(OutboxdError):
    """An outbox row breaks the outbox contract.

    ``field`` is the path inside the row (``payload.lines[2].vat_rate``), ``problem`` what is wrong and
    ``fix`` what the producer should send instead. The message is stored with the delivery.
    """

    def __init__(self, field: str, problem: str, fix: str = "") -> None:
        self.field = field
        self.problem = problem
        self.fix = fix
        text = f"{field}: {problem}"
        if fix:
            text += f" ({fix})"
        super().__init__(text)


class BookingError(OutboxdError):
    """A valid event cannot be booked: a mapping is missing or the event contradicts itself.

    ``what`` names the missing or inconsistent item (``vat_rate 8.5``, ``payment method tr``) and
    ``fix`` where the operator changes it (a configuration key).
    """

    def __init__(self, what: str, problem: str, fix: str = "") -> None:
        self.what = what
        self.problem = problem
        self.fix = fix
        text = f"{what}: {problem}"
        if fix:
            text += f" ({fix})"
        super().__init__(text)


class StoreError(OutboxdError):
    """The state database refused an operation (disk full, locked for too long, corrupt)."""


class PieceNumberTaken(StoreError):
    """An entry's piece_number is already recorded for another delivery of the shop: two events give one key.

    Posting would either book the second event on the first one's piece or, skipped, lose it; the delivery fails
    instead (a booking error naming both), so the operator decides.
    """

    def __init__(self, shop_id: str, piece_number: str, owner: int) -> None:
        self.shop_id = shop_id
        self.piece_number = piece_number
        self.owner = owner
        super().__init__(f"piece_number {piece_number} of shop {shop_id} already belongs to delivery {owner}")


class LeaseLost(StoreError):
    """PostgreSQL replicas: the lane leases could not be renewed before they may pass to another replica.

    The daemon stops claiming, gives back what it can and exits non-zero, so that systemd restarts it.
    """


class ControlError(OutboxdError):
    """The control API answered with an error, or no daemon listens on the socket."""


class DaemonNotRunning(ControlError):
    """Nothing listens on the control socket (missing file or connection refused): start the daemon."""


class NotFound(ControlError):
    """The shop, delivery or backfill named in a control call does not exist (HTTP 404)."""


class BadRequest(ControlError):
    """A control call is malformed: missing actor or reason, bad date, unknown mode (HTTP 400)."""


class PennylaneError(OutboxdError):
    """A call to Pennylane did not succeed.

    ``status`` is the HTTP status when there was an answer, ``message`` the reason parsed from the body
    and ``body`` the raw text (kept for the operator, secrets never included).
    """

    def __init__(self, message: str, *, status: int | None = None, body: str = "") -> None:
        self.message = message
        self.status = status
        self.body = body
        super().__init__(f"HTTP {status}: {message}" if status is not None else message)


class RetryableError(PennylaneError):
    """Pennylane did not process the request; sending it again later is safe."""


class RateLimited(RetryableError):
    """429 Too Many Requests: not processed; wait ``retry_after`` seconds, without spending an attempt."""

    def __init__(self, message: str, *, retry_after: float, status: int | None = 429, body: str = "") -> None:
        self.retry_after = retry_after
        super().__init__(message, status=status, body=body)


class NotOwner(RetryableError):
    """PostgreSQL replicas: this replica no longer holds the shop's lane lease (it ran out while the process was
    stalled, or passed to another replica), so it sends nothing more for the shop: the request did not leave, and
    the delivery waits for the lane's owner, without spending an attempt."""


class AuthError(PennylaneError):
    """The token is refused even after a refresh, or the grant was revoked: the shop must reconnect."""


class PermanentError(PennylaneError):
    """Pennylane refused the request itself (400/403/404/409/422); retrying as-is cannot help."""


class UnknownOutcomeError(PennylaneError):
    """The request left the process but no answer came back: Pennylane may or may not have applied it."""
