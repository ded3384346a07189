"""The configuration as one frozen dataclass tree; the field defaults here are the only place defaults live.

Each field's ``metadata`` tells the loader how to read it: ``check`` validates the converted value (returns the
reason it is wrong, or None), ``kind`` marks values that need more than a type (``path``, ``database``,
``secret_file``, ``octal``). config/outboxd.example.toml spells every key out; a test keeps both in step.
"""

from __future__ import annotations

import copy
import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from outboxd.exceptions import ConfigError
from outboxd.rules.mapping import ShopMapping, merge_tables

__all__ = ["BackfillConfig", "Config", "DaemonConfig", "PennylaneConfig", "RateLimit", "SecretsConfig", "ShopConfig"]

Check = Callable[[Any], "str | None"]


def _positive(value: Any) -> str | None:
    return None if value > 0 else "must be a positive number"


def _port(value: Any) -> str | None:
    return None if 1 <= value <= 65535 else "must be a TCP port between 1 and 65535"


def _one_of(*choices: str) -> Check:
    def check(value: Any) -> str | None:
        return None if value in choices else f"must be one of {', '.join(choices)}"

    return check


def _url(value: Any) -> str | None:
    return None if value.startswith(("https://", "http://")) else "must be an http:// or https:// URL"


def _url_path(value: Any) -> str | None:
    return None if value.startswith("/") else 'must be a URL path starting with "/"'


def _listen(value: Any) -> str | None:
    host, _, port = value.rpartition(":")
    ok = bool(host) and port.isdigit() and 1 <= int(port) <= 65535
    return None if ok else 'must be "host:port" (for example "127.0.0.1:9464"), or false to turn it off'


def _mode(value: Any) -> str | None:
    return None if 0 <= value <= 0o777 else "must be a file mode such as 0o660"


def _postgres_url(value: Any) -> str | None:
    ok = value == "" or str(value).startswith(("postgresql://", "postgres://"))
    return None if ok else "must be a postgresql:// URL (or empty for the SQLite file)"


def _meta(check: Check | None = None, kind: str = "") -> dict[str, Any]:
    return {"check": check, "kind": kind}


def _no_table() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class DaemonConfig:
    """[daemon]: where the daemon reads, writes and listens, and how hard it works."""

    # a SQLite file or a postgresql:// URL
    outbox_database: str = field(default="outbox.sqlite3", metadata=_meta(None, "database"))
    state_database: Path = field(default=Path("state.sqlite3"), metadata=_meta(None, "path"))
    # a postgresql:// URL: the state lives in PostgreSQL instead of state_database, replicas allowed (postgresql.md)
    state_database_url: str = field(default="", metadata=_meta(_postgres_url))
    control_socket: Path = field(default=Path("/run/outboxd/control.sock"), metadata=_meta(None, "path"))
    control_socket_mode: int = field(default=0o660, metadata=_meta(_mode, "octal"))
    metrics_listen: str | None = field(default="127.0.0.1:9464", metadata=_meta(_listen))
    callback_host: str = field(default="127.0.0.1", metadata=_meta())
    callback_port: int = field(default=8765, metadata=_meta(_port))
    callback_path: str = field(default="/oauth/callback", metadata=_meta(_url_path))
    poll_interval: float = field(default=0.05, metadata=_meta(_positive))
    lease_seconds: float = field(default=60.0, metadata=_meta(_positive))
    # 30 with base 1 s and cap 900 s: 29 retries over 2.5 to 5 h (jittered), so an outage of a couple of hours heals
    # without an operator (10 gave up after 4 to 9 minutes, before the cap was ever reached)
    max_attempts: int = field(default=30, metadata=_meta(_positive))
    backoff_base: float = field(default=1.0, metadata=_meta(_positive))
    backoff_cap: float = field(default=900.0, metadata=_meta(_positive))
    shutdown_grace: float = field(default=20.0, metadata=_meta(_positive))
    concurrency_per_shop: int = field(default=4, metadata=_meta(_positive))
    # a delivery settled this many days ago loses its payload and its attempts' bodies (piece numbers and the dedup
    # memory stay for ever): docs/operations.md, Security
    retention_days: int = field(default=90, metadata=_meta(_positive))
    log_level: str = field(default="info", metadata=_meta(_one_of("debug", "info", "warning", "error", "critical")))
    log_format: str = field(default="auto", metadata=_meta(_one_of("auto", "json", "console")))

    @property
    def outbox_is_postgres(self) -> bool:
        """True when the outbox lives in PostgreSQL rather than a SQLite file."""
        return self.outbox_database.startswith(("postgresql://", "postgres://"))

    @property
    def state_location(self) -> str | Path:
        """What open_store opens: the PostgreSQL URL when one is set, else the SQLite file."""
        return self.state_database_url or self.state_database


@dataclass(frozen=True, slots=True)
class RateLimit:
    """[pennylane.rate_limit]: Pennylane allows 25 requests per 5 seconds per token."""

    requests: int = field(default=25, metadata=_meta(_positive))
    per_seconds: float = field(default=5.0, metadata=_meta(_positive))


