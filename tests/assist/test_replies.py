"""Suggested replies: the domain's wording with this customer's values, for what the chat is about."""

from __future__ import annotations

from datetime import timedelta

from assist.replies import suggested_replies
from business.wording import Wording
from tests.conftest import NOW

SAY = Wording.from_domain()


def slot(name: str, value: str) -> dict:
    return {"event": "slot", "name": name, "value": value}


def test_the_order_under_discussion_gets_its_status_and_refund_progress(session):
    events = [slot("order_id", "XH2611010001"), slot("order_id", "XH2611060005")]  # the latest counts
    replies = suggested_replies(session, events, "C002", NOW, SAY)
    assert [r["label"] for r in replies] == ["订单 XH2611060005 的状态", "订单 XH2611060005 的退款进度"]
    assert "正在退款中" in replies[0]["text"] and "退款处理中" in replies[1]["text"]


def test_someone_elses_order_gets_nothing_and_an_unverified_customer_only_the_status(session):
    events = [slot("order_id", "XH2611060005")]
    assert suggested_replies(session, events, "C001", NOW, SAY) == []
    replies = suggested_replies(session, events, None, NOW, SAY)
    assert [r["label"] for r in replies] == ["订单 XH2611060005 的状态"]


def test_the_booking_under_discussion_gets_the_fees_of_today(session):
    events = [slot("booking_ref", "K7M2QD")]  # departs in 5 days: 10% to change, 20% to refund
    [reply] = suggested_replies(session, events, "C001", NOW, SAY)
    assert "10%" in reply["text"] and "20%" in reply["text"]
    [later] = suggested_replies(session, events, "C001", NOW + timedelta(days=6), SAY)
    assert "不能改签或退票" in later["text"]
