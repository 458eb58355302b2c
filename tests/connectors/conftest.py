"""Connector tests: each channel's blueprint served by a real Sanic server on loopback,
in front of a fake Rasa agent that answers through the channel's output channel."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List

import aiohttp
import pytest
from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Sanic

from tests.connectors.drivers import FakeWeChatApi, Served
from tests.stack import free_port

Replies = Callable[[UserMessage], List[Dict[str, Any]]]


@dataclass
class FakeRasa:
    """Stands in for `agent.handle_message`: records each UserMessage and answers with `replies`."""

    replies: Replies = lambda message: [{"text": f"收到：{message.text}"}]
    delay_s: float = 0.0
    received: List[UserMessage] = field(default_factory=list)
    tracker_store: Any = None  # as `agent.tracker_store`, for endpoints that read a conversation

    async def on_new_message(self, message: UserMessage) -> None:
        self.received.append(message)
        await asyncio.sleep(self.delay_s)
        for reply in self.replies(message):
            await message.output_channel.send_response(message.sender_id, dict(reply))

    @property
    def texts(self) -> List[str]:
        return [m.text for m in self.received]


@pytest.fixture
def fake_rasa() -> FakeRasa:
    return FakeRasa()


@pytest.fixture
async def serve():
    """serve(channel, fake_rasa) -> Served: the channel mounted as Rasa mounts it."""
    servers = []
    http = aiohttp.ClientSession()
    # Sanic's supported switch for several apps in one process (fresh names, re-run touch-ups).
    Sanic.test_mode = True

    async def start(channel: InputChannel, rasa: FakeRasa) -> Served:
        app = Sanic(f"connector_test_{uuid.uuid4().hex}", configure_logging=False)
        app.blueprint(channel.blueprint(rasa.on_new_message), url_prefix=f"/webhooks/{channel.url_prefix()}")
        app.ctx.agent = rasa  # what Rasa's server keeps there: the agent and its tracker store
        port = free_port()
        server = await app.create_server(
            host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False
        )
        await server.startup()
        servers.append(server)
        return Served(f"http://127.0.0.1:{port}/webhooks/{channel.url_prefix()}", http)

    yield start
    await http.close()
    for server in servers:
        server.close()
        await server.wait_closed()


@pytest.fixture
async def wechat_api():
    fake = FakeWeChatApi()
    await fake.start(free_port())
    yield fake
    await fake.stop()
