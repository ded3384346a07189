"""The operator audit log: who did what to which shop or delivery, appended in the action's own transaction."""

from __future__ import annotations

import json
from typing import Any

from outboxd.store._db import Clock, Database, Tx, from_text, terms_given, to_text
from outboxd.store.models import AuditEntry

__all__ = ["Audit", "append_audit"]

_INSERT = "INSERT INTO audit (at, actor, action, shop_id, target, detail) VALUES ($1, $2, $3, $4, $5, $6)"


async def append_audit(
    tx: Tx, at: str, actor: str, action: str, shop_id: str | None, target: str | None, detail: dict[str, Any]
) -> None:
    """Append inside a caller's transaction, so the action and its trace commit together."""
    await tx.execute(_INSERT, (at, actor, action, shop_id, target, json.dumps(detail, ensure_ascii=False)))


class Audit:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def append(
        self,
        actor: str,
        action: str,
        *,
        shop_id: str | None = None,
        target: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Record an action that has no store change of its own (OAuth connect, config reload...)."""
        async with self._db.transaction() as tx:
            await append_audit(tx, to_text(self._clock()), actor, action, shop_id, target, detail or {})

    async def list(
        self, *, shop_id: str | None = None, action: str | None = None, before_id: int | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        """Newest first; page with ``before_id`` (the smallest id of the previous page)."""
        values: list[Any] = []
        terms = terms_given((("shop_id =", shop_id), ("action =", action), ("id <", before_id)), values)
        rows = await self._db.read(
            f"SELECT id, at, actor, action, shop_id, target, detail FROM audit WHERE {terms} "  # noqa: S608 (constant terms)
            f"ORDER BY id DESC LIMIT ${len(values) + 1}",
            [*values, limit],
        )
        return [
            AuditEntry(r["id"], from_text(r["at"]), r["actor"], r["action"], r["shop_id"], r["target"], r["detail"])
            for r in rows
        ]
