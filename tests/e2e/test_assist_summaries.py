"""Handoff summaries of real conversations: journeys through the trained bot and the action server,
then the summary of each tracker, every line checked against the event it names. The journeys
change nothing other tests count on (no frozen wallet, no booking changed)."""

from __future__ import annotations

from typing import Callable, List, Tuple

import pytest

from assist.guidance import Lexicon
from assist.summary import ChatFacts, summarise
from tests.assist.test_summary import check_against_events
from tests.e2e.conversation import Conversation, conversation_to_verify


def refund_stopped_then_a_person(chat) -> Conversation:
    talk = conversation_to_verify(chat, "我要退货", "13800138001", "2817")
    talk.say("XH2611010001")
    talk.say("算了不退了，气死我了")
    talk.say("转人工")
    return talk


def balance_then_statement(chat) -> Conversation:
    talk = conversation_to_verify(chat, "查余额", "13800138001", "2817")
    talk.say("最近一周的交易记录")
    return talk


def flight_status(chat) -> Conversation:
    talk = Conversation(chat)
    talk.say("MU5101几点起飞")
    return talk


def knowledge_then_complaint(chat) -> Conversation:
    talk = Conversation(chat)
    talk.say("退款多久能到账")
    talk.say("我要投诉，你们再不处理我就打12315")
    return talk


JOURNEYS: List[Tuple[Callable, List[Tuple[str, str]]]] = [
    (
        refund_stopped_then_a_person,
        [("who", "已通过身份验证"), ("wanted", "订单号：XH2611010001"), ("mood", "客户情绪激动")],
    ),
    (
        balance_then_statement,
        [("who", "已通过身份验证"), ("wanted", "查交易记录"), ("did", "查了钱包"), ("did", "查了交易记录")],
    ),
    (flight_status, [("wanted", "查航班"), ("did", "查了航班")]),
    (knowledge_then_complaint, [("did", "用知识库回答"), ("wanted", "投诉"), ("mood", "提到监管")]),
]


@pytest.mark.parametrize("journey, expected", JOURNEYS, ids=[j.__name__ for j, _ in JOURNEYS])
def test_every_line_of_a_real_conversations_summary_is_in_its_tracker(chat, journey, expected):
    talk = journey(chat)
    events = chat.tracker(talk.conversation_id)["events"]
    lines = summarise(events, ChatFacts("asked", None, None, verified=False), Lexicon.load())
    check_against_events(lines, events)
    for section, start in expected:
        assert any(line.section == section and line.text.startswith(start) for line in lines), (
            section,
            start,
            [(line.section, line.text) for line in lines],
        )
