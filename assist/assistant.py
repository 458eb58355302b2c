"""What the workspace asks of agent assist, in one place: the summary and customer 360 of a chat,
suggestions and alerts for a customer's message, warnings on an agent's draft."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any, Dict, List, Mapping, Optional, Sequence

from sqlalchemy.orm import Session

from assist.customer import customer_360
from assist.guidance import Alert, Lexicon
from assist.replies import latest_value, suggested_replies
from assist.suggestions import KnowledgeSuggestions
from assist.summary import ChatFacts, summarise
from business.services.orders import OrderService
from business.services.refunds import ELIGIBILITY_NAMES, RefundPolicy
from business.store.models import Customer, LiveChat
from business.wording import Wording
from kb.answering import default_answerer


def alert_view(alert: Alert) -> Dict[str, str]:
    return {"kind": alert.kind, "label": alert.label, "advice": alert.advice}


def latest_customer_text(events: Sequence[Mapping[str, Any]]) -> Optional[str]:
    for event in reversed(events):
        text = str(event.get("text") or "")
        if event.get("event") == "user" and text and not text.startswith("/"):
            return text
    return None


class Assistant:
    def __init__(self, lexicon: Lexicon, say: Wording) -> None:
        self.lexicon = lexicon
        self.say = say

    @classmethod
    def load(cls) -> "Assistant":
        return cls(Lexicon.load(), Wording.from_domain())

    @functools.cached_property
    def knowledge(self) -> KnowledgeSuggestions:
        """The knowledge base and its sentence encoder, loaded on first use (or by `warm`)."""
        return KnowledgeSuggestions(default_answerer())

    def warm(self) -> None:
        self.knowledge.for_message("你好")

    def for_chat(
        self, session: Session, chat: LiveChat, events: Sequence[Mapping[str, Any]], now: datetime
    ) -> Dict[str, Any]:
        customer = session.get(Customer, chat.customer_id) if chat.customer_id else None
        facts = ChatFacts(
            chat.reason,
            customer.name if customer is not None else None,
            customer.member_level if customer is not None else None,
            chat.customer_id is not None,
        )
        latest = latest_customer_text(events)
        return {
            "summary": [line.as_dict() for line in summarise(events, facts, self.lexicon)],
            "customer": customer_360(session, chat.customer_id, chat.conversation_id)
            if chat.customer_id
            else None,
            "replies": suggested_replies(session, events, chat.customer_id, now, self.say),
            **(self.for_message(latest) if latest else {"suggestions": [], "alerts": []}),
        }

    def for_message(self, text: str) -> Dict[str, Any]:
        return {
            "for_text": text,
            "suggestions": [s.as_dict() for s in self.knowledge.for_message(text)],
            "alerts": [alert_view(a) for a in self.lexicon.customer_alerts(text)],
        }

    def draft_warnings(self, draft: str) -> List[Dict[str, str]]:
        return [alert_view(a) for a in self.lexicon.draft_warnings(draft)]

    def promises_a_refund(self, draft: str) -> bool:
        return self.lexicon.promises_a_refund(draft)

    def refund_promise_warning(
        self, session: Session, events: Sequence[Mapping[str, Any]], now: datetime
    ) -> List[Dict[str, str]]:
        """The draft promises a refund: a warning when the order under discussion cannot be returned
        even for a quality fault (the most lenient reason)."""
        order_id = latest_value(events, "order_id")
        order = OrderService(session).find(order_id) if order_id else None
        if order is None:
            return []
        eligibility = RefundPolicy.eligibility(order, "quality", now.date())
        if eligibility.allowed:
            return []
        label = f"订单 {order.id} 按规则不能退：{ELIGIBILITY_NAMES[eligibility.code]}"
        return [
            {"kind": "refund_rule", "label": label, "advice": "答应退款前请先核实；规则外的退货需要班长特批"}
        ]
