"""A conversation's facts, folded from its events as the event broker carried them.

A conversation is one Rasa session of one sender: it begins with `action_session_start` (or the
`session_started` it leads to) and ends where the next one begins. Everything here is a pure
function of the events and of what the business store knows about the conversation's handoffs,
tickets and ratings, so the same inputs always give the same facts (the consumer relies on it to be
idempotent). docs/analytics.md defines each fact.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Dict, List, Mapping, Optional, Sequence

from business.clock import SHANGHAI

# Intents that say nothing of what the customer came for: the topic is the first intent outside them.
GENERAL_INTENTS = frozenset(
    {
        "greet",
        "goodbye",
        "thanks",
        "affirm",
        "deny",
        "inform",
        "bot_challenge",
        "out_of_scope",
        "nlu_fallback",
        "stop",
        "chitchat",
    }
)
KB_OUTCOMES = {
    "utter_faq_answer": "answered",
    "utter_faq_clarify": "clarified",
    "utter_faq_not_sure": "not_sure",
}
SESSION_START_ACTION = "action_session_start"
VERIFIED_CUSTOMER_SLOT = "verified_customer_id"


@dataclass(frozen=True)
class Handoff:
    """A live chat of the conversation, as the business store has it (business.store.models.LiveChat)."""

    queued_at: datetime
    accepted_at: Optional[datetime]  # by the first agent (analytics.store reads it from the events)
    closed_at: Optional[datetime]
    status: str
    reason: str
    skill_group: str
    agent_id: Optional[str]
    result: Optional[str]
    rating: Optional[int]
    transfers: int = 0  # its live chat events of kind "transferred" (to another group or agent)


@dataclass
class Fact:
    key: str
    conversation_id: str
    channel: str
    started_at: datetime
    ended_at: datetime
    customer_id: Optional[str] = None
    customer_messages: int = 0
    bot_messages: int = 0
    topic: Optional[str] = None
    intents: Dict[str, int] = field(default_factory=dict)
    fallbacks: int = 0
    out_of_scope: int = 0
    forms_started: int = 0
    forms_completed: int = 0
    forms_abandoned: int = 0
    left_at_question: Optional[str] = None
    left_after: Optional[str] = None
    kb_answered: int = 0
    kb_clarified: int = 0
    kb_not_sure: int = 0
    tickets: int = 0
    handed_off: bool = False
    handoff_reason: Optional[str] = None
    skill_group: Optional[str] = None
    handoff_status: Optional[str] = None
    agent_id: Optional[str] = None
    queued_at: Optional[datetime] = None
    wait_s: Optional[float] = None
    first_response_s: Optional[float] = None
    handle_s: Optional[float] = None
    result: Optional[str] = None
    transfers: int = 0
    rating: Optional[int] = None

    def row(self) -> Dict[str, Any]:
        """The fact as a `conversation_facts` row."""
        values = dict(self.__dict__)
        values["intents"] = json.dumps(self.intents, ensure_ascii=False, sort_keys=True)
        return values


def local_time(timestamp: float) -> datetime:
    """A broker timestamp (Unix seconds) as the store keeps times: Shanghai wall-clock, naive."""
    return datetime.fromtimestamp(timestamp, SHANGHAI).replace(tzinfo=None)


def sessions(events: Sequence[Mapping[str, Any]]) -> List[List[Mapping[str, Any]]]:
    """The events split into sessions, in order."""
    found: List[List[Mapping[str, Any]]] = []
    for event in events:
        starts = (event.get("event") == "action" and event.get("name") == SESSION_START_ACTION) or (
            event.get("event") == "session_started"
            and not (found and len(found[-1]) == 1 and found[-1][0].get("name") == SESSION_START_ACTION)
        )
        if starts or not found:
            found.append([])
        found[-1].append(event)
    return found


class _Fold:
    """Reads one session's events in order."""

    def __init__(self, fact: Fact) -> None:
        self.fact = fact
        self.paused = False
        self.form: Optional[str] = None
        self.last_action: Optional[str] = None
        self.last_question: Optional[str] = None
        # The bot's last reply, while the customer has not answered it.
        self.unanswered_reply: Optional[str] = None
        self.first_agent_message: Optional[datetime] = None

    def read(self, event: Mapping[str, Any]) -> None:
        kind = event.get("event")
        if kind == "user":
            self._customer_message(event)
        elif kind == "bot":
            self._bot_message(event)
        elif kind == "action":
            self.last_action = event.get("name")
        elif kind == "active_loop":
            self._loop(event.get("name"))
        elif kind == "slot" and event.get("name") == VERIFIED_CUSTOMER_SLOT and event.get("value"):
            self.fact.customer_id = str(event["value"])[:16]
        elif kind == "pause":
            self.paused = True
            self.fact.handed_off = True
            self.unanswered_reply = None  # from here the agent talks, and the customer is waiting
        elif kind == "resume":
            self.paused = False

    def _customer_message(self, event: Mapping[str, Any]) -> None:
        fact = self.fact
        fact.customer_messages += 1
        self.unanswered_reply = None
        if fact.channel == "unknown" and event.get("input_channel"):
            fact.channel = str(event["input_channel"])[:16]
        if self.paused:  # a message to the agent: not the bot's to understand
            return
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if not intent:
            return
        fact.intents[intent] = fact.intents.get(intent, 0) + 1
        fact.fallbacks += intent == "nlu_fallback"
        fact.out_of_scope += intent == "out_of_scope"
        if fact.topic is None and intent not in GENERAL_INTENTS:
            fact.topic = intent

    def _bot_message(self, event: Mapping[str, Any]) -> None:
        fact = self.fact
        fact.bot_messages += 1
        metadata = event.get("metadata") or {}
        if metadata.get("agent_id"):
            if self.first_agent_message is None:
                self.first_agent_message = local_time(float(event.get("timestamp") or 0))
            return
        template = metadata.get("utter_action") or metadata.get("template")
        outcome = KB_OUTCOMES.get(str(template))
        if outcome == "answered":
            fact.kb_answered += 1
        elif outcome == "clarified":
            fact.kb_clarified += 1
        elif outcome == "not_sure":
            fact.kb_not_sure += 1
        self.unanswered_reply = str(template) if template else None
        if template:
            self.last_question = str(template)

    def _loop(self, name: Optional[str]) -> None:
        if name:
            if name != self.form:
                self.fact.forms_started += 1
            self.form = name
            return
        if self.form is None:
            return
        if self.last_action == self.form:  # the form closed itself: every slot was filled
            self.fact.forms_completed += 1
        else:
            self.fact.forms_abandoned += 1
        self.form = None

    def finish(self) -> None:
        if not self.paused:
            self.fact.left_after = self.unanswered_reply
        if self.form is not None:  # the customer left with a question of the form unanswered
            self.fact.forms_abandoned += 1
            self.fact.left_at_question = self.last_question


