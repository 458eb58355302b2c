"""The handoff summary: who the customer is, what they wanted, what the bot already did, why it
handed over and how the customer feels. Read from the tracker's events, never generated: every
line names the event it comes from (its index in the tracker), so an agent can check it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import yaml

from assist.guidance import Lexicon
from business.formatting import mask_name
from business.services.live_chat import REASONS, WANTED
from business.wording import DOMAIN

# The values the customer gave, by slot (personal data for verification is left out on purpose).
GIVEN: Dict[str, str] = {
    "order_id": "订单号",
    "booking_ref": "订座记录",
    "travel_date": "出行日期",
    "new_flight_no": "新航班",
    "refund_reason": "退货原因",
    "refund_detail": "原因说明",
    "complaint_detail": "投诉内容",
}
# What the bot did, by its action; the line quotes what the bot then said.
DONE: Dict[str, str] = {
    "action_order_status": "查了订单",
    "action_cancel_order": "处理了取消订单",
    "action_submit_refund": "处理了退款申请",
    "action_refund_status": "查了退款进度",
    "action_account_lookup": "查了钱包",
    "action_transaction_history": "查了交易记录",
    "action_flight_status": "查了航班",
    "action_change_flight": "处理了改签",
    "action_cancel_flight": "处理了退票",
    "action_file_complaint": "登记了投诉",
    "action_answer_faq": "用知识库回答",
    "action_ticket_status": "查了工单进度",
}
FORMS: Dict[str, str] = {
    "verify_identity_form": "身份验证",
    "order_status_form": "查订单",
    "cancel_order_form": "取消订单",
    "refund_form": "退货退款申请",
    "change_flight_form": "改签",
    "cancel_flight_form": "退票",
    "complaint_form": "投诉登记",
}
QUOTE_CHARS = 60


@dataclass(frozen=True)
class Line:
    section: str  # who / wanted / did / why / mood
    text: str
    event: Optional[int]  # the tracker event it comes from (None: from the business store)

    def as_dict(self) -> Dict[str, Any]:
        return {"section": self.section, "text": self.text, "event": self.event}


@dataclass(frozen=True)
class ChatFacts:
    """What the business store knows of the handoff (the live chat and its customer)."""

    reason: str
    customer_name: Optional[str]
    member_level: Optional[str]
    verified: bool


def quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1] + "…"


def summarise(events: Sequence[Mapping[str, Any]], facts: ChatFacts, lexicon: Lexicon) -> List[Line]:
    """The summary, in the order the sections are read: who, why, wanted, did, mood."""
    who: List[Line] = []
    wanted: List[Line] = []
    did: List[Line] = []
    mood: List[Line] = []
    why: List[Line] = []
    slots: Dict[str, Any] = {}
    asked_for: set[str] = set()
    pending: Optional[tuple[int, str]] = None  # an action whose reply is still to come
    form: Optional[tuple[int, str]] = None  # the form running, and where it started
    last_user: Optional[tuple[int, str]] = None
    complaints = 0

    if facts.customer_name is not None:
        level = f"，{facts.member_level}会员" if facts.member_level else ""
        who.append(Line("who", f"{mask_name(facts.customer_name)}{level}", None))
    for index, event in enumerate(events):
        kind = event.get("event")
        if kind == "user":
            text = str(event.get("text") or "")
            if text.startswith("/restart"):
                continue
            last_user = (index, text)
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name") or ""
            if intent in WANTED and intent not in asked_for:
                asked_for.add(intent)
                wanted.append(Line("wanted", f"{WANTED[intent]}：“{quote(text)}”", index))
            if intent == "complain":
                complaints += 1
                if complaints == 2:
                    mood.append(Line("mood", "第二次投诉", index))
            for feeling in lexicon.customer_alerts(text):
                mood.append(Line("mood", f"{feeling.label}：“{quote(text)}”", index))
        elif kind == "slot":
            name, value = event.get("name"), event.get("value")
            if name == "verified_customer_id" and value and not slots.get(name):
                who.append(Line("who", "已通过身份验证", index))
            if name in GIVEN and value not in (None, "") and value != slots.get(name):
                wanted.append(Line("wanted", f"{GIVEN[name]}：{quote(str(value))}", index))
            if name in ("handoff_ticket_id", "complaint_ticket_id", "identity_ticket_id") and value:
                did.append(Line("did", f"建了工单 {value}", index))
            slots[str(name)] = value
        elif kind == "action":
            name = str(event.get("name") or "")
            pending = (index, name) if name in DONE else pending
        elif kind == "bot" and pending is not None:
            text = str(event.get("text") or "")
            if text and not (event.get("metadata") or {}).get("agent_id"):
                did.append(Line("did", f"{DONE[pending[1]]}：“{quote(text)}”", pending[0]))
                pending = None
        elif kind == "active_loop":
            name = event.get("name")
            if name in FORMS:
                form = (index, str(name))
                did.append(Line("did", f"开始{FORMS[str(name)]}", index))
            elif name is None and form is not None:
                outcome = "完成" if _form_filled(form[1], slots) else "中途结束"
                did.append(Line("did", f"{FORMS[form[1]]}{outcome}", index))
                form = None
        elif kind == "pause" and last_user is not None:
            why = [
                Line(
                    "why", f"{REASONS.get(facts.reason, facts.reason)}：“{quote(last_user[1])}”", last_user[0]
                )
            ]
    if form is not None:
        did.append(Line("did", f"{FORMS[form[1]]}进行到一半就转了人工", form[0]))
    if not facts.verified and not any(line.text == "已通过身份验证" for line in who):
        who.append(Line("who", "未验证身份", None))
    if not why:
        why.append(Line("why", REASONS.get(facts.reason, facts.reason), None))
    return [*who, *why, *wanted, *did, *mood]


@functools.lru_cache(maxsize=1)
def form_slots() -> Dict[str, Tuple[str, ...]]:
    """Each form's required slots, as the domain declares them."""
    domain = yaml.safe_load(DOMAIN.read_text(encoding="utf-8"))
    return {name: tuple(form["required_slots"]) for name, form in domain["forms"].items()}


def _form_filled(form: str, slots: Mapping[str, Any]) -> bool:
    return all(slots.get(slot) not in (None, "") for slot in form_slots().get(form, ()))
