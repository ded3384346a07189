"""A test double of the daemon behind the control API: in memory, deterministic, recording every call.

``DaemonDouble`` implements :class:`outboxd.control.backend.ControlBackend` over two shops and a few failed
deliveries at a fixed clock (``NOW``), so the server, the client, ``outboxd ctl`` and the TUI can be tested
over a real Unix socket without a daemon behind it, with answers the real one gives only in rare states (the real
daemon is tests/daemon_bench.py's). Tests assert on ``calls`` (what the backend received).
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp import web

from outboxd.control.backend import BackfillMode, FailedFilter
from outboxd.control.server import create_control_app, start_control_site
from outboxd.exceptions import BadRequest, ControlError, NotFound

JSONObject = dict[str, Any]
"""The double builds its answers as plain JSON (the real daemon's are ``outboxd.control.shapes``)."""

NOW = 1_760_000_000.0  # 2025-10-09 08:53:20 UTC, the double's fixed clock
REQUIRED_SCOPES = ["accounting", "ledger", "journals:all"]


def _connection(state: str, company: str | None, scopes: list[str], expires_at: float | None) -> JSONObject:
    return {
        "state": state,
        "kind": "oauth" if state != "disconnected" else None,
        "company_id": 4242 if company else None,
        "company_name": company,
        "scopes": scopes,
        "missing_scopes": [s for s in REQUIRED_SCOPES if s not in scopes] if company else [],
        "expires_at": expires_at,
    }


def _shop(shop_id: str, name: str, connection: JSONObject, **figures: Any) -> JSONObject:
    shop = {
        "shop_id": shop_id,
        "name": name,
        "paused": False,
        "pause_reason": None,
        "connection": connection,
        "queue_depth": 0,
        "oldest_pending_age": None,
        "delivered_today": 0,
        "failed": 0,
        "rate_limit": {"limit": 5, "window": 1.0, "used": 0, "waits": 0},
        "throughput": [0] * 30,
        "held_by_reference": None,
        "backfill": None,
    }
    shop.update(figures)
    return shop


def _failed(
    item_id: int, shop_id: str, event_type: str, error_class: str, status: int | None, message: str, age: float
) -> JSONObject:
    return {
        "id": item_id,
        "shop_id": shop_id,
        "event_id": 1000 + item_id,
        "event_type": event_type,
        "aggregate_id": f"order-{item_id}",
        "business_date": "2025-10-08",
        "error_class": error_class,
        "http_status": status,
        "message": message,
        "attempts": 3 if error_class == "retryable" else 1,
        "failed_at": NOW - age,
        "age": age,
        "holds_shop": False,
    }


class DaemonDouble:
    """The daemon as the control API sees it, in memory. Not the daemon: no delivery, no Pennylane."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.shops: dict[str, JSONObject] = {
            "paris-01": _shop(
                "paris-01",
                "Boulangerie Paris 1",
                _connection("connected", "Boulangerie Martin SAS", ["accounting", "ledger"], NOW + 86_400 * 20),
                queue_depth=12,
                oldest_pending_age=4.5,
                delivered_today=318,
                failed=3,
                rate_limit={"limit": 5, "window": 1.0, "used": 2, "waits": 1},
                throughput=[i % 7 + 3 for i in range(30)],
            ),
            "lyon-02": _shop(
                "lyon-02",
                "Café Lyon 2",
                _connection("reconnect_needed", "Café Lumière SARL", REQUIRED_SCOPES, None),
                paused=True,
                pause_reason="grant revoked",
                queue_depth=140,
                oldest_pending_age=5400.0,
                failed=1,
            ),
        }
        self.failed_items: dict[int, JSONObject] = {
            item["id"]: item
            for item in (
                _failed(1, "paris-01", "order.created", "booking", None, "vat_rate 8.5: no sales account", 7200),
                _failed(2, "paris-01", "payment.received", "permanent", 422, "journal_id: is invalid", 3600),
                _failed(3, "paris-01", "register.closed", "retryable", 503, "Service Unavailable", 600),
                _failed(4, "lyon-02", "order.created", "auth", 401, "invalid_grant", 90_000),
            )
        }
        self.backfills: dict[str, JSONObject] = {}
        self.audit_items: list[JSONObject] = []
        self.oauth_states: dict[str, str] = {}
        self.redirect_uri = "http://127.0.0.1:8765/oauth/callback"

    # --- helpers for tests ---
    def _record(self, name: str, **args: Any) -> None:
        self.calls.append((name, args))
        if "actor" in args:
            target = args.get("shop_id") or args.get("delivery_id")
            detail = {k: v for k, v in args.items() if k not in {"actor", "shop_id", "delivery_id"}}
            self.audit_items.insert(
                0,
                {
                    "at": NOW,
                    "actor": args["actor"],
                    "action": name,
                    "shop_id": args.get("shop_id"),
                    "target": target,
                    "detail": detail,
                },
            )

    def called(self, name: str) -> list[dict[str, Any]]:
        """The arguments of every call to ``name``, in order."""
        return [args for call, args in self.calls if call == name]

    def complete_via_callback(self, shop_id: str) -> None:
        """What the daemon's callback listener does when the browser comes back with a code."""
        self.shops[shop_id]["connection"] = _connection(
            "connected", "Boulangerie Martin SAS", REQUIRED_SCOPES, NOW + 86_400 * 30
        )

    def _get(self, shop_id: str) -> JSONObject:
        if shop_id not in self.shops:
            raise NotFound(f"no shop {shop_id!r}")
        return self.shops[shop_id]

    def _item(self, delivery_id: int) -> JSONObject:
        if delivery_id not in self.failed_items:
            raise NotFound(f"no failed delivery {delivery_id}")
        return self.failed_items[delivery_id]

    def _matching(self, flt: FailedFilter) -> list[JSONObject]:
        def keep(item: JSONObject) -> bool:
            return all(
                (
                    flt.get("shop") in (None, item["shop_id"]),
                    flt.get("event_type") in (None, item["event_type"]),
                    flt.get("error_class") in (None, item["error_class"]),
                    flt.get("http_status") in (None, item["http_status"]),
                    item["age"] >= flt.get("older_than", 0),
                )
            )

        return sorted((i for i in self.failed_items.values() if keep(i)), key=lambda i: -i["age"])

    # --- ControlBackend ---
    async def status(self, search: str, limit: int, offset: int) -> JSONObject:
        daemon = {"version": "0.1.0", "pid": 4321, "started_at": NOW - 3600, "ready": True, "draining": False,
                  "config_file": "/etc/outboxd/outboxd.toml", "redirect_uri": self.redirect_uri}
        matched = [s for s in self.shops.values() if search.casefold() in s["shop_id"].casefold()]
        totals = {"shops": len(self.shops), "matched": len(matched),
                  "queue_depth": sum(s["queue_depth"] for s in self.shops.values()),
                  "failed": sum(s["failed"] for s in self.shops.values()),
                  "paused": sum(1 for s in self.shops.values() if s["paused"])}
        page = copy.deepcopy(matched[offset : offset + limit])
        return {"daemon": daemon, "shops": page, "totals": totals, "offset": offset, "limit": limit}

    async def shop(self, shop_id: str) -> JSONObject:
        return copy.deepcopy(self._get(shop_id))

    async def pause(self, shop_id: str, actor: str, reason: str) -> JSONObject:
        self._record("pause", shop_id=shop_id, actor=actor, reason=reason)
        self._get(shop_id).update(paused=True, pause_reason=reason or None)
        return await self.shop(shop_id)

    async def resume(self, shop_id: str, actor: str) -> JSONObject:
        self._record("resume", shop_id=shop_id, actor=actor)
        self._get(shop_id).update(paused=False, pause_reason=None)
        return await self.shop(shop_id)

    async def closings(self, shop_id: str, since: str | None, mismatch_only: bool) -> JSONObject:
        self._get(shop_id)
        self.calls.append(("closings", {"shop_id": shop_id, "since": since, "mismatch_only": mismatch_only}))
        rows = [{"method_id": "cb", "label": "Carte bancaire", "expected": "664.00", "delivered": "661.70",
                 "difference": "-2.30"}]  # fmt: skip
        closing = {"delivery_id": 77, "register_id": "r1", "register_name": "Caisse comptoir",
                   "business_date": "2025-10-08", "z_number": 452, "mismatch": True, "rows": rows}  # fmt: skip
        closings = [closing] if shop_id == "paris-01" else []
        return {"shop_id": shop_id, "since": since or "2025-10-03", "mismatches": len(closings), "closings": closings}

    async def mapping(self, shop_id: str) -> JSONObject:
        self._get(shop_id)
        return {
            "journals": [
                {"register_id": 1, "register_name": "Caisse comptoir", "code": "VT1", "exists": True},
                {"register_id": 2, "register_name": "Caisse terrasse", "code": "VT2", "exists": False},
            ],
            "accounts": [
                {
                    "role": "sales",
                    "key": "5.5",
                    "number": "70110000",
                    "label": "Ventes 5,5 %",
                    "vat_rate": "5.5",
                    "exists": True,
                },
                {
                    "role": "vat",
                    "key": "5.5",
                    "number": "44571100",
                    "label": "TVA 5,5 %",
                    "vat_rate": "5.5",
                    "exists": True,
                },
                {
                    "role": "payment",
                    "key": "cb",
                    "number": "51120000",
                    "label": "Carte bancaire",
                    "vat_rate": None,
                    "exists": False,
                },
                {
                    "role": "chapter",
                    "key": "viennoiserie",
                    "number": "70120000",
                    "label": "Viennoiseries",
                    "vat_rate": "5.5",
                    "exists": True,
                },
            ],
        }

    async def connect_start(self, shop_id: str, actor: str) -> JSONObject:
        self._record("connect_start", shop_id=shop_id, actor=actor)
        self._get(shop_id)["connection"]["state"] = "pending"
        state = f"st-{shop_id}"
        self.oauth_states[shop_id] = state
        return {
            "authorize_url": f"https://app.pennylane.com/oauth/authorize?client_id=kc&state={state}",
            "state": state,
            "redirect_uri": "http://127.0.0.1:8765/oauth/callback",
            "expires_at": NOW + 600,
        }

    async def connect_complete(self, shop_id: str, actor: str, redirect_url: str) -> JSONObject:
        self._record("connect_complete", shop_id=shop_id, actor=actor, redirect_url=redirect_url)
        if f"state={self.oauth_states.get(shop_id)}" not in redirect_url or "code=" not in redirect_url:
            raise BadRequest("the redirect URL carries no code or a state this daemon did not issue")
        self.complete_via_callback(shop_id)
        return copy.deepcopy(self.shops[shop_id]["connection"])

    async def connect_token(self, shop_id: str, actor: str, token_file: str) -> JSONObject:
        self._record("connect_token", shop_id=shop_id, actor=actor, token_file=token_file)
        self._get(shop_id)["connection"] = {
            **_connection("connected", "Boulangerie Martin SAS", REQUIRED_SCOPES, None),
            "kind": "api_token",
        }
        return copy.deepcopy(self.shops[shop_id]["connection"])

    async def disconnect(self, shop_id: str, actor: str) -> JSONObject:
        self._record("disconnect", shop_id=shop_id, actor=actor)
        self._get(shop_id)["connection"] = _connection("disconnected", None, [], None)
        return copy.deepcopy(self.shops[shop_id]["connection"])

    async def backfill_estimate(self, shop_id: str, start_date: str | None) -> JSONObject:
        self._get(shop_id)
        start = start_date or "2025-01-01"
        events = 4200 if start <= "2025-01-01" else 1500
        return {
            "start_date": start,
            "default_start_date": "2025-01-01",
            "events": events,
            "modes": {
                "detailed": {"requests": events, "seconds": events / 4},
                "daily": {"requests": 560, "seconds": 140.0},
            },
            "refused": "closed fiscal year" if start < "2024-01-01" else None,
        }

    async def backfill_start(self, shop_id: str, actor: str, start_date: str, mode: BackfillMode) -> JSONObject:
        self._record("backfill_start", shop_id=shop_id, actor=actor, start_date=start_date, mode=mode)
        if self.backfills.get(shop_id, {}).get("state") in ("running", "paused"):
            raise ControlError(f"a backfill is already running for {shop_id}")
        total = (await self.backfill_estimate(shop_id, start_date))["events"]
        self.backfills[shop_id] = {
            "id": len(self.backfills) + 1,
            "shop_id": shop_id,
            "start_date": start_date,
            "mode": mode,
            "state": "running",
            "total": total,
            "done": total // 4,
            "rate": 4.0,
            "eta": (total - total // 4) / 4,
            "started_at": NOW - 60,
            "finished_at": None,
        }
        return copy.deepcopy(self.backfills[shop_id])

    async def backfill_get(self, shop_id: str) -> JSONObject | None:
        self._get(shop_id)
        return copy.deepcopy(self.backfills.get(shop_id))

    async def _backfill_to(self, name: str, shop_id: str, actor: str, state: str) -> JSONObject:
        self._record(name, shop_id=shop_id, actor=actor)
        if shop_id not in self.backfills:
            raise NotFound(f"no backfill for {shop_id!r}")
        self.backfills[shop_id]["state"] = state
        return copy.deepcopy(self.backfills[shop_id])

    async def backfill_pause(self, shop_id: str, actor: str) -> JSONObject:
        return await self._backfill_to("backfill_pause", shop_id, actor, "paused")

    async def backfill_resume(self, shop_id: str, actor: str) -> JSONObject:
        return await self._backfill_to("backfill_resume", shop_id, actor, "running")

    async def backfill_cancel(self, shop_id: str, actor: str) -> JSONObject:
        return await self._backfill_to("backfill_cancel", shop_id, actor, "cancelled")

    async def failed(self, filter: FailedFilter, limit: int, offset: int) -> JSONObject:
        self.calls.append(("failed", {"filter": dict(filter), "limit": limit, "offset": offset}))
        items = self._matching(filter)
        return {"total": len(items), "items": copy.deepcopy(items[offset : offset + limit])}

    async def delivery(self, delivery_id: int) -> JSONObject:
        item = self._item(delivery_id)
        lines = [
            {"account": "53000000", "label": "Ticket 42", "debit": "12.50", "credit": "0.00"},
            {"account": "70110000", "label": "Ventes 5,5 %", "debit": "0.00", "credit": "11.85"},
            {"account": "44571100", "label": "TVA 5,5 %", "debit": "0.00", "credit": "0.65"},
        ]
        attempt = {
            "at": item["failed_at"],
            "outcome": "failed",
            "http_status": item["http_status"],
            "error_class": item["error_class"],
            "message": item["message"],
            "request": {"journal_id": 7},
            "response": {"error": item["message"]},
        }
        return {
            **copy.deepcopy(item),
            "state": "failed",
            "payload": {"order_id": item["aggregate_id"], "total": "12.50", "lines": [{"vat_rate": "5.5"}]},
            "entries": [
                {
                    "piece_number": f"KC-{item['event_id']}",
                    "journal": "VT1",
                    "date": item["business_date"],
                    "state": "failed",
                    "pennylane_id": None,
                    "lines": lines,
                }
            ],
            "attempts": [attempt],
            "blocked": [delivery_id + 100],
            "blocked_total": 1,
        }

    async def retry(self, delivery_id: int, actor: str) -> JSONObject:
        self._record("retry", delivery_id=delivery_id, actor=actor)
        del self.failed_items[self._item(delivery_id)["id"]]
        return {"retried": 1}

    async def discard(self, delivery_id: int, actor: str, reason: str) -> JSONObject:
        self._record("discard", delivery_id=delivery_id, actor=actor, reason=reason)
        del self.failed_items[self._item(delivery_id)["id"]]
        return {"discarded": 1}

    async def bulk_retry(self, filter: FailedFilter, actor: str, dry_run: bool) -> JSONObject:
        self._record("bulk_retry", filter=dict(filter), actor=actor, dry_run=dry_run)
        matched = self._matching(filter)
        if not dry_run:
            for item in matched:
                del self.failed_items[item["id"]]
        return {"matched": len(matched), "retried": 0 if dry_run else len(matched)}

    async def bulk_discard(self, filter: FailedFilter, reason: str, actor: str, dry_run: bool) -> JSONObject:
        self._record("bulk_discard", filter=dict(filter), reason=reason, actor=actor, dry_run=dry_run)
        matched = self._matching(filter)
        if not dry_run:
            for item in matched:
                del self.failed_items[item["id"]]
        return {"matched": len(matched), "discarded": 0 if dry_run else len(matched)}

    async def audit(self, shop: str | None, limit: int) -> JSONObject:
        items = [i for i in self.audit_items if shop in (None, i["shop_id"])]
        return {"items": copy.deepcopy(items[:limit])}


@contextlib.asynccontextmanager
async def serving(backend: DaemonDouble, socket_path: Path) -> AsyncIterator[Path]:
    """The real control server for ``backend`` on a real Unix socket, for the length of the block."""
    runner = web.AppRunner(create_control_app(backend))
    await runner.setup()
    try:
        await start_control_site(runner, socket_path)
        yield socket_path
    finally:
        await runner.cleanup()
