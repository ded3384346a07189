"""What the simulated shop sells and who buys it: fixed data, so that a seed alone decides a run."""

from __future__ import annotations

from typing import Any, NamedTuple

__all__ = ["CHAPTERS", "CITIES", "COMPANIES", "FIRST_NAMES", "GIFT_CARD_METHOD", "GIFT_CARD_VALUES", "LAST_NAMES",
           "METHODS", "PRODUCTS", "VARIETY_PRODUCTS", "VAT_RATES", "Product", "reference"]


class Product(NamedTuple):
    label: str
    unit_cents: int
    vat_rate: str
    kind: str
    chapter: str | None


VAT_RATES = ("20", "10", "5.5", "2.1")
PRODUCTS = (
    Product("T-shirt", 1499, "20", "goods", "textile"),
    Product("Tote bag", 890, "20", "goods", "textile"),
    Product("Carte postale", 150, "20", "goods", None),
    Product("Bougie parfumée", 2450, "20", "goods", None),
    Product("Retouche", 1200, "20", "service", None),
    Product("Café", 180, "10", "goods", "restauration"),
    Product("Repas sur place", 1250, "10", "service", "restauration"),
    Product("Sandwich sur place", 690, "10", "goods", "restauration"),
    Product("Confiture", 420, "5.5", "goods", "epicerie"),
    Product("Miel", 875, "5.5", "goods", "epicerie"),
    Product("Pain", 115, "5.5", "goods", "epicerie"),
    Product("Livre", 2290, "5.5", "goods", None),
    Product("Journal", 280, "2.1", "goods", None),
    Product("Carte cadeau (frais)", 300, "20", "other", None),
)
VARIETY_PRODUCTS = (
    *PRODUCTS,
    Product("Vin rouge", 1290, "20", "goods", "epicerie"),  # with Confiture or Miel: one chapter at two rates
    Product("Jus de pomme", 350, "5.5", "goods", "restauration"),
)
"""What the shop sells with ``simulate_shop(variety=True)``: chapters ``epicerie`` and ``restauration`` each at two
rates, as in a real épicerie fine (wine at 20 %, groceries at 5.5 %) or café (on-site meals at 10 %, bottled
juice at 5.5 %)."""
GIFT_CARD_VALUES = (2000, 3000, 5000)
GIFT_CARD_METHOD = ("kdo", "Carte cadeau", "gift_card")
"""The shop's own gift cards as a payment method (contract 1.1): in the reference only with variety."""
# (id, label, kind, weight): how often a ticket is settled with it
METHODS = (
    ("cash", "Espèces", "cash", 35),
    ("cb", "Carte bancaire", "card", 50),
    ("chq", "Chèque", "cheque", 3),
    ("vir", "Virement", "transfer", 2),
    ("tr", "Titre-restaurant", "voucher", 10),
)
CHAPTERS = (
    ("textile", "Textile", "707110"),
    ("restauration", "Restauration", "707120"),
    ("epicerie", "Épicerie", "707130"),
)
FIRST_NAMES = ("Marie", "Jean", "Camille", "Lucas", "Léa", "Hugo", "Chloé", "Louis", "Inès", "Paul")
LAST_NAMES = ("Dupont", "Martin", "Bernard", "Petit", "Durand", "Leroy", "Moreau", "Fournier", "Girard", "Lambert")
COMPANIES = ("Boulangerie Dupain", "Atelier Lumière", "SARL Les Halles", "Café du Port", "Studio Nova")
CITIES = (("75002", "Paris"), ("69001", "Lyon"), ("13001", "Marseille"), ("33000", "Bordeaux"), ("44000", "Nantes"))


def reference(registers: int, *, gift_cards: bool = False) -> dict[str, Any]:
    """The ``reference.updated`` payload of a shop with that many registers (``gift_cards``: and its gift card
    method)."""
    methods = [(m, label, kind) for m, label, kind, _ in METHODS] + ([GIFT_CARD_METHOD] if gift_cards else [])
    return {
        "registers": [{"id": f"r{n}", "name": f"Caisse {n}"} for n in range(1, registers + 1)],
        "payment_methods": [{"id": m, "label": label, "kind": kind} for m, label, kind in methods],
        "vat_rates": [{"rate": rate} for rate in VAT_RATES],
        "chapters": [{"id": c, "label": label, "account": account} for c, label, account in CHAPTERS],
        "chapters_enabled": True,
    }