@dataclass(frozen=True, slots=True)
class PennylaneConfig:
    """[pennylane]: the API and the OAuth partner application (see ../shared/pennylane/API-NOTES.md)."""

    api_url: str = field(default="https://app.pennylane.com/api/external/v2", metadata=_meta(_url))
    authorize_url: str = field(default="https://app.pennylane.com/oauth/authorize", metadata=_meta(_url))
    # Pennylane's guide says /oauth/token, the OpenAPI spec's securityScheme /oauth/oauth/token
    token_url: str = field(default="https://app.pennylane.com/oauth/token", metadata=_meta(_url))
    revoke_url: str = field(default="https://app.pennylane.com/oauth/revoke", metadata=_meta(_url))
    client_id: str = field(default="", metadata=_meta())
    client_secret_file: str | None = field(default=None, metadata=_meta(None, "secret_file"))
    # empty: http://<callback_host>:<callback_port><callback_path>
    redirect_uri: str = field(default="", metadata=_meta())
    scopes: tuple[str, ...] = field(
        default=("ledger_entries:all", "journals:all", "ledger_accounts:all", "fiscal_years:readonly", "customers:all"),
        metadata=_meta(),
    )
    pkce: bool = field(default=False, metadata=_meta())
    request_timeout: float = field(default=30.0, metadata=_meta(_positive))
    rate_limit: RateLimit = field(default_factory=RateLimit)


@dataclass(frozen=True, slots=True)
class SecretsConfig:
    """[secrets]: the key that encrypts Pennylane tokens in the state database (a Fernet key file), and the one
    directory ``connect/token`` reads company API token files from."""

    token_key_file: str = field(default="token.key", metadata=_meta(None, "secret_file"))
    token_files_directory: Path = field(default=Path("tokens"), metadata=_meta(None, "path"))


@dataclass(frozen=True, slots=True)
class BackfillConfig:
    """[shops."<id>".backfill]: what history to offer once a shop is connected."""

    # None: the start of the open fiscal year in Pennylane
    since: datetime.date | None = field(default=None, metadata=_meta())
    offer_on_connect: bool = field(default=True, metadata=_meta())


@dataclass(frozen=True, slots=True)
class ShopConfig:
    """[shops."<id>"]: one shop, one Pennylane company. ``mapping`` holds only this shop's overrides."""

    shop_id: str = field(default="", metadata=_meta(kind="table_key"))
    name: str = field(default="", metadata=_meta())
    enabled: bool = field(default=True, metadata=_meta())
    # a company API token instead of OAuth
    api_token_file: str | None = field(default=None, metadata=_meta(None, "secret_file"))
    backfill: BackfillConfig = field(default_factory=BackfillConfig)
    # one entry per event (detailed) or per register and day (daily): the initial mode only, written once into the
    # state database; switch it later with `outboxd ctl booking` (docs/backfill.md, Booking modes)
    booking: str = field(default="detailed", metadata=_meta(_one_of("detailed", "daily")))
    mapping: Mapping[str, Any] = field(default_factory=_no_table, metadata=_meta(kind="table"))

    @property
    def label(self) -> str:
        """The name an operator reads: ``name`` when given, else the shop id."""
        return self.name or self.shop_id


@dataclass(frozen=True, slots=True)
class Config:
    """The whole configuration, loaded once at start and passed explicitly."""

    daemon: DaemonConfig = field(default_factory=DaemonConfig)
    pennylane: PennylaneConfig = field(default_factory=PennylaneConfig)
    secrets: SecretsConfig = field(default_factory=SecretsConfig)
    mapping: Mapping[str, Any] = field(default_factory=_no_table, metadata=_meta(kind="table"))
    shops: Mapping[str, ShopConfig] = field(default_factory=_no_table, metadata=_meta(kind="shops"))
    source: Path | None = field(default=None, metadata=_meta(kind="internal"))  # the file it came from

    @property
    def redirect_uri(self) -> str:
        """The OAuth redirect URI: ``pennylane.redirect_uri``, else the callback listener's own address."""
        daemon = self.daemon
        host = f"[{daemon.callback_host}]" if ":" in daemon.callback_host else daemon.callback_host
        return self.pennylane.redirect_uri or f"http://{host}:{daemon.callback_port}{daemon.callback_path}"

    def shop(self, shop_id: str) -> ShopConfig:
        """The shop's section; ConfigError naming ``shops.<id>`` when the shop is not configured."""
        try:
            return self.shops[shop_id]
        except KeyError:
            raise ConfigError(f"shops.{shop_id}", "no such shop in the configuration") from None

    def shop_mapping_data(self, shop_id: str) -> dict[str, Any]:
        """The global [mapping] deep-merged with the shop's overrides (a fresh copy the caller may keep)."""
        return copy.deepcopy(merge_tables(self.mapping, self.shop(shop_id).mapping))

    def shop_mapping(self, shop_id: str) -> ShopMapping:
        """The shop's validated mapping (checked at load); a shop absent from the file books on the global one."""
        mapping = ShopMapping().merge(self.mapping)
        shop = self.shops.get(shop_id)
        return mapping if shop is None else mapping.merge(shop.mapping)
