"""The web chat protocol as a Socket.IO client sees it (real channel, fake dialogue)."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
import socketio
from aiohttp import web

from connectors.webchat.tokens import VisitorTokens, mint_customer_token
from connectors.webchat.workspace_signal import WorkspaceSignal
from tests.stack import free_port
from tests.webchat.conftest import ORIGIN, SECRET, SITE_SECRET

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def refused(server, **kwargs) -> str:
    """Connects and expects the server to refuse; returns the refusal code."""
    with pytest.raises(socketio.exceptions.ConnectionError):
        await server.client(**kwargs)
    return server.clients[-1].refusal


async def test_a_forged_token_is_refused(server):
    forged = VisitorTokens("someone-elses-secret-0123456789abcdef", 3600, None).issue("victim")
    assert await refused(server, token=forged) == "token_invalid"
    assert await refused(server, token="not-a-token") == "token_invalid"


async def test_an_expired_token_is_refused(server):
    expired = VisitorTokens(SECRET, -60, None).issue("old-visitor")
    assert await refused(server, token=expired) == "token_expired"


async def test_a_page_from_another_origin_cannot_connect(server):
    with pytest.raises(socketio.exceptions.ConnectionError):
        await server.client(origin="https://evil.example.com")
    client = await server.started_client(origin=ORIGIN)
    assert client.sio.connected


async def test_a_visitor_cannot_reach_another_visitors_conversation(server):
    alice = await server.started_client()
    alice_id = (await alice.wait_for("session_confirm"))[0]["conversation_id"]
    mallory = await server.started_client()
    mallory_id = mallory.of("session_confirm")[0]["conversation_id"]
    assert mallory_id != alice_id

    # Mallory names Alice's conversation in every field a client could try.
    ack = await mallory.say("把她的订单给我", session_id=alice_id, sender=alice_id, conversation_id=alice_id)
    assert ack["ok"]
    await mallory.wait_for("bot_uttered")
    await alice.say("我的订单到哪了")
    await alice.wait_for("bot_uttered")

    assert [m.sender_id for m in server.agent.received] == [mallory_id, alice_id]
    assert [m["text"] for m in alice.of("bot_uttered")] == ["收到：我的订单到哪了"]
    assert [m["text"] for m in mallory.of("bot_uttered")] == ["收到：把她的订单给我"]
    assert alice.of("user_echo") == [] and mallory.of("user_echo") == []


async def test_a_flood_is_rate_limited_and_every_accepted_message_is_answered(server):
    client = await server.started_client()
    acks = [await client.say(f"第{i}条") for i in range(1, 9)]

    accepted = [i for i, ack in enumerate(acks, 1) if ack["ok"]]
    limited = [ack for ack in acks if not ack["ok"]]
    assert accepted == [1, 2, 3]  # burst of 3 (the test settings)
    assert {ack["code"] for ack in limited} == {"rate_limited"}
    assert "太快" in limited[0]["notice"]

    await server.wait_for_received(3)
    replies = await client.wait_for("bot_uttered", count=3)
    assert [m.text for m in server.agent.received] == ["第1条", "第2条", "第3条"]
    assert [r["text"] for r in replies] == ["收到：第1条", "收到：第2条", "收到：第3条"]


async def test_an_oversized_message_is_refused_with_a_chinese_notice(server):
    client = await server.started_client()
    ack = await client.say("很" * 51)  # the test limit is 50 characters
    assert ack == {
        "ok": False,
        "code": "too_long",
        "notice": "消息太长了（最多50个字），请分几条发送，您输入的内容还在输入框里。",
    }
    assert (await client.say("   "))["code"] == "empty"
    await asyncio.sleep(0.1)
    assert server.agent.received == []


async def test_reconnecting_replays_the_conversation(server):
    first = await server.started_client()
    token = (await first.wait_for("session_confirm"))[0]["token"]
    await first.say("/order_status", display="查订单物流")
    await first.wait_for("bot_uttered")
    await first.sio.disconnect()

    again = await server.started_client(token=token)
    confirm = (await again.wait_for("session_confirm"))[0]
    history = (await again.wait_for("history"))[0]["messages"]
    assert confirm["resumed"] is True
    assert confirm["conversation_id"] == first.of("session_confirm")[0]["conversation_id"]
    assert [(m["role"], m["text"]) for m in history] == [
        ("user", "查订单物流"),
        ("bot", "收到：/order_status"),
    ]
    assert history[1]["buttons"] == [{"title": "查订单物流", "payload": "/order_status"}]


async def test_two_tabs_share_one_conversation(server):
    tab1 = await server.started_client()
    token = (await tab1.wait_for("session_confirm"))[0]["token"]
    tab2 = await server.started_client(token=token)

    await tab1.say("你好")
    assert (await tab2.wait_for("user_echo"))[0]["text"] == "你好"
    for tab in (tab1, tab2):
        assert (await tab.wait_for("bot_uttered"))[0]["text"] == "收到：你好"
    assert tab1.of("user_echo") == []  # the sending tab drew it already


async def test_a_logged_in_customer_is_sent_as_verified_metadata(server):
    login = mint_customer_token("C0001", SITE_SECRET)
    customer = await server.started_client(customer_token=login)
    assert (await customer.wait_for("session_confirm"))[0]["customer_verified"] is True
    await customer.say("我的订单")
    visitor = await server.started_client()
    await visitor.say("我的订单")
    await server.wait_for_received(2)

    assert server.agent.received[0].metadata == {"verified_customer_id": "C0001"}
    assert server.agent.received[1].metadata == {}
    assert (
        await refused(
            server, customer_token=mint_customer_token("C0001", "wrong-site-secret-0123456789abcdef")
        )
        == "login_invalid"
    )


async def test_after_logging_out_the_customers_conversation_is_not_shown(server):
    customer = await server.started_client(customer_token=mint_customer_token("C0001", SITE_SECRET))
    token = (await customer.wait_for("session_confirm"))[0]["token"]
    await customer.say("我的订单")
    await customer.wait_for("bot_uttered")

    anonymous = await server.started_client(token=token)  # same browser, no login any more
    assert (await anonymous.wait_for("history"))[0]["messages"] == []
    assert (
        anonymous.of("session_confirm")[0]["conversation_id"]
        != customer.of("session_confirm")[0]["conversation_id"]
    )


async def test_the_workspace_drives_handoff_status_agent_messages_and_the_rating_through_rasa(server):
    tab1 = await server.started_client()
    confirm = (await tab1.wait_for("session_confirm"))[0]
    tab2 = await server.started_client(token=confirm["token"])
    conversation_id = confirm["conversation_id"]

    await tab1.say("/handoff")
    await tab1.wait_for("handoff")
    # What Rasa's execute_side_effects sends for the workspace's events (workspace/desk.py).
    output = server.channel.get_output_channel()
    await output.send_response(
        conversation_id,
        {
            "text": "人工客服小王已接入",
            "utter_action": "utter_agent_joined",
            "handoff": "agent_joined",
            "agent_name": "小王",
        },
    )
    await output.send_response(
        conversation_id, {"text": "您好，我来帮您查", "agent_id": "A001", "agent_name": "小王"}
    )
    await output.send_response(
        conversation_id,
        {"text": "请为客服小王打分", "utter_action": "utter_live_rating_request", "rating_request": True},
    )
    await output.send_response(
        conversation_id,
        {"text": "本次人工服务已结束", "utter_action": "utter_agent_closed", "handoff": "agent_left"},
    )

    for tab in (tab1, tab2):
        events = await tab.wait_for("handoff", count=3)
        assert [(e["status"], e.get("agent_name")) for e in events] == [
            ("queued", None),
            ("agent_joined", "小王"),
            ("agent_left", None),
        ]
        said = [m for m in tab.of("bot_uttered") if m.get("role") == "agent"]
        assert [(m["text"], m["agent_name"]) for m in said] == [("您好，我来帮您查", "小王")]
        assert (await tab.wait_for("rating_request"))[0]["question"] == "请为客服小王打分"
    replay = await server.started_client(token=confirm["token"])
    history = (await replay.wait_for("history"))[0]["messages"]
    assert [m.get("status") for m in history if m["role"] == "event"] == [
        "queued",
        "agent_joined",
        "agent_left",
    ]
    assert [m["text"] for m in history if m["role"] == "agent"] == ["您好，我来帮您查"]


async def test_saying_goodbye_asks_for_a_rating(server):
    client = await server.started_client()
    await client.say("你好")
    await client.wait_for("bot_uttered")
    assert client.of("rating_request") == []
    await client.say("/goodbye")
    request = (await client.wait_for("rating_request"))[0]
    assert request["scale"] == 5 and "打分" in request["question"]


async def test_a_rating_is_stored_with_the_conversation(server):
    client = await server.started_client()
    conversation_id = (await client.wait_for("session_confirm"))[0]["conversation_id"]

    bad = await client.sio.call("rate", {"score": 6}, timeout=5)
    assert bad["code"] == "bad_rating" and "1到5" in bad["notice"]
    assert await client.sio.call("rate", {"score": 5, "comment": "很快就查到了"}, timeout=5) == {"ok": True}

    ratings = server.channel.hub.transcripts.ratings(conversation_id)
    assert [(r.score, r.comment) for r in ratings] == [(5, "很快就查到了")]
    assert (await client.wait_for("rated"))[0]["score"] == 5


async def test_a_failed_turn_tells_the_customer_in_chinese(server, monkeypatch):
    async def broken(message):
        raise RuntimeError("action server down")

    monkeypatch.setattr(server.agent, "handle_message", broken)
    client = await server.started_client()
    await client.say("你好")
    notice = (await client.wait_for("notice"))[0]
    assert notice["code"] == "server_error" and "系统有点忙" in notice["notice"]
    typing = await client.wait_for("bot_typing", count=2)
    assert typing[-1] == {"on": False}


async def test_an_agent_typing_is_shown_only_when_the_workspace_says_so_with_rasas_token(server, monkeypatch):
    client = await server.started_client()
    conversation_id = (await client.wait_for("session_confirm"))[0]["conversation_id"]
    url = f"{server.url}/webhooks/webchat/agent_typing"
    body = {"conversation_id": conversation_id, "on": True, "agent_name": "王芳"}
    async with aiohttp.ClientSession() as http:
        monkeypatch.delenv("RASA_API_TOKEN", raising=False)
        async with http.post(url, json=body, headers={"Authorization": "Bearer anything"}) as answer:
            assert answer.status == 503
        monkeypatch.setenv("RASA_API_TOKEN", "the-api-token")
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "the-api-token"}):
            async with http.post(url, json=body, headers=headers) as answer:
                assert answer.status == 403
        assert client.of("bot_typing") == []
        async with http.post(url, json=body, headers={"Authorization": "Bearer the-api-token"}) as answer:
            assert answer.status == 200
        assert (await client.wait_for("bot_typing"))[0] == {"on": True, "agent_name": "王芳"}
        async with http.post(
            url,
            json={"conversation_id": conversation_id, "on": "yes"},
            headers={"Authorization": "Bearer the-api-token"},
        ) as answer:
            assert answer.status == 400


async def test_a_customers_typing_reaches_the_workspace_with_rasas_token_at_most_once_a_second(server):
    passed_on = []

    async def customer_typing(request: web.Request) -> web.Response:
        passed_on.append((request.headers.get("Authorization"), await request.json()))
        return web.json_response({"ok": True})

    workspace = web.Application()
    workspace.router.add_post("/internal/customer_typing", customer_typing)
    runner = web.AppRunner(workspace)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    original = server.channel.workspace
    server.channel.workspace = WorkspaceSignal(f"http://127.0.0.1:{port}", "the-api-token")
    try:
        client = await server.started_client()
        conversation_id = (await client.wait_for("session_confirm"))[0]["conversation_id"]
        for _ in range(5):  # a keystroke each
            await client.sio.emit("customer_typing", {"on": True})
        await client.sio.emit("customer_typing", {"on": False})
        for _ in range(100):
            if len(passed_on) >= 2:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)
        assert sorted(passed_on, key=lambda p: p[1]["on"]) == [
            ("Bearer the-api-token", {"conversation_id": conversation_id, "on": False}),
            ("Bearer the-api-token", {"conversation_id": conversation_id, "on": True}),
        ]
    finally:
        server.channel.workspace = original
        await runner.cleanup()
