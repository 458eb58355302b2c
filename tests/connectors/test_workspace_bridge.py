"""The workspace bridge channel: only the API token opens it, only the workspace's own events go
in, the bot messages reach the customer's latest channel, and a refused delivery saves nothing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import aiohttp
import pytest
from rasa.core.channels.channel import InputChannel, OutputChannel
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, ConversationPaused, Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Sanic

from business.delivery import DeliveryRefused, refusal_reason
from connectors.workspace_bridge import WorkspaceBridgeInput
from tests.stack import free_port

TOKEN = "bridge-test-token"
CONVERSATION = "webchat-visitor-1"


@dataclass
class CustomerScreen(OutputChannel):
    """The customer's channel: what it was asked to deliver, or a refusal."""

    refuse_with: Optional[str] = None
    shown: List[Dict[str, Any]] = field(default_factory=list)

    @classmethod
    def name(cls) -> str:
        return "probe"

    async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> None:
        if self.refuse_with:
            raise DeliveryRefused(self.refuse_with)
        self.shown.append({"to": recipient_id, **message})


class ProbeInput(InputChannel):
    def __init__(self, screen: CustomerScreen) -> None:
        self.screen = screen

    @classmethod
    def name(cls) -> str:
        return "probe"

    def get_output_channel(self) -> OutputChannel:
        return self.screen


class Processor:
    """The two steps of Rasa's MessageProcessor the bridge uses, on a real tracker store."""

    def __init__(self, store: InMemoryTrackerStore) -> None:
        self.store = store

    async def fetch_tracker_with_initial_session(self, sender_id: str) -> DialogueStateTracker:
        return await self.store.get_or_create_tracker(sender_id)

    async def execute_side_effects(
        self, events: List[Event], tracker: DialogueStateTracker, output_channel: OutputChannel
    ) -> None:
        for event in events:
            if isinstance(event, BotUttered):
                await output_channel.send_response(tracker.sender_id, event.message())


@dataclass
class Agent:
    domain: Domain
    tracker_store: InMemoryTrackerStore
    processor: Processor
    lock_store: InMemoryLockStore = field(default_factory=InMemoryLockStore)

    def is_ready(self) -> bool:
        return True


@dataclass
class Bridge:
    url: str
    http: aiohttp.ClientSession
    agent: Agent
    screen: CustomerScreen

    async def post(self, body: Any, token: Optional[str] = TOKEN) -> aiohttp.ClientResponse:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await self.http.post(f"{self.url}/events", json=body, headers=headers)

    async def events(self) -> List[Dict[str, Any]]:
        tracker = await self.agent.tracker_store.retrieve(CONVERSATION)
        return [event.as_dict() for event in tracker.events] if tracker else []


@pytest.fixture
async def bridge(monkeypatch):
    monkeypatch.setenv("RASA_API_TOKEN", TOKEN)
    Sanic.test_mode = True
    domain = Domain.load("domain.yml")
    store = InMemoryTrackerStore(domain)
    tracker = DialogueStateTracker(CONVERSATION, domain.slots)
    tracker.update(UserUttered("我要找人工", input_channel="probe"))
    tracker.update(ActionExecuted("action_handoff"))
    tracker.update(ConversationPaused())
    await store.save(tracker)

    screen = CustomerScreen()
    channel = WorkspaceBridgeInput()
    app = Sanic(f"bridge_test_{uuid.uuid4().hex}", configure_logging=False)
    app.blueprint(channel.blueprint(lambda _: None), url_prefix="/webhooks/workspace")
    app.ctx.agent = Agent(domain, store, Processor(store))
    app.ctx.input_channels = [channel, ProbeInput(screen)]
    port = free_port()
    server = await app.create_server(
        host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False
    )
    await server.startup()
    async with aiohttp.ClientSession() as http:
        yield Bridge(f"http://127.0.0.1:{port}/webhooks/workspace", http, app.ctx.agent, screen)
    server.close()
    await server.wait_closed()


def agent_message(text: str = "您好，我是人工客服王芳") -> Dict[str, Any]:
    return {"event": "bot", "text": text, "metadata": {"agent_name": "王芳"}}


RESUME = [{"event": "action", "name": "action_listen"}, {"event": "resume"}]


