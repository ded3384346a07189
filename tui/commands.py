"""The command palette (Ctrl+P): every navigation action, per shop, searchable by words; ``delivery 11`` (or ``#11``)
opens any delivery by its id, whatever its state."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from tui.app import OutboxdApp


DELIVERY = re.compile(r"(?:del\w*)?\s*#?(\d+)", re.IGNORECASE)
"""What opens a delivery by id: ``delivery 11``, ``#11``, ``11``."""


class OperatorCommands(Provider):
    """Open a screen for a shop, or the failed deliveries of all shops."""

    def _commands(self) -> list[tuple[str, Callable[[], None], str]]:
        app: OutboxdApp = self.app  # type: ignore[assignment]
        commands: list[tuple[str, Callable[[], None], str]] = [
            ("Failed deliveries (all shops)", app.action_failed, "filter, retry, discard"),
            ("Help: keys and screens", app.action_help, "every key of the dashboard"),
        ]
        for shop in app.shop_ids():
            commands += [
                (f"Connect {shop} to Pennylane", partial(app.action_connect, shop), "OAuth or API token"),
                (f"Backfill {shop}", partial(app.action_backfill, shop), "send the shop's history"),
                (f"Failed deliveries of {shop}", partial(app.action_failed, shop), "filtered on the shop"),
                (f"Mapping of {shop}", partial(app.action_mapping, shop), "accounts and journals"),
                (f"Closings (Z control) of {shop}", partial(app.action_closings, shop), "Z against payments delivered"),
                (f"Booking mode of {shop}", partial(app.action_booking, shop), "detailed or daily, from a date on"),
            ]
        return commands

    async def discover(self) -> Hits:
        for name, callback, help_text in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        if found := DELIVERY.fullmatch(query.strip()):
            app: OutboxdApp = self.app  # type: ignore[assignment]
            delivery_id = int(found.group(1))
            yield Hit(1.0, f"Delivery {delivery_id}", partial(app.action_delivery, delivery_id),
                      help="its entries, Pennylane ids, attempts and payload")  # fmt: skip
        matcher = self.matcher(query)
        for name, callback, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
