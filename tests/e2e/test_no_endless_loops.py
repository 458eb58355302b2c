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
    return [
        [
            (m.get("text") or "", tuple(b["payload"] for b in m.get("buttons") or []))
            for m in talk.chat.say(talk.sender, text)
        ]
        for _ in range(times)
    ]


def offers_a_way_out(message: Message) -> bool:
    text, payloads = message
    return "/request_human" in payloads or "转人工" in text


def assert_no_endless_loop(turns: List[List[Message]]) -> None:
    shown = "\n".join(f"{i}: {[m[0][:40] for m in turn]}" for i, turn in enumerate(turns, 1))
    assert all(turns), f"a message went unanswered:\n{shown}"
    flat = [m for turn in turns for m in turn]
    for a, b, c in zip(flat, flat[1:], flat[2:], strict=False):
        assert not a == b == c, f"the same message three times in a row:\n{shown}"
    for t1, t2, t3 in zip(turns, turns[1:], turns[2:], strict=False):
        assert not set(t1) & set(t2) & set(t3), f"the same reply in three turns running:\n{shown}"
    assert any(offers_a_way_out(m) for turn in turns[:3] for m in turn), (
        f"no way out by the third turn:\n{shown}"
    )


@pytest.mark.parametrize(
    "opening, bad_answer",
    [
        ("我的快递到哪了", "XH2699999999"),  # an order id that does not exist
        ("帮我查个订单", "就是上周买的那个"),  # not an order id at all
        ("查一下我的余额", "12345"),  # not a phone number
        ("我的快递到哪了", "帮我订一份外卖"),  # out of scope inside a form
        ("你好", "帮我订一份外卖"),  # out of scope
        ("你好", "啊吧啊吧啊吧"),  # not understood
    ],
)
def test_anonymous_questions_answered_badly_again_and_again(chat, opening, bad_answer):
    talk = Conversation(chat)
    talk.say(opening)
    assert_no_endless_loop(turns_of(talk, bad_answer))


@pytest.mark.parametrize(
    "request_text, phone, id_last4, bad_answer",
    [
        ("我想取消订单", "13900139002", "0645", "XH2611010001"),  # 张伟's order, not this customer's
        ("我要退货", "13800138001", "2817", "XH2600000000"),  # not found
        ("我要改签", "13800138001", "2817", "ZZ9ZZ9"),  # no such booking
    ],
)
def test_verified_journeys_answered_badly_again_and_again(chat, request_text, phone, id_last4, bad_answer):
    talk = conversation_to_verify(chat, request_text, phone, id_last4)
    assert_no_endless_loop(turns_of(talk, bad_answer))


def test_a_refund_confirmation_answered_with_neither_yes_nor_no(chat, new_delivered_order):
    talk = conversation_to_verify(chat, "我要退货", "13800138001", "2817")
    talk.say(new_delivered_order("XH2611209930"))
    assert "确认提交吗" in talk.say("七天无理由")
    assert_no_endless_loop(turns_of(talk, "你猜"))


def test_a_new_day_that_is_not_a_day(chat):
    talk = conversation_to_verify(chat, "我要改签", "13800138001", "2817")
    assert "哪一天" in talk.say("K7M2QD")
    assert_no_endless_loop(turns_of(talk, "随便吧"))
