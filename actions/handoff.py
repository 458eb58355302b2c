"""Human handoff and the two-step fallback that leads to it."""

from __future__ import annotations

from typing import Any, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import ConversationPaused, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from actions.common import (
    GuardedAction,
    conversation_context,
    last_bot_response,
    latest_intent,
    verified_customer,
)
from business import clock
from business.formatting import month_day_time
from business.services.handoff import Handoff, HandoffService
from business.services.live_chat import HandoffFacts, LiveChatService, rating_reply
from business.services.tickets import OPEN_STATUSES, TicketService
from business.store.db import session_scope


def handoff_reason(tracker: Tracker) -> tuple[str, str]:
    """(ticket category, summary) for what the customer wants a person for."""
    intent = latest_intent(tracker)
    text = tracker.latest_message.get("text") or ""
    if intent == "complain":
        return "complaint", f"客户投诉：{text}"
    return "handoff", "客户请求人工服务"


def customer_intents(tracker: Tracker) -> List[str]:
    """The intent of every customer message so far, the latest last (for routing to a group)."""
    return [
        (event.get("parse_data") or {}).get("intent", {}).get("name") or ""
        for event in tracker.events
        if event.get("event") == "user"
    ]


def hand_over(
    session: Session, tracker: Tracker, summary: str, category: str, customer_id: Optional[str], **ticket: Any
) -> Handoff:
    """Asks the business core for a person: the live queue when someone can take the customer."""
    return HandoffService(session).request(
        summary,
        clock.now(),
        facts=HandoffFacts(
            category,
            customer_intents(tracker),
            verified=customer_id is not None,
            wallet_frozen=category == "account_frozen",
        ),
        conversation_id=tracker.sender_id,
        channel=tracker.get_latest_input_channel() or "rest",
        customer_id=customer_id,
        context=conversation_context(tracker),
        **ticket,
    )


def step_aside(handoff: Handoff) -> List[EventType]:
    """Queued: the bot pauses the conversation, and the customer's messages go to the agent side."""
    return [ConversationPaused()] if handoff.queued else []


class ActionHandoff(GuardedAction):
    """Queue for an agent when one can take the customer; otherwise leave a ticket and promise a call back."""

    may_repeat = True  # asked again, the customer is told again where they stand

    def name(self) -> Text:
        return "action_handoff"

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        with session_scope() as session:
            earlier = tracker.get_slot("handoff_ticket_id")
            ticket = TicketService(session).find(earlier) if earlier else None
            if ticket is not None and ticket.status in OPEN_STATUSES:
                dispatcher.utter_message(response="utter_handoff_already", ticket_id=ticket.id)
                return []
            category, summary = handoff_reason(tracker)
            handoff = hand_over(
                session,
                tracker,
                summary,
                category,
                verified_customer(tracker),
                order_id=tracker.get_slot("order_id") if category == "complaint" else None,
            )
            if handoff.queued:
                dispatcher.utter_message(
                    response="utter_handoff_queued",
                    ticket_id=handoff.ticket.id,
                    position=handoff.position,
                    wait_minutes=handoff.wait_minutes,
                )
            else:
                dispatcher.utter_message(
                    response="utter_handoff_no_agent" if handoff.in_hours else "utter_handoff_after_hours",
                    ticket_id=handoff.ticket.id,
                    callback_at=month_day_time(handoff.callback_after),
                )
            return [SlotSet("handoff_ticket_id", handoff.ticket.id), *step_aside(handoff)]


def turns_in_a_row(tracker: Tracker, intents: frozenset[str]) -> int:
    """How many of the customer's latest messages in a row had one of `intents`."""
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        if (event.get("parse_data") or {}).get("intent", {}).get("name") not in intents:
            break
        count += 1
    return count


def escalating(times: int, first: str, then: str, then_again: str) -> str:
    """The reply for the `times`-th time in a row: `first` once, then `then` and
    `then_again` in turn (a way out in two wordings), so that no reply repeats itself."""
    if times <= 1:
        return first
    return then if times % 2 == 0 else then_again


class ActionHandleFallback(GuardedAction):
    """First misunderstanding: ask again; the second in a row: offer a human."""

    def name(self) -> Text:
        return "action_handle_fallback"

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        score = rating_reply(tracker.latest_message.get("text") or "")
        if score is not None and last_bot_response(tracker) == "utter_live_rating_request":
            # The score a WeChat (or any text) customer gives the agent who just served them.
            with session_scope() as session:
                rated = LiveChatService(session).rate_latest(tracker.sender_id, score, clock.now())
            if rated is not None:
                dispatcher.utter_message(response="utter_live_rating_thanks")
                return []
        # A bare value outside any question is a misunderstanding too.
        times = turns_in_a_row(tracker, frozenset({"nlu_fallback", "inform"}))
        dispatcher.utter_message(
            response=escalating(times, "utter_default", "utter_offer_human", "utter_offer_human_again")
        )
        return []


class ActionOutOfScope(GuardedAction):
    """What the assistant does not do: said once, then a person is offered."""

    def name(self) -> Text:
        return "action_out_of_scope"

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        times = turns_in_a_row(tracker, frozenset({"out_of_scope"}))
        if tracker.active_loop.get("name"):  # the form's question follows; it changes course itself
            response = escalating(
                times,
                "utter_out_of_scope_in_form",
                "utter_out_of_scope_in_form_again",
                "utter_out_of_scope_in_form",
            )
        else:
            response = escalating(
                times,
                "utter_out_of_scope",
                "utter_out_of_scope_offer_human",
                "utter_out_of_scope_offer_human_again",
            )
        dispatcher.utter_message(response=response)
        return []


# After these, a "no" means the customer is done: say goodbye, do not ask again.
ANYTHING_ELSE_ASKED = frozenset({"utter_anything_else", "utter_journey_stopped"})


class ActionAnythingElse(GuardedAction):
    """A bare yes or no outside any question: what else can be done, or goodbye to a no
    after 还有什么可以帮您."""

    def name(self) -> Text:
        return "action_anything_else"

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        done = latest_intent(tracker) == "deny" and last_bot_response(tracker) in ANYTHING_ELSE_ASKED
        dispatcher.utter_message(response="utter_goodbye" if done else "utter_anything_else")
        return []
