"""The demo's files in its state directory: secrets (0600), the outbox with weeks of history, the configuration.

The history is held at the first connection until a backfill sends it (outboxd.daemon.backfill).
The configuration spells ``mapping.vat_rates`` out so the operator sees where 8.5 % goes: adding ``"8.5"`` there
and saving makes the demo restart the daemon, after which a retry of the failed ticket books it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

from outboxd.demo.tickets import add_to_closing, poison_ticket
from outboxd.outbox import insert_events, open_outbox
from outboxd.secrets import ensure_key_file
from outboxd.shop_simulator import simulate_shop

__all__ = ["DemoFiles", "Endpoints", "write_demo_files"]

SHOP_ID = "demo-shop"
SHOP_NAME = "Boulangerie du Port (demo)"
CLIENT_ID = "outboxd-demo"
HISTORY_DAYS = 21
ORDERS_PER_DAY = 40
REGISTERS = 2
ON_ACCOUNT = 0.05
"""A few customers buy on account: paid by transfer days later (lettered then), or still owed when the demo starts.
With the simulator's variety the history also sells and spends gift cards and prints discounts the POS's way."""


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where the simulator and the daemon's listeners are."""

    api_url: str
    authorize_url: str
    token_url: str
    revoke_url: str
    callback_port: int
    metrics_port: int


@dataclass(frozen=True, slots=True)
class DemoFiles:
    root: Path
    config: Path
    socket: Path
    outbox: Path
    log: Path
    client_secret: str
    history_events: int


def _secret(path: Path, value: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")


def _toml(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)  # JSON strings and lists are valid TOML values


def write_demo_files(root: Path, socket: Path, endpoints: Endpoints, *, today: dt.date | None = None) -> DemoFiles:
    """Write everything the daemon needs under ``root`` (``socket`` may live elsewhere: AF_UNIX paths are short)."""
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    client_secret = os.urandom(16).hex()
    _secret(root / "client.secret", client_secret)
    ensure_key_file(root / "token.key")
    config = root / "outboxd.toml"
    config.write_text(f"""# outboxd demo configuration (written by `outboxd demo`; saving a change restarts the daemon)
[daemon]
outbox_database = "outbox.sqlite3"
state_database = "state.sqlite3"
control_socket = {_toml(str(socket))}
metrics_listen = "127.0.0.1:{endpoints.metrics_port}"
callback_port = {endpoints.callback_port}
backoff_base = 0.5
backoff_cap = 30.0
shutdown_grace = 5.0

[pennylane]
api_url = {_toml(endpoints.api_url)}
authorize_url = {_toml(endpoints.authorize_url)}
token_url = {_toml(endpoints.token_url)}
revoke_url = {_toml(endpoints.revoke_url)}
client_id = {_toml(CLIENT_ID)}
client_secret_file = "client.secret"

[secrets]
token_key_file = "token.key"

[mapping]
# The VAT rates the shop may sell at. One ticket of the history sells at 8.5 % (the overseas rate):
# add "8.5" here and save; the demo restarts the daemon and a retry of the failed ticket books it.
vat_rates = ["20", "10", "5.5", "2.1", "0"]

[shops.{_toml(SHOP_ID)}]
name = {_toml(SHOP_NAME)}
""")
    outbox = root / "outbox.sqlite3"
    day = today or dt.date.today()
    start = day - dt.timedelta(days=HISTORY_DAYS)
    rows = list(simulate_shop(SHOP_ID, days=HISTORY_DAYS, orders_per_day=ORDERS_PER_DAY, registers=REGISTERS,
                              seed=2024, start=start, on_account=ON_ACCOUNT, variety=True))  # fmt: skip
    yesterday = day - dt.timedelta(days=1)
    add_to_closing(rows, yesterday)
    rows[10:10] = poison_ticket(SHOP_ID, yesterday)  # early in the queue: met within minutes
    conn = open_outbox(outbox)
    try:
        insert_events(conn, rows)
    finally:
        conn.close()
    return DemoFiles(root, config, socket, outbox, root / "daemon.log", client_secret, len(rows))
