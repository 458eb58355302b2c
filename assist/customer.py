"""The customer 360: recent orders, bookings, refunds, open tickets and earlier conversations with
the human side, masked as in the bot's answers (names, phone numbers; no ID or card numbers)."""

from __future__ import annotations

from typing import Any, Dict, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from business.formatting import PAYMENT_METHOD_NAMES, mask_name, mask_phone, month_day, month_day_time, yuan
from business.services.live_chat import RESULTS
from business.services.refunds import REASON_NAMES, REFUND_STATES
from business.services.tickets import CATEGORY_NAMES, OPEN_STATUSES
from business.services.tickets import STATUS_NAMES as TICKET_STATUS_NAMES
from business.store.models import Customer, FlightBooking, LiveChat, Order, Refund, Ticket

ORDER_STATUS_NAMES = {
    "pending_payment": "待付款",
    "paid": "已付款待发货",
    "shipped": "已发货",
    "delivered": "已签收",
    "cancelled": "已取消",
    "refunding": "退款中",
    "refunded": "已退款",
}
BOOKING_STATUS_NAMES = {"confirmed": "已出票", "flown": "已出行", "cancelled": "已退票"}
RECENT = 5


def customer_360(session: Session, customer_id: str, conversation_id: Optional[str] = None) -> Dict[str, Any]:
    """Everything the agent may see about a verified customer; `conversation_id` is left out of the
    earlier conversations (it is the one on screen)."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        return {}
    orders = list(
        session.execute(
            select(Order)
            .where(Order.customer_id == customer_id)
            .order_by(Order.placed_at.desc())
            .limit(RECENT)
        ).scalars()
    )
    refunds = list(
        session.execute(
            select(Refund)
            .join(Order)
            .where(Order.customer_id == customer_id)
            .order_by(Refund.requested_at.desc())
            .limit(RECENT)
        ).scalars()
    )
    bookings = list(
        session.execute(
            select(FlightBooking)
            .where(FlightBooking.customer_id == customer_id)
            .order_by(FlightBooking.departs_at.desc())
            .limit(RECENT)
        ).scalars()
    )
    tickets = list(
        session.execute(
            select(Ticket)
            .where(Ticket.customer_id == customer_id, Ticket.status.in_(OPEN_STATUSES))
            .order_by(Ticket.sla_due)
        ).scalars()
    )
    earlier = [
        chat
        for chat in session.execute(
            select(LiveChat)
            .where(LiveChat.customer_id == customer_id, LiveChat.status == "closed")
            .order_by(LiveChat.closed_at.desc())
            .limit(RECENT + 1)
        ).scalars()
        if chat.conversation_id != conversation_id
    ][:RECENT]
    return {
        "profile": {
            "name": mask_name(customer.name),
            "phone": mask_phone(customer.phone),
            "member_level": customer.member_level,
            "points": customer.points,
            "wallet_balance": yuan(customer.wallet_balance),
            "wallet_frozen": bool(customer.wallet_frozen),
        },
        "orders": [
            {
                "id": order.id,
                "items": order.item_summary,
                "amount": yuan(order.total),
                "status_name": ORDER_STATUS_NAMES.get(order.status, order.status),
                "placed_on": month_day(order.placed_at),
                "payment_method": PAYMENT_METHOD_NAMES.get(order.payment_method or "", ""),
                "logistics": " ".join(filter(None, (order.carrier, order.last_scan))),
            }
            for order in orders
        ],
        "refunds": [
            {
                "order_id": refund.order_id,
                "amount": yuan(refund.amount),
                "reason": REASON_NAMES.get(refund.reason, refund.reason),
                "status_name": REFUND_STATES.get(refund.status, refund.status),
                "requested_on": month_day(refund.requested_at),
            }
            for refund in refunds
        ],
        "bookings": [
            {
                "ref": booking.ref,
                "flight": f"{booking.flight_no} {booking.origin}→{booking.destination}",
                "departs": month_day_time(booking.departs_at),
                "passenger": mask_name(booking.passenger),
                "status_name": BOOKING_STATUS_NAMES.get(booking.status, booking.status),
            }
            for booking in bookings
        ],
        "tickets": [
            {
                "id": ticket.id,
                "category": CATEGORY_NAMES.get(ticket.category, ticket.category),
                "status_name": TICKET_STATUS_NAMES.get(ticket.status, ticket.status),
                "sla_due": month_day_time(ticket.sla_due),
            }
            for ticket in tickets
        ],
        "earlier_chats": [
            {
                "closed": month_day_time(chat.closed_at),
                "agent": chat.agent.name if chat.agent is not None else None,
                "result": RESULTS.get(chat.result or "", ""),
                "rating": chat.rating,
            }
            for chat in earlier
        ],
    }
