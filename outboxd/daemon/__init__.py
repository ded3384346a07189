"""The daemon: its lifecycle, the parts it wires together (connections, backfills, daily booking) and the
operations behind the control API."""

from outboxd.daemon.lifecycle import Daemon, run_until_stopped

__all__ = ["Daemon", "run_until_stopped"]
