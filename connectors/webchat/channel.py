"""The web chat channel: Socket.IO under /webchat/socket.io, widget files under /webhooks/webchat/.

Why not Rasa's built-in `socketio` channel: it accepts any origin, lets the
client choose its session id (anyone can read or write another visitor's
conversation), forgets to await `enter_room` (no replies with persistence on)
and crashes on custom payloads.  Here the conversation id comes from a signed
visitor token, rooms are awaited, and every response is one normalized message.

Events (docs/webchat.md has the full protocol):
  C→S connect auth {token?, customer_token?}; refused: token_invalid / token_expired / login_invalid
  C→S session_request            S→C session_confirm {conversation_id, token, customer_verified, resumed}
                                 S→C history {messages}
  C→S user_uttered {message, display?}  ack {ok, id} or {ok: false, code, notice}
  S→C user_echo (other tabs) · bot_uttered · bot_typing {on} · handoff · rating_request · rated · notice
  C→S rate {score 1-5, comment?} ack {ok} or {ok: false, code, notice}
  C→S customer_typing {on}       (passed on to the agent serving the customer, if any)
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from enum import Enum
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Optional, Set

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncRedisManager, AsyncServer
from socketio.exceptions import ConnectionRefusedError as SocketRefused
from sqlalchemy.engine import Engine

from business import clock
from business.services.identity import VERIFIED_CUSTOMER_KEY
from business.services.live_chat import LiveChatService
from business.store.db import session_scope
from connectors.api_token import api_token, api_token_refusal
from connectors.webchat.limits import RateLimiter, message_problem
from connectors.webchat.messages import bot_message, new_message, user_message
from connectors.webchat.notices import Notice
from connectors.webchat.settings import WebChatSettings
from connectors.webchat.tokens import TokenRejected, Visitor, VisitorTokens
from connectors.webchat.transcript import Transcripts
from connectors.webchat.workspace_signal import WorkspaceSignal, workspace_url

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
STATIC_DIR = Path(__file__).resolve().parent / "static"
# The client library comes from the npm registry (`npm ci` in `make install`).
SOCKET_IO_CLIENT = ROOT / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
STATIC_FILES = {
    "widget.js": (STATIC_DIR / "widget.js", "application/javascript; charset=utf-8"),
    "widget.css": (STATIC_DIR / "widget.css", "text/css; charset=utf-8"),
    "demo": (STATIC_DIR / "demo.html", "text/html; charset=utf-8"),
    "socket.io.min.js": (SOCKET_IO_CLIENT, "application/javascript; charset=utf-8"),
}

# Responses after which the widget shows a handoff status / asks for a rating.
HANDOFF_QUEUED_RESPONSES = frozenset({"utter_handoff_queued", "utter_handoff_already"})
RATING_REQUEST_RESPONSES = frozenset({"utter_goodbye"})
RATING_QUESTION = "本次服务您满意吗？请为我们打分（1-5星）。"
MAX_COMMENT_CHARS = 500


def rate_live_chat(engine: Engine, conversation_id: str, score: int) -> None:
    """A rating right after an agent closed the chat is that agent's too (kept with the chat)."""
    with session_scope(engine) as session:
        LiveChatService(session).rate_latest(conversation_id, score, clock.now())


class HandoffStatus(str, Enum):
    QUEUED = "queued"
    AGENT_JOINED = "agent_joined"
    AGENT_LEFT = "agent_left"


