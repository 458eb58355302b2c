"""Returns and refunds: the refund form, its submission and refund progress."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    FormQuestion,
    GuardedAction,
    VerifiedCustomerAction,
    conversation_context,
    open_answer,
    verified_customer,
)
from actions.identity import VerifiedJourneyValidation
from actions.orders import journey_order_slot
from business import clock
from business.formatting import PAYMENT_METHOD_NAMES, yuan
from business.services.orders import OrderService, order_facts
from business.services.refunds import (
    NO_REASON_DAYS,
    QUALITY_DAYS,
    REASON_NAMES,
    RefundPolicy,
    RefundService,
    classify_reason,
    refund_status_facts,
    refund_timeline,
)
from business.store.db import session_scope
from business.store.models import Order

OUTSIDE_RULES_WHY = {
    "no_reason_expired": f"已超过{NO_REASON_DAYS}天无理由退货期限（质量问题可在签收{QUALITY_DAYS}天内申请）",
    "expired": f"已超过{QUALITY_DAYS}天的售后期限",
}
RETURN_SHIPPING = {
    "no_reason": "无理由退货的寄回运费由您承担，金卡及以上会员每月有2次运费险。",
    "other": "无理由退货的寄回运费由您承担，金卡及以上会员每月有2次运费险。",
    "quality": "质量问题的来回运费由星河承担。",
    "wrong_item": "发错货/少件的来回运费由星河承担。",
}
# A finished journey forgets its order, so the next one asks which order is meant.
FORM_SLOTS = ("order_id", "refund_reason", "refund_detail", "refund_confirmed")


def refund_refusal(order: Order) -> Optional[str]:
    state = RefundPolicy.order_state(order)
    return None if state.allowed else f"utter_refund_{state.code}"


class ValidateRefundForm(VerifiedJourneyValidation):
    def name(self) -> Text:
        return "validate_refund_form"

    def validate_order_id(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return journey_order_slot(value, dispatcher, tracker, refund_refusal)

    def validate_refund_reason(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        answer = open_answer("refund_reason", value, dispatcher, tracker)
        detail = answer.get("refund_reason")
        if detail is None:  # a stop, or the customer is asked what they meant
            return answer
        reason = classify_reason(detail)
        now = clock.now()
        with session_scope() as session:
            order = OrderService(session).owned_by(tracker.get_slot("order_id"), verified_customer(tracker))
            eligibility = RefundPolicy.eligibility(order, reason, now.date())
            if eligibility.allowed:
                return {**answer, "refund_reason": reason, "refund_detail": detail}
            ticket = RefundService(session).open_exception(
                order,
                reason,
                detail,
                eligibility,
                now,
                conversation_id=tracker.sender_id,
                context=conversation_context(tracker),
            )
            dispatcher.utter_message(
                response="utter_refund_outside_rules",
                order_id=order.id,
                days=eligibility.days_since_delivery,
                why=OUTSIDE_RULES_WHY[eligibility.code],
                ticket_id=ticket.id,
            )
        return {**answer, "refund_reason": reason, "refund_detail": detail, "requested_slot": None}


class ActionAskRefundReason(FormQuestion):
    slot = "refund_reason"


class ActionAskRefundConfirmed(FormQuestion):
    """The confirmation shows exactly what will be refunded, where to and when."""

    slot = "refund_confirmed"

    def ask(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> None:
        with session_scope() as session:
            order = OrderService(session).find(tracker.get_slot("order_id"))
            facts = order_facts(order)
            dispatcher.utter_message(
                response="utter_ask_refund_confirmed",
                **facts,
                reason_name=REASON_NAMES[tracker.get_slot("refund_reason")],
                refund_method=facts["payment_method"],
                timeline=refund_timeline(order.payment_method),
            )


class ActionSubmitRefund(GuardedAction):
    """Records the refund after an explicit yes, with its review ticket."""

    def name(self) -> Text:
        return "action_submit_refund"

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        reset = [SlotSet(slot, None) for slot in FORM_SLOTS]
        confirmed = tracker.get_slot("refund_confirmed")
        order_id = tracker.get_slot("order_id")
        if confirmed is None:  # the form stopped early and already said why
            return reset
        if not confirmed:
            dispatcher.utter_message(response="utter_refund_kept", order_id=order_id)
            return reset
        reason = tracker.get_slot("refund_reason")
        with session_scope() as session:
            order = OrderService(session).owned_by(order_id, verified_customer(tracker))
            refund, ticket = RefundService(session).request(
                order,
                reason,
                tracker.get_slot("refund_detail") or "",
                clock.now(),
                conversation_id=tracker.sender_id,
                context=conversation_context(tracker),
            )
            dispatcher.utter_message(
                response="utter_refund_submitted",
                ticket_id=ticket.id,
                amount=yuan(refund.amount),
                refund_method=PAYMENT_METHOD_NAMES[refund.method],
                timeline=refund_timeline(refund.method),
                return_shipping=RETURN_SHIPPING[reason],
            )
        return reset


class ActionRefundStatus(VerifiedCustomerAction):
    """The verified customer's refunds, newest first (only the named order's, if one was named)."""

    def name(self) -> Text:
        return "action_refund_status"

    def act_for(
        self, customer_id: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> List[EventType]:
        named = next(tracker.get_latest_entity_values("order_id"), None)
        with session_scope() as session:
            refunds = RefundService(session).for_customer(customer_id)
            if named:
                refunds = [r for r in refunds if r.order_id == named.upper()]
            if not refunds:
                dispatcher.utter_message(response="utter_refund_status_none")
            for refund in refunds[:3]:
                dispatcher.utter_message(response="utter_refund_status_item", **refund_status_facts(refund))
        return []
