"""Human handoff and the two-step fallback that leads to it."""
from __future__ import annotations

from typing import List, Text

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import GuardedAction, conversation_context, latest_intent, verified_customer
from actions.services import clock
from actions.services.formatting import month_day_time
from actions.services.handoff import HandoffService
from actions.services.tickets import OPEN_STATUSES, TicketService
from actions.store.db import session_scope


def handoff_reason(tracker: Tracker) -> tuple[str, str]:
    """(ticket category, summary) for what the customer wants a person for."""
    intent = latest_intent(tracker)
    text = tracker.latest_message.get("text") or ""
    if intent == "complain":
        return "complaint", f"客户投诉：{text}"
    return "handoff", "客户请求人工服务"


class ActionHandoff(GuardedAction):
    """Queue for an agent in service hours; otherwise leave a ticket and promise a call back."""

    def name(self) -> Text:
        return "action_handoff"

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        now = clock.now()
        with session_scope() as session:
            earlier = tracker.get_slot("handoff_ticket_id")
            ticket = TicketService(session).find(earlier) if earlier else None
            if ticket is not None and ticket.status in OPEN_STATUSES:
                dispatcher.utter_message(response="utter_handoff_already", ticket_id=ticket.id)
                return []
            category, summary = handoff_reason(tracker)
            handoff = HandoffService(session).request(
                summary, now, category=category, customer_id=verified_customer(tracker),
                conversation_id=tracker.sender_id, context=conversation_context(tracker),
                order_id=tracker.get_slot("order_id") if category == "complaint" else None,
            )
            if handoff.queued:
                dispatcher.utter_message(
                    response="utter_handoff_queued", ticket_id=handoff.ticket.id, position=handoff.position
                )
            else:
                dispatcher.utter_message(
                    response="utter_handoff_after_hours",
                    ticket_id=handoff.ticket.id,
                    callback_at=month_day_time(handoff.callback_after),
                )
            return [SlotSet("handoff_ticket_id", handoff.ticket.id)]


class ActionHandleFallback(GuardedAction):
    """First misunderstanding: ask again; the second in a row: offer a human."""

    def name(self) -> Text:
        return "action_handle_fallback"

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        misunderstood = 0
        for event in reversed(tracker.events):
            if event.get("event") != "user":
                continue
            if (event.get("parse_data") or {}).get("intent", {}).get("name") != "nlu_fallback":
                break
            misunderstood += 1
        dispatcher.utter_message(response="utter_offer_human" if misunderstood >= 2 else "utter_default")
        return []
