"""The workspace's JSON API: logins, roles, CSRF, and the live-chat journey as the UI drives it."""

from __future__ import annotations

import asyncio
import json
import logging
from types import SimpleNamespace

import aiohttp
import socketio
from sanic.exceptions import ServiceUnavailable
from sqlalchemy import select

from business.services.live_chat import LiveChatService, Routing
from business.store.db import session_scope
from business.store.models import AgentSession, AuditEntry, LiveChat
from tests.conftest import NOW
from workspace.server import COOKIE, INTERNAL_ROUTES, PUBLIC_ROUTES

from .conftest import RASA_TOKEN, LiveSignals

MALL = Routing("mall", 2, "asked", "order_status")


def waiting_customer(conversation_id: str = "webchat:visitor-1", routing: Routing = MALL) -> int:
    with session_scope() as session:
        return LiveChatService(session).enqueue(conversation_id, "webchat", routing, NOW).chat.id


async def test_nothing_but_the_login_page_is_served_without_a_session(workspace):
    stranger = workspace.browser()
    checked = 0
    for route in workspace.app.router.routes:
        path = "/" + route.path if not route.path.startswith("/") else route.path
        if path in PUBLIC_ROUTES or path in INTERNAL_ROUTES or "socket.io" in path:
            continue
        concrete = (
            path.replace("<chat_id:int>", "1")
            .replace("<reply_id:int>", "1")
            .replace("<ticket_id:str>", "TK1")
        )
        for method in route.methods:
            reply = await stranger.http.request(
                method, f"{workspace.base_url}{concrete}", headers=stranger.headers()
            )
            assert reply.status == 401, f"{method} {concrete} answered {reply.status}"
            assert (await reply.json())["error"] == "请先登录"
            checked += 1
    assert checked >= 24
    assert (await stranger.get("/")).status == 200  # the login form itself


async def test_a_login_sets_a_hardened_cookie_and_keeps_only_its_hash(workspace):
    browser = workspace.browser()
    reply = await browser.login("wangfang")
    assert reply.status == 200
    cookie = reply.cookies[COOKIE]
    assert cookie["httponly"] and cookie["secure"] and cookie["samesite"] == "Strict"
    with session_scope() as session:
        stored = session.execute(select(AgentSession)).scalar_one()
        assert stored.token_hash != browser.cookie and len(stored.token_hash) == 64
    me = await (await browser.get("/api/me")).json()
    assert me["agent"]["name"] == "王芳" and me["csrf_token"] == browser.csrf
    assert me["skill_groups"] == {"mall": "商城", "wallet": "钱包", "travel": "旅行", "complaint": "投诉"}


async def test_wrong_passwords_are_refused_in_chinese_then_throttled(workspace):
    browser = workspace.browser()
    for _ in range(5):
        reply = await browser.login("wangfang", "wrong")
        assert reply.status == 401 and (await reply.json())["error"] == "账号或密码不对"
    reply = await browser.login("wangfang")  # even the right password, for a while
    assert reply.status == 429 and "15分钟" in (await reply.json())["error"]
    with session_scope() as session:
        assert len(session.execute(select(AuditEntry).where(AuditEntry.action == "login_failed")).all()) == 5


async def test_a_change_without_the_csrf_token_or_from_another_site_is_refused(workspace):
    browser = await workspace.logged_in("wangfang")
    token = browser.csrf
    browser.csrf = None
    assert (await browser.post("/api/status", {"status": "away"})).status == 403
    browser.csrf = token
    reply = await browser.post("/api/status", {"status": "away"}, Origin="https://evil.example")
    assert reply.status == 403 and "来源" in (await reply.json())["error"]
    assert (await browser.post("/api/status", {"status": "away"})).status == 200
    assert (
        await workspace.browser().http.post(
            f"{workspace.base_url}/api/login",
            data="login=wangfang&password=xinghe-demo",
            headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": workspace.base_url},
        )
    ).status == 403  # a cross-site form cannot log anyone in either


