"""Customers' messages reach their agent through Rasa's own SQL event broker; the customer can leave."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rasa.core.brokers.sql import SQLEventBroker

from business.services.agents import AgentDirectory, AgentError
from business.services.live_chat import LiveChatService, Routing
from business.store.db import session_scope
from business.wording import Wording
from tests.conftest import NOW
from workspace.desk import Desk, Timeouts
from workspace.rasa_api import RasaApi
from workspace.relay import BrokerTail, CustomerMessage, Paused

from .conftest import RASA_TOKEN

MALL = Routing("mall", 2, "asked", "order_status")


class RecordingPush:
    def __init__(self) -> None:
        self.sent = []

    async def emit(self, event, data, room):
        self.sent.append((event, room, data))


def test_the_tail_reads_new_customer_messages_from_rasas_sql_broker(tmp_path):
    db = tmp_path / "events.db"
    broker = SQLEventBroker(db=str(db))
    broker.publish({"sender_id": "webchat:a", "event": "user", "text": "早就发过的", "timestamp": 1.0})
    tail = BrokerTail(f"sqlite:///{db}")
    assert tail.new_happenings() == []  # starts at the end: earlier messages are in the trackers
    broker.publish({"sender_id": "webchat:a", "event": "bot", "text": "机器人说的"})
    broker.publish({"sender_id": "webchat:a", "event": "pause"})
    broker.publish(
        {
            "sender_id": "webchat:a",
            "event": "user",
            "text": "我还在等",
            "timestamp": 2.0,
            "input_channel": "webchat",
        }
    )
    assert tail.new_happenings() == [
        Paused("webchat:a"),
        CustomerMessage("webchat:a", "我还在等", 2.0, "webchat"),
    ]
    assert tail.new_happenings() == []


def test_a_tail_started_before_rasa_created_its_table_waits_for_it_and_misses_nothing(tmp_path):
    db = tmp_path / "not-yet.db"
    tail = BrokerTail(f"sqlite:///{db}")
    assert tail.new_happenings() == []
    # Rasa creates its table with the first event: every event in it came after the tail started.
    SQLEventBroker(db=str(db)).publish(
        {
            "sender_id": "webchat:b",
            "event": "user",
            "text": "有人吗",
            "timestamp": 3.0,
            "input_channel": "webchat",
        }
    )
    assert tail.new_happenings() == [CustomerMessage("webchat:b", "有人吗", 3.0, "webchat")]


@pytest.fixture
async def desk(workspace):
    """A desk of its own (recording what it signals) against the workspace fixture's fake Rasa."""
    desk = Desk(
        RasaApi(workspace.rasa.url, RASA_TOKEN),
        Wording.from_domain(),
        RecordingPush(),
        workspace.app.ctx.desk.assistant,
        Timeouts(),
    )
    yield desk
    await desk.rasa.close()


async def test_a_customer_message_goes_to_the_agent_and_nowhere_else(workspace, desk):
    push = desk.push
    with session_scope() as session:
        agent = AgentDirectory(session).find("A001")
        chat = LiveChatService(session).enqueue("webchat:a", "webchat", MALL, NOW).chat
        LiveChatService(session).accept(chat.id, agent, NOW)
        chat_id = chat.id
    await desk.customer_message(CustomerMessage("webchat:a", "我的快递三天没动了", 3.0, "webchat"))
    await desk.customer_message(CustomerMessage("webchat:someone-else", "你好", 3.0, "webchat"))
    events = [(event, room) for event, room, _ in push.sent]
    assert events == [
        ("message", f"chat:{chat_id}"),
        ("customer_wrote", "agent:A001"),
        ("assist", f"chat:{chat_id}"),  # knowledge suggestions for it, after the message itself
    ]
    assert push.sent[0][2]["message"]["text"] == "我的快递三天没动了"
    suggested = [s["document_id"] for s in push.sent[2][2]["suggestions"]]
    assert len(suggested) == 3 and "logistics-stuck" in suggested
    assert workspace.rasa.posts == []  # the bot stays silent: nothing is said for the customer


async def test_a_customer_who_no_longer_wants_a_person_goes_back_to_the_bot(workspace, desk):
    with session_scope() as session:
        LiveChatService(session).enqueue("webchat:a", "webchat", MALL, NOW)
    await desk.customer_message(CustomerMessage("webchat:a", "算了，取消排队吧", 3.0, "webchat"))
    told, listen, resume = workspace.rasa.appended("webchat:a")
    assert told["metadata"]["utter_action"] == "utter_queue_cancelled" and "小河继续为您服务" in told["text"]
    assert (listen["name"], resume["event"]) == ("action_listen", "resume")
    with session_scope() as session:
        assert LiveChatService(session).open_chat("webchat:a") is None


