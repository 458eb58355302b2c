"""Policy and how-to questions answered from the knowledge base in kb/."""

from __future__ import annotations

import logging
from typing import List, Text

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import GuardedAction
from business import clock
from business.services.faq_log import FaqLog
from business.store.db import session_scope
from kb.answering import default_answerer

logger = logging.getLogger(__name__)

# The lexical index and the documents' sentence vectors are built once, when the action server starts.
KNOWLEDGE_BASE = default_answerer()
# Rasa's input channel -> the KB's publishing channel (the REST channel is the web chat).
KB_CHANNELS = {"wechat": "wechat", "phone": "phone"}


class ActionAnswerFaq(GuardedAction):
    """Answers (only the part that applies when the question carries a condition), asks which
    document is meant when two are close, or offers a human."""

    def name(self) -> Text:
        return "action_answer_faq"

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        channel = KB_CHANNELS.get(tracker.get_latest_input_channel() or "", "web")
        question = tracker.latest_message.get("text") or ""
        chosen = next(tracker.get_latest_entity_values("faq_document"), None)
        document = KNOWLEDGE_BASE.get(chosen) if chosen else None
        if document is not None:  # the customer picked one of the offered documents
            question, outcome, score = document.title, "answered", 0.0
            text = document.short if channel == "phone" else document.body
        else:
            answer = KNOWLEDGE_BASE.answer(question, channel=channel)
            outcome, score, document = answer.outcome, answer.score, answer.document
            text = answer.text(short=channel == "phone") if outcome == "answered" else ""
        if outcome == "answered":
            dispatcher.utter_message(response="utter_faq_answer", answer=text.strip())
        elif outcome == "clarify":
            options = answer.options
            dispatcher.utter_message(
                response="utter_faq_clarify",
                buttons=[
                    {"title": d.title, "payload": f'/ask_faq{{"faq_document": "{d.id}"}}'} for d in options
                ],
            )
        else:
            dispatcher.utter_message(response="utter_faq_not_sure")
        with session_scope() as session:
            FaqLog(session).record(
                question,
                outcome,
                score,
                clock.now(),
                document_id=document.id if document else None,
                conversation_id=tracker.sender_id,
                channel=channel,
            )
        return []