def _with_handoff(fact: Fact, handoff: Handoff, first_agent_message: Optional[datetime]) -> None:
    fact.handed_off = True
    fact.handoff_reason = handoff.reason
    fact.skill_group = handoff.skill_group
    fact.handoff_status = handoff.status
    fact.agent_id = handoff.agent_id
    fact.queued_at = handoff.queued_at
    fact.result = handoff.result
    if handoff.rating is not None:
        fact.rating = handoff.rating
    if handoff.accepted_at is not None:
        fact.wait_s = (handoff.accepted_at - handoff.queued_at).total_seconds()
        if handoff.closed_at is not None:
            fact.handle_s = (handoff.closed_at - handoff.accepted_at).total_seconds()
    if first_agent_message is not None and first_agent_message >= handoff.queued_at:
        fact.first_response_s = (first_agent_message - handoff.queued_at).total_seconds()


def conversation_facts(
    conversation_id: str,
    events: Sequence[Mapping[str, Any]],
    handoffs: Sequence[Handoff] = (),
    tickets: Sequence[datetime] = (),
    ratings: Sequence[tuple[datetime, int]] = (),
) -> List[Fact]:
    """One fact per session in which the customer said something. A handoff, a ticket or a rating
    belongs to the session it happened in or after, until the next session begins. The handoff's
    figures are its last live chat's; its transfers are those of all its live chats."""
    facts: List[Fact] = []
    found = [session for session in sessions(events) if any(e.get("event") == "user" for e in session)]
    for index, session in enumerate(found):
        started = local_time(float(session[0].get("timestamp") or 0))
        ended = local_time(float(session[-1].get("timestamp") or 0))
        until = (
            local_time(float(found[index + 1][0].get("timestamp") or 0))
            if index + 1 < len(found)
            else datetime.max
        )
        fact = Fact(
            key=f"{conversation_id}@{float(session[0].get('timestamp') or 0):.6f}",
            conversation_id=conversation_id,
            channel="unknown",
            started_at=started,
            ended_at=ended,
        )
        fold = _Fold(fact)
        for event in session:
            fold.read(event)
        fold.finish()
        during = [h for h in handoffs if started <= h.queued_at < until]
        if during:
            _with_handoff(fact, during[-1], fold.first_agent_message)
        fact.transfers = sum(h.transfers for h in during)  # of each live chat of the session, not the last
        fact.tickets = sum(started <= at < until for at in tickets)
        rated = [score for at, score in ratings if started <= at < until]
        if fact.rating is None and rated:
            fact.rating = rated[-1]
        fact.intents = dict(sorted(Counter(fact.intents).items()))
        facts.append(fact)
    return facts
