"""Orders: lookup, ownership, what the customer may see, and cancellation."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Dict, Optional

from sqlalchemy.orm import Session

from business.formatting import (
    PAYMENT_METHOD_NAMES,
    compact_id,
    mask_name,
    mask_phone,
    month_day,
    yuan,
)
from business.store.models import Order, Refund, WalletTransaction

ORDER_ID_PATTERN = re.compile(r"(?<![0-9A-Z])XH\d{10}(?!\d)")
CANCELLABLE = ("pending_payment", "paid")


def parse_order_id(text: str) -> Optional[str]:
    """'订单号 xh2611010001' -> 'XH2611010001'; None without exactly one id."""
    found = set(ORDER_ID_PATTERN.findall(compact_id(text)))
    return found.pop() if len(found) == 1 else None


def order_facts(order: Order) -> Dict[str, str]:
    """What a customer may be told about an order, personal data masked."""
    facts = {
        "order_id": order.id,
        "items": order.item_summary,
        "amount": yuan(order.total),
        "status": order.status,
        "receiver": mask_name(order.customer.name),
        "receiver_phone": mask_phone(order.customer.phone),
        "carrier": order.carrier or "",
        "tracking_no": order.tracking_no or "",
        "last_scan": order.last_scan or "",
        "eta": month_day(order.eta) if order.eta else "",
        "logistics_exception": order.logistics_exception or "",
        "payment_method": PAYMENT_METHOD_NAMES.get(order.payment_method or "", ""),
    }
    for field in ("paid_at", "shipped_at", "delivered_at", "cancelled_at"):
        moment = getattr(order, field)
        facts[field.replace("_at", "_on")] = month_day(moment) if moment else ""
    refund = order.latest_refund
    if refund is not None:
        facts["refund_amount"] = yuan(refund.amount)
        facts["refund_method"] = PAYMENT_METHOD_NAMES.get(refund.method, refund.method)
        facts["refund_requested_on"] = month_day(refund.requested_at)
    return facts


def status_response(order: Order) -> str:
    """The domain response that tells a customer where their order stands."""
    if order.status == "shipped" and order.logistics_exception:
        return "utter_order_status_shipped_exception"
    return f"utter_order_status_{order.status}"


class OrderService:
    def __init__(self, session: Session) -> None:
        self.session = session

    def find(self, order_id: str) -> Optional[Order]:
        order: Optional[Order] = self.session.get(Order, order_id)
        return order

    def owned_by(self, order_id: str, customer_id: Optional[str]) -> Optional[Order]:
        """The order if it belongs to the customer; None for unknown and for others' orders alike."""
        order = self.find(order_id)
        if order is None or customer_id is None or order.customer_id != customer_id:
            return None
        return order

    @staticmethod
    def can_cancel(order: Order) -> bool:
        """Only orders that have not shipped can be cancelled (paid or awaiting payment)."""
        return order.status in CANCELLABLE

    def cancel(self, order: Order, now: datetime) -> Optional[Refund]:
        """Cancels an unshipped order; a paid one is refunded at once to where it came from."""
        if not self.can_cancel(order):
            raise ValueError(f"order {order.id} is {order.status} and cannot be cancelled")
        was_paid = order.status == "paid"
        order.status = "cancelled"
        order.cancelled_at = now
        if not was_paid:
            return None
        refund = Refund(
            amount=order.total,
            reason="cancel",
            method=order.payment_method,
            status="refunded",
            requested_at=now,
            completed_at=now,
        )
        order.refunds.append(refund)
        if order.payment_method == "wallet":
            credit_wallet(order, refund.amount, now)
        return refund


def credit_wallet(order: Order, amount: Decimal, now: datetime) -> None:
    """Money refunded to 星河钱包 arrives at once: balance and statement both show it."""
    order.customer.wallet_balance = order.customer.wallet_balance + amount
    session = Session.object_session(order)
    session.add(
        WalletTransaction(
            customer_id=order.customer_id,
            occurred_at=now,
            type="退款",
            amount=amount,
            memo=f"订单{order.id}退款",
        )
    )
