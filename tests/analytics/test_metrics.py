"""Each figure of the report on facts whose right answer is worked out in the test."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from itertools import count
from typing import Any, Dict

import pytest

from analytics.facts import Fact
from analytics.metrics import report

START, END = datetime(2026, 11, 1), datetime(2026, 11, 8)
_keys = count()


def fact(started: str, minutes: float = 5, **values: Any) -> Dict[str, Any]:
    begun = datetime.fromisoformat(started)
    row = Fact(
        key=f"k{next(_keys)}",
        conversation_id=values.pop("conversation_id", f"webchat:{next(_keys)}"),
        channel=values.pop("channel", "webchat"),
        started_at=begun,
        ended_at=begun + timedelta(minutes=minutes),
    ).row()
    row.update(values)
    if isinstance(row["intents"], dict):
        row["intents"] = json.dumps(row["intents"])
    return row


def test_containment_counts_neither_handoffs_nor_customers_who_came_back_within_a_day():
    rows = [
        fact(
            "2026-11-02 10:00", conversation_id="wechat:a", topic="order_status"
        ),  # back 23 h later: not contained
        fact("2026-11-03 09:00", conversation_id="wechat:a", topic="order_status"),  # contained
        fact("2026-11-02 11:00", conversation_id="wechat:b", topic="request_refund"),
        fact(
            "2026-11-03 12:00", conversation_id="wechat:b", topic="request_refund"
        ),  # 25 h later: both contained
        fact("2026-11-02 12:00", topic="complain", handed_off=True),  # handed off
        fact("2026-11-04 12:00", conversation_id="wechat:c", topic="order_status"),
        fact("2026-11-04 13:00", conversation_id="wechat:c", topic="ask_faq"),  # another topic: contained
    ]
    result = report(rows, START, END)
    assert result.overall.conversations == 7
    assert result.overall.containment == pytest.approx(5 / 7)
    assert result.overall.handoff_rate == pytest.approx(1 / 7)


def test_first_contact_resolution_looks_seven_days_ahead_even_past_the_range():
    rows = [
        fact("2026-11-07 10:00", customer_id="C0001", conversation_id="webchat:x", topic="refund_status"),
        # the same verified customer on another channel, 6 days later, after the range ends
        fact(
            "2026-11-13 09:00",
            customer_id="C0001",
            conversation_id="wechat:y",
            channel="wechat",
            topic="refund_status",
        ),
        fact("2026-11-02 10:00", conversation_id="webchat:z", topic="refund_status"),
        fact(
            "2026-11-09 10:06", conversation_id="webchat:z", topic="refund_status"
        ),  # 7 days and 1 minute: too late
        fact("2026-11-02 10:00", topic=None),  # no topic: not counted
    ]
    result = report(rows, START, END)
    assert result.overall.conversations == 3  # started in the range
    assert result.overall.fcr == pytest.approx(1 / 2)


def test_satisfaction_is_the_share_of_four_and_five_among_ratings_and_coverage_the_share_rated():
    rows = [fact("2026-11-02 10:00", rating=r) for r in (5, 4, 2, None)]
    result = report(rows, START, END)
    assert result.overall.csat == pytest.approx(2 / 3)
    assert result.overall.rating_coverage == pytest.approx(3 / 4)
    assert result.ratings == {2: 1, 4: 1, 5: 1}


def test_agent_times_and_queue_abandonment_over_handoffs():
    rows = [
        fact(
            "2026-11-02 10:00",
            handed_off=True,
            handoff_status="closed",
            agent_id="A001",
            wait_s=30.0,
            first_response_s=40.0,
            handle_s=300.0,
        ),
        fact(
            "2026-11-02 11:00",
            handed_off=True,
            handoff_status="closed",
            agent_id="A002",
            wait_s=90.0,
            first_response_s=100.0,
            handle_s=500.0,
        ),
        fact("2026-11-02 12:00", handed_off=True, handoff_status="cancelled"),  # left while queued
        fact("2026-11-02 13:00", handed_off=True, handoff_status="expired"),  # nobody came
        fact("2026-11-02 14:00"),
    ]
    result = report(rows, START, END)
    overall = result.overall
    assert (overall.wait_s, overall.first_response_s, overall.aht_s) == (60.0, 70.0, 400.0)
    assert overall.queue_abandonment == pytest.approx(2 / 4)
    assert set(result.by_agent) == {"A001", "A002"} and result.by_agent["A002"].aht_s == 500.0


def test_fallback_not_sure_and_form_abandonment_rates():
    rows = [
        fact(
            "2026-11-02 10:00",
            intents={"greet": 1, "nlu_fallback": 1},
            fallbacks=1,
            kb_answered=3,
            kb_not_sure=1,
            forms_started=2,
            forms_abandoned=1,
        ),
        fact(
            "2026-11-02 11:00",
            intents={"order_status": 2},
            kb_clarified=1,
            forms_started=1,
            forms_completed=1,
        ),
    ]
    overall = report(rows, START, END).overall
    assert overall.fallback_rate == pytest.approx(1 / 4)
    assert overall.kb_not_sure_rate == pytest.approx(1 / 5)
    assert overall.form_abandonment == pytest.approx(1 / 3)


def test_the_replies_customers_left_after_most_often_come_first():
    rows = [
        fact("2026-11-02 10:00", left_after="utter_ask_order_id"),
        fact("2026-11-03 10:00", left_after="utter_faq_not_sure"),
        fact("2026-11-04 10:00", left_after="utter_ask_order_id"),
        fact("2026-11-05 10:00"),
        fact("2026-11-09 10:00", left_after="utter_faq_not_sure"),  # after the range
    ]
    assert report(rows, START, END).left_after == [("utter_ask_order_id", 2), ("utter_faq_not_sure", 1)]


def test_a_rate_over_nothing_is_unknown_not_zero():
    overall = report([fact("2026-11-02 10:00")], START, END).overall
    assert (
        overall.csat is None
        and overall.aht_s is None
        and overall.fcr is None
        and overall.kb_not_sure_rate is None
        and overall.transfer_rate is None  # no handoff: no transfer rate
    )
    assert overall.containment == 1.0
    assert report([], START, END).overall.containment is None


def test_breakdowns_by_channel_day_week_and_the_channel_filter():
    rows = [
        fact("2026-11-01 23:58", minutes=5, channel="wechat", intents={"order_status": 1}),  # a Sunday
        fact("2026-11-03 08:00", channel="webchat", intents={"order_status": 2, "ask_faq": 1}),
        fact(
            "2026-11-03 09:00", channel="phone", handed_off=True, handoff_reason="asked", skill_group="mall"
        ),
        fact("2026-11-08 00:00", channel="phone"),  # the day after the range
    ]
    result = report(rows, START, END)
    assert {day.isoformat(): s.conversations for day, s in result.by_day.items()} == {
        "2026-11-01": 1,
        "2026-11-03": 2,
    }
    assert [week.isoformat() for week in result.by_week] == ["2026-10-26", "2026-11-02"]  # Mondays
    assert {c: s.conversations for c, s in result.by_channel.items()} == {
        "phone": 1,
        "webchat": 1,
        "wechat": 1,
    }
    assert result.top_intents == [("order_status", 3), ("ask_faq", 1)]
    assert result.handoff_reasons == [("asked", 1)] and list(result.by_skill_group) == ["mall"]
    assert report(rows, START, END, channel="wechat").overall.conversations == 1
