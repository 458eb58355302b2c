"""The handoff summary, each line checked against the tracker event it names."""

from __future__ import annotations

import re
from typing import Any, Dict, List

from assist.guidance import Lexicon
from assist.summary import ChatFacts, summarise


def user(text: str, intent: str) -> Dict[str, Any]:
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}}


def bot(text: str, **metadata: Any) -> Dict[str, Any]:
    return {"event": "bot", "text": text, "metadata": metadata}


def slot(name: str, value: Any) -> Dict[str, Any]:
    return {"event": "slot", "name": name, "value": value}


def action(name: str) -> Dict[str, Any]:
    return {"event": "action", "name": name}


def loop(name: Any) -> Dict[str, Any]:
    return {"event": "active_loop", "name": name}


# A verified customer asks about an order, starts a return, stops it angrily and asks for a person.
REFUND_THEN_PERSON: List[Dict[str, Any]] = [
    action("action_session_start"),
    slot("verified_customer_id", "C001"),
    user("我的快递到哪了", "order_status"),
    action("order_status_form"),
    loop("order_status_form"),
    user("XH2611010001", "inform"),
    slot("order_id", "XH2611010001"),
    loop(None),
    action("action_order_status"),
    bot("订单 XH2611010001（蓝牙耳机）已于11月20日发货，顺丰速运。"),
    user("我要退货", "request_refund"),
    action("refund_form"),
    loop("refund_form"),
    user("不想要了", "inform"),
    slot("refund_reason", "不想要了"),
    user("算了，什么破服务，气死了", "deny"),
    loop(None),
    user("转人工", "request_human"),
    action("action_handoff"),
    slot("handoff_ticket_id", "TK20261122001"),
    bot("已为您转接人工客服，排队第1位。", utter_action="utter_handoff_queued"),
    {"event": "pause"},
]


def folded(text: str) -> str:
    return " ".join(text.split())


def check_against_events(lines, events) -> None:
    """Every line that names an event must say what that event holds (line breaks read as spaces)."""
    for line in lines:
        if line.event is None:
            continue
        event = events[line.event]
        quoted = re.search(r"“(.+?)”", line.text)
        if line.section in ("wanted", "mood", "why") and quoted:
            assert event["event"] == "user" and quoted.group(1).rstrip("…") in folded(event["text"]), line
        elif line.section == "wanted":
            assert event["event"] == "slot" and str(event["value"]) in line.text, line
        elif line.section == "did" and quoted:
            assert event["event"] == "action", line
            reply = next(e for e in events[line.event :] if e["event"] == "bot")
            assert quoted.group(1).rstrip("…") in folded(reply["text"]), line
        elif line.section == "did":
            assert event["event"] in ("active_loop", "slot"), line


def test_the_summary_of_a_return_abandoned_in_anger_then_a_person():
    facts = ChatFacts("asked", "张伟", "金卡", verified=True)
    lines = summarise(REFUND_THEN_PERSON, facts, Lexicon.load())
    texts = [(line.section, line.text) for line in lines]
    assert texts == [
        ("who", "张*，金卡会员"),
        ("who", "已通过身份验证"),
        ("why", "客户要求人工：“转人工”"),
        ("wanted", "查订单：“我的快递到哪了”"),
        ("wanted", "订单号：XH2611010001"),
        ("wanted", "退货退款：“我要退货”"),
        ("wanted", "退货原因：不想要了"),
        ("wanted", "找人工：“转人工”"),
        ("did", "开始查订单"),
        ("did", "查订单完成"),
        ("did", "查了订单：“订单 XH2611010001（蓝牙耳机）已于11月20日发货，顺丰速运。”"),
        ("did", "开始退货退款申请"),
        ("did", "退货退款申请中途结束"),
        ("did", "建了工单 TK20261122001"),
        ("mood", "客户情绪激动：“算了，什么破服务，气死了”"),
    ]
    check_against_events(lines, REFUND_THEN_PERSON)


def test_an_unverified_customer_mid_form_and_a_regulator():
    events = [
        user("我要投诉", "complain"),
        action("complaint_form"),
        loop("complaint_form"),
        user("你们再不处理我就打12315", "complain"),
        user("人呢", "request_human"),
        {"event": "pause"},
    ]
    lines = summarise(events, ChatFacts("complaint", None, None, verified=False), Lexicon.load())
    texts = [(line.section, line.text) for line in lines]
    assert ("who", "未验证身份") in texts
    assert ("why", "客户投诉：“人呢”") in texts
    assert ("did", "投诉登记进行到一半就转了人工") in texts
    assert ("mood", "第二次投诉") in texts
    assert ("mood", "提到监管或投诉渠道：“你们再不处理我就打12315”") in texts
    assert not any("12315" in text for section, text in texts if section == "who")
    check_against_events(lines, events)


def test_verification_values_never_reach_the_summary():
    events = [
        user("查余额", "account_lookup"),
        slot("phone_number", "13800138001"),
        slot("id_last4", "002X"),
        slot("verified_customer_id", "C001"),
    ]
    lines = summarise(events, ChatFacts("asked", "张伟", "金卡", verified=True), Lexicon.load())
    assert not any("13800138001" in line.text or "002X" in line.text for line in lines)