async def test_agents_see_their_groups_and_only_supervisors_see_everything(workspace):
    travel = waiting_customer("webchat:t", Routing("travel", 2, "asked", "change_flight"))
    wang = await workspace.logged_in("wangfang")  # mall, wallet
    assert (await (await wang.get("/api/queue")).json())["queue"] == []
    reply = await wang.get(f"/api/chats/{travel}")
    assert reply.status == 409 and "无权查看" in (await reply.json())["error"]
    assert (await wang.get("/api/supervisor/overview")).status == 403
    chen = await workspace.logged_in("chenjing")
    assert [c["id"] for c in (await (await chen.get("/api/queue")).json())["queue"]] == [travel]
    overview = await (await chen.get("/api/supervisor/overview")).json()
    assert overview["groups"]["travel"]["waiting"] == 1
    assert {a["name"]: a["status"] for a in overview["agents"]}["王芳"] == "online"


async def test_the_live_chat_journey_reaches_rasa_as_the_customer_should_see_it(workspace):
    chat_id = waiting_customer()
    wang = await workspace.logged_in("wangfang")
    [queued] = (await (await wang.get("/api/queue")).json())["queue"]
    assert (queued["id"], queued["reason_name"], queued["group_name"]) == (chat_id, "客户要求人工", "商城")

    accepted = await (await wang.post(f"/api/chats/{chat_id}/accept")).json()
    assert accepted["status"] == "active" and accepted["agent"]["name"] == "王芳"
    [joined] = workspace.rasa.posts
    assert joined["deliver"] is True
    assert joined["events"][0]["metadata"]["handoff"] == "agent_joined"
    assert joined["events"][0]["text"].startswith("人工客服王芳已接入")  # the domain's wording

    sent = await (await wang.post(f"/api/chats/{chat_id}/messages", {"text": "您好，我帮您查一下"})).json()
    assert sent["state"] == "sent"
    said = workspace.rasa.appended("webchat:visitor-1")[-1]
    assert (said["event"], said["text"], said["metadata"]["agent_id"]) == (
        "bot",
        "您好，我帮您查一下",
        "A001",
    )

    opened = await (await wang.get(f"/api/chats/{chat_id}")).json()
    assert [(m["by"], m["text"][:4]) for m in opened["messages"]] == [
        ("bot", "人工客服"),
        ("agent", "您好，我"),
    ]

    closed = await (
        await wang.post(f"/api/chats/{chat_id}/close", {"result": "resolved", "note": "已解决"})
    ).json()
    assert (closed["status"], closed["result_name"]) == ("closed", "已解决")
    tail = workspace.rasa.appended("webchat:visitor-1")[-4:]
    assert [e["event"] for e in tail] == ["bot", "bot", "action", "resume"]
    assert tail[1]["metadata"]["rating_request"] is True and tail[2]["name"] == "action_listen"
    with session_scope() as session:
        actions = [e.action for e in session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars()]
        assert {"login", "accept", "view_chat", "close"} <= set(actions)


async def test_an_agent_accepting_while_rasa_is_too_busy_to_answer_still_gets_the_customer(workspace):
    chat_id = waiting_customer()
    workspace.app.ctx.desk.rasa.timeout = aiohttp.ClientTimeout(total=0.5)
    workspace.rasa.delay_s = 2  # the "agent joined" notice does not get through in time
    wang = await workspace.logged_in("wangfang")
    reply = await wang.post(f"/api/chats/{chat_id}/accept")
    assert reply.status == 200 and (await reply.json())["status"] == "active"
    assert (await (await wang.get("/api/queue")).json())["queue"] == []


async def test_two_agents_accepting_the_same_customer_at_once_exactly_one_gets_it(workspace):
    chat_id = waiting_customer()
    wang = await workspace.logged_in("wangfang")
    chen = await workspace.logged_in("chenjing")
    replies = await asyncio.gather(*(agent.post(f"/api/chats/{chat_id}/accept") for agent in (wang, chen)))
    assert sorted(r.status for r in replies) == [200, 409]
    refused = next(r for r in replies if r.status == 409)
    assert (await refused.json())["error"] == "这位客户已被其他坐席接入"
    with session_scope() as session:
        assert session.get(LiveChat, chat_id).agent_id in {"A001", "S001"}


