"""Pennylane id caches per shop: journals, ledger accounts, customers, and the account each order used.

Steady state costs about one request per entry because these answer from here. ``forget_shop`` empties a
shop's caches when it is connected to another Pennylane company (ids belong to one company).
"""

from __future__ import annotations

from outboxd.store._db import Database, Params
from outboxd.store.models import Customer, Journal

__all__ = ["Caches"]

_TABLES = ("journals", "ledger_accounts", "customers", "order_accounts")


class Caches:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def journal(self, shop_id: str, register_id: str) -> Journal | None:
        row = await self._db.read_one(
            "SELECT code, pennylane_id FROM journals WHERE shop_id = $1 AND register_id = $2", (shop_id, register_id)
        )
        return None if row is None else Journal(row[0], row[1])

    async def save_journal(self, shop_id: str, register_id: str, code: str, pennylane_id: int) -> None:
        await self._db.write(
            "INSERT INTO journals (shop_id, register_id, code, pennylane_id) VALUES ($1, $2, $3, $4) ON CONFLICT "
            "(shop_id, register_id) DO UPDATE SET code = excluded.code, pennylane_id = excluded.pennylane_id",
            (shop_id, register_id, code, pennylane_id),
        )

    async def ledger_account(self, shop_id: str, number: str) -> int | None:
        row = await self._db.read_one(
            "SELECT pennylane_id FROM ledger_accounts WHERE shop_id = $1 AND number = $2", (shop_id, number)
        )
        return None if row is None else int(row[0])

    async def ledger_accounts(self, shop_id: str) -> dict[str, int]:
        """Every cached ledger account of the shop, by number."""
        rows = await self._db.read("SELECT number, pennylane_id FROM ledger_accounts WHERE shop_id = $1", (shop_id,))
        return {str(row[0]): int(row[1]) for row in rows}

    async def save_ledger_account(self, shop_id: str, number: str, pennylane_id: int) -> None:
        await self._db.write(
            "INSERT INTO ledger_accounts (shop_id, number, pennylane_id) VALUES ($1, $2, $3) "
            "ON CONFLICT (shop_id, number) DO UPDATE SET pennylane_id = excluded.pennylane_id",
            (shop_id, number, pennylane_id),
        )

    async def customer(self, shop_id: str, external_reference: str) -> Customer | None:
        row = await self._db.read_one(
            "SELECT customer_id, ledger_account_id, account_number FROM customers "
            "WHERE shop_id = $1 AND external_reference = $2",
            (shop_id, external_reference),
        )
        return None if row is None else Customer(row[0], row[1], row[2])

    async def save_customer(
        self,
        shop_id: str,
        external_reference: str,
        customer_id: int,
        ledger_account_id: int,
        account_number: str | None = None,
    ) -> None:
        """``account_number`` None: not read yet (booking needs only the id; see :meth:`save_customer_number`)."""
        await self._db.write(
            "INSERT INTO customers (shop_id, external_reference, customer_id, ledger_account_id, account_number) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (shop_id, external_reference) DO UPDATE SET "
            "customer_id = excluded.customer_id, ledger_account_id = excluded.ledger_account_id, "
            "account_number = excluded.account_number",
            (shop_id, external_reference, customer_id, ledger_account_id, account_number),
        )

    async def save_customer_number(self, shop_id: str, external_reference: str, account_number: str) -> None:
        """The customer's 411 number, read from Pennylane when something first displayed it."""
        await self._db.write(
            "UPDATE customers SET account_number = $1 WHERE shop_id = $2 AND external_reference = $3",
            (account_number, shop_id, external_reference),
        )

    async def order_account(self, shop_id: str, order_id: str) -> int | None:
        """The ledger account an order was booked on: its payments book on the same one."""
        row = await self._db.read_one(
            "SELECT ledger_account_id FROM order_accounts WHERE shop_id = $1 AND order_id = $2", (shop_id, order_id)
        )
        return None if row is None else int(row[0])

    async def save_order_account(self, shop_id: str, order_id: str, ledger_account_id: int) -> None:
        await self._db.write(*self.order_account_statement(shop_id, order_id, ledger_account_id))

    def order_account_statement(self, shop_id: str, order_id: str, ledger_account_id: int) -> tuple[str, Params]:
        """:meth:`save_order_account` as a statement, for :meth:`Store.settle_delivered`."""
        return (
            "INSERT INTO order_accounts (shop_id, order_id, ledger_account_id) VALUES ($1, $2, $3) "
            "ON CONFLICT (shop_id, order_id) DO UPDATE SET ledger_account_id = excluded.ledger_account_id",
            (shop_id, order_id, ledger_account_id),
        )

    async def forget_shop(self, shop_id: str) -> None:
        """Drop every cached id of the shop (it now points at another Pennylane company)."""
        async with self._db.transaction() as tx:
            for table in _TABLES:
                await tx.execute(f"DELETE FROM {table} WHERE shop_id = $1", (shop_id,))  # noqa: S608 (constant table names)
