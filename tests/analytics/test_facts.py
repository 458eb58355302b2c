"""A conversation's facts from its events: each fact checked on a stream whose answer is worked out here."""

from __future__ import annotations

from datetime import datetime

from analytics.facts import Handoff, conversation_facts
from tests.analytics.streams import Stream


def order_lookup(stream: Stream) -> Stream:
    """A greeting, then an order form that fills its one slot and closes itself."""
    stream.says("你好", "greet").action("utter_greet").bot("utter_greet")
    stream.action("action_listen").says("查订单", "order_status").action("order_status_form").loop(
        "order_status_form"
    )
    stream.slot("requested_slot", "order_id").bot("utter_ask_order_id").action("action_listen")
    stream.says("XH2611010001", "inform").action("order_status_form").slot("order_id", "XH2611010001")
    stream.slot("requested_slot", None).loop(None).action("action_order_status").bot(
        "utter_order_status_shipped"
    )
    return stream.action("action_listen")


def test_a_conversation_the_bot_handled_alone():
    stream = order_lookup(Stream("webchat:a", "2026-11-22 10:00:00").session())
    stream.says("运费怎么算", "ask_faq").action("action_answer_faq").bot("utter_faq_answer")
    stream.says("退货地址", "ask_faq").action("action_answer_faq").bot("utter_faq_not_sure")
    [fact] = conversation_facts("webchat:a", stream.events)
    assert fact.channel == "webchat" and fact.key.startswith("webchat:a@")
    assert fact.started_at == datetime(2026, 11, 22, 10, 0, 0)
    assert fact.ended_at == datetime(2026, 11, 22, 10, 0, len(stream.events) - 1)  # a second apart
    assert (fact.customer_messages, fact.bot_messages) == (5, 5)
    assert fact.topic == "order_status"  # greet says nothing of why the customer came
    assert fact.intents == {"ask_faq": 2, "greet": 1, "inform": 1, "order_status": 1}
    assert (fact.forms_started, fact.forms_completed, fact.forms_abandoned) == (1, 1, 0)
    assert (fact.kb_answered, fact.kb_clarified, fact.kb_not_sure) == (1, 0, 1)
    assert not fact.handed_off and fact.left_at_question is None and fact.rating is None


def test_a_customer_who_leaves_in_the_middle_of_a_form_left_at_its_question():
    stream = Stream("wechat:b", "2026-11-22 10:00:00", channel="wechat").session()
    stream.says("我要退货", "request_refund").action("refund_form").loop("refund_form")
    stream.slot("requested_slot", "order_id").bot("utter_ask_refund_form_order_id").action("action_listen")
    [fact] = conversation_facts("wechat:b", stream.events)
    assert (fact.forms_started, fact.forms_completed, fact.forms_abandoned) == (1, 0, 1)
    assert fact.left_at_question == "utter_ask_refund_form_order_id"


def test_the_reply_a_customer_left_after_is_the_bots_last_one_they_did_not_answer():
    asked = Stream("webchat:l", "2026-11-22 10:00:00").session()
    asked.says("我的快递到哪了", "order_status").bot("utter_ask_order_id").action("action_listen")
    answered = Stream("webchat:m", "2026-11-22 10:00:00").session()
    answered.says("运费怎么算", "ask_faq").bot("utter_faq_not_sure").says("好吧", "affirm")
    with_agent = Stream("webchat:n", "2026-11-22 10:00:00").session()
    with_agent.says("转人工", "human_handoff").bot("utter_handoff_queued").action("action_handoff").pause()
    assert conversation_facts("webchat:l", asked.events)[0].left_after == "utter_ask_order_id"
    assert conversation_facts("webchat:m", answered.events)[0].left_after is None  # they had the last word
    assert conversation_facts("webchat:n", with_agent.events)[0].left_after is None  # waiting for a person
    with_agent.resume()  # the agent closed: what the bot said before the handoff was answered by them
    assert conversation_facts("webchat:n", with_agent.events)[0].left_after is None


