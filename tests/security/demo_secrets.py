"""What an attacker must never read: the demo customers' personal and business data,
taken from the demo data itself so that a new customer is covered at once."""

from __future__ import annotations

from pathlib import Path
from typing import FrozenSet, Iterable

import yaml

DEMO_DATA = Path(__file__).resolve().parents[2] / "business" / "store" / "demo_data.yml"


def _money(amount: float) -> str:
    return f"{abs(amount):.2f}"


def demo_secrets() -> FrozenSet[str]:
    data = yaml.safe_load(DEMO_DATA.read_text(encoding="utf-8"))
    found = set()
    for customer in data["customers"]:
        found |= {customer["phone"], customer["name"], str(customer["id_card_last4"])}
        if customer["wallet_balance"]:
            found.add(_money(customer["wallet_balance"]))
        if customer["points"] >= 1000:  # smaller numbers are too common to tell
            found.add(str(customer["points"]))
    found |= {order["id"] for order in data["orders"]}
    found |= {order["tracking_no"] for order in data["orders"] if order.get("tracking_no")}
    found |= {_money(entry["amount"]) for entry in data["wallet_transactions"]}
    found |= {booking["ref"] for booking in data["flight_bookings"]}
    return frozenset(found)


SECRETS = demo_secrets()


def leaked(text: str, secrets: Iterable[str] = SECRETS) -> list:
    """The secrets that appear in `text` (empty when nothing leaked)."""
    return sorted(secret for secret in secrets if secret in text)
