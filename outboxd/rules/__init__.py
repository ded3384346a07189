"""The rules engine: a shop mapping and one event in, balanced Pennylane entries or a BookingError out. Pure.

mapping = effective_mapping(ShopMapping.from_dict(config_table), latest_reference)
booking = book(event, mapping)   # Booking(entries, journals, accounts, notes) or BookingError
"""

from outboxd.rules.closing import ZControl, ZControlRow, z_control
from outboxd.rules.engine import book
from outboxd.rules.entries import (
    AccountRef,
    Booking,
    CustomerAccount,
    Entry,
    EntryLine,
    JournalSpec,
    LedgerAccount,
    OrderCustomerAccount,
    customer_reference,
)
from outboxd.rules.journals import assign_journal_codes
from outboxd.rules.mapping import MethodInfo, ShopMapping, effective_mapping, merge_tables

__all__ = [
    "AccountRef",
    "Booking",
    "CustomerAccount",
    "Entry",
    "EntryLine",
    "JournalSpec",
    "LedgerAccount",
    "MethodInfo",
    "OrderCustomerAccount",
    "ShopMapping",
    "ZControl",
    "ZControlRow",
    "assign_journal_codes",
    "book",
    "customer_reference",
    "effective_mapping",
    "merge_tables",
    "z_control",
]
