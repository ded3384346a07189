"""outboxd: books Kash.Click point-of-sale events into Pennylane, from a transactional outbox."""

from outboxd.exceptions import (
    AuthError,
    BookingError,
    ConfigError,
    ContractError,
    ControlError,
    OutboxdError,
    PennylaneError,
    PermanentError,
    RateLimited,
    RetryableError,
    SecretFileError,
    StoreError,
    UnknownOutcomeError,
)

__version__ = "0.1.0"

__all__ = [
    "AuthError",
    "BookingError",
    "ConfigError",
    "ContractError",
    "ControlError",
    "OutboxdError",
    "PennylaneError",
    "PermanentError",
    "RateLimited",
    "RetryableError",
    "SecretFileError",
    "StoreError",
    "UnknownOutcomeError",
    "__version__",
]