async def test_bad_input_gets_a_chinese_refusal_not_a_crash(workspace):
    chat_id = waiting_customer()
    wang = await workspace.logged_in("wangfang")
    await wang.post(f"/api/chats/{chat_id}/accept")
    for path, body, words in [
        (f"/api/chats/{chat_id}/messages", {"text": "   "}, "不能为空"),
        (f"/api/chats/{chat_id}/messages", {"text": "长" * 2001}, "太长"),
        (f"/api/chats/{chat_id}/close", {"result": "whatever"}, "处理结果"),
        (f"/api/chats/{chat_id}/transfer", {"to_group": "hotel"}, "技能组"),
        ("/api/chats/999/accept", {}, "没有这个会话"),
        ("/api/status", {"status": "sleeping"}, "状态"),
    ]:
        reply = await wang.post(path, body)
        assert reply.status == 409 and words in (await reply.json())["error"], path
    reply = await wang.http.post(
        f"{workspace.base_url}/api/chats/{chat_id}/messages",
        data="{not json",
        headers=wang.headers(**{"Content-Type": "application/json"}),
    )
    assert reply.status in (400, 409) and "error" in await reply.json()
    assert (await wang.get("/api/nothing-here")).status == 404


async def engineio_connect(workspace, cookie: str = "") -> str:
    """Engine.IO's polling handshake, then a Socket.IO connect; the server's answer to the connect."""
    path = f"{workspace.base_url}/workspace/socket.io/"
    headers = {"Origin": workspace.base_url, **({"Cookie": cookie} if cookie else {})}
    async with workspace.http.get(
        path, params={"EIO": "4", "transport": "polling"}, headers=headers
    ) as opened:
        sid = json.loads((await opened.text())[1:])["sid"]
    query = {"EIO": "4", "transport": "polling", "sid": sid}
    async with workspace.http.post(path, params=query, data="40", headers=headers) as sent:
        assert sent.status == 200
    async with workspace.http.get(path, params=query, headers=headers) as answer:
        return await answer.text()


async def test_live_signals_need_a_session_and_follow_only_permitted_chats(workspace):
    assert (await engineio_connect(workspace)).startswith("44")  # CONNECT_ERROR: refused
    travel = waiting_customer("webchat:t", Routing("travel", 2, "asked", "change_flight"))
    mall = waiting_customer("webchat:m")
    wang = await workspace.logged_in("wangfang")
    assert (await engineio_connect(workspace, f"{COOKIE}={wang.cookie}")).startswith("40")  # connected
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(
        workspace.base_url,
        headers={"Cookie": f"{COOKIE}={wang.cookie}", "Origin": workspace.base_url},
        transports=["polling"],
        socketio_path="/workspace/socket.io",
        wait_timeout=5,
    )
    try:
        assert await client.call("watch", {"chat_id": travel}, timeout=5) == {"ok": False}
        assert await client.call("watch", {"chat_id": mall}, timeout=5) == {"ok": True}
        assert await client.call("heartbeat", {}, timeout=5) == {"ok": True}
    finally:
        await client.eio.disconnect(abort=True)  # a polite goodbye waits for the long poll to end


