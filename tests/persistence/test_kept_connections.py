"""Rasa's requests to the action server keep their connection between requests, let it go before the
server would, and find the server again after it restarted; once the product's tracker store module
is loaded, that is how Rasa sends them."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import AsyncIterator, List

import aiohttp
import pytest
from aiohttp import web
from rasa.utils.endpoints import EndpointConfig

import persistence.tracker_store  # noqa: F401 - installs the kept connections, as in every Rasa process
from persistence import kept_connections

DOMAIN = {
    "responses": {"utter_greet": [{"text": "您好，我是星河客服"}]},
    "slots": {"order_id": {"type": "text"}},
}


class ActionServer:
    """An HTTP server on a free port that answers like an action server and notes each connection."""

    def __init__(self) -> None:
        self.port = free_port()
        self.connections: List[int] = []  # the client's port of each request
        self.runner: web.AppRunner

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/webhook", self.webhook)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        await self.runner.cleanup()

    async def webhook(self, request: web.Request) -> web.Response:
        self.connections.append(request.transport.get_extra_info("peername")[1])
        body = await request.json()
        assert body["domain"] == DOMAIN  # sent whole, though serialized once
        return web.json_response({"events": [], "responses": [], "asked": body["next_action"]})

    @property
    def endpoint(self) -> EndpointConfig:
        return EndpointConfig(f"http://localhost:{self.port}/webhook", headers={"Authorization": "Bearer t"})


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def server() -> AsyncIterator[ActionServer]:
    started = ActionServer()
    await started.start()
    yield started
    await started.stop()


async def ask(endpoint: EndpointConfig, action: str = "action_order_status") -> str:
    answer = await endpoint.request(json={"next_action": action, "domain": DOMAIN}, method="post", timeout=10)
    return str(answer["asked"])


async def test_the_requests_of_a_turn_share_one_connection(server):
    endpoint = server.endpoint
    assert [
        await ask(endpoint, name) for name in ("action_session_start", "action_order_status", "utter_x")
    ] == [
        "action_session_start",
        "action_order_status",
        "utter_x",
    ]
    assert len(set(server.connections)) == 1


async def test_many_requests_at_once_each_get_their_answer(server):
    endpoint = server.endpoint
    names = [f"action_{i}" for i in range(30)]
    assert await asyncio.gather(*(ask(endpoint, name) for name in names)) == names


async def test_an_idle_connection_is_let_go_before_the_server_would(server, monkeypatch):
    assert kept_connections.IDLE_S < 5  # Sanic's keep-alive (the action server), HAProxy's is 10 s
    monkeypatch.setattr(kept_connections, "IDLE_S", 0.2)
    endpoint = server.endpoint
    await ask(endpoint)
    await asyncio.sleep(0.6)
    await ask(endpoint)
    assert len(set(server.connections)) == 2


async def test_a_restarted_action_server_is_found_again(server):
    endpoint = server.endpoint
    await ask(endpoint)
    await server.stop()
    with pytest.raises(aiohttp.ClientConnectionError):  # while it is down
        await ask(endpoint)
    await server.start()
    assert await ask(endpoint, "action_after_restart") == "action_after_restart"


def test_a_request_body_is_the_json_rasa_would_send_with_the_domain_serialized_once(monkeypatch):
    body = kept_connections.RequestBody()
    domain = {"responses": {"utter_greet": [{"text": "您好，我是星河客服"}]}, "slots": {}}
    first = {"next_action": "action_answer_faq", "tracker": {"events": []}, "domain": domain}
    serialized = []
    dumps = kept_connections.json.dumps
    monkeypatch.setattr(
        kept_connections.json, "dumps", lambda value: serialized.append(value) or dumps(value)
    )
    assert json.loads(body(first)) == first
    second = {**first, "next_action": "action_order_status", "tracker": {"events": [{"event": "user"}]}}
    assert json.loads(body(second)) == second
    assert sum(value is domain for value in serialized) == 1
    new_model = {**first, "domain": {"responses": {}}}  # a new model's domain is a new dict
    assert json.loads(body(new_model)) == new_model
    assert json.loads(body({"domain": domain})) == {"domain": domain}
    assert json.loads(body([1, "二"])) == [1, "二"]
