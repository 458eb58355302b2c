import json

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.common import GuardedAction
from actions.handoff import ActionAnythingElse, ActionHandleFallback, ActionHandoff, ActionOutOfScope
from business.services.agents import AgentDirectory
from business.services.live_chat import LiveChatService, Routing, rating_reply
from business.store.models import LiveChat, Ticket
from tests.actions.conftest import DOMAIN, agent_online, make_tracker
from tests.conftest import NOW

HISTORY = [
    {"event": "user", "text": "我要退货", "parse_data": {"intent": {"name": "request_refund"}}},
    {"event": "bot", "text": "请输入您在星河注册的手机号。"},
]


def test_handoff_in_hours_queues_with_the_conversation_and_the_bot_steps_aside(run, session):
    agent_online(session, "A001")  # 王芳: mall and wallet
    tracker = make_tracker("转人工", intent="request_human", history=HISTORY, sender_id="web-42")
    result = run(ActionHandoff(), tracker)
    ticket = session.execute(select(Ticket)).scalar_one()
    message = result.message("utter_handoff_queued")
    assert (message["ticket_id"], message["position"], message["wait_minutes"]) == (ticket.id, 1, 1)
    assert (ticket.category, ticket.status, ticket.conversation_id) == ("handoff", "queued", "web-42")
    assert [m["text"] for m in json.loads(ticket.context)] == [
        "我要退货",
        "请输入您在星河注册的手机号。",
        "转人工",
    ]
    assert result.slots() == {"handoff_ticket_id": ticket.id}
    assert {"event": "pause", "timestamp": None} in result.events
    chat = session.execute(select(LiveChat)).scalar_one()
    assert (chat.conversation_id, chat.skill_group, chat.reason, chat.ticket_id) == (
        "web-42",
        "mall",
        "asked",
        ticket.id,
    )


def test_in_hours_with_nobody_of_the_group_online_a_call_back_is_promised_and_the_bot_carries_on(
    run, session
):
    agent_online(session, "A002")  # 李强: travel and mall, but a wallet question needs the wallet group
    history = [{"event": "user", "text": "查下余额", "parse_data": {"intent": {"name": "account_lookup"}}}]
    result = run(ActionHandoff(), make_tracker("转人工", intent="request_human", history=history))
    message = result.message("utter_handoff_no_agent")
    assert message["callback_at"] == "11月22日 12:00"  # within two hours of 10:00
    assert session.get(Ticket, message["ticket_id"]).status == "open"
    assert [e["event"] for e in result.events] == ["slot"]
    assert session.execute(select(LiveChat)).first() is None


def test_handoff_after_hours_leaves_a_ticket_and_a_call_back_time(run, session, monkeypatch):
    monkeypatch.setenv("XINGHE_NOW", "2026-11-22T22:30:00+08:00")
    result = run(ActionHandoff(), make_tracker("人工", intent="request_human"))
    message = result.message("utter_handoff_after_hours")
    assert message["callback_at"] == "11月23日 09:00"
    assert session.get(Ticket, message["ticket_id"]).status == "open"


def test_asking_twice_does_not_queue_twice(run, session):
    first = run(ActionHandoff(), make_tracker("转人工", intent="request_human"))
    again = make_tracker("人呢", intent="request_human", slots=first.slots())
    assert run(ActionHandoff(), again).responses == ["utter_handoff_already"]
    assert len(session.execute(select(Ticket)).all()) == 1


def test_a_complaint_becomes_a_high_priority_ticket(run, session):
    run(
        ActionHandoff(),
        make_tracker("你们快递太慢了我要投诉", intent="complain", slots={"verified_customer_id": "C001"}),
    )
    ticket = session.execute(select(Ticket)).scalar_one()
    assert (ticket.category, ticket.priority, ticket.customer_id) == ("complaint", "high", "C001")
    assert "快递太慢" in ticket.summary


def fallback_after(intents):
    history = [{"event": "user", "text": "x", "parse_data": {"intent": {"name": i}}} for i in intents]
    return make_tracker("啊吧啊吧", intent="nlu_fallback", history=history)


def test_first_misunderstanding_asks_to_rephrase(run):
    assert run(ActionHandleFallback(), fallback_after(["greet"])).responses == ["utter_default"]


def test_second_misunderstanding_in_a_row_offers_a_human(run):
    assert run(ActionHandleFallback(), fallback_after(["greet", "nlu_fallback"])).responses == [
        "utter_offer_human"
    ]


def test_store_down_gets_a_polite_reply_not_a_crash(run, monkeypatch, tmp_path):
    (tmp_path / "not-a-dir").write_text("")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'not-a-dir' / 'x.db'}")
    result = run(ActionHandoff(), make_tracker("转人工", intent="request_human"))
    assert result.responses == ["utter_service_error"] and result.events == []


def test_misunderstandings_never_repeat_the_same_reply_and_keep_offering_a_human(run):
    replies = [
        run(ActionHandleFallback(), fallback_after(["greet", *["nlu_fallback"] * n])).responses[0]
        for n in range(6)
    ]
    assert replies[:3] == ["utter_default", "utter_offer_human", "utter_offer_human_again"]
    assert all(a != b for a, b in zip(replies, replies[1:], strict=False))


def out_of_scope_after(times, active_loop=None):
    history = [{"event": "user", "text": "x", "parse_data": {"intent": {"name": "out_of_scope"}}}] * (
        times - 1
    )
    return make_tracker("帮我订个外卖", intent="out_of_scope", history=history, active_loop=active_loop)