def test_a_form_stopped_on_request_is_abandoned_not_completed():
    stream = Stream("webchat:c", "2026-11-22 10:00:00").session()
    stream.says("取消订单", "cancel_order").action("cancel_order_form").loop("cancel_order_form")
    stream.bot("utter_ask_order_id").action("action_listen").says("算了", "stop")
    stream.action("action_deactivate_loop").loop(None).bot("utter_stopped").action("action_listen")
    [fact] = conversation_facts("webchat:c", stream.events)
    assert (fact.forms_started, fact.forms_completed, fact.forms_abandoned) == (1, 0, 1)
    assert fact.left_at_question is None  # the form was closed, the customer did not just leave


def test_each_session_is_a_conversation_and_a_handoff_belongs_to_its_own():
    stream = Stream("webchat:d", "2026-11-22 09:00:00").session()
    stream.says("查订单", "order_status").bot("utter_ask_order_id")
    stream.session("2026-11-22 15:00:00").says("我要投诉", "complain").action("action_handoff").pause()
    stream.says("快点", "inform").agent("您好，我是小王", "A001", when="2026-11-22 15:01:30")
    stream.resume("2026-11-22 15:10:00")
    chat = Handoff(
        queued_at=datetime(2026, 11, 22, 15, 0, 5),
        accepted_at=datetime(2026, 11, 22, 15, 1, 0),
        closed_at=datetime(2026, 11, 22, 15, 10, 0),
        status="closed",
        reason="complaint",
        skill_group="complaint",
        agent_id="A001",
        result="resolved",
        rating=4,
    )
    morning, afternoon = conversation_facts("webchat:d", stream.events, [chat])
    assert not morning.handed_off and morning.topic == "order_status"
    assert afternoon.handed_off and afternoon.topic == "complain"
    assert afternoon.intents == {"complain": 1}  # what the customer told the agent is not the bot's
    assert afternoon.customer_messages == 2
    assert (afternoon.handoff_reason, afternoon.skill_group, afternoon.agent_id) == (
        "complaint",
        "complaint",
        "A001",
    )
    assert (afternoon.wait_s, afternoon.first_response_s, afternoon.handle_s) == (55.0, 85.0, 540.0)
    assert (afternoon.result, afternoon.rating) == ("resolved", 4)


def test_a_conversation_across_midnight_is_one_conversation_of_the_day_it_began():
    stream = Stream("wechat:e", "2026-11-22 23:59:30", channel="wechat").session()
    stream.says("航班延误了吗", "flight_status").says("CA1234", "inform", when="2026-11-23 00:00:40")
    [fact] = conversation_facts("wechat:e", stream.events)
    assert fact.started_at.date().isoformat() == "2026-11-22"
    assert fact.ended_at == datetime(2026, 11, 23, 0, 0, 40)


def test_a_handoff_nobody_accepted_has_no_wait_and_no_agent():
    stream = Stream("phone:f", "2026-11-22 10:00:00", channel="phone").session()
    stream.says("转人工", "request_human").action("action_handoff").pause()
    chat = Handoff(datetime(2026, 11, 22, 10, 0, 5), None, None, "expired", "asked", "mall", None, None, None)
    [fact] = conversation_facts("phone:f", stream.events, [chat])
    assert fact.handed_off and fact.handoff_status == "expired"
    assert (fact.agent_id, fact.wait_s, fact.first_response_s, fact.handle_s) == (None, None, None, None)


def test_a_rating_without_a_close_and_tickets_count_for_their_session():
    stream = Stream("webchat:g", "2026-11-22 10:00:00").session().says("物流太慢", "complain")
    rated = [(datetime(2026, 11, 22, 10, 30), 2)]
    [fact] = conversation_facts(
        "webchat:g", stream.events, tickets=[datetime(2026, 11, 22, 10, 0, 3)], ratings=rated
    )
    assert (fact.rating, fact.tickets, fact.handed_off) == (2, 1, False)


def test_sessions_without_a_customer_message_are_not_conversations_and_the_verified_customer_is_kept():
    stream = Stream("webchat:h", "2026-11-22 10:00:00").session()  # opened the chat, said nothing
    stream.session("2026-11-22 11:00:00").slot("verified_customer_id", "C0001").says(
        "查余额", "account_lookup"
    )
    [fact] = conversation_facts("webchat:h", stream.events)
    assert fact.customer_id == "C0001" and fact.started_at == datetime(2026, 11, 22, 11, 0)
