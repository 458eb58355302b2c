"""The workspace server on loopback against the real business store (seeded SQLite) and a fake
Rasa HTTP API that checks the token and records every event appended to a conversation."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import aiohttp
import pytest
import socketio
import yaml
from sanic import Sanic, response
from sanic.request import Request

from tests.stack import free_port
from workspace.desk import Timeouts
from workspace.server import COOKIE, Settings, build_app

RASA_TOKEN = "workspace-test-token"
DEMO_PASSWORD = "xinghe-demo"


@dataclass
class FakeRasa:
    """Rasa's tracker endpoint (GET a tracker) and the workspace bridge channel (POST events)."""

    events: Dict[str, List[Dict[str, Any]]] = field(default_factory=dict)
    posts: List[Dict[str, Any]] = field(default_factory=list)
    typing: List[Dict[str, Any]] = field(default_factory=list)
    url: str = ""
    delay_s: float = 0.0  # how long the bridge channel takes to answer (a Rasa busy with other turns)

    def appended(self, conversation_id: str) -> List[Dict[str, Any]]:
        return [
            event
            for post in self.posts
            if post["conversation_id"] == conversation_id
            for event in post["events"]
        ]

    def app(self) -> Sanic:
        app = Sanic(f"fake_rasa_{uuid.uuid4().hex}", configure_logging=False)

        @app.get("/conversations/<conversation_id:str>/tracker")
        async def tracker(request: Request, conversation_id: str):
            if request.args.get("token") != RASA_TOKEN:
                return response.json({"error": "token"}, status=401)
            return response.json(
                {"sender_id": conversation_id, "events": self.events.get(conversation_id, [])}
            )

        @app.post("/webhooks/webchat/agent_typing")
        async def typing(request: Request):
            if request.headers.get("authorization") != f"Bearer {RASA_TOKEN}":
                return response.json({"error": "token"}, status=403)
            self.typing.append(request.json)
            return response.json({"ok": True})

        @app.post("/webhooks/workspace/events")
        async def append(request: Request):
            """The workspace bridge channel (connectors/workspace_bridge.py)."""
            if request.headers.get("authorization") != f"Bearer {RASA_TOKEN}":
                return response.json({"error": "token"}, status=403)
            await asyncio.sleep(self.delay_s)
            post = request.json
            self.posts.append(post)
            self.events.setdefault(post["conversation_id"], []).extend(post["events"])
            return response.json({"ok": True})

        return app


def endpoints_in(directory: Path) -> Path:
    """An endpoints file whose SQL tracker store and event broker live in this test's directory."""
    path = directory / "endpoints.yml"
    stores = {"dialect": "sqlite"}
    path.write_text(
        yaml.safe_dump(
            {
                "tracker_store": {"type": "SQL", **stores, "db": str(directory / "tracker.db")},
                "event_broker": {"type": "SQL", **stores, "db": str(directory / "events.db")},
            }
        ),
        encoding="utf-8",
    )
    return path


@dataclass
class Browser:
    """One agent's browser: the session cookie and the CSRF token, as the UI sends them."""

    base_url: str
    http: aiohttp.ClientSession
    cookie: Optional[str] = None
    csrf: Optional[str] = None

    async def login(self, login: str, password: str = DEMO_PASSWORD) -> aiohttp.ClientResponse:
        reply = await self.http.post(
            f"{self.base_url}/api/login",
            json={"login": login, "password": password},
            headers={"Origin": self.base_url},
        )
        if reply.status == 200:
            self.cookie = reply.cookies[COOKIE].value
            self.csrf = (await reply.json())["csrf_token"]
        return reply

    def headers(self, **extra: str) -> Dict[str, str]:
        headers = {"Origin": self.base_url}
        if self.cookie:
            headers["Cookie"] = f"{COOKIE}={self.cookie}"
        if self.csrf:
            headers["X-CSRF-Token"] = self.csrf
        headers.update(extra)
        return headers

    async def get(self, path: str) -> aiohttp.ClientResponse:
        return await self.http.get(f"{self.base_url}{path}", headers=self.headers())

    async def post(
        self, path: str, body: Optional[Dict[str, Any]] = None, **headers: str
    ) -> aiohttp.ClientResponse:
        return await self.http.post(
            f"{self.base_url}{path}",
            data=json.dumps(body or {}),
            headers=self.headers(**{"Content-Type": "application/json", **headers}),
        )


@dataclass
class LiveSignals:
    """A browser's Socket.IO connection to the workspace, recording what the server signals."""

    client: socketio.AsyncClient
    received: List[Tuple[str, Any]] = field(default_factory=list)

    @classmethod
    async def connect(cls, base_url: str, cookie: Optional[str]) -> "LiveSignals":
        signals = cls(socketio.AsyncClient(reconnection=False))

        @signals.client.on("*")
        async def record(event: str, data: Any = None) -> None:
            signals.received.append((event, data))

        await signals.client.connect(
            base_url,
            headers={"Cookie": f"{COOKIE}={cookie}", "Origin": base_url},
            transports=["polling"],
            socketio_path="/workspace/socket.io",
            wait_timeout=5,
        )
        return signals

    async def wait_for(self, event: str, timeout: float = 5.0) -> List[Any]:
        """Every `event` signalled so far, once there is one (empty after `timeout`)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            found = [data for name, data in self.received if name == event]
            if found:
                return found
            await asyncio.sleep(0.05)
        return []

    async def close(self) -> None:
        await self.client.eio.disconnect(abort=True)  # a polite goodbye waits for the long poll to end


@dataclass
class Workspace:
    base_url: str
    rasa: FakeRasa
    app: Sanic
    http: aiohttp.ClientSession

    def browser(self) -> Browser:
        return Browser(self.base_url, self.http)

    async def logged_in(self, login: str) -> Browser:
        browser = self.browser()
        assert (await browser.login(login)).status == 200
        assert (await browser.post("/api/status", {"status": "online"})).status == 200
        return browser


@pytest.fixture
async def workspace(database_url, tmp_path):
    Sanic.test_mode = True
    rasa = FakeRasa()
    servers = []

    async def serve(app: Sanic) -> int:
        port = free_port()
        server = await app.create_server(
            host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False
        )
        await server.startup()
        servers.append(server)
        return port

    rasa.url = f"http://127.0.0.1:{await serve(rasa.app())}"
    settings = Settings(
        host="127.0.0.1",
        port=0,
        rasa_url=rasa.url,
        rasa_token=RASA_TOKEN,
        events_url=f"sqlite:///{tmp_path / 'events.db'}",
        events_queue="unused",
        events_exchange="unused",
        timeouts=Timeouts(),
        endpoints=endpoints_in(tmp_path),
    )
    app = build_app(settings, name=f"workspace_test_{uuid.uuid4().hex}")
    port = await serve(app)
    http = aiohttp.ClientSession()
    yield Workspace(f"http://127.0.0.1:{port}", rasa, app, http)
    await app.ctx.desk.rasa.close()
    await http.close()
    for server in servers:
        server.close()
        await server.wait_closed()