class ConversationHub:
    """Delivers to every tab of a conversation (a Socket.IO room) and keeps the transcript."""

    def __init__(self, sio: AsyncServer, transcripts: Transcripts) -> None:
        self.sio = sio
        self.transcripts = transcripts

    async def publish(
        self, conversation_id: str, event: str, message: Dict[str, Any], skip_sid: Optional[str] = None
    ) -> None:
        """Emits the message to the conversation's tabs and stores it, so reloads replay it. The
        customer sees it first: the write to the transcript is not on the way to the screen."""
        await self.sio.emit(event, message, room=conversation_id, skip_sid=skip_sid)
        await asyncio.to_thread(self.transcripts.append, conversation_id, message)

    async def signal(self, conversation_id: str, event: str, data: Dict[str, Any]) -> None:
        """A transient event (typing, rating prompt): not part of the transcript."""
        await self.sio.emit(event, data, room=conversation_id)

    async def handoff(
        self, conversation_id: str, status: HandoffStatus, agent_name: Optional[str] = None
    ) -> None:
        details = {"agent_name": agent_name} if agent_name else {}
        await self.publish(
            conversation_id, "handoff", new_message("event", event="handoff", status=status.value, **details)
        )


class WebChatOutput(OutputChannel):
    """Sends each Rasa response to the conversation's room as one widget message."""

    def __init__(self, hub: ConversationHub) -> None:
        self.hub = hub

    @classmethod
    def name(cls) -> str:
        return WebChatInput.name()

    async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> None:
        shown = bot_message(message)
        if shown and message.get("agent_id"):  # written by a person in the agent workspace
            shown.update(role="agent", agent_name=str(message.get("agent_name") or ""))
        if shown:
            await self.hub.publish(recipient_id, "bot_uttered", shown)
        response_name = message.get("utter_action")
        # The workspace's notices say how the handoff stands (queued / agent_joined / agent_left).
        handoff = message.get("handoff")
        if response_name in HANDOFF_QUEUED_RESPONSES:
            handoff = HandoffStatus.QUEUED.value
        if handoff in {status.value for status in HandoffStatus}:
            name = message.get("agent_name") if handoff == HandoffStatus.AGENT_JOINED.value else None
            await self.hub.handoff(recipient_id, HandoffStatus(handoff), name)
        if response_name in RATING_REQUEST_RESPONSES or message.get("rating_request"):
            question = shown["text"] if shown and message.get("rating_request") else RATING_QUESTION
            await self.hub.signal(recipient_id, "rating_request", {"scale": 5, "question": question})

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text})


