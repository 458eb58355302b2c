"""Order status and order cancellation."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from actions.common import (
    FormQuestion,
    GuardedAction,
    GuardedFormValidation,
    conversation_context,
    verified_customer,
)
from actions.identity import VerifiedJourneyValidation
from business import clock
from business.formatting import PAYMENT_METHOD_NAMES, yuan
from business.services.orders import OrderService, order_facts, parse_order_id, status_response
from business.services.refunds import refund_timeline
from business.services.tickets import TicketService
from business.store.db import session_scope
from business.store.models import Order, Ticket


def logistics_ticket(session: Session, order: Order, tracker: Tracker) -> Ticket:
    """The stuck parcel's open logistics ticket; the first ask opens it, later asks find it."""
    tickets = TicketService(session)
    return tickets.open_for(order.customer_id, "logistics", order.id) or tickets.open(
        "logistics",
        f"订单{order.id}物流异常：{order.logistics_exception}",
        clock.now(),
        customer_id=order.customer_id,
        order_id=order.id,
        conversation_id=tracker.sender_id,
        context=conversation_context(tracker),
    )


def read_order_id(value: Any, dispatcher: CollectingDispatcher) -> str | None:
    order_id = parse_order_id(str(value))
    if order_id is None:
        dispatcher.utter_message(response="utter_invalid_order_id")
    return order_id


def owned_order(session, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker) -> Order | None:
    """The customer's own order named in `value`; someone else's is refused like an unknown one."""
    order_id = read_order_id(value, dispatcher)
    if order_id is None:
        return None
    order = OrderService(session).owned_by(order_id, verified_customer(tracker))
    if order is None:
        dispatcher.utter_message(response="utter_order_not_yours", order_id=order_id)
    return order


def journey_order_slot(
    value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, refusal: Callable[[Order], Optional[str]]
) -> Dict[Text, Any]:
    """Validates the order a journey acts on: the customer's own, and not refused.

    `refusal(order)` names the response that explains why this journey cannot go
    on with the order (which ends the form), or None when it can.
    """
    with session_scope() as session:
        order = owned_order(session, value, dispatcher, tracker)
        if order is None:
            return {"order_id": None}
        response = refusal(order)
        if response:
            dispatcher.utter_message(response=response, **order_facts(order))
            return {"order_id": order.id, "requested_slot": None}
        return {"order_id": order.id}


class ValidateOrderStatusForm(GuardedFormValidation):
    def name(self) -> Text:
        return "validate_order_status_form"

    def validate_order_id(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        order_id = read_order_id(value, dispatcher)
        if order_id is None:
            return {"order_id": None}
        with session_scope() as session:
            if OrderService(session).find(order_id) is None:
                dispatcher.utter_message(response="utter_order_not_found", order_id=order_id)
                return {"order_id": None}
        return {"order_id": order_id}


class ActionOrderStatus(GuardedAction):
    """Order status needs no identity check: it shows nothing personal unmasked."""

    def name(self) -> Text:
        return "action_order_status"

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        with session_scope() as session:
            order = OrderService(session).find(tracker.get_slot("order_id"))
            if order is None:
                return []
            response, facts = status_response(order), order_facts(order)
            if response == "utter_order_status_shipped_exception":
                facts["ticket_id"] = logistics_ticket(session, order, tracker).id
            dispatcher.utter_message(response=response, **facts)
        return []


class ValidateCancelOrderForm(VerifiedJourneyValidation):
    def name(self) -> Text:
        return "validate_cancel_order_form"

    def validate_order_id(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return journey_order_slot(value, dispatcher, tracker, cancel_refusal)


def cancel_refusal(order: Order) -> Optional[str]:
    return None if OrderService.can_cancel(order) else f"utter_cancel_refused_{order.status}"


class ActionAskOrderId(FormQuestion):
    slot = "order_id"


class ActionAskCancelConfirmed(FormQuestion):
    """The cancel question names the order, its items and amount."""

    slot = "cancel_confirmed"

    def ask(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> None:
        with session_scope() as session:
            order = OrderService(session).find(tracker.get_slot("order_id"))
            dispatcher.utter_message(response="utter_ask_cancel_confirmed", **order_facts(order))


class ActionCancelOrder(GuardedAction):
    """Cancels after an explicit yes; anything else leaves the order as it was."""

    def name(self) -> Text:
        return "action_cancel_order"

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        # A finished journey forgets its order, so the next one asks which order is meant.
        reset = [SlotSet("cancel_confirmed", None), SlotSet("order_id", None)]
        order_id = tracker.get_slot("order_id")
        confirmed = tracker.get_slot("cancel_confirmed")
        if confirmed is None:  # the form stopped early and already said why
            return reset
        if not confirmed:
            dispatcher.utter_message(response="utter_cancel_kept", order_id=order_id)
            return reset
        with session_scope() as session:
            service = OrderService(session)
            order = service.owned_by(order_id, verified_customer(tracker))
            if order is None or not service.can_cancel(order):
                dispatcher.utter_message(response="utter_service_error")
                return reset
            refund = service.cancel(order, clock.now())
            if refund is None:
                dispatcher.utter_message(response="utter_order_cancelled_unpaid", order_id=order.id)
            else:
                dispatcher.utter_message(
                    response="utter_order_cancelled_refund",
                    order_id=order.id,
                    amount=yuan(refund.amount),
                    refund_method=PAYMENT_METHOD_NAMES[refund.method],
                    timeline=refund_timeline(refund.method),
                )
        return reset
