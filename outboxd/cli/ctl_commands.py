"""What each ``outboxd ctl`` action does: one client call, then a table or the raw JSON.

Bulk actions and disconnect ask first (after a dry run that shows the count) unless ``--yes``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from outboxd.cli.ctl_booking import booking_action, booking_text
from outboxd.control.client import ControlClient
from outboxd.control.shapes import (
    AuditList,
    Backfill,
    BackfillEstimate,
    BulkDiscarded,
    BulkRetried,
    Closings,
    Connection,
    FailedFilter,
    FailedList,
    Mapping,
    Reconcile,
    Status,
)
from outboxd.control.text import (
    HOLDS_SHOP,
    age,
    connection_label,
    delivery_text,
    duration,
    failed_deliveries,
    held_label,
    http_label,
    in_pennylane,
    printable,
    status_page,
    table,
    timestamp,
)

__all__ = ["dispatch"]

Ask = Callable[[str], str]


def _filter(args: argparse.Namespace) -> FailedFilter:
    flt = FailedFilter()
    if args.shop:
        flt["shop"] = args.shop
    if args.event_type:
        flt["event_type"] = args.event_type
    if args.error_class:
        flt["error_class"] = args.error_class
    if args.http_status is not None:
        flt["http_status"] = args.http_status
    if args.older_than is not None:
        flt["older_than"] = args.older_than
    return flt


def _status(answer: Status) -> str:
    d = answer["daemon"]
    state = "draining" if d["draining"] else "ready" if d["ready"] else "starting"
    head = f"outboxd {d['version']} pid {d['pid']}, {state}, up {duration(time.time() - d['started_at'])}"
    rows = [
        [
            s["shop_id"],
            "⏸ paused" if s["paused"] else "✗ held" if s["held_by_reference"] else "▶ running",
            connection_label(s["connection"], time.time()),
            s["queue_depth"],
            age(s["oldest_pending_age"]),
            s["delivered_today"],
            s["failed"],
        ]
        for s in answer["shops"]
    ]
    held = [f"{s['shop_id']}: {held_label(s['held_by_reference'])} (outboxd ctl show {s['held_by_reference']['id']})"
            for s in answer["shops"] if s["held_by_reference"]]  # fmt: skip
    text = head + "\n\n" + table(["SHOP", "STATE", "PENNYLANE", "QUEUE", "OLDEST", "TODAY", "FAILED"], rows)
    return "\n".join([text, "", _page(answer), *held])


def _page(answer: Status) -> str:
    """Which shops the page shows of how many, every shop's totals, and the next page's option."""
    after = answer["offset"] + len(answer["shops"])
    more = answer["shops"] and after < answer["totals"]["matched"]
    return status_page(answer) + (f" (next page: --offset {after})" if more else "")


def _failed(answer: FailedList) -> str:
    rows = [
        [
            i["id"],
            i["shop_id"],
            i["event_type"],
            i["error_class"],
            http_label(i["http_status"], i["error_class"], short=True),
            age(i["age"]),
            ((HOLDS_SHOP if i["holds_shop"] else "") + (i["message"] or ""))[:50],
        ]
        for i in answer["items"]
    ]
    shown = f"{len(rows)} of {answer['total']} failed deliveries"
    return table(["ID", "SHOP", "EVENT", "CLASS", "HTTP", "AGE", "MESSAGE"], rows) + f"\n\n{shown}"


def _backfill(b: Backfill | None) -> str:
    if b is None:
        return "no backfill yet"
    return (
        f"backfill {b['id']} from {b['start_date']} ({b['mode']}): {b['state']}, {b['done']}/{b['total']} "
        f"events, {b['rate']:.1f}/s, {duration(b['eta'])} left"
    )


def _estimate(e: BackfillEstimate) -> str:
    rows = [[mode, v["requests"], duration(v["seconds"])] for mode, v in e["modes"].items()]
    text = f"from {e['start_date']} (default {e['default_start_date']}): {e['events']} events\n"
    text += table(["MODE", "REQUESTS", "TIME"], rows)
    if e["refused"]:
        text += f"\nrefused: {e['refused']}"
    return text


def _json(answer: Any) -> str:
    return json.dumps(answer, indent=2, ensure_ascii=False)


def _connection(c: Connection) -> str:
    missing = f"\nmissing scopes: {', '.join(c['missing_scopes'])}" if c["missing_scopes"] else ""
    return connection_label(c, time.time()) + missing


def _audit(answer: AuditList) -> str:
    rows = [[timestamp(i["at"]), i["actor"], i["action"], i["shop_id"], i["target"], (i["detail"] or {}).get("reason")]
            for i in answer["items"]]  # fmt: skip
    return table(["AT", "ACTOR", "ACTION", "SHOP", "TARGET", "REASON"], rows)


def _mapping(answer: Mapping) -> str:
    """Journals, then accounts; one that Pennylane does not have yet is created on first use, said so."""
    journals = [[f"{j['register_name'] or '-'} ({j['register_id']})", j["code"], in_pennylane(j["exists"])]
                for j in answer["journals"]]  # fmt: skip
    accounts = [[a["role"], a["key"], a["number"], in_pennylane(a["exists"]), a["label"]] for a in answer["accounts"]]
    return (
        table(["REGISTER", "JOURNAL", "IN PENNYLANE"], journals)
        + "\n\n"
        + table(["ROLE", "KEY", "ACCOUNT", "IN PENNYLANE", "LABEL"], accounts)
    )


def _closings(answer: Closings) -> str:
    """One block per closing: ``✗ MISMATCH``, ``✓ matches`` or still waiting for its day's deliveries, in words,
    then its methods and its sales total (against the tickets booked) in euros."""
    blocks = []
    for c in answer["closings"]:
        register = f"{c['register_name']} ({c['register_id']})" if c["register_name"] else c["register_id"]
        state = "✗ MISMATCH" if c["mismatch"] else "✓ matches" if c["conclusive"] else f"… {c['open']} still open"
        rows = [[r["label"], r["expected"], r["delivered"], r["difference"]] for r in c["rows"]]
        sales = c["sales"]
        rows.append(["sales total (tickets)", sales["expected"], sales["booked"], sales["difference"]])
        blocks.append(f"{c['business_date']}  Z{c['z_number']}  {register}  {state}\n"
                      + table(["METHOD", "EXPECTED", "DELIVERED", "DIFFERENCE"], rows))  # fmt: skip
    waiting = sum(1 for c in answer["closings"] if not c["conclusive"])
    count = f"{answer['mismatches']} mismatched of {answer['checked']} checked closings since {answer['since']}"
    return "\n\n".join([*blocks, count + (f", {waiting} waiting for their day's deliveries" if waiting else "")])


def _reconcile(r: Reconcile) -> str:
    """The counts, then what is left to do: a warning in words when some dates were not covered."""
    lines = [
        f"{r['shop_id']}: {r['entries']} entries dated {r['since']} or later in {r['journals']} Pennylane journals",
        f"  {r['recorded']} recorded as posted now, {r['confirmed']} unsettled found posted, "
        f"{r['known']} already known",
    ]
    if r["duplicates"]:
        lines.append(f"! booked more than once in Pennylane already: {', '.join(r['duplicates'])}")
    if r["not_covered"]:
        n, day = r["not_covered"]["deliveries"], r["not_covered"]["earliest"]
        lines.append(f"! {n} open deliveries are dated before {r['since']}: their entries were not looked for; "
                     f"before resuming, reconcile again with --since {day}")  # fmt: skip
    else:
        lines.append(f"✓ every open delivery is covered: `outboxd ctl resume {r['shop_id']}` when you are ready")
    return "\n".join(lines)


def _confirmed(question: str, yes: bool, ask: Ask) -> bool:
    return yes or ask(f"{question} [y/N] ").strip().lower() in {"y", "yes"}


async def _connect(client: ControlClient, shop: str, ask: Ask) -> Connection:
    start = await client.connect_start(shop)
    print(f"Open this URL in a browser on your own machine:\n\n  {printable(start['authorize_url'])}\n")
    print(
        f"Pennylane will send the browser to {printable(start['redirect_uri'])}. If that page is the daemon's callback "
        "(e.g. through `ssh -L`), just press Enter once it says connected; otherwise paste the address the "
        "browser landed on."
    )
    pasted = ask("redirect URL> ").strip()
    if pasted:
        return await client.connect_complete(shop, pasted)
    connection: Connection = (await client.shop(shop))["connection"]
    return connection


async def dispatch(args: argparse.Namespace, ask: Ask = input) -> int:
    """Run one ``outboxd ctl`` action; returns the exit code."""
    command = args.ctl_command
    show: Callable[[Any], str] = _json
    async with ControlClient(args.socket) as client:
        answer: Any
        if command == "status":
            answer, show = await client.status(args.search, args.limit, args.offset), _status
        elif command == "failed":
            answer, show = await client.failed(_filter(args), args.limit, args.offset), _failed
        elif command == "show":
            answer, show = await client.delivery(args.id), delivery_text
        elif command == "retry":
            answer = await client.retry(args.id)
        elif command == "discard":
            answer = await client.discard(args.id, args.reason)
        elif command in ("retry-all", "discard-all"):
            flt = _filter(args)
            dry: BulkRetried | BulkDiscarded
            if command == "retry-all":
                dry = await client.bulk_retry(flt, dry_run=True)
            else:
                dry = await client.bulk_discard(flt, args.reason, dry_run=True)
            verb = command.split("-")[0]
            if dry["matched"] == 0:
                answer = dry
            elif not _confirmed(f"{verb} {failed_deliveries(dry['matched'])}?", args.yes, ask):
                print("nothing done")
                return 1
            elif command == "retry-all":
                answer = await client.bulk_retry(flt, dry_run=False)
            else:
                answer = await client.bulk_discard(flt, args.reason, dry_run=False)
        elif command == "pause":
            answer = await client.pause(args.shop, args.reason)
        elif command == "resume":
            answer = await client.resume(args.shop)
        elif command == "booking":
            answer, show = await booking_action(client, args), booking_text
        elif command == "mapping":
            answer, show = await client.mapping(args.shop), _mapping
        elif command == "closings":
            answer = await client.closings(args.shop, args.since, mismatch_only=args.mismatch)
            show = _closings
        elif command == "reconcile":
            answer, show = await client.reconcile(args.shop, args.since), _reconcile
        elif command == "connect":
            answer = await _connect(client, args.shop, ask)
            show = _connection
        elif command == "token":
            answer = await client.connect_token(args.shop, args.file)
        elif command == "disconnect":
            if not _confirmed(f"revoke Pennylane access of {args.shop}?", args.yes, ask):
                print("nothing done")
                return 1
            answer = await client.disconnect(args.shop)
        elif command == "backfill":
            answer, show = await _backfill_action(client, args)
        else:  # audit
            answer = await client.audit(args.shop, args.limit)
            show = _audit
    print(printable(_json(answer) if args.json else show(answer), lines=True))
    return 0


async def _backfill_action(client: ControlClient, args: argparse.Namespace) -> tuple[Any, Callable[[Any], str]]:
    shop = args.shop
    for verb, call in (
        ("pause", client.backfill_pause),
        ("resume", client.backfill_resume),
        ("cancel", client.backfill_cancel),
    ):
        if getattr(args, verb):
            return await call(shop), _backfill
    estimate = await client.backfill_estimate(shop, args.start_date)
    if not args.start:
        current = await client.backfill_get(shop)
        return {
            "estimate": estimate,
            "backfill": current,
        }, lambda a: _estimate(a["estimate"]) + "\n\n" + _backfill(a["backfill"])
    if estimate["refused"]:
        return estimate, _estimate
    return await client.backfill_start(shop, estimate["start_date"], args.mode), _backfill
