"""``outboxd ctl booking SHOP [detailed|daily --from DATE --reason TEXT]``: show or switch a shop's booking mode."""

from __future__ import annotations

import argparse

from outboxd.control.client import ControlClient
from outboxd.control.shapes import Booking
from outboxd.control.text import table
from outboxd.exceptions import BadRequest

__all__ = ["booking_action", "booking_text"]

MEANING = {"detailed": "one entry per event", "daily": "one entry per register and day, at its closing"}


async def booking_action(client: ControlClient, args: argparse.Namespace) -> Booking:
    """The shop's booking mode; with a mode, switched first (from ``--from`` on, audited with ``--reason``)."""
    if args.mode is None:
        return await client.booking(args.shop)
    if not args.from_date or not (args.reason or "").strip():
        raise BadRequest("switching the booking mode needs --from YYYY-MM-DD (first business date) and --reason")
    return await client.booking_switch(args.shop, args.mode, args.from_date, args.reason)


def booking_text(b: Booking) -> str:
    rows = [[s["from_date"], s["mode"], s["actor"], s["reason"]] for s in b["switches"]]
    text = f"{b['shop_id']} books {b['mode']} today ({MEANING[b['mode']]})"
    if rows:
        text += "\n\n" + table(["FROM", "MODE", "BY", "REASON"], rows)
    if b["waiting_for_closing"]:
        text += f"\n\n{b['waiting_for_closing']} live events wait for their register's closing"
    return text