async def test_a_web_customers_typing_reaches_only_the_agent_serving_them_and_only_from_rasa(workspace):
    served = waiting_customer("webchat:served")
    waiting_customer("webchat:waiting")
    wang = await workspace.logged_in("wangfang")
    assert (await wang.post(f"/api/chats/{served}/accept")).status == 200
    signals = await LiveSignals.connect(workspace.base_url, wang.cookie)
    try:
        assert await signals.client.call("watch", {"chat_id": served}, timeout=5) == {"ok": True}
        url = f"{workspace.base_url}/internal/customer_typing"
        for conversation_id in ("webchat:waiting", "webchat:served"):
            body = {"conversation_id": conversation_id, "on": True}
            for headers in ({}, {"Authorization": "Bearer wrong"}, wang.headers()):
                async with workspace.http.post(url, json=body, headers=headers) as refused:
                    assert refused.status == 401 and (await refused.json())["error"] == "无权访问"
            async with workspace.http.post(
                url, json=body, headers={"Authorization": f"Bearer {RASA_TOKEN}"}
            ) as passed:
                assert passed.status == 200
        await asyncio.sleep(0.3)
        # Only the chat the agent serves; nobody is told about a customer still in the queue.
        assert await signals.wait_for("customer_typing") == [{"chat_id": served, "on": True}]
    finally:
        await signals.close()


async def test_agent_assist_shows_the_summary_the_customer_and_suggestions_and_audits_the_customer(workspace):
    with session_scope() as session:
        chat_id = (
            LiveChatService(session).enqueue("webchat:c001", "webchat", MALL, NOW, customer_id="C001").chat.id
        )
    workspace.rasa.events["webchat:c001"] = [
        {"event": "slot", "name": "verified_customer_id", "value": "C001"},
        {
            "event": "user",
            "text": "退款怎么还没到账，都一周了",
            "parse_data": {"intent": {"name": "refund_status"}},
        },
        {"event": "action", "name": "action_refund_status"},
        {"event": "bot", "text": "订单 XH2611010002 的退款正在处理中。"},
        {"event": "user", "text": "转人工", "parse_data": {"intent": {"name": "request_human"}}},
        {"event": "pause"},
    ]
    wang = await workspace.logged_in("wangfang")
    assert (await wang.post(f"/api/chats/{chat_id}/accept")).status == 200
    reply = await wang.get(f"/api/chats/{chat_id}/assist")
    assert reply.status == 200
    assist = await reply.json()
    summary = [(line["section"], line["text"], line["event"]) for line in assist["summary"]]
    assert ("why", "客户要求人工：“转人工”", 4) in summary
    assert ("did", "查了退款进度：“订单 XH2611010002 的退款正在处理中。”", 2) in summary
    assert assist["customer"]["profile"]["phone"].count("*") == 4
    assert assist["for_text"] == "转人工" and len(assist["suggestions"]) == 3
    with session_scope() as session:
        viewed = session.execute(
            select(AuditEntry).where(AuditEntry.action == "view_customer", AuditEntry.agent_id == "A001")
        ).scalar_one()
        assert viewed.subject == "C001"
    zhao = await workspace.logged_in("zhaomin")  # 投诉 and 钱包: not this customer's agent
    assert (await zhao.get(f"/api/chats/{chat_id}/assist")).status == 409
    assert (await zhao.post(f"/api/chats/{chat_id}/reveal-phone")).status == 409

    # The 360 shows the number masked; calling the customer takes an explicit, audited reveal.
    revealed = await wang.post(f"/api/chats/{chat_id}/reveal-phone")
    assert await revealed.json() == {"phone": "13800138001"}
    with session_scope() as session:
        [entry] = session.execute(select(AuditEntry).where(AuditEntry.action == "reveal_phone")).scalars()
        assert (entry.agent_id, entry.subject, entry.detail) == ("A001", f"chat {chat_id}", "customer C001")


