"""The control API over HTTP on a Unix socket: routes of docs/control-api.md onto a :class:`ControlBackend`.

Parsing and validation live here (actor required on every mutating call, dates, modes, filters, limits) so the
backend receives typed arguments; errors leave as ``{"error", "message"}`` with a 4xx/5xx status.

This application is served on the Unix socket only: the socket file's mode and group decide who may operate.
The audit actor is the socket peer's user (``SO_PEERCRED``), with the name the client declared beside it when
they differ (``alice (declared: ops-bot)``). A mutating call must carry ``Content-Type: application/json``, so a
browser's form or ``text/plain`` POST (no CORS preflight) is refused even if it reached the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import pwd
import re
import socket
import stat
import struct
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from aiohttp import web

from outboxd.control.backend import BACKFILL_MODES, BackfillMode, ControlBackend, FailedFilter
from outboxd.exceptions import BadRequest, ConfigError, ControlError, NotFound, PennylaneError

__all__ = ["DEFAULT_LIST_LIMIT", "MAX_LIST_LIMIT", "audit_actor", "create_control_app", "login", "start_control_site"]

DEFAULT_LIST_LIMIT = 50
MAX_LIST_LIMIT = 1000
"""The most rows one listing call answers (failed deliveries, audit): page with ``offset`` for more."""
log = logging.getLogger("outboxd.control")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": code, "message": message}, status=status)


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Translate domain errors into the API's error shape; never leak a traceback to the client."""
    try:
        return await handler(request)
    except (BadRequest, ConfigError) as exc:
        return _error(400, "bad_request", str(exc))
    except NotFound as exc:
        return _error(404, "not_found", str(exc))
    except ControlError as exc:
        return _error(409, "conflict", str(exc))
    except PennylaneError as exc:
        return _error(502, "pennylane", str(exc))
    except web.HTTPException as exc:
        return _error(exc.status, "not_found" if exc.status == 404 else "http", exc.reason)
    except Exception:
        log.exception("control.internal_error", extra={"action": "control.internal_error", "path": request.path})
        return _error(500, "internal", "the daemon failed to answer; see its log")


async def _body(request: web.Request) -> dict[str, Any]:
    """The JSON object of a mutating call; its ``actor`` (required) becomes the peer's user beside it."""
    if request.content_type != "application/json":
        raise BadRequest(f"the body must be JSON sent as Content-Type: application/json, not {request.content_type}")
    try:
        body = await request.json()
    except ValueError as exc:
        raise BadRequest("the body must be a JSON object") from exc
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    body["actor"] = audit_actor(_peer(request), _text(body, "actor"))
    return body


def audit_actor(peer: str, declared: str) -> str:
    """The audit log's actor: the socket peer's login, and the declared name beside it when it differs."""
    return peer if declared == peer else f"{peer} (declared: {declared})"


def login(uid: int) -> str:
    """The user name of ``uid`` (``uid N`` when the system has none)."""
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


_INTEGER = re.compile(r"-?[0-9]{1,18}")
_PEERCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid


def _peer(request: web.Request) -> str:
    """The login of the process at the other end of the socket, from the kernel (``SO_PEERCRED``)."""
    sock = request.transport.get_extra_info("socket") if request.transport is not None else None
    if sock is None or sock.family != socket.AF_UNIX:
        raise BadRequest("control calls are answered on the daemon's Unix socket only")
    _, uid, _ = _PEERCRED.unpack(sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size))
    return login(uid)


def _text(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"{key} is required (a non-empty string)")
    return value