class WebChatInput(InputChannel):
    """Secure web chat; see the module docstring and docs/webchat.md."""

    @classmethod
    def name(cls) -> str:
        return "webchat"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> "WebChatInput":
        return cls(WebChatSettings.from_credentials(credentials))

    def __init__(self, settings: WebChatSettings, transcripts: Optional[Transcripts] = None) -> None:
        self.settings = settings
        self.tokens = VisitorTokens(settings.secret, settings.token_ttl_seconds, settings.site_secret)
        self.limiter = RateLimiter(per_second=settings.rate_per_second, burst=settings.rate_burst)
        self._transcripts = transcripts
        self.hub: Optional[ConversationHub] = None
        self.workspace = WorkspaceSignal(workspace_url(), api_token())
        # One turn at a time per conversation, in arrival order (asyncio.Lock is FIFO).
        self._turn_locks: "weakref.WeakValueDictionary[str, asyncio.Lock]" = weakref.WeakValueDictionary()
        self._tasks: Set[asyncio.Task] = set()

    # -- API for the rest of the system ------------------------------------------

    def get_output_channel(self) -> Optional[OutputChannel]:
        """Push channel for proactive messages (trigger_intent with output_channel=latest)."""
        return WebChatOutput(self.hub) if self.hub else None

    # -- policy --------------------------------------------------------------------

    def origin_allowed(self, origin: Optional[str], environ: Dict[str, Any]) -> bool:
        """Configured origins, or else only pages served by this server itself."""
        if not origin:
            return True  # not a browser: the token check still applies
        origin = origin.rstrip("/")
        if self.settings.allowed_origins:
            allowed = origin in self.settings.allowed_origins
        else:
            allowed = origin == f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', '')}"
        if not allowed:
            logger.warning("web chat: connection from origin %s refused", origin)
        return allowed

    def resolve_visitor(self, auth: Any) -> Visitor:
        """Who is connecting; TokenRejected when the token or login must not be honoured."""
        auth = auth if isinstance(auth, dict) else {}
        customer_id = None
        if auth.get("customer_token"):
            try:
                customer_id = self.tokens.customer_from_site(str(auth["customer_token"]))
            except TokenRejected as exc:
                raise TokenRejected("login_invalid") from exc
        if auth.get("token"):
            known = self.tokens.verify(auth["token"])
            # A conversation of a logged-in customer is never shown to anyone else
            # (another customer, or the same browser after logging out).
            if known.customer_id is None or known.customer_id == customer_id:
                return Visitor(known.visitor_id, customer_id, known.expires_at)
        return self.tokens.new_visitor(customer_id)

    # -- Sanic / Socket.IO ---------------------------------------------------------

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        sio = AsyncServer(
            async_mode="sanic",
            cors_allowed_origins=self.origin_allowed,
            ping_interval=self.settings.ping_interval_seconds,
            ping_timeout=self.settings.ping_timeout_seconds,
            max_http_buffer_size=self.settings.max_http_buffer_bytes,
            # With several Rasa instances, a message for a visitor connected elsewhere goes through Redis.
            client_manager=AsyncRedisManager(self.settings.message_queue)
            if self.settings.message_queue
            else None,
        )
        self.hub = ConversationHub(sio, self._transcripts or Transcripts())
        webchat = SocketBlueprint(sio, self.settings.socketio_path, "webchat", __name__)
        self._add_static_routes(webchat)
        self._add_agent_routes(webchat)
        self._add_socket_handlers(sio, on_new_message)
        return webchat

    def _add_agent_routes(self, webchat: Blueprint) -> None:
        @webchat.route("/agent_typing", methods=["POST"])
        async def agent_typing(request: Request) -> HTTPResponse:
            """The agent workspace says an agent is typing to this customer (not part of the transcript).
            Only with Rasa's API token: the workspace is the one holder of it besides Rasa."""
            refusal = api_token_refusal(request)
            if refusal is not None:
                return refusal
            data = request.json if isinstance(request.json, dict) else {}
            conversation_id, on = data.get("conversation_id"), data.get("on")
            if not isinstance(conversation_id, str) or not isinstance(on, bool) or self.hub is None:
                return response.json({"error": "请求无效"}, status=400)
            name = str(data.get("agent_name") or "")[:32]
            await self.hub.signal(conversation_id, "bot_typing", {"on": on, "agent_name": name})
            return response.json({"ok": True})

    def _add_static_routes(self, webchat: Blueprint) -> None:
        @webchat.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webchat.route("/<name:str>", methods=["GET"])
        async def static(_: Request, name: str) -> HTTPResponse:
            path, mime = STATIC_FILES.get(name, (None, None))
            if path is None:
                return response.json({"error": "not found"}, status=404)
            if not path.is_file():
                logger.error("web chat: %s is missing (run `make install`)", path)
                return response.json({"error": f"{name} missing: run `make install`"}, status=500)
            return await response.file(path, mime_type=mime, headers={"Cache-Control": "no-cache"})

    def _add_socket_handlers(
        self, sio: AsyncServer, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> None:
        hub = self.hub
        assert hub is not None

        @sio.on("connect")
        async def connect(sid: str, environ: Dict[str, Any], auth: Any = None) -> None:
            try:
                visitor = self.resolve_visitor(auth)
            except TokenRejected as exc:
                logger.warning("web chat: connection refused (%s)", exc.code)
                raise SocketRefused(exc.code) from exc
            await sio.save_session(sid, {"visitor": visitor})
            await sio.enter_room(sid, visitor.conversation_id)

        @sio.on("session_request")
        async def session_request(sid: str, _data: Any = None) -> None:
            visitor: Visitor = (await sio.get_session(sid))["visitor"]
            history = await asyncio.to_thread(
                hub.transcripts.recent, visitor.conversation_id, self.settings.history_limit
            )
            await sio.emit(
                "session_confirm",
                {
                    "conversation_id": visitor.conversation_id,
                    "token": self.tokens.issue(visitor.visitor_id, visitor.customer_id),  # sliding expiry
                    "customer_verified": visitor.customer_id is not None,
                    "resumed": bool(history),
                },
                to=sid,
            )
            await sio.emit("history", {"messages": history}, to=sid)

        @sio.on("user_uttered")
        async def user_uttered(sid: str, data: Any = None) -> Dict[str, Any]:
            visitor: Visitor = (await sio.get_session(sid))["visitor"]
            if time.time() >= visitor.expires_at:
                logger.info("web chat: %s sent with an expired token", visitor.conversation_id)
                await sio.disconnect(sid)
                return Notice.TOKEN_EXPIRED.payload()
            data = data if isinstance(data, dict) else {}
            text = data.get("message")
            problem = message_problem(text, self.settings.max_message_chars)
            if problem:
                logger.info("web chat: %s refused a message (%s)", visitor.conversation_id, problem.code)
                return problem.payload(max_chars=self.settings.max_message_chars)
            if not self.limiter.allow(visitor.conversation_id):
                logger.warning("web chat: %s is rate limited", visitor.conversation_id)
                return Notice.RATE_LIMITED.payload()
            shown = user_message(text, data.get("display"))
            await hub.publish(visitor.conversation_id, "user_echo", shown, skip_sid=sid)
            self._spawn(self._run_turn(on_new_message, visitor, text, shown["id"]))
            return {"ok": True, "id": shown["id"]}

        @sio.on("customer_typing")
        async def customer_typing(sid: str, data: Any = None) -> None:
            """Shown to the agent serving this customer, if one is; never stored."""
            visitor: Visitor = (await sio.get_session(sid))["visitor"]
            on = isinstance(data, dict) and data.get("on") is True
            if self.workspace.wanted(visitor.conversation_id, on):
                self._spawn(self.workspace.customer_typing(visitor.conversation_id, on))

        @sio.on("rate")
        async def rate(sid: str, data: Any = None) -> Dict[str, Any]:
            visitor: Visitor = (await sio.get_session(sid))["visitor"]
            data = data if isinstance(data, dict) else {}
            score = data.get("score")
            if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
                logger.info("web chat: %s sent an invalid rating %r", visitor.conversation_id, score)
                return Notice.BAD_RATING.payload()
            comment = str(data.get("comment") or "")[:MAX_COMMENT_CHARS]
            await asyncio.to_thread(
                hub.transcripts.rate, visitor.conversation_id, score, comment, visitor.customer_id
            )
            try:
                await asyncio.to_thread(
                    rate_live_chat, hub.transcripts.engine, visitor.conversation_id, score
                )
            except Exception:  # the rating is kept with the transcript either way
                logger.exception("web chat: could not give %s's rating to its agent", visitor.conversation_id)
            await hub.publish(
                visitor.conversation_id, "rated", new_message("event", event="rated", score=score)
            )
            return {"ok": True}

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        # Keep a strong reference: the event loop holds only weak ones to tasks.
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_turn(
        self,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        visitor: Visitor,
        text: str,
        message_id: str,
    ) -> None:
        hub = self.hub
        assert hub is not None
        conversation_id = visitor.conversation_id
        lock = self._turn_locks.setdefault(conversation_id, asyncio.Lock())
        async with lock:
            await hub.signal(conversation_id, "bot_typing", {"on": True})
            metadata = {VERIFIED_CUSTOMER_KEY: visitor.customer_id} if visitor.customer_id else {}
            try:
                await on_new_message(
                    UserMessage(
                        text,
                        WebChatOutput(hub),
                        conversation_id,
                        input_channel=self.name(),
                        message_id=message_id,
                        metadata=metadata,
                    )
                )
            except Exception:  # the customer must hear something; the details go to the log
                logger.exception("web chat: turn failed for %s", conversation_id)
                await hub.signal(conversation_id, "notice", Notice.SERVER_ERROR.payload())
            finally:
                await hub.signal(conversation_id, "bot_typing", {"on": False})
