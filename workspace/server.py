"""The agent workspace's web server: the Chinese UI, its JSON API and live signals (Socket.IO).

Nothing but the login page and its assets is served without a session. A session is an opaque
token in an HttpOnly, Secure, SameSite=Strict cookie; every request that changes something also
carries the session's CSRF token in `X-CSRF-Token`, and a browser's Origin must be this server.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import logging
import os
import re
import sys
from dataclasses import asdict, dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any, Callable, Coroutine, Dict, Optional, Set

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from analytics.report import DASHBOARD_PERIODS
from assist.actions import AgentActions
from assist.assistant import Assistant
from business import clock
from business.services.agent_sessions import AgentSessions, LoginThrottled
from business.services.agents import SKILL_GROUPS, AgentError
from business.store.db import session_scope
from business.wording import Wording
from privacy.rights import CustomerRecords
from privacy.stores import Stores, default_endpoints
from workspace.desk import Desk, NeedsConfirmation, Timeouts
from workspace.rasa_api import RasaApi, RasaUnavailable
from workspace.relay import event_source, relay

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
STATIC_DIR = Path(__file__).resolve().parent / "static"
SOCKET_IO_CLIENT = ROOT / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
STATIC_FILES = {
    "workspace.js": (STATIC_DIR / "workspace.js", "application/javascript; charset=utf-8"),
    "workspace.css": (STATIC_DIR / "workspace.css", "text/css; charset=utf-8"),
    "socket.io.min.js": (SOCKET_IO_CLIENT, "application/javascript; charset=utf-8"),
}
COOKIE = "xh_workspace"
SOCKET_PATH = "/workspace/socket.io"
MAX_BODY_BYTES = 16 * 1024
TICK_S = 2.0
# Served to anyone: the page with the login form and what it needs. Everything else needs a session.
PUBLIC_ROUTES = frozenset({"/", "/static/<name:str>", "/api/login", "/health"})
# Called by Rasa's channels, not by browsers: Rasa's API token instead of an agent's session.
INTERNAL_ROUTES = frozenset({"/internal/customer_typing"})
CUSTOMER_ID = re.compile(r"[A-Za-z0-9_-]{1,16}")
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    rasa_url: str
    rasa_token: str
    events_url: str  # the SQL event broker's database, or RabbitMQ (amqp://) in production
    events_queue: str  # the workspace's queue on RabbitMQ
    events_exchange: str  # the fanout exchange Rasa's Pika broker publishes to
    timeouts: Timeouts
    endpoints: Path  # Rasa's endpoints file: where customers' conversations rest (privacy actions)

    @classmethod
    def from_environment(cls) -> "Settings":
        token = os.environ.get("RASA_API_TOKEN")
        if not token:
            raise SystemExit(
                "RASA_API_TOKEN is not set: the workspace talks to Rasa only with it (make run sets it)"
            )
        events_db = os.environ.get("XINGHE_EVENTS_DB") or str(ROOT / "var" / "events.db")
        return cls(
            host=os.environ.get("WORKSPACE_HOST", "127.0.0.1"),
            port=int(os.environ.get("WORKSPACE_PORT", "5080")),
            rasa_url=os.environ.get("RASA_URL") or f"http://localhost:{os.environ.get('RASA_PORT', '5005')}",
            rasa_token=token,
            events_url=os.environ.get("XINGHE_EVENTS_URL") or f"sqlite:///{events_db}",
            events_queue=os.environ.get("XINGHE_WORKSPACE_QUEUE") or "xinghe.workspace",
            events_exchange=os.environ.get("XINGHE_EVENTS_EXCHANGE") or "xinghe.events",
            timeouts=Timeouts(),
            endpoints=default_endpoints(),
        )


def refusal(message: str, code: str, status: int) -> HTTPResponse:
    return response.json({"error": message, "code": code}, status=status, ensure_ascii=False)


def build_app(settings: Settings, name: str = "xinghe_workspace") -> Sanic:
    app = Sanic(name)
    app.config.REQUEST_MAX_SIZE = MAX_BODY_BYTES
    app.config.ACCESS_LOG = False
    # The default origin check (this server's own pages only). A ping every 10 s notices a closed
    # laptop within 20 s, and a long poll never holds a request for longer than that.
    sio = AsyncServer(async_mode="sanic", ping_interval=10, ping_timeout=10)
    sio.attach(app, socketio_path=SOCKET_PATH)
    rasa = RasaApi(settings.rasa_url, settings.rasa_token)

    class SocketPush:
        async def emit(self, event: str, data: Dict[str, Any], room: str) -> None:
            await sio.emit(event, data, room=room)

    assistant = Assistant.load()
    desk = Desk(rasa, Wording.from_domain(), SocketPush(), assistant, settings.timeouts)
    app.ctx.desk = desk
    background: Set["asyncio.Task[None]"] = set()

    # ---- sessions ----

    def session_of(token: Optional[str]) -> Optional[Dict[str, str]]:
        if not token:
            return None
        with session_scope() as db:
            found = AgentSessions(db).resolve(token, clock.now())
            if found is None:
                return None
            return {"agent_id": found.agent_id, "role": found.agent.role, "csrf": found.csrf_token}

    def same_origin(request: Request) -> bool:
        origin = request.headers.get("origin")
        return origin is None or origin.rstrip("/") == f"{request.scheme}://{request.host}"

    Handler = Callable[..., Coroutine[Any, Any, HTTPResponse]]

    def logged_in(supervisor: bool = False) -> Callable[[Handler], Handler]:
        def wrap(handler: Handler) -> Handler:
            @functools.wraps(handler)
            async def checked(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
                found = await asyncio.to_thread(session_of, request.cookies.get(COOKIE))
                if found is None:
                    return refusal("请先登录", "login_required", 401)
                if request.method not in ("GET", "HEAD"):
                    offered = request.headers.get("x-csrf-token") or ""
                    if not same_origin(request) or offered != found["csrf"]:
                        return refusal("请求来源无法验证，请刷新页面后再试", "csrf", 403)
                if supervisor and found["role"] != "supervisor":
                    return refusal("只有班长可以这样做", "forbidden", 403)
                request.ctx.agent_id = found["agent_id"]
                request.ctx.role = found["role"]
                request.ctx.csrf = found["csrf"]
                try:
                    return await handler(request, *args, **kwargs)
                except NeedsConfirmation as error:
                    return response.json(
                        {"error": str(error), "code": "confirm", "warnings": error.warnings},
                        status=409,
                        ensure_ascii=False,
                    )
                except AgentError as error:
                    return refusal(str(error), "refused", 409)
                except RasaUnavailable as error:
                    return refusal(str(error), "rasa_unavailable", 502)

            return checked

        return wrap

    def body(request: Request) -> Dict[str, Any]:
        try:
            data = request.json
        except Exception:  # noqa: BLE001 - Sanic raises its own error for bad JSON
            data = None
        return data if isinstance(data, dict) else {}

    def text_field(data: Dict[str, Any], name: str, limit: int = 2000) -> str:
        value = data.get(name)
        return value[:limit] if isinstance(value, str) else ""

    # ---- pages ----

    @app.middleware("response")
    async def security_headers(request: Request, reply: HTTPResponse) -> None:
        for header, value in SECURITY_HEADERS.items():
            reply.headers.setdefault(header, value)

    @app.exception(Exception)
    async def failure(request: Request, error: Exception) -> HTTPResponse:
        status = getattr(error, "status_code", 500)
        if status == 404:
            return refusal("没有这个页面", "not_found", 404)
        if status == 413:
            return refusal("请求太大了", "too_large", 413)
        if status == 405:
            return refusal("不支持这种请求", "method_not_allowed", 405)
        if status < 500:
            return refusal("请求无效", "bad_request", status)
        # The browser left in the middle (a long poll): Sanic answers it with ServiceUnavailable from
        # inside its handling of the CancelledError.
        if isinstance(error, asyncio.CancelledError) or isinstance(sys.exc_info()[1], asyncio.CancelledError):
            logger.info("workspace: %s %s: the client went away", request.method, request.path)
            return refusal("连接已断开", "gone", 499)
        logger.exception("workspace: %s %s failed", request.method, request.path)
        return refusal("工作台出错了，请稍后再试", "server_error", 500)

    @app.get("/health")
    async def health(_: Request) -> HTTPResponse:
        return response.json({"status": "ok"})

    @app.post("/internal/customer_typing")
    async def customer_typing(request: Request) -> HTTPResponse:
        """The web chat says its customer is typing: shown to the agent serving them, never stored."""
        scheme, _, offered = request.headers.get("authorization", "").partition(" ")
        expected = settings.rasa_token.encode()
        if scheme != "Bearer" or not expected or not hmac.compare_digest(offered.encode(), expected):
            return refusal("无权访问", "unauthorized", 401)
        data = body(request)
        conversation_id, on = data.get("conversation_id"), data.get("on")
        if not isinstance(conversation_id, str) or not isinstance(on, bool):
            return refusal("请求无效", "bad_request", 400)
        await desk.customer_typing(conversation_id[:128], on)
        return response.json({"ok": True})

    @app.get("/")
    async def index(_: Request) -> HTTPResponse:
        return await response.file(STATIC_DIR / "index.html", mime_type="text/html; charset=utf-8")

    @app.get("/static/<name:str>")
    async def static(_: Request, name: str) -> HTTPResponse:
        path, mime = STATIC_FILES.get(name, (None, None))
        if path is None or not path.is_file():
            return refusal("没有这个文件", "not_found", 404)
        return await response.file(path, mime_type=mime)

    # ---- login ----

    @app.post("/api/login")
    async def login(request: Request) -> HTTPResponse:
        if not same_origin(request) or request.content_type.split(";")[0] != "application/json":
            return refusal("请求来源无法验证，请刷新页面后再试", "csrf", 403)
        data = body(request)
        name, password = text_field(data, "login", 64), text_field(data, "password", 256)
        address = request.remote_addr or request.ip or "-"

        def work() -> Any:
            with session_scope() as db:
                return AgentSessions(db).log_in(name, password, address, clock.now())

        try:
            done = await asyncio.to_thread(work)
        except LoginThrottled:
            return refusal("登录失败次数太多，请15分钟后再试", "throttled", 429)
        if done is None:
            return refusal("账号或密码不对", "login_failed", 401)
        reply = response.json(
            {
                "csrf_token": done.csrf_token,
                "agent": await desk.me(done.agent.id),
                "skill_groups": SKILL_GROUPS,
            },
            ensure_ascii=False,
        )
        reply.cookies[COOKIE] = done.token
        cookie = reply.cookies[COOKIE]
        cookie["httponly"], cookie["secure"], cookie["samesite"], cookie["path"] = True, True, "Strict", "/"
        return reply

    @app.post("/api/logout")
    @logged_in()
    async def logout(request: Request) -> HTTPResponse:
        token = request.cookies.get(COOKIE) or ""
        await desk.set_status(request.ctx.agent_id, "offline")  # first: no customer queues for them

        def work() -> None:
            with session_scope() as db:
                AgentSessions(db).log_out(token, clock.now())

        await asyncio.to_thread(work)
        reply = response.json({"ok": True})
        del reply.cookies[COOKIE]
        return reply

    # ---- the agent's own work ----

    @app.get("/api/me")
    @logged_in()
    async def me(request: Request) -> HTTPResponse:
        return response.json(
            {
                "agent": await desk.me(request.ctx.agent_id),
                "csrf_token": request.ctx.csrf,
                "skill_groups": SKILL_GROUPS,
            },
            ensure_ascii=False,
        )

    @app.post("/api/status")
    @logged_in()
    async def status(request: Request) -> HTTPResponse:
        return response.json(
            await desk.set_status(request.ctx.agent_id, text_field(body(request), "status", 16)),
            ensure_ascii=False,
        )

    @app.get("/api/queue")
    @logged_in()
    async def queue(request: Request) -> HTTPResponse:
        return response.json({"queue": await desk.queue(request.ctx.agent_id)}, ensure_ascii=False)

    @app.get("/api/chats")
    @logged_in()
    async def chats(request: Request) -> HTTPResponse:
        return response.json({"chats": await desk.my_chats(request.ctx.agent_id)}, ensure_ascii=False)

    @app.post("/api/queue/accept-next")
    @logged_in()
    async def accept_next(request: Request) -> HTTPResponse:
        return response.json(await desk.accept(request.ctx.agent_id, None), ensure_ascii=False)

    @app.get("/api/chats/<chat_id:int>")
    @logged_in()
    async def chat(request: Request, chat_id: int) -> HTTPResponse:
        return response.json(await desk.chat(request.ctx.agent_id, chat_id), ensure_ascii=False)

    @app.post("/api/chats/<chat_id:int>/accept")
    @logged_in()
    async def accept(request: Request, chat_id: int) -> HTTPResponse:
        return response.json(await desk.accept(request.ctx.agent_id, chat_id), ensure_ascii=False)

    @app.post("/api/chats/<chat_id:int>/messages")
    @logged_in()
    async def send(request: Request, chat_id: int) -> HTTPResponse:
        data = body(request)
        return response.json(
            await desk.send(
                request.ctx.agent_id, chat_id, text_field(data, "text", 4000), data.get("confirmed") is True
            ),
            ensure_ascii=False,
        )

    async def acted(
        request: Request, chat_id: int, work: Callable[[AgentActions], Dict[str, Any]]
    ) -> HTTPResponse:
        """An agent's action for the customer of the chat they serve, under the bot's rules."""
        return response.json(await desk.act(request.ctx.agent_id, chat_id, work), ensure_ascii=False)

    @app.post("/api/chats/<chat_id:int>/lookup")
    @logged_in()
    async def lookup(request: Request, chat_id: int) -> HTTPResponse:
        data = body(request)
        if text_field(data, "booking_ref"):
            ref = text_field(data, "booking_ref", 32)
            return await acted(request, chat_id, lambda a: a.lookup_booking(ref))
        order_id = text_field(data, "order_id", 32)
        return await acted(request, chat_id, lambda a: a.lookup_order(order_id))

    @app.post("/api/chats/<chat_id:int>/refund-check")
    @logged_in()
    async def refund_check(request: Request, chat_id: int) -> HTTPResponse:
        data = body(request)
        order_id, reason = text_field(data, "order_id", 32), text_field(data, "reason", 32)
        return await acted(request, chat_id, lambda a: a.refund_check(order_id, reason))

    @app.post("/api/chats/<chat_id:int>/refund")
    @logged_in()
    async def refund(request: Request, chat_id: int) -> HTTPResponse:
        data = body(request)
        order_id, reason = text_field(data, "order_id", 32), text_field(data, "reason", 32)
        detail, override = text_field(data, "detail", 500), text_field(data, "override", 500)
        return await acted(request, chat_id, lambda a: a.request_refund(order_id, reason, detail, override))

    @app.post("/api/chats/<chat_id:int>/tickets")
    @logged_in()
    async def open_ticket(request: Request, chat_id: int) -> HTTPResponse:
        data = body(request)
        category, summary = text_field(data, "category", 32), text_field(data, "summary", 1000)
        return await acted(request, chat_id, lambda a: a.open_ticket(category, summary))

    @app.post("/api/chats/<chat_id:int>/reveal-phone")
    @logged_in()
    async def chat_phone(request: Request, chat_id: int) -> HTTPResponse:
        return response.json(await desk.reveal_phone(request.ctx.agent_id, chat_id=chat_id))

    @app.post("/api/chats/<chat_id:int>/check-draft")
    @logged_in()
    async def check_draft(request: Request, chat_id: int) -> HTTPResponse:
        text = text_field(body(request), "text", 4000)
        warnings = await desk.check_draft(request.ctx.agent_id, chat_id, text)
        return response.json({"warnings": warnings}, ensure_ascii=False)

    @app.get("/api/chats/<chat_id:int>/assist")
    @logged_in()
    async def assist(request: Request, chat_id: int) -> HTTPResponse:
        return response.json(await desk.assist(request.ctx.agent_id, chat_id), ensure_ascii=False)

    @app.post("/api/chats/<chat_id:int>/transfer")
    @logged_in()
    async def transfer(request: Request, chat_id: int) -> HTTPResponse:
        data = body(request)
        return response.json(
            await desk.transfer(
                request.ctx.agent_id,
                chat_id,
                text_field(data, "to_agent", 16) or None,
                text_field(data, "to_group", 16) or None,
                text_field(data, "note", 500),
            ),
            ensure_ascii=False,
        )

    @app.post("/api/chats/<chat_id:int>/hand-back")
    @logged_in()
    async def hand_back(request: Request, chat_id: int) -> HTTPResponse:
        return response.json(await desk.hand_back(request.ctx.agent_id, chat_id), ensure_ascii=False)

    @app.post("/api/chats/<chat_id:int>/close")
    @logged_in()
    async def close(request: Request, chat_id: int) -> HTTPResponse:
        data = body(request)
        return response.json(
            await desk.close(
                request.ctx.agent_id, chat_id, text_field(data, "result", 16), text_field(data, "note", 500)
            ),
            ensure_ascii=False,
        )

    # ---- colleagues, canned replies ----

    @app.get("/api/agents")
    @logged_in()
    async def agents(request: Request) -> HTTPResponse:
        return response.json({"agents": await desk.colleagues()}, ensure_ascii=False)

    @app.get("/api/canned")
    @logged_in()
    async def canned(request: Request) -> HTTPResponse:
        return response.json({"canned": await desk.canned(request.ctx.agent_id)}, ensure_ascii=False)

    def canned_fields(request: Request) -> Dict[str, Any]:
        data = body(request)
        return {
            "title": text_field(data, "title", 64),
            "text": text_field(data, "text", 2000),
            "skill_group": text_field(data, "skill_group", 16),
        }

    @app.post("/api/canned")
    @logged_in(supervisor=True)
    async def add_canned(request: Request) -> HTTPResponse:
        return response.json(
            await desk.save_canned(request.ctx.agent_id, canned_fields(request)), ensure_ascii=False
        )

    @app.put("/api/canned/<reply_id:int>")
    @logged_in(supervisor=True)
    async def change_canned(request: Request, reply_id: int) -> HTTPResponse:
        saved = await desk.save_canned(request.ctx.agent_id, canned_fields(request), reply_id)
        return response.json(saved, ensure_ascii=False)

    @app.delete("/api/canned/<reply_id:int>")
    @logged_in(supervisor=True)
    async def delete_canned(request: Request, reply_id: int) -> HTTPResponse:
        await desk.delete_canned(request.ctx.agent_id, reply_id)
        return response.json({"ok": True})

    # ---- tickets ----

    @app.get("/api/tickets")
    @logged_in()
    async def tickets(request: Request) -> HTTPResponse:
        filters = {
            key: request.args.get(key, "")[:16] for key in ("status", "priority", "group", "overdue", "mine")
        }
        return response.json(
            {"tickets": await desk.tickets(request.ctx.agent_id, filters)}, ensure_ascii=False
        )

    @app.get("/api/tickets/<ticket_id:str>")
    @logged_in()
    async def ticket(request: Request, ticket_id: str) -> HTTPResponse:
        return response.json(await desk.ticket(request.ctx.agent_id, ticket_id[:24]), ensure_ascii=False)

    @app.post("/api/tickets/<ticket_id:str>/reveal-phone")
    @logged_in()
    async def ticket_phone(request: Request, ticket_id: str) -> HTTPResponse:
        return response.json(await desk.reveal_phone(request.ctx.agent_id, ticket_id=ticket_id[:24]))

    @app.post("/api/tickets/<ticket_id:str>/status")
    @logged_in()
    async def ticket_status(request: Request, ticket_id: str) -> HTTPResponse:
        data = body(request)
        updated = await desk.update_ticket(
            request.ctx.agent_id,
            ticket_id[:24],
            text_field(data, "status", 16),
            text_field(data, "note", 1000),
            data.get("for_customer") is True,
        )
        return response.json(updated, ensure_ascii=False)

    @app.post("/api/tickets/<ticket_id:str>/assign")
    @logged_in()
    async def ticket_assign(request: Request, ticket_id: str) -> HTTPResponse:
        assignee = text_field(body(request), "agent_id", 16) or None
        return response.json(
            await desk.assign_ticket(request.ctx.agent_id, ticket_id[:24], assignee), ensure_ascii=False
        )

    @app.post("/api/tickets/<ticket_id:str>/reply")
    @logged_in()
    async def ticket_reply(request: Request, ticket_id: str) -> HTTPResponse:
        text = text_field(body(request), "text", 4000)
        return response.json(
            await desk.reply_on_ticket(request.ctx.agent_id, ticket_id[:24], text), ensure_ascii=False
        )

    # ---- supervisors ----

    @app.get("/api/supervisor/overview")
    @logged_in(supervisor=True)
    async def overview(request: Request) -> HTTPResponse:
        return response.json(await desk.overview(), ensure_ascii=False)

    @app.get("/api/supervisor/metrics")
    @logged_in(supervisor=True)
    async def metrics(request: Request) -> HTTPResponse:
        days = request.args.get("days", "1")
        if not days.isdigit() or int(days) not in DASHBOARD_PERIODS:
            raise AgentError("统计周期只能是今天、近7天或近30天")
        return response.json(await desk.metrics(int(days)), ensure_ascii=False)

    # A customer's rights (PIPL): the export and the erasure, each in the audit log.

    def customer_records(customer_id: str) -> CustomerRecords:
        if not CUSTOMER_ID.fullmatch(customer_id):
            raise AgentError("客户编号无效")
        return CustomerRecords(Stores.from_endpoints(settings.endpoints))

    @app.get("/api/supervisor/customers/<customer_id:str>/export")
    @logged_in(supervisor=True)
    async def export_customer(request: Request, customer_id: str) -> HTTPResponse:
        records = customer_records(customer_id)
        document = await asyncio.to_thread(records.export, customer_id, request.ctx.agent_id)
        return response.json(
            document,
            ensure_ascii=False,
            headers={"Content-Disposition": f'attachment; filename="customer-{customer_id}.json"'},
        )

    @app.post("/api/supervisor/customers/<customer_id:str>/erase")
    @logged_in(supervisor=True)
    async def erase_customer(request: Request, customer_id: str) -> HTTPResponse:
        data = body(request)
        records = customer_records(customer_id)
        if text_field(data, "confirm", 16) != customer_id:
            raise AgentError("请再输入一遍客户编号，确认删除")
        reason = text_field(data, "reason", 500)
        if not reason:
            raise AgentError("请写明删除的依据（如客户的申请、工单号）")
        erased = await asyncio.to_thread(records.erase, customer_id, request.ctx.agent_id, reason)
        return response.json(asdict(erased), ensure_ascii=False)

    @app.post("/api/chats/<chat_id:int>/take-over")
    @logged_in(supervisor=True)
    async def take_over(request: Request, chat_id: int) -> HTTPResponse:
        return response.json(await desk.take_over(request.ctx.agent_id, chat_id), ensure_ascii=False)

    # ---- live signals ----

    @sio.on("connect")
    async def connect(sid: str, environ: Dict[str, Any], auth: Any = None) -> bool:
        cookies = SimpleCookie(environ.get("HTTP_COOKIE", ""))
        token = cookies[COOKIE].value if COOKIE in cookies else None
        found = await asyncio.to_thread(session_of, token)
        if found is None:
            return False
        me = await desk.me(found["agent_id"])
        await sio.save_session(sid, {"agent_id": found["agent_id"]})
        await sio.enter_room(sid, f"agent:{found['agent_id']}")
        for group in me["skill_groups"]:
            await sio.enter_room(sid, f"group:{group}")
        if found["role"] == "supervisor":
            await sio.enter_room(sid, "supervisors")
        return True

    @sio.on("watch")
    async def watch(sid: str, data: Any = None) -> Dict[str, Any]:
        """Follow one chat's messages live (only a chat the agent may open)."""
        agent_id = (await sio.get_session(sid))["agent_id"]
        chat_id = data.get("chat_id") if isinstance(data, dict) else None
        if not isinstance(chat_id, int):
            return {"ok": False}
        try:
            allowed = await desk.may_watch(agent_id, chat_id)
        except AgentError:
            return {"ok": False}
        if not allowed:
            return {"ok": False}
        for room in list(sio.rooms(sid)):
            if room.startswith("chat:"):
                await sio.leave_room(sid, room)
        await sio.enter_room(sid, f"chat:{chat_id}")
        return {"ok": True}

    @sio.on("typing")
    async def typing(sid: str, data: Any = None) -> Dict[str, Any]:
        agent_id = (await sio.get_session(sid))["agent_id"]
        data = data if isinstance(data, dict) else {}
        chat_id, on = data.get("chat_id"), data.get("on")
        if not isinstance(chat_id, int) or not isinstance(on, bool):
            return {"ok": False}
        try:
            await desk.typing(agent_id, chat_id, on)
        except AgentError:
            return {"ok": False}
        return {"ok": True}

    @sio.on("heartbeat")
    async def heartbeat(sid: str, _data: Any = None) -> Dict[str, Any]:
        await desk.heartbeat((await sio.get_session(sid))["agent_id"])
        return {"ok": True}

    # ---- background work ----

    async def ticking() -> None:
        while True:
            try:
                await desk.tick()
            except Exception:  # noqa: BLE001 - the next tick tries again
                logger.exception("workspace: timeouts check failed")
            await asyncio.sleep(TICK_S)

    async def start_background(app: Sanic, _loop: Any) -> None:
        # The knowledge base and its encoder load now, not on the first customer's message.
        warming = asyncio.ensure_future(asyncio.to_thread(assistant.warm))
        background.add(warming)
        for work in (
            relay(
                event_source(settings.events_url, settings.events_queue, settings.events_exchange),
                desk.happened,
            ),
            ticking(),
        ):
            task = asyncio.ensure_future(work)
            background.add(task)

    async def stop_background(app: Sanic, _loop: Any) -> None:
        for task in background:
            task.cancel()
        await rasa.close()

    app.register_listener(start_background, "after_server_start")
    app.register_listener(stop_background, "before_server_stop")

    app.ctx.public_routes = PUBLIC_ROUTES
    app.ctx.internal_routes = INTERNAL_ROUTES
    return app
