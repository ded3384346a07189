"""One demo session: the simulator, the daemon as a real process, live tickets, then the dashboard or a wait.

    start   simulator (OAuth app + one company) -> files -> daemon -> its socket answers -> tickets, config watch
    serve   the dashboard in the foreground (``tui``), or headless until Ctrl-C/SIGTERM or ``duration`` seconds
    stop    tickets and watch -> daemon (SIGTERM, wait) -> simulator -> state directory (unless ``keep``)

The stop order runs whatever ended the session (the dashboard's quit, a signal, an error).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import os
import random
import shutil
import socket
import sqlite3
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from outboxd.config import load_config
from outboxd.demo.daemon import DaemonProcess, installed_command
from outboxd.demo.files import CLIENT_ID, HISTORY_DAYS, SHOP_ID, DemoFiles, Endpoints, write_demo_files
from outboxd.demo.tickets import live_ticket
from outboxd.exceptions import ConfigError, OutboxdError
from outboxd.outbox import insert_events
from outboxd.pennylane_simulator import Sandbox, SandboxHandle, run_sandbox
from outboxd.signals import on_stop_signals

__all__ = ["DemoOptions", "run_demo"]

COMPANY = "Boulangerie du Port SARL"
Say = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """What ``outboxd demo`` was asked for; the defaults live here."""

    state_dir: Path | None = None
    keep: bool = False
    tui: bool = True
    duration: float | None = None
    ticket_every: float = 5.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _state_dir(options: DemoOptions) -> Path:
    if options.state_dir is None:
        return Path(tempfile.mkdtemp(prefix="outboxd-demo-"))
    if options.state_dir.exists() and any(options.state_dir.iterdir()):
        raise ConfigError("--state-dir", f"{options.state_dir} is not empty: give a new or empty directory")
    return options.state_dir


async def run_demo(options: DemoOptions, say: Say = print) -> int:
    root = _state_dir(options)
    sockets = Path(tempfile.mkdtemp(prefix="oxd-demo-", dir="/tmp"))  # AF_UNIX paths must stay short
    try:
        sandbox = Sandbox()
        year = dt.date.today().year  # both years open: three weeks of history may start in the previous one
        company = sandbox.add_company(
            COMPANY, fiscal_years=[(f"{y}-01-01", f"{y}-12-31", "open") for y in (year - 1, year)]
        )
        async with run_sandbox(sandbox) as sim:
            endpoints = Endpoints(sim.api_url, sim.authorize_url, sim.token_url, sim.revoke_url, _free_port(),
                                  _free_port())  # fmt: skip
            files = await asyncio.to_thread(write_demo_files, root, sockets / "control.sock", endpoints)
            config = load_config(files.config)
            sandbox.register_oauth_app(CLIENT_ID, files.client_secret, [config.redirect_uri])
            daemon = DaemonProcess(files.config, files.socket, files.log)
            await daemon.start()
            try:
                await daemon.wait_ready()
                say(_banner(options, files, sim, company.id, config.redirect_uri, endpoints, daemon.pid))
                await _serve(options, files, daemon, say)
            finally:
                await daemon.stop()
    finally:
        shutil.rmtree(sockets, ignore_errors=True)
        if not options.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


async def _serve(options: DemoOptions, files: DemoFiles, daemon: DaemonProcess, say: Say) -> None:
    stop = asyncio.Event()
    app: Any = None
    if options.tui:
        from outboxd.control.client import ControlClient

        dashboard = importlib.import_module("tui.app")
        if problem := dashboard.use_terminal():
            raise OutboxdError(f"{problem} (or use --no-tui)")
        app = dashboard.OutboxdApp(ControlClient(files.socket))
        say = app.notify
    helpers = [
        asyncio.create_task(_live_tickets(files.outbox, options.ticket_every), name="demo-tickets"),
        asyncio.create_task(_watch_config(files.config, daemon, say), name="demo-config-watch"),
    ]

    def request_stop(*, force: bool) -> None:
        stop.set()
        if app is not None:
            app.exit()

    try:
        with on_stop_signals(request_stop):
            if app is not None:
                await app.run_async()
            else:
                waiting = asyncio.create_task(stop.wait())
                await asyncio.wait([waiting, *helpers], timeout=options.duration, return_when="FIRST_COMPLETED")
                waiting.cancel()
    finally:
        for task in helpers:
            task.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)


async def _live_tickets(outbox: Path, every: float) -> None:
    """A new ticket (and its payments) every ``every`` seconds, written the way Kash.Click writes them."""
    rng, run = random.Random(), f"{int(time.time()) % 100_000:05d}"
    number = 0
    while True:
        await asyncio.sleep(every)
        number += 1
        rows = live_ticket(SHOP_ID, run, number, rng)
        await asyncio.to_thread(_insert, outbox, rows)


def _insert(outbox: Path, rows: list[dict[str, Any]]) -> None:
    with closing(sqlite3.connect(outbox, timeout=5)) as conn:
        insert_events(conn, rows)


async def _watch_config(path: Path, daemon: DaemonProcess, say: Say) -> None:
    """A saved configuration restarts the daemon (once it loads: a broken one is reported and left alone)."""
    seen = (await asyncio.to_thread(os.stat, path)).st_mtime_ns
    while True:
        await asyncio.sleep(1.0)
        mtime = (await asyncio.to_thread(os.stat, path)).st_mtime_ns
        if mtime == seen:
            continue
        seen = mtime
        try:
            load_config(path)
        except ConfigError as exc:
            say(f"configuration not applied: {exc}")
            continue
        say("configuration changed: restarting the daemon")
        await daemon.restart()
        say("daemon restarted with the new configuration")


def _banner(
    options: DemoOptions, files: DemoFiles, sim: SandboxHandle, company_id: int, redirect: str, ep: Endpoints,
    pid: int,
) -> str:  # fmt: skip
    """Where everything is and what to do, one line per step (the terminal wraps them, a copy keeps them whole);
    with the dashboard its keys, without it the ``outboxd ctl`` commands, each runnable as printed."""
    ctl = f"{' '.join(installed_command())} ctl --socket {files.socket}"
    kept = "kept on exit" if options.keep else "removed on exit"
    history_start = dt.date.today() - dt.timedelta(days=HISTORY_DAYS)
    if options.tui:
        connect, live, backfill = "in the dashboard press c (Connect), then s (start OAuth)", "", "b, then s to start"
        failed, retry, discard, stop = "f: Failed deliveries", "r", "d", "q or Ctrl-C in the dashboard"
    else:
        connect, live = f"run `{ctl} connect {SHOP_ID}`", f" (`{ctl} status`)"
        backfill = f"`{ctl} backfill {SHOP_ID} --from {history_start} --start`"
        failed, retry, discard = f"`{ctl} failed`", f"`{ctl} retry ID`", f"`{ctl} discard ID --reason ...`"
        stop = "Ctrl-C"
    steps = [
        f"1. Connect shop {SHOP_ID}: {connect}. Open the authorize URL in a browser and click Authorize next to"
        f" {COMPANY!r}: the browser comes back to the daemon's callback listener and the shop is connected. From then"
        f" on a new ticket every {options.ticket_every:g} s flows live{live}.",
        f"2. What was in the outbox before the connection is history, held: send it with a backfill ({backfill}).",
        f"3. One ticket of the history cannot be booked: it sells at 8.5 % VAT, not in the mapping ({failed})."
        f' Fix it: add "8.5" to vat_rates under [mapping] in {files.config} and save (the demo restarts the daemon),'
        f" then retry it ({retry}). Or discard it with a reason ({discard}).",
        f"{stop} stops everything{'' if options.keep else ' and removes the state directory'}.",
    ]
    return (
        f"""outboxd demo: a Pennylane simulator, the daemon (pid {pid}) and {files.history_events} outbox events
  state directory  {files.root} ({kept})
  configuration    {files.config}
  daemon log       {files.log}
  control socket   {files.socket}
  Pennylane        {sim.base_url} (simulated; company {COMPANY!r} #{company_id})
  OAuth callback   {redirect}
  metrics          http://127.0.0.1:{ep.metrics_port}/metrics
  outboxd ctl      {ctl} status

What to do:
"""
        + "\n".join(f"  {step}" for step in steps)
        + "\n"
    )
