"""Whole conversations over the REST channel, checked in the replies and in the store."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from business.store.models import Order, Refund, Ticket
from tests.e2e.conversation import Conversation, conversation_to_verify

pytestmark = pytest.mark.e2e


def test_order_status_with_the_id_in_the_first_message(chat):
    reply = Conversation(chat).say("帮我查下订单XH2611010001到哪了")
    for fact in ("顺丰速运", "SF1402837465921", "北京顺义集散中心", "138****8001", "张*"):
        assert fact in reply
    assert "13800138001" not in reply and "张伟" not in reply


def test_order_status_asks_for_the_id_and_rejects_unknown_ones(chat):
    talk = Conversation(chat)
    assert "订单号" in talk.say("我的快递到哪了")
    assert "没有查到订单 XH2699999999" in talk.say("XH2699999999")
    reply = talk.say("xh2611010002")
    assert "签收" in reply and "JDV003918274650" in reply


def test_cancel_a_paid_order_after_verification_and_confirmation(chat, store):
    talk = conversation_to_verify(chat, "我想取消订单", "13900139002", "0645")
    question = talk.say("XH2611050004")
    assert "确认取消订单 XH2611050004" in question and "39.00" in question
    with store() as session:
        assert session.get(Order, "XH2611050004").status == "paid"  # nothing changes before yes
    reply = talk.say("👍")  # as customers answer in WeChat
    assert "已取消" in reply and "39.00元原路退回星河钱包" in reply
    with store() as session:
        order = session.get(Order, "XH2611050004")
        assert order.status == "cancelled" and order.refunds[-1].amount == 39


def test_a_shipped_order_is_not_cancelled(chat, store):
    talk = conversation_to_verify(chat, "取消订单", "13800138001", "2817")
    assert "已发货，无法直接取消" in talk.say("XH2611010001")
    with store() as session:
        assert session.get(Order, "XH2611010001").status == "shipped"


def test_refund_declined_changes_nothing_then_confirmed_refund_is_recorded(chat, store):
    talk = conversation_to_verify(chat, "我要退货", "13800138001", "2817")
    assert "原因" in talk.say("XH2611010002")
    confirm = talk.say("七天无理由")
    assert "178.00元" in confirm and "星河钱包" in confirm
    assert "没有提交退款申请" in talk.say("不用了")
    with store() as session:
        assert session.get(Order, "XH2611010002").status == "delivered"
        assert session.execute(select(Refund).where(Refund.order_id == "XH2611010002")).first() is None

    talk.say("我要退货")  # verified once per session: straight to the order
    talk.say("XH2611010002")
    talk.say("商品质量问题")
    reply = talk.say("确认")
    assert "工单号 TK" in reply and "即时到账" in reply
    ticket_id = reply.split("工单号 ")[1][:13]
    with store() as session:
        order = session.get(Order, "XH2611010002")
        assert order.status == "refunding" and order.refunds[-1].reason == "quality"
        ticket = session.get(Ticket, ticket_id)
        assert ticket.category == "refund" and ticket.conversation_id == talk.conversation_id


def test_another_shops_price_as_the_reason_is_taken_as_the_reason(chat, store, new_delivered_order):
    order_id = new_delivered_order("XH2611209902")
    talk = conversation_to_verify(chat, "我要退货", "13800138001", "2817")
    assert "原因" in talk.say(order_id)
    confirm = talk.say("淘宝上同款便宜一半")  # names another shop: out_of_scope on its own
    assert "帮不上忙" not in confirm
    assert "159.00元" in confirm and "原因“七天无理由”" in confirm
    assert "没有提交退款申请" in talk.say("不用了")
    with store() as session:
        assert session.get(Order, order_id).status == "delivered"


def test_no_thanks_to_the_refund_confirmation_refunds_nothing(chat, store, new_delivered_order):
    order_id = new_delivered_order("XH2611209903")
    talk = conversation_to_verify(chat, "我要退货", "13800138001", "2817")
    talk.say(order_id)
    assert "确认提交吗" in talk.say("七天无理由")
    reply = talk.say("不用了，谢谢")  # thanks by its words, a no to the question
    assert "没有提交退款申请" in reply and "确认提交吗" not in reply
    with store() as session:
        assert session.get(Order, order_id).status == "delivered"
        assert session.execute(select(Refund).where(Refund.order_id == order_id)).first() is None


def test_refund_outside_the_rules_files_a_ticket_and_offers_a_human(chat, store):
    talk = conversation_to_verify(chat, "申请退款", "13800138001", "2817")
    talk.say("XH2610150003")
    assert "转人工客服" in talk.buttons("鞋底开胶了，质量太差")
    with store() as session:
        tickets = session.execute(select(Ticket).where(Ticket.order_id == "XH2610150003")).scalars().all()
        assert [t.category for t in tickets] == ["refund_exception"]
        assert session.get(Order, "XH2610150003").status == "delivered"


def test_someone_elses_order_reveals_nothing(chat):
    talk = conversation_to_verify(chat, "我要退货", "13900139002", "0645")
    reply = talk.say("XH2611010001")
    assert "没有找到订单 XH2611010001" in reply and "耳机" not in reply


def test_refund_progress_lists_the_customers_refund(chat):
    talk = Conversation(chat)
    talk.say("退款进度查一下")
    talk.say("13900139002")
    reply = talk.say("0645")
    assert "XH2611060005" in reply and "微信支付" in reply and "1-3个工作日" in reply


def test_three_wrong_checks_lock_and_file_a_ticket(chat, store):
    talk = Conversation(chat)
    reply = talk.fail_verification("我要退款", "13800138001")
    assert "连续3次" in reply
    with store() as session:
        ticket = session.execute(
            select(Ticket).where(Ticket.conversation_id == talk.conversation_id)
        ).scalar_one()
        assert ticket.category == "identity"
    assert "连续3次" in talk.say("我要取消订单")  # locked for the rest of the session


def test_a_question_inside_a_form_is_answered_and_the_form_goes_on(chat):
    talk = Conversation(chat)
    talk.say("我要退货")
    reply = talk.say("你是机器人吗")
    assert "机器人" in reply and "手机号" in reply


def test_stopping_a_form_changes_nothing(chat, store):
    talk = conversation_to_verify(chat, "取消订单", "13700137003", "351x")
    assert "停止" in talk.say("算了")
    with store() as session:
        assert session.get(Order, "XH2611070006").status == "pending_payment"


def test_request_human_with_no_agent_online_files_a_call_back_ticket_with_context(chat, store):
    talk = Conversation(chat)
    talk.say("我的快递到哪了")
    reply = talk.say("转人工")
    assert "工单 TK" in reply and "都不在线" in reply and "12:00前联系您" in reply
    with store() as session:
        ticket = session.execute(
            select(Ticket).where(Ticket.conversation_id == talk.conversation_id)
        ).scalar_one()
        assert ticket.status == "open" and "我的快递到哪了" in ticket.context


@pytest.mark.parametrize(
    "message, expected",
    [
        ("你好", "星河智能客服"),
        ("再见", "再见"),
        ("谢谢你", "不客气"),
        ("你是机器人吗", "机器人"),
        ("给我讲个笑话吧", "帮不上"),
    ],
)
def test_small_talk(chat, message, expected):
    assert expected in Conversation(chat).say(message)
