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

from business.privacy import masked_events
from business.services.replies import ReplyKind, open_reply_kind

logger = logging.getLogger(__name__)

CONTEXT_TURNS = 12
# 不用了，谢谢 · 算了，谢谢你: thanks by its words, but a no when it answers a yes/no question.
POLITE_REFUSAL = re.compile(r"^\W*(不用|不要|不必|算了|先不|no\b)", re.IGNORECASE)


def conversation_context(tracker: Tracker, turns: int = CONTEXT_TURNS) -> List[Dict[str, Any]]:
    """The last messages of the conversation, for the agent who picks up a ticket (stored with it, so
    with personal data masked as in the tracker store)."""
    messages = [
        {
            "by": "customer" if event["event"] == "user" else "bot",
            "text": event.get("text") or "",
            "intent": (event.get("parse_data") or {}).get("intent", {}).get("name")
            if event["event"] == "user"
            else None,
            "at": event.get("timestamp"),
        }
        for event in masked_events(tracker.events)
        if event.get("event") in ("user", "bot") and event.get("text")
    ]
    return messages[-turns:]


def verified_customer(tracker: Tracker) -> Optional[str]:
    return tracker.get_slot("verified_customer_id")


def latest_intent(tracker: Tracker) -> Optional[str]:
    return (tracker.latest_message.get("intent") or {}).get("name")


def is_polite_refusal(tracker: Tracker) -> bool:
    return latest_intent(tracker) == "thanks" and bool(
        POLITE_REFUSAL.match(tracker.latest_message.get("text") or "")
    )


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


def earlier_turns(tracker: Tracker, count: int) -> List[List[str]]:
    """The texts the assistant sent in each of the `count` turns before the customer's
    latest message, latest first."""
    turns: List[List[str]] = []
    current: Optional[List[str]] = None  # None until the latest user message is passed
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            if current is not None:
                turns.append(current)
                if len(turns) == count:
                    break
            current = []
        elif event.get("event") == "bot" and current is not None:
            current.append(event.get("text") or "")
    return turns


def rendered(message: Dict[str, Any], tracker: Tracker, domain: DomainDict) -> str:
    """The text a dispatched message will show ("" when it cannot be told here)."""
    if message.get("text") or not message.get("response"):
        return message.get("text") or ""
    variations = domain.get("responses", {}).get(message["response"]) or [{}]
    values = {**tracker.slots, **message}  # the dispatcher keeps the response's values in the message
    try:
        return (variations[0].get("text") or "").format(**values)
    except (KeyError, IndexError, ValueError):
        return ""


