"""A real web chat channel in a Sanic server on a free port, with a fake Rasa agent.

The channel, Socket.IO server, tokens, limits and transcript store are the real
ones; only the dialogue is faked (the agent answers "收到：<text>" with a button,
and answers "/handoff" and "/goodbye" tagged like the real handoff and goodbye responses), so these
tests run in seconds without a model.  Clients are python-socketio's AsyncClient
over long-polling (Rasa's pinned aiohttp lacks what its websocket client needs).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, Dict, List, Optional

import pytest_asyncio
import socketio
from rasa.core.channels.channel import UserMessage, register
from sanic import Sanic

from business.store.db import engine_for
from business.store.models import Base
from connectors.webchat import WebChatInput
from connectors.webchat.limits import RateLimiter
from connectors.webchat.settings import WebChatSettings
from connectors.webchat.tokens import VisitorTokens
from connectors.webchat.transcript import Transcripts
from tests.stack import free_port

SECRET = "test-visitor-secret-0123456789abcdef"
SITE_SECRET = "test-site-secret-0123456789abcdef"
ORIGIN = "https://shop.example.cn"


class FakeAgent:
    """Stands in for rasa's Agent: records messages and answers through the channel."""

    def __init__(self) -> None:
        self.received: List[UserMessage] = []

    async def handle_message(self, message: UserMessage) -> None:
        self.received.append(message)
        reply: Dict[str, Any] = {
            "text": f"收到：{message.text}",
            "buttons": [{"title": "查订单物流", "payload": "/order_status"}],
        }
        if message.text == "/handoff":
            reply = {"text": "已为您转接人工客服", "utter_action": "utter_handoff_queued"}
        if message.text == "/goodbye":
            reply = {"text": "感谢您的咨询，再见！", "utter_action": "utter_goodbye"}
        await message.output_channel.send_response(message.sender_id, reply)


class Server:
    def __init__(self, channel: WebChatInput, agent: FakeAgent, url: str) -> None:
        self.channel = channel
        self.agent = agent
        self.url = url
        self.tokens = VisitorTokens(SECRET, 3600, SITE_SECRET)
        self.clients: List["Client"] = []

    async def client(
        self, token: Optional[str] = None, origin: str = ORIGIN, customer_token: Optional[str] = None
    ) -> "Client":
        client = Client()
        self.clients.append(client)
        auth = {k: v for k, v in {"token": token, "customer_token": customer_token}.items() if v}
        await client.sio.connect(
            self.url,
            auth=auth,
            headers={"Origin": origin},
            transports=["polling"],
            socketio_path=self.channel.settings.socketio_path,
            wait_timeout=5,
        )
        return client

    async def close_clients(self) -> None:
        for client in self.clients:
            await client.sio.disconnect()

    async def started_client(self, **kwargs: Any) -> "Client":
        """A connected client that has done its session_request (and got history)."""
        client = await self.client(**kwargs)
        await client.start_session()
        return client

    async def wait_for_received(self, count: int, timeout: float = 5.0) -> None:
        async def reached() -> None:
            while len(self.agent.received) < count:
                await asyncio.sleep(0.02)

        await asyncio.wait_for(reached(), timeout)


class Client:
    """A Socket.IO client that records every event the server sends."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: List[tuple] = []
        self.sio.on("*", self._record)
        self.refusal: Optional[str] = None
        self.sio.on("connect_error", self._refused)

    async def _record(self, event: str, data: Any = None) -> None:
        self.events.append((event, data))

    async def _refused(self, data: Any = None) -> None:
        self.refusal = data.get("message") if isinstance(data, dict) else data

    def of(self, event: str) -> List[Any]:
        return [data for name, data in self.events if name == event]

    async def wait_for(self, event: str, count: int = 1, timeout: float = 5.0) -> List[Any]:
        async def reached() -> None:
            while len(self.of(event)) < count:
                await asyncio.sleep(0.02)

        await asyncio.wait_for(reached(), timeout)
        return self.of(event)

    async def start_session(self) -> Dict[str, Any]:
        await self.sio.emit("session_request", {})
        return (await self.wait_for("session_confirm"))[-1]

    async def say(self, text: str, **extra: Any) -> Dict[str, Any]:
        return await self.sio.call("user_uttered", {"message": text, **extra}, timeout=5)


SETTINGS = WebChatSettings(
    secret=SECRET,
    site_secret=SITE_SECRET,
    allowed_origins=(ORIGIN,),
    max_message_chars=50,
    rate_per_second=0.5,
    rate_burst=3,
    # a client's disconnect waits for its pending long-poll: keep it short
    ping_interval_seconds=1,
    ping_timeout_seconds=1,
)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def running_server(tmp_path_factory):
    """One server for the whole run: Sanic 21.12 rewrites its app class when the first
    app starts, and a second app in the same process fails to start.  `server`
    gives each test a clean state instead.  Tests using it run in the session loop:
    mark them `pytest.mark.asyncio(loop_scope="session")`."""
    agent = FakeAgent()
    database = tmp_path_factory.mktemp("webchat") / "webchat.db"
    engine = engine_for(f"sqlite:///{database}")
    Base.metadata.create_all(engine)  # the business store the web chat shares (ratings of live chats)
    channel = WebChatInput(SETTINGS, Transcripts(engine))
    app = Sanic(f"webchat_test_{uuid.uuid4().hex}")
    app.ctx.agent = agent
    app.config.ACCESS_LOG = False
    register([channel], app, route="/webhooks/")
    port = free_port()
    http = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True)
    await http.startup()
    await http.before_start()
    await http.after_start()
    yield Server(channel, agent, f"http://127.0.0.1:{port}")
    await channel.hub.sio.shutdown()
    http.close()
    await http.wait_closed()


@pytest_asyncio.fixture(loop_scope="session")
async def server(running_server):
    yield running_server
    await running_server.close_clients()
    running_server.clients.clear()
    running_server.agent.received.clear()
    running_server.channel.limiter = RateLimiter(SETTINGS.rate_per_second, SETTINGS.rate_burst)