def test_out_of_scope_twice_in_a_row_offers_a_human_and_never_repeats_itself(run):
    replies = [run(ActionOutOfScope(), out_of_scope_after(n)).responses[0] for n in range(1, 7)]
    assert replies[:3] == [
        "utter_out_of_scope",
        "utter_out_of_scope_offer_human",
        "utter_out_of_scope_offer_human_again",
    ]
    assert all(a != b for a, b in zip(replies, replies[1:], strict=False))


def test_out_of_scope_inside_a_form_alternates_its_wording(run):
    replies = [
        run(ActionOutOfScope(), out_of_scope_after(n, "refund_form")).responses[0] for n in range(1, 5)
    ]
    assert replies == ["utter_out_of_scope_in_form", "utter_out_of_scope_in_form_again"] * 2


def turn(text, response):
    """The customer says `text`, the assistant answers with `response` (its text as shown)."""
    return [
        {"event": "user", "text": text, "parse_data": {"intent": {"name": "affirm"}}},
        {
            "event": "bot",
            "text": DOMAIN["responses"][response][0]["text"],
            "metadata": {"utter_action": response},
        },
    ]


def test_the_same_reply_a_third_turn_running_becomes_an_offer_of_a_person(run):
    once = make_tracker("嗯", intent="affirm", history=turn("嗯", "utter_anything_else"))
    assert run(ActionAnythingElse(), once).responses == ["utter_anything_else"]
    twice = make_tracker("嗯", intent="affirm", history=turn("嗯", "utter_anything_else") * 2)
    assert run(ActionAnythingElse(), twice).responses == ["utter_same_answer_again"]
    after_the_offer = make_tracker(
        "嗯",
        intent="affirm",
        history=[*turn("嗯", "utter_anything_else"), *turn("嗯", "utter_same_answer_again")],
    )
    assert run(ActionAnythingElse(), after_the_offer).responses == ["utter_anything_else"]


def test_asking_for_a_person_again_is_told_again_where_they_stand(run):
    first = run(ActionHandoff(), make_tracker("转人工", intent="request_human"))
    history = [
        {"event": "user", "text": "人呢", "parse_data": {"intent": {"name": "request_human"}}},
        {"event": "bot", "text": "…", "metadata": {"utter_action": "utter_handoff_already"}},
    ] * 2
    again = make_tracker("人呢", intent="request_human", slots=first.slots(), history=history)
    assert run(ActionHandoff(), again).responses == ["utter_handoff_already"]


def test_no_after_anything_else_or_a_stopped_request_is_goodbye(run):
    for asked in ("utter_anything_else", "utter_journey_stopped"):
        history = [{"event": "bot", "text": "…", "metadata": {"utter_action": asked}}]
        assert run(
            ActionAnythingElse(), make_tracker("没有了", intent="deny", history=history)
        ).responses == ["utter_goodbye"]
    assert run(ActionAnythingElse(), make_tracker("没有了", intent="deny")).responses == [
        "utter_anything_else"
    ]


def test_the_same_response_with_other_values_is_another_reply(run):
    """Page 2 of a statement is not page 1 again, though both come from the same response."""
    history = [
        {"event": "user", "text": "查看更多", "parse_data": {"intent": {"name": "transaction_history"}}},
        {
            "event": "bot",
            "text": "订单 XH2611010001 …",
            "metadata": {"utter_action": "utter_order_not_found"},
        },
    ] * 2
    tracker = make_tracker("XH2611010002", history=history)
    dispatcher = CollectingDispatcher()
    dispatcher.utter_message(response="utter_order_not_found", order_id="XH2611010002")
    assert not GuardedAction.repeats_itself(dispatcher, tracker, DOMAIN)
    history = [
        {"event": "user", "text": "XH2611010002", "parse_data": {"intent": {"name": "inform"}}},
        {"event": "bot", "text": "没有查到订单 XH2611010002，请核对订单号后再发一次。"},
    ] * 2
    assert GuardedAction.repeats_itself(dispatcher, make_tracker("XH2611010002", history=history), DOMAIN)


def test_a_score_typed_after_the_agents_rating_request_is_that_agents_rating(run, session):
    agent_online(session, "A001")
    service = LiveChatService(session)
    chat = service.enqueue("wx-openid-1", "wechat", Routing("mall", 2, "asked", None), NOW).chat
    agent = AgentDirectory(session).find("A001")
    service.accept(chat.id, agent, NOW)
    service.close(chat.id, agent, "resolved", NOW)
    session.commit()
    asked = [
        {
            "event": "bot",
            "text": "请为客服王芳打分（1-5星）",
            "metadata": {"utter_action": "utter_live_rating_request"},
        }
    ]
    result = run(
        ActionHandleFallback(), make_tracker("5分", intent="inform", history=asked, sender_id="wx-openid-1")
    )
    assert result.responses == ["utter_live_rating_thanks"]
    session.expire_all()
    assert session.get(LiveChat, chat.id).rating == 5
    # Without the request just before, a bare number is a misunderstanding as ever.
    plain = run(ActionHandleFallback(), make_tracker("5", intent="inform", sender_id="wx-openid-1"))
    assert plain.responses == ["utter_default"]


@pytest.mark.parametrize(
    "text, score",
    [
        ("5", 5),
        ("５", 5),
        ("4分", 4),
        ("五星", 5),
        ("3 颗星", 3),
        ("1。", 1),
        ("6", None),
        ("55", None),
        ("5天", None),
    ],
)
def test_a_score_is_read_as_customers_type_it(text, score):
    assert rating_reply(text) == score