class GuardedAction(Action, ABC):
    """An action whose failures become a polite reply instead of a broken turn, and that
    does not give the same reply a third turn running: the customer asking the same
    thing again was not helped by it, so a person is offered instead."""

    may_repeat = False  # True where the same reply again is right (a queue position)

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        try:
            events = self.act(dispatcher, tracker, domain)
        except Exception:
            logger.exception("action %s failed for conversation %s", self.name(), tracker.sender_id)
            dispatcher.utter_message(response="utter_service_error")
            return []
        if not self.may_repeat and self.repeats_itself(dispatcher, tracker, domain):
            dispatcher.messages.clear()
            dispatcher.utter_message(response="utter_same_answer_again")
        return events

    @staticmethod
    def repeats_itself(dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> bool:
        reply = [rendered(m, tracker, domain) for m in dispatcher.messages]
        before = earlier_turns(tracker, 2)
        return (
            bool(reply)
            and all(reply)
            and len(before) == 2
            and all(set(reply) <= set(turn) for turn in before)
        )

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
    def act_for(
        self, customer_id: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> List[EventType]:
        """The action's work for the verified customer `customer_id`."""


# Intents that leave the form to the rules (hand over, stop, small talk) instead of
# being read as an answer to the form's question.
DIGRESSION_INTENTS = {
    "request_human",
    "complain",
    "deny",
    "goodbye",
    "out_of_scope",
    "bot_challenge",
    "ask_faq",
}
# A question is asked at most twice in a row.  The third time the assistant changes
# course (explains, offers a person or to stop); the fourth time it stops the form.
MAX_ASKS = 2
GAVE_UP = "utter_form_stuck_stopped"
FRESH_QUESTIONS = (SlotSet("asked_slot", None), SlotSet("asked_times", 0), SlotSet("unclear_reply", None))


def times_asked(tracker: Tracker, slot: str) -> int:
    """How many times in a row the form has asked for `slot` without getting it."""
    if tracker.get_slot("asked_slot") != slot:
        return 0
    return int(tracker.get_slot("asked_times") or 0)


def last_bot_response(tracker: Tracker) -> Optional[str]:
    """The response the assistant sent last (`utter_…`), if any."""
    for event in reversed(tracker.events):
        if event.get("event") == "bot":
            return (event.get("metadata") or {}).get("utter_action")
    return None


class FormQuestion(GuardedAction, ABC):
    """Asks a form's question (`action_ask_<slot>`), and never a third time in a row.

    Rasa calls it whenever the form needs the slot, after a wrong answer or a
    digression too.  Asked twice without an answer, the third time it sends
    `utter_stuck_<slot>` (where to find what is asked, a person, or stop) instead, and
    the fourth time it stops the form with `utter_form_stuck_stopped`, which offers a
    person.  A customer who starts the same form again straight away with the same
    trouble gets those two in turn, never the same reply twice.
    """

    @property
    @abstractmethod
    def slot(self) -> str:
        """The slot asked for (a class attribute in each question)."""

    def name(self) -> Text:
        return f"action_ask_{self.slot}"

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        if tracker.get_slot("unclear_reply"):  # the customer was just asked what they meant
            return []
        times = times_asked(tracker, self.slot) + 1
        events: List[EventType] = [SlotSet("asked_slot", self.slot), SlotSet("asked_times", times)]
        if times <= MAX_ASKS:
            self.ask(dispatcher, tracker, domain)
        elif (times - MAX_ASKS) % 2:
            dispatcher.utter_message(response=f"utter_stuck_{self.slot}")
        else:
            dispatcher.utter_message(response=GAVE_UP)
            events.append(SlotSet("requested_slot", None))  # ends the form
        return events

    def ask(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> None:
        """The question itself; subclasses show what it is about."""
        dispatcher.utter_message(response=f"utter_ask_{self.slot}")


def open_answer(slot: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker) -> Dict[Text, Any]:
    """The answer to an open question (a reason, what happened) is content, not a no.

    Only a clear request to stop (算了, 不退了, 取消这个申请) ends the form.  A reply that
    could be either (不要了) is asked about once with `utter_ask_stop_or_<slot>`; the
    reply to that decides, and anything but a stop keeps the earlier words as the answer.
    """
    text = str(value).strip()
    earlier = tracker.get_slot("unclear_reply")
    kind = open_reply_kind(text)
    button = text.startswith("/")  # a button's intent payload, not the customer's words
    if kind is ReplyKind.STOP or (button and latest_intent(tracker) == "deny"):
        return stop_form(slot, dispatcher)
    if earlier:  # the reply to "stop, or is that the answer?": anything else keeps the words
        new_words = (
            kind is ReplyKind.CONTENT and not button and latest_intent(tracker) not in ("affirm", "deny")
        )
        return {slot: text if new_words else earlier, "unclear_reply": None}
    if button:
        return {slot: None}
    if kind is ReplyKind.UNCLEAR:
        dispatcher.utter_message(response=f"utter_ask_stop_or_{slot}", reply=text)
        return {slot: None, "unclear_reply": text}
    return {slot: text}


def stop_form(slot: str, dispatcher: CollectingDispatcher) -> Dict[Text, Any]:
    """The customer asked to stop: say so and end the form (its submit action then does nothing)."""
    dispatcher.utter_message(response="utter_journey_stopped")
    return {slot: None, "unclear_reply": None, "requested_slot": None}


class GuardedFormValidation(FormValidationAction, ABC):
    """Form validation that survives store errors and answers junk with a format hint.

    When the customer's message fills nothing, Rasa would reject the form and let
    the policies guess; unless the message is a digression handled by a rule, the
    customer instead gets `utter_invalid_<slot>` and the same question again.
    A polite no (不用了，谢谢) to a yes/no question (a bool slot) is a no, not thanks.
    A wrong answer after the question was already asked differently (FormQuestion)
    is not told what was wrong a third time: the question then stops the form.
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
        just_activated = (tracker.active_loop or {}).get("name") != self.form_name()
        said_before = len(dispatcher.messages)
        # 算了 · 先不弄了 to any question but a yes/no one stops the form, however NLU read it.
        yes_or_no = domain.get("slots", {}).get(requested, {}).get("type") == "bool"
        text = tracker.latest_message.get("text") or ""
        if requested and not just_activated and not yes_or_no and open_reply_kind(text) is ReplyKind.STOP:
            return [SlotSet(name, value) for name, value in stop_form(requested, dispatcher).items()]
        try:
            events = await super().run(dispatcher, tracker, domain)
        except Exception:
            logger.exception("validation %s failed for conversation %s", self.name(), tracker.sender_id)
            dispatcher.utter_message(response="utter_service_error")
            return [SlotSet(requested, None)] if requested else []
        if just_activated:
            # A new form run counts its questions afresh, unless the last one just gave up.
            earlier = tracker.get_slot("asked_slot") or tracker.get_slot("unclear_reply")
            fresh = earlier and last_bot_response(tracker) != GAVE_UP
            return [*FRESH_QUESTIONS, *events] if fresh else events
        slot_events = [e for e in events if isinstance(e, dict) and e.get("event") == "slot"]
        filled = any(e.get("name") not in ("requested_slot", "unclear_reply") for e in slot_events)
        answered = any(e.get("name") == requested and e.get("value") is not None for e in slot_events)
        ending = any(e.get("name") == "requested_slot" and e.get("value") is None for e in slot_events)
        if requested and not (answered or ending) and times_asked(tracker, requested) > MAX_ASKS:
            del dispatcher.messages[said_before:]  # the question stops the form instead
            return events
        if requested and not filled and latest_intent(tracker) not in DIGRESSION_INTENTS:
            dispatcher.utter_message(response=f"utter_invalid_{requested}")
            events.append(SlotSet(requested, None))
        return events
