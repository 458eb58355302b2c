"""Forms listen: an answer phrased as a negation is the answer; only a clear stop ends the form."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from business.store.models import Refund, Ticket
from tests.e2e.conversation import Conversation, conversation_to_verify

pytestmark = pytest.mark.e2e

STOPPED = "已为您停止当前操作"


def refund_reason_asked(chat, order_id: str) -> Conversation:
    talk = conversation_to_verify(chat, "我要退货", "13800138001", "2817")
    assert "原因" in talk.say(order_id)
    return talk


@pytest.mark.parametrize(
    "order_id, reason",
    [
        ("XH2611209920", "不想要了"),  # the most common no-reason return there is
        ("XH2611209921", "不喜欢，颜色和图片上不一样"),
        ("XH2611209922", "不合适，没法用"),
    ],
)
def test_a_reason_said_as_a_negation_is_the_reason_and_the_refund_goes_through(
    chat, store, new_delivered_order, order_id, reason
):
    talk = refund_reason_asked(chat, new_delivered_order(order_id))
    confirm = talk.say(reason)
    assert STOPPED not in confirm
    assert "确认提交吗" in confirm and "159.00元" in confirm
    assert "退货退款申请已提交" in talk.say("确认")
    with store() as session:
        refund = session.execute(select(Refund).where(Refund.order_id == order_id)).scalar_one()
        assert refund.amount == 159


@pytest.mark.parametrize(
    "order_id, stop",
    [
        ("XH2611209923", "算了，不退了"),
        ("XH2611209924", "取消这个申请"),
        ("XH2611209925", "先不弄了"),
    ],
)
def test_a_clear_stop_to_the_reason_question_ends_the_refund(
    chat, store, new_delivered_order, order_id, stop
):
    talk = refund_reason_asked(chat, new_delivered_order(order_id))
    assert STOPPED in talk.say(stop)
    # Out of the form: the next request is served, not read as a reason.
    assert "顺丰速运" in talk.say("查一下订单XH2611010001")
    with store() as session:
        assert session.execute(select(Refund).where(Refund.order_id == order_id)).first() is None


def test_a_reply_that_could_be_either_is_asked_about_once(chat, store, new_delivered_order):
    order_id = new_delivered_order("XH2611209926")
    talk = refund_reason_asked(chat, order_id)
    messages = chat.say(talk.sender, "不要了")
    question = "\n".join(m.get("text") or "" for m in messages)
    assert "是想结束这次退货申请，还是这就是退货的原因" in question and STOPPED not in question
    assert [b["title"] for m in messages for b in m.get("buttons") or []] == [
        "这就是退货原因",
        "结束退货申请",
    ]
    with store() as session:
        assert session.execute(select(Refund).where(Refund.order_id == order_id)).first() is None


def test_the_answer_to_the_either_or_question_decides(chat, store, new_delivered_order):
    kept = refund_reason_asked(chat, new_delivered_order("XH2611209927"))
    kept.say("不用了")
    confirm = kept.say("/affirm")  # the button 这就是退货原因: the words are the reason
    assert "确认提交吗" in confirm and "159.00元" in confirm
    stopped = refund_reason_asked(chat, new_delivered_order("XH2611209928"))
    stopped.say("不要了")
    assert STOPPED in stopped.say("/deny")  # the button 结束退货申请


def test_a_complaint_told_with_negations_is_filed_in_the_customers_words(chat, store):
    talk = Conversation(chat)
    assert "发生了什么" in talk.say("我要投诉")
    what = "没收到货，快递却显示已签收，也没人给我打电话"
    filed = talk.say(what)
    assert "投诉已登记为高优先级工单" in filed and STOPPED not in filed
    with store() as session:
        ticket = session.execute(
            select(Ticket).where(
                Ticket.conversation_id == talk.conversation_id, Ticket.category == "complaint"
            )
        ).scalar_one()
        assert what in ticket.summary


def test_a_complaint_the_customer_takes_back_files_nothing(chat, store):
    talk = Conversation(chat)
    talk.say("我要投诉")
    assert STOPPED in talk.say("算了，不投诉了")
    with store() as session:
        assert (
            session.execute(select(Ticket).where(Ticket.conversation_id == talk.conversation_id)).first()
            is None
        )


def test_a_clear_stop_ends_the_order_status_form(chat):
    talk = Conversation(chat)
    assert "订单号" in talk.say("我的快递到哪了")
    assert STOPPED in talk.say("先不查了")


@pytest.mark.parametrize(
    "request_text, phone, id_last4, stop",
    [
        ("我想取消订单", "13900139002", "0645", "算了不办了"),
        ("我要改签", "13800138001", "2817", "算了，先不改了"),
    ],
)
def test_a_clear_stop_ends_the_verified_journeys_too(chat, request_text, phone, id_last4, stop):
    talk = conversation_to_verify(chat, request_text, phone, id_last4)
    assert STOPPED in talk.say(stop)
