"""What every action shares: error handling, the conversation context, the customer."""
from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

logger = logging.getLogger(__name__)

CONTEXT_TURNS = 12
# 不用了，谢谢 · 算了，谢谢你: thanks by its words, but a no when it answers a yes/no question.
POLITE_REFUSAL = re.compile(r"^\W*(不用|不要|不必|算了|先不|no\b)", re.IGNORECASE)


def conversation_context(tracker: Tracker, turns: int = CONTEXT_TURNS) -> List[Dict[str, Any]]:
    """The last messages of the conversation, for the agent who picks up a ticket."""
    messages = [
        {
            "by": "customer" if event["event"] == "user" else "bot",
            "text": event.get("text") or "",
            "intent": (event.get("parse_data") or {}).get("intent", {}).get("name")
            if event["event"] == "user"
            else None,
            "at": event.get("timestamp"),
        }
        for event in tracker.events
        if event.get("event") in ("user", "bot") and event.get("text")
    ]
    return messages[-turns:]


def verified_customer(tracker: Tracker) -> Optional[str]:
    return tracker.get_slot("verified_customer_id")


def latest_intent(tracker: Tracker) -> Optional[str]:
    return (tracker.latest_message.get("intent") or {}).get("name")


def is_polite_refusal(tracker: Tracker) -> bool:
    return latest_intent(tracker) == "thanks" and bool(POLITE_REFUSAL.match(tracker.latest_message.get("text") or ""))


def journey_request(tracker: Tracker, intent: str) -> Dict[str, Any]:
    """The customer's latest message with `intent`: its text and entities ({} if none).

    A journey that verifies identity first runs turns after its request, when the
    latest message is the ID-card answer; what was asked for is in the request.
    """
    for event in reversed(tracker.events):
        parse_data = event.get("parse_data") or {}
        if event.get("event") == "user" and (parse_data.get("intent") or {}).get("name") == intent:
            return {"text": event.get("text") or "", "entities": parse_data.get("entities") or []}
    return {}


def entity_value(request: Dict[str, Any], entity: str) -> Optional[str]:
    return next((e.get("value") for e in request.get("entities") or [] if e.get("entity") == entity), None)


class GuardedAction(Action, ABC):
    """An action whose failures become a polite reply instead of a broken turn."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        try:
            return self.act(dispatcher, tracker, domain)
        except Exception:
            logger.exception("action %s failed for conversation %s", self.name(), tracker.sender_id)
            dispatcher.utter_message(response="utter_service_error")
            return []

    @abstractmethod
    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        """The action's work; exceptions are logged and answered by `run`."""


class VerifiedCustomerAction(GuardedAction, ABC):
    """An action that serves the verified customer; it runs after the verification form.

    When verification was stopped or locked there is no customer, and the form has
    already told the customer so: the action then does nothing.
    """

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        customer_id = verified_customer(tracker)
        if customer_id is None:
            return []
        return self.act_for(customer_id, dispatcher, tracker)

    @abstractmethod
    def act_for(self, customer_id: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
        """The action's work for the verified customer `customer_id`."""


# Intents that leave the form to the rules (hand over, stop, small talk) instead of
# being read as an answer to the form's question.
DIGRESSION_INTENTS = {"request_human", "complain", "deny", "goodbye", "out_of_scope", "bot_challenge", "ask_faq"}


class GuardedFormValidation(FormValidationAction, ABC):
    """Form validation that survives store errors and answers junk with a format hint.

    When the customer's message fills nothing, Rasa would reject the form and let
    the policies guess; unless the message is a digression handled by a rule, the
    customer instead gets `utter_invalid_<slot>` and the same question again.
    A polite no (不用了，谢谢) to a yes/no question (a bool slot) is a no, not thanks.
    """

    @abstractmethod
    def name(self) -> Text:
        """Abstract so the action server does not register this base class itself."""

    async def get_extraction_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        events = await super().get_extraction_events(dispatcher, tracker, domain)
        requested = tracker.get_slot("requested_slot")
        yes_or_no = requested and domain.get("slots", {}).get(requested, {}).get("type") == "bool"
        if yes_or_no and is_polite_refusal(tracker):
            events.append(SlotSet(requested, False))
        return events

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        requested = tracker.get_slot("requested_slot")
        try:
            events = await super().run(dispatcher, tracker, domain)
        except Exception:
            logger.exception("validation %s failed for conversation %s", self.name(), tracker.sender_id)
            dispatcher.utter_message(response="utter_service_error")
            return [SlotSet(requested, None)] if requested else []
        filled = any(isinstance(e, dict) and e.get("event") == "slot" and e.get("name") != "requested_slot"
                     for e in events)
        just_activated = (tracker.active_loop or {}).get("name") != self.form_name()
        if requested and not filled and not just_activated and latest_intent(tracker) not in DIGRESSION_INTENTS:
            dispatcher.utter_message(response=f"utter_invalid_{requested}")
            events.append(SlotSet(requested, None))
        return events