async def test_an_agent_message_reaches_the_customers_latest_channel_and_the_conversation(bridge):
    reply = await bridge.post(
        {"conversation_id": CONVERSATION, "events": [agent_message(), *RESUME], "deliver": True}
    )
    assert reply.status == 200
    [shown] = bridge.screen.shown
    assert (shown["to"], shown["text"]) == (CONVERSATION, "您好，我是人工客服王芳")
    kinds = [(e["event"], e.get("text") or e.get("name")) for e in (await bridge.events())[-3:]]
    assert kinds == [("bot", "您好，我是人工客服王芳"), ("action", "action_listen"), ("resume", None)]


async def test_without_deliver_the_events_are_recorded_but_nothing_is_sent(bridge):
    reply = await bridge.post({"conversation_id": CONVERSATION, "events": [agent_message()]})
    assert reply.status == 200
    assert bridge.screen.shown == []
    assert (await bridge.events())[-1]["text"] == "您好，我是人工客服王芳"


@pytest.mark.parametrize("token", [None, "wrong-token", TOKEN + "x"])
async def test_only_rasas_api_token_opens_it(bridge, token):
    before = await bridge.events()
    reply = await bridge.post(
        {"conversation_id": CONVERSATION, "events": [agent_message()], "deliver": True}, token
    )
    assert reply.status == 403 and (await reply.json())["error"] == "无权访问"
    assert await bridge.events() == before and bridge.screen.shown == []


async def test_without_a_configured_token_it_answers_503(bridge, monkeypatch):
    monkeypatch.delenv("RASA_API_TOKEN")
    reply = await bridge.post({"conversation_id": CONVERSATION, "events": [agent_message()]})
    assert reply.status == 503


@pytest.mark.parametrize(
    "body, problem",
    [
        ("not json", "请求须为 JSON 对象"),
        ([agent_message()], "请求须为 JSON 对象"),
        ({"events": [agent_message()]}, "conversation_id 无效"),
        ({"conversation_id": CONVERSATION, "events": []}, "events 须为 1 到 20 个事件"),
        ({"conversation_id": CONVERSATION, "events": [agent_message()] * 21}, "events 须为 1 到 20 个事件"),
        (
            {"conversation_id": CONVERSATION, "events": [agent_message()], "deliver": "yes"},
            "deliver 须为 true 或 false",
        ),
        # A user message or a slot would let the holder of the token speak for the customer or set
        # what the bot believes (a verified identity): not events the workspace writes.
        ({"conversation_id": CONVERSATION, "events": [{"event": "user", "text": "退款"}]}, "只接受"),
        (
            {
                "conversation_id": CONVERSATION,
                "events": [{"event": "slot", "name": "verified_customer_id", "value": "C1"}],
            },
            "只接受",
        ),
        (
            {"conversation_id": CONVERSATION, "events": [{"event": "action", "name": "action_refund"}]},
            "action_listen",
        ),
        ({"conversation_id": CONVERSATION, "events": [{"event": "bot", "text": ""}]}, "text"),
        ({"conversation_id": CONVERSATION, "events": [{"event": "bot", "text": "好" * 4001}]}, "text"),
        (
            {"conversation_id": CONVERSATION, "events": [{"event": "bot", "text": "好", "metadata": "x"}]},
            "metadata",
        ),
        (
            {"conversation_id": CONVERSATION, "events": [{"event": "bot", "text": "好", "timestamp": 1}]},
            "timestamp",
        ),
    ],
)
async def test_anything_but_the_workspaces_own_events_is_refused_and_changes_nothing(bridge, body, problem):
    before = await bridge.events()
    if isinstance(body, str):
        reply = await bridge.http.post(
            f"{bridge.url}/events", data=body, headers={"Authorization": f"Bearer {TOKEN}"}
        )
    else:
        reply = await bridge.post(body)
    assert reply.status == 400
    assert problem in (await reply.json())["error"]
    assert await bridge.events() == before and bridge.screen.shown == []


async def test_a_refused_delivery_tells_the_reason_and_saves_nothing(bridge):
    bridge.screen.refuse_with = "客户超过 48 小时没有发消息，微信不允许再主动发送"
    before = await bridge.events()
    reply = await bridge.post({"conversation_id": CONVERSATION, "events": [agent_message()], "deliver": True})
    assert reply.status == 502
    assert (
        refusal_reason((await reply.json())["message"]) == "客户超过 48 小时没有发消息，微信不允许再主动发送"
    )
    assert await bridge.events() == before
