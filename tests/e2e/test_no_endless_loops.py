"""No loop without a way out: endless bad answers to every form and to the fallback.

Each test keeps sending what the assistant cannot use and checks the whole exchange:
no bot message comes three times in a row (neither back to back nor as the same
reply in three turns running), and a way out (a person) is offered by the third turn.
"""
from __future__ import annotations

from typing import List, Tuple

import pytest

from tests.e2e.conversation import Conversation, conversation_to_verify

pytestmark = pytest.mark.e2e

BAD_ANSWERS = 7
Message = Tuple[str, Tuple[str, ...]]  # text, button payloads


def turns_of(talk: Conversation, text: str, times: int = BAD_ANSWERS) -> List[List[Message]]:
    return [[(m.get("text") or "", tuple(b["payload"] for b in m.get("buttons") or []))
             for m in talk.chat.say(talk.sender, text)] for _ in range(times)]


def offers_a_way_out(message: Message) -> bool:
    text, payloads = message
    return "/request_human" in payloads or "转人工" in text


def assert_no_endless_loop(turns: List[List[Message]]) -> None:
    shown = "\n".join(f"{i}: {[m[0][:40] for m in turn]}" for i, turn in enumerate(turns, 1))
    assert all(turns), f"a message went unanswered:\n{shown}"
    flat = [m for turn in turns for m in turn]
    for a, b, c in zip(flat, flat[1:], flat[2:]):
        assert not a == b == c, f"the same message three times in a row:\n{shown}"
    for t1, t2, t3 in zip(turns, turns[1:], turns[2:]):
        assert not set(t1) & set(t2) & set(t3), f"the same reply in three turns running:\n{shown}"
    assert any(offers_a_way_out(m) for turn in turns[:3] for m in turn), f"no way out by the third turn:\n{shown}"


def test_an_order_id_that_does_not_exist(chat):
    talk = Conversation(chat)
    assert "订单号" in talk.say("我的快递到哪了")
    assert_no_endless_loop(turns_of(talk, "XH2699999999"))


def test_an_order_id_that_is_not_an_order_id(chat):
    talk = Conversation(chat)
    talk.say("帮我查个订单")
    assert_no_endless_loop(turns_of(talk, "就是上周买的那个"))


def test_someone_elses_order_to_cancel(chat):
    talk = conversation_to_verify(chat, "我想取消订单", "13900139002", "0645")
    assert_no_endless_loop(turns_of(talk, "XH2611010001"))  # 张伟's order, not this customer's


def test_a_refund_for_an_order_that_is_not_found(chat):
    talk = conversation_to_verify(chat, "我要退货", "13800138001", "2817")
    assert_no_endless_loop(turns_of(talk, "XH2600000000"))


def test_a_refund_confirmation_answered_with_neither_yes_nor_no(chat, new_delivered_order):
    talk = conversation_to_verify(chat, "我要退货", "13800138001", "2817")
    talk.say(new_delivered_order("XH2611209930"))
    assert "确认提交吗" in talk.say("七天无理由")
    assert_no_endless_loop(turns_of(talk, "你猜"))


def test_a_phone_number_that_is_not_one(chat):
    talk = Conversation(chat)
    assert "手机号" in talk.say("查一下我的余额")
    assert_no_endless_loop(turns_of(talk, "12345"))


def test_a_booking_reference_that_is_not_found(chat):
    talk = conversation_to_verify(chat, "我要改签", "13800138001", "2817")
    assert_no_endless_loop(turns_of(talk, "ZZ9ZZ9"))


def test_a_new_day_that_is_not_a_day(chat):
    talk = conversation_to_verify(chat, "我要改签", "13800138001", "2817")
    assert "哪一天" in talk.say("K7M2QD")
    assert_no_endless_loop(turns_of(talk, "随便吧"))


def test_out_of_scope_questions_inside_a_form(chat):
    talk = Conversation(chat)
    talk.say("我的快递到哪了")
    assert_no_endless_loop(turns_of(talk, "帮我订一份外卖"))


def test_out_of_scope_questions(chat):
    assert_no_endless_loop(turns_of(Conversation(chat), "帮我订一份外卖"))


def test_messages_the_assistant_does_not_understand(chat):
    assert_no_endless_loop(turns_of(Conversation(chat), "啊吧啊吧啊吧"))