def _date(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise BadRequest(f"{key} is required (YYYY-MM-DD)")
    try:
        dt.date.fromisoformat(value)
    except ValueError as exc:
        raise BadRequest(f"{key}: {value!r} is not a date (YYYY-MM-DD)") from exc
    return value


def _int(value: Any, key: str) -> int:
    text = str(value)
    if not _INTEGER.fullmatch(text):
        raise BadRequest(f"{key}: {text[:40]!r} is not an integer")
    return int(text)


def _limit(query: Mapping[str, str]) -> int:
    limit = _int(query.get("limit", DEFAULT_LIST_LIMIT), "limit")
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise BadRequest(f"limit must be between 1 and {MAX_LIST_LIMIT}, not {limit}")
    return limit


def _offset(query: Mapping[str, str]) -> int:
    offset = _int(query.get("offset", 0), "offset")
    if offset < 0:
        raise BadRequest(f"offset must not be negative, not {offset}")
    return offset


def _filter(raw: Mapping[str, Any]) -> FailedFilter:
    """Parse a failed-deliveries filter (query string or JSON object); empty values mean no condition."""
    result = FailedFilter()
    for key in ("shop", "event_type", "error_class"):
        if raw.get(key) not in (None, ""):
            result[key] = str(raw[key])
    if raw.get("http_status") not in (None, ""):
        result["http_status"] = _int(raw["http_status"], "http_status")
    if raw.get("older_than") not in (None, ""):
        try:
            result["older_than"] = float(raw["older_than"])
        except (TypeError, ValueError) as exc:
            raise BadRequest(f"older_than: {raw['older_than']!r} is not a number of seconds") from exc
    return result


def _mode(body: Mapping[str, Any]) -> BackfillMode:
    """A booking mode (of a backfill, or of a shop's switch)."""
    for mode in BACKFILL_MODES:
        if body.get("mode") == mode:
            return mode
    raise BadRequest(f"mode must be one of {', '.join(BACKFILL_MODES)}, not {body.get('mode')!r}")


def _dry_run(body: Mapping[str, Any]) -> bool:
    value = body.get("dry_run", False)
    if not isinstance(value, bool):
        raise BadRequest("dry_run must be true or false")
    return value


def _routes(backend: ControlBackend) -> web.RouteTableDef:
    routes = web.RouteTableDef()
    ok = web.json_response

    @routes.get("/v1/status")
    async def status(r: web.Request) -> web.Response:
        return ok(await backend.status(r.query.get("search", "").strip(), _limit(r.query), _offset(r.query)))

    @routes.get("/v1/shops/{shop}")
    async def shop(r: web.Request) -> web.Response:
        return ok(await backend.shop(r.match_info["shop"]))

    @routes.post("/v1/shops/{shop}/pause")
    async def pause(r: web.Request) -> web.Response:
        body = await _body(r)
        return ok(await backend.pause(r.match_info["shop"], body["actor"], str(body.get("reason") or "")))

    @routes.post("/v1/shops/{shop}/resume")
    async def resume(r: web.Request) -> web.Response:
        return ok(await backend.resume(r.match_info["shop"], (await _body(r))["actor"]))

    @routes.get("/v1/shops/{shop}/booking")
    async def booking(r: web.Request) -> web.Response:
        return ok(await backend.booking(r.match_info["shop"]))

    @routes.post("/v1/shops/{shop}/booking")
    async def booking_switch(r: web.Request) -> web.Response:
        body = await _body(r)
        since, reason = _date(body.get("from_date"), "from_date"), _text(body, "reason")
        return ok(await backend.booking_switch(r.match_info["shop"], body["actor"], _mode(body), since, reason))

    @routes.get("/v1/shops/{shop}/mapping")
    async def mapping(r: web.Request) -> web.Response:
        return ok(await backend.mapping(r.match_info["shop"]))

    @routes.get("/v1/shops/{shop}/closings")
    async def closings(r: web.Request) -> web.Response:
        since = r.query.get("since") or None
        since = _date(since, "since") if since else None
        mismatch = r.query.get("mismatch", "0")
        if mismatch not in ("0", "1"):
            raise BadRequest(f"mismatch must be 0 or 1, not {mismatch!r}")
        return ok(await backend.closings(r.match_info["shop"], since, mismatch == "1"))

    @routes.post("/v1/shops/{shop}/reconcile")
    async def reconcile(r: web.Request) -> web.Response:
        body = await _body(r)
        since = _date(body["since"], "since") if body.get("since") is not None else None
        return ok(await backend.reconcile(r.match_info["shop"], body["actor"], since))

    @routes.post("/v1/shops/{shop}/connect/start")
    async def connect_start(r: web.Request) -> web.Response:
        return ok(await backend.connect_start(r.match_info["shop"], (await _body(r))["actor"]))

    @routes.post("/v1/shops/{shop}/connect/complete")
    async def connect_complete(r: web.Request) -> web.Response:
        body = await _body(r)
        url = _text(body, "redirect_url")
        return ok(await backend.connect_complete(r.match_info["shop"], body["actor"], url))

    @routes.post("/v1/shops/{shop}/connect/token")
    async def connect_token(r: web.Request) -> web.Response:
        body = await _body(r)
        path = _text(body, "token_file")
        return ok(await backend.connect_token(r.match_info["shop"], body["actor"], path))

    @routes.post("/v1/shops/{shop}/disconnect")
    async def disconnect(r: web.Request) -> web.Response:
        return ok(await backend.disconnect(r.match_info["shop"], (await _body(r))["actor"]))

    @routes.get("/v1/shops/{shop}/backfill/estimate")
    async def backfill_estimate(r: web.Request) -> web.Response:
        start = r.query.get("start") or None
        start = _date(start, "start") if start else None
        return ok(await backend.backfill_estimate(r.match_info["shop"], start))

    @routes.post("/v1/shops/{shop}/backfill")
    async def backfill_start(r: web.Request) -> web.Response:
        body = await _body(r)
        start = _date(body.get("start_date"), "start_date")
        return ok(await backend.backfill_start(r.match_info["shop"], body["actor"], start, _mode(body)))

    @routes.get("/v1/shops/{shop}/backfill")
    async def backfill_get(r: web.Request) -> web.Response:
        return ok(await backend.backfill_get(r.match_info["shop"]))

    @routes.post("/v1/shops/{shop}/backfill/{action:pause|resume|cancel}")
    async def backfill_action(r: web.Request) -> web.Response:
        actor = (await _body(r))["actor"]
        method = {
            "pause": backend.backfill_pause,
            "resume": backend.backfill_resume,
            "cancel": backend.backfill_cancel,
        }[r.match_info["action"]]
        return ok(await method(r.match_info["shop"], actor))

    @routes.get("/v1/failed")
    async def failed(r: web.Request) -> web.Response:
        return ok(await backend.failed(_filter(r.query), _limit(r.query), _offset(r.query)))

    @routes.get("/v1/deliveries/{id}")
    async def delivery(r: web.Request) -> web.Response:
        return ok(await backend.delivery(_int(r.match_info["id"], "id")))

    @routes.post("/v1/deliveries/{id}/retry")
    async def retry(r: web.Request) -> web.Response:
        body = await _body(r)
        return ok(await backend.retry(_int(r.match_info["id"], "id"), body["actor"]))

    @routes.post("/v1/deliveries/{id}/discard")
    async def discard(r: web.Request) -> web.Response:
        body = await _body(r)
        reason = _text(body, "reason")
        return ok(await backend.discard(_int(r.match_info["id"], "id"), body["actor"], reason))

    @routes.post("/v1/failed/retry")
    async def bulk_retry(r: web.Request) -> web.Response:
        body = await _body(r)
        return ok(await backend.bulk_retry(_filter(body.get("filter") or {}), body["actor"], _dry_run(body)))

    @routes.post("/v1/failed/discard")
    async def bulk_discard(r: web.Request) -> web.Response:
        body = await _body(r)
        reason = _text(body, "reason")
        flt = _filter(body.get("filter") or {})
        return ok(await backend.bulk_discard(flt, reason, body["actor"], _dry_run(body)))

    @routes.get("/v1/audit")
    async def audit(r: web.Request) -> web.Response:
        return ok(await backend.audit(r.query.get("shop") or None, _limit(r.query)))

    return routes


def create_control_app(backend: ControlBackend) -> web.Application:
    """The aiohttp application serving the control API for ``backend``."""
    app = web.Application(middlewares=[_errors])
    app.add_routes(_routes(backend))
    return app


async def start_control_site(runner: web.AppRunner, socket_path: str | Path, mode: int = 0o660) -> web.UnixSite:
    """Listen on ``socket_path`` (a stale file from a crash is removed first) and set its mode after bind.

    Refuses to steal the socket of a daemon that still answers on it.
    """
    path = Path(socket_path)
    if _socket_file(path):
        if await _answers(path):
            raise ControlError(f"another daemon already listens on {path}")
        os.unlink(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    site = web.UnixSite(runner, str(path))
    await site.start()
    os.chmod(path, mode)
    return site


def _socket_file(path: Path) -> bool:
    """Whether a socket file is left at ``path``; anything else there is refused (a local, instant check)."""
    if not (path.exists() or path.is_symlink()):
        return False
    if not stat.S_ISSOCK(path.lstat().st_mode):
        raise ControlError(f"{path} exists and is not a socket; refusing to replace it")
    return True


async def _answers(path: Path) -> bool:
    try:
        _, writer = await asyncio.open_unix_connection(str(path))
    except OSError:
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True
