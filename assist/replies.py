"""Suggested replies: the domain's own wording with the customer's values filled in, for what the
conversation is about (the order's status and refund progress, the booking's change and refund
fees). The agent inserts one into the reply box and edits it; nothing is sent without a click.

The same business services and rules as the bot's answers: a verified customer's own orders and
bookings only (an unverified customer gets the order status, which the bot also tells anyone who
has the order number, masked)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, List, Mapping, Optional, Sequence

from sqlalchemy.orm import Session

from business.formatting import month_day_time, percent, yuan
from business.services.orders import OrderService, order_facts, status_response
from business.services.refunds import refund_status_facts
from business.services.tickets import TicketService
from business.services.travel import FlightPolicy, TravelService
from business.store.models import FlightBooking, Order
from business.wording import Wording

FEE_REFUSALS = {"departed": "已经起飞", "flown": "已经出行", "cancelled": "已经退票"}


def latest_value(events: Sequence[Mapping[str, Any]], slot: str) -> Optional[str]:
    """The last value the conversation gave this slot (what it is about now)."""
    for event in reversed(events):
        if event.get("event") == "slot" and event.get("name") == slot and event.get("value"):
            return str(event["value"])
    return None


def suggested_replies(
    session: Session,
    events: Sequence[Mapping[str, Any]],
    customer_id: Optional[str],
    now: datetime,
    say: Wording,
) -> List[Dict[str, str]]:
    replies: List[Dict[str, str]] = []
    order_id = latest_value(events, "order_id")
    order = OrderService(session).find(order_id) if order_id else None
    if order is not None and customer_id is not None and order.customer_id != customer_id:
        order = None  # someone else's order: the bot would not tell it either
    if order is not None:
        replies.append({"label": f"订单 {order.id} 的状态", "text": order_status_text(session, order, say)})
        if customer_id is not None and order.latest_refund is not None:
            replies.append(
                {
                    "label": f"订单 {order.id} 的退款进度",
                    "text": say("utter_refund_status_item", **refund_status_facts(order.latest_refund)),
                }
            )
    booking_ref = latest_value(events, "booking_ref")
    booking = TravelService(session).owned_booking(booking_ref, customer_id) if booking_ref else None
    if booking is not None:
        replies.append(
            {"label": f"预订 {booking.ref} 的改签、退票手续费", "text": fee_text(booking, now, say)}
        )
    return replies


def order_status_text(session: Session, order: Order, say: Wording) -> str:
    facts = order_facts(order)
    response = status_response(order)
    if response == "utter_order_status_shipped_exception":
        ticket = TicketService(session).open_for(order.customer_id, "logistics", order.id)
        if ticket is None:  # the bot opens it when it answers; the agent's suggestion does not
            response = "utter_order_status_shipped"
        else:
            facts["ticket_id"] = ticket.id
    return say(response, **facts)


def fee_text(booking: FlightBooking, now: datetime, say: Wording) -> str:
    change = FlightPolicy.change_fee(booking, now)
    refund = FlightPolicy.refund_quote(booking, now)
    values = {
        "booking_ref": booking.ref,
        "flight_no": booking.flight_no,
        "departs": month_day_time(booking.departs_at),
    }
    if not change.allowed:
        return say("utter_agent_fee_not_allowed", why=FEE_REFUSALS.get(change.band, "状态不允许"), **values)
    return say(
        "utter_agent_fee_quote",
        change_rate=percent(change.rate),
        change_fee=yuan(change.fee),
        refund_rate=percent(refund.rate),
        refund_fee=yuan(refund.fee),
        refund_amount=yuan(refund.refund_amount),
        **values,
    )