async def test_while_with_an_agent_a_plain_no_is_an_answer_not_a_goodbye(workspace, desk):
    with session_scope() as session:
        agent = AgentDirectory(session).find("A001")
        chat = LiveChatService(session).enqueue("webchat:a", "webchat", MALL, NOW).chat
        LiveChatService(session).accept(chat.id, agent, NOW)
    await desk.customer_message(CustomerMessage("webchat:a", "不用了", 3.0, "webchat"))
    assert workspace.rasa.posts == []
    await desk.customer_message(CustomerMessage("webchat:a", "不用人工了，我问机器人", 4.0, "webchat"))
    assert [e["event"] for e in workspace.rasa.appended("webchat:a")] == ["bot", "action", "resume"]


async def test_nobody_accepting_in_time_alerts_supervisors_and_offers_a_call_back(
    workspace, desk, monkeypatch
):
    push = desk.push
    with session_scope() as session:
        LiveChatService(session).enqueue(
            "webchat:angry", "webchat", Routing("complaint", 0, "complaint", "complain"), NOW
        )
    monkeypatch.setenv("XINGHE_NOW", (NOW + timedelta(seconds=90)).isoformat())
    await desk.tick()
    assert ("alert", "supervisors") in [(event, room) for event, room, _ in push.sent]
    [offer] = workspace.rasa.appended("webchat:angry")
    assert offer["metadata"]["utter_action"] == "utter_queue_timeout" and "12:01前给您回电" in offer["text"]
    await desk.tick()
    assert len(workspace.rasa.appended("webchat:angry")) == 1  # said once


async def test_a_customer_the_bot_just_queued_shows_up_in_their_groups_queue_at_once(workspace, desk):
    with session_scope() as session:
        LiveChatService(session).enqueue("webchat:new", "webchat", Routing("travel", 2, "asked", None), NOW)
    await desk.happened(Paused("webchat:new"))
    await desk.happened(Paused("webchat:nobody-queued"))
    rooms = [room for event, room, _ in desk.push.sent if event == "queue_changed"]
    assert rooms == ["group:travel", "supervisors"]


async def test_an_agents_typing_reaches_a_web_customer_and_nobody_else(workspace, desk):
    with session_scope() as session:
        agent = AgentDirectory(session).find("A001")
        service = LiveChatService(session)
        web = service.enqueue("web:a", "webchat", MALL, NOW).chat
        wechat = service.enqueue("wx-openid", "wechat", MALL, NOW).chat
        other = service.enqueue("web:b", "webchat", MALL, NOW).chat
        for chat in (web, wechat):
            service.accept(chat.id, agent, NOW)
        ids = web.id, wechat.id, other.id
    await desk.typing("A001", ids[0], True)
    await desk.typing("A001", ids[1], True)  # WeChat has no typing signal
    assert workspace.rasa.typing == [{"conversation_id": "web:a", "on": True, "agent_name": "王芳"}]
    with pytest.raises(AgentError):
        await desk.typing("A001", ids[2], True)  # not their customer


async def test_a_phone_caller_hears_the_agent_on_the_line_not_written_notices(workspace, desk):
    with session_scope() as session:
        chat = LiveChatService(session).enqueue("CA-call", "phone", MALL, NOW).chat
        chat_id = chat.id
    view = await desk.accept("A001", chat_id)
    assert view["channel_name"] == "电话"
    assert workspace.rasa.posts == []  # no "agent joined" text in a call nobody reads
    with pytest.raises(AgentError, match="电话里直接沟通"):
        await desk.send("A001", chat_id, "您好")
    await desk.close("A001", chat_id, "resolved", "")
    # The conversation is resumed for the bot, without a rating request the caller could not see.
    assert [e["event"] for e in workspace.rasa.appended("CA-call")] == ["action", "resume"]


async def test_a_queue_changed_by_another_process_reaches_the_screens(workspace, desk):
    push = desk.push
    await desk.tick()
    push.sent.clear()
    with session_scope() as session:  # the phone channel, in Rasa's process, queues a call
        LiveChatService(session).enqueue("CA-other", "phone", MALL, NOW)
    await desk.tick()
    assert [(e, room) for e, room, _ in push.sent if e == "queue_changed"] == [
        ("queue_changed", "group:mall"),
        ("queue_changed", "supervisors"),
    ]
    push.sent.clear()
    await desk.tick()
    assert [e for e, _, _ in push.sent if e == "queue_changed"] == []  # nothing new, no signal
    with session_scope() as session:  # the caller hung up while the agent line rang
        LiveChatService(session).call_ended("CA-other", NOW)
    await desk.tick()
    assert [(e, room) for e, room, _ in push.sent if e == "queue_changed"] == [
        ("queue_changed", "group:mall"),
        ("queue_changed", "supervisors"),
    ]