async def test_a_draft_with_a_promise_or_full_personal_data_goes_out_only_once_confirmed(workspace):
    chat_id = waiting_customer("webchat:draft")
    wang = await workspace.logged_in("wangfang")
    assert (await wang.post(f"/api/chats/{chat_id}/accept")).status == 200
    draft = "给您补偿50元，有事打我手机13800138001"
    checked = await (await wang.post(f"/api/chats/{chat_id}/check-draft", {"text": draft})).json()
    assert [w["kind"] for w in checked["warnings"]] == ["promise", "personal_data"]  # while typing
    assert (await (await wang.post(f"/api/chats/{chat_id}/check-draft", {"text": " "})).json()) == {
        "warnings": []
    }
    held = await wang.post(f"/api/chats/{chat_id}/messages", {"text": draft})
    body = await held.json()
    assert held.status == 409 and body["code"] == "confirm"
    assert [w["kind"] for w in body["warnings"]] == ["promise", "personal_data"]
    assert not [e for e in workspace.rasa.appended("webchat:draft") if e.get("text") == draft]
    sent = await wang.post(f"/api/chats/{chat_id}/messages", {"text": draft, "confirmed": True})
    assert (await sent.json())["state"] == "sent"
    assert [e for e in workspace.rasa.appended("webchat:draft") if e.get("text") == draft]


async def test_agent_actions_follow_the_bots_rules_over_http(workspace):
    with session_scope() as session:
        chat_id = (
            LiveChatService(session).enqueue("webchat:act", "webchat", MALL, NOW, customer_id="C001").chat.id
        )
    wang = await workspace.logged_in("wangfang")
    assert (await wang.post(f"/api/chats/{chat_id}/accept")).status == 200
    found = await (await wang.post(f"/api/chats/{chat_id}/lookup", {"order_id": "XH2611010001"})).json()
    assert found["status_name"] == "已发货"
    fees = await (await wang.post(f"/api/chats/{chat_id}/lookup", {"booking_ref": "K7M2QD"})).json()
    assert "手续费" in fees["text"]
    late = {"order_id": "XH2610150003", "reason": "quality", "detail": "坏了", "override": "我批准"}
    refused = await wang.post(f"/api/chats/{chat_id}/refund", late)
    assert refused.status == 409 and "班长特批" in (await refused.json())["error"]
    opened = await wang.post(f"/api/chats/{chat_id}/tickets", {"category": "logistics", "summary": "催件"})
    assert (await opened.json())["ticket_id"].startswith("TK")
    li = await workspace.logged_in("liqiang")  # not serving this chat
    other = await li.post(f"/api/chats/{chat_id}/lookup", {"order_id": "XH2611010001"})
    assert other.status == 409


async def test_a_draft_promising_a_refund_the_rules_forbid_is_held_until_confirmed(workspace):
    chat_id = waiting_customer("webchat:late-return")
    wang = await workspace.logged_in("wangfang")
    assert (await wang.post(f"/api/chats/{chat_id}/accept")).status == 200
    order = {"event": "slot", "name": "order_id"}
    workspace.rasa.events["webchat:late-return"] = [{**order, "value": "XH2610150003"}]  # 20 days ago
    held = await wang.post(f"/api/chats/{chat_id}/messages", {"text": "好的，可以给您退，您寄回来吧"})
    body = await held.json()
    assert held.status == 409 and [w["kind"] for w in body["warnings"]] == ["refund_rule"]
    assert "15天" in body["warnings"][0]["label"]
    workspace.rasa.events["webchat:late-return"].append({**order, "value": "XH2611010002"})  # 3 days ago
    sent = await wang.post(f"/api/chats/{chat_id}/messages", {"text": "好的，可以给您退，您寄回来吧"})
    assert (await sent.json())["state"] == "sent"


async def test_a_browser_that_leaves_in_the_middle_of_a_long_poll_is_no_error(workspace, caplog):
    """Sanic answers a request whose client went away with ServiceUnavailable, from inside its handling
    of the CancelledError; that is the browser's doing, not a failure of the workspace."""
    cancelled = ServiceUnavailable("Cancelled")
    handler = workspace.app.error_handler.lookup(cancelled, None)
    request = SimpleNamespace(method="GET", path="/workspace/socket.io/")
    with caplog.at_level(logging.INFO, logger="workspace.server"):
        try:
            raise asyncio.CancelledError
        except asyncio.CancelledError:
            reply = await handler(request, cancelled)
    assert reply.status == 499
    assert [r.levelname for r in caplog.records if r.name == "workspace.server"] == ["INFO"]
