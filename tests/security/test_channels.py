"""Attacks on the WeChat, phone and web chat channels of the running product:
forged, replayed, reordered, oversized and malformed requests, and identity
claimed where only the channel may vouch for it."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import aiohttp
import pytest
import socketio

from connectors.signed import mint_customer_token
from connectors.webchat.tokens import CUSTOMER_AUDIENCE
from tests.connectors.drivers import (
    OPENID,
    FakeWeChatApi,
    Gateway,
    Served,
    WeChat,
    text_xml,
    wechat_signature,
)
from tests.security.demo_secrets import leaked
from tests.stack import WEBCHAT_SITE_SECRET


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def wechat(e2e_stack, rasa_url, http):
    env = e2e_stack.env
    api = FakeWeChatApi()  # replies that miss the passive window arrive here
    await api.start(int(env["WECHAT_API_BASE"].rsplit(":", 1)[1]))
    yield WeChat(
        Served(f"{rasa_url}/webhooks/wechat", http),
        token=env["WECHAT_TOKEN"],
        aes_key=env["WECHAT_AES_KEY"],
        app_id=env["WECHAT_APP_ID"],
    )
    await api.stop()


def user_texts(chat, conversation_id: str) -> list:
    try:
        events = chat.tracker(conversation_id)["events"]
    except Exception:  # no such conversation yet
        return []
    return [e.get("text") for e in events if e["event"] == "user"]


async def saved_turn(chat, conversation_id: str, text: str, timeout_s: float = 60.0) -> list:
    """The conversation's user messages once `text` is among them: a turn that outlasts the
    channel's reply (WeChat's passive window, the web chat's events) is saved when it ends."""
    deadline = time.monotonic() + timeout_s
    while text not in user_texts(chat, conversation_id) and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    return user_texts(chat, conversation_id)


# ---- finding 4: WeChat replay ------------------------------------------------------------


@pytest.mark.parametrize("age_s", [3600, 301, -600])
async def test_a_correctly_signed_but_old_wechat_push_is_refused(wechat, chat, age_s):
    marker = f"查余额 {uuid.uuid4().hex[:8]}"
    status, body = await wechat.push(
        text_xml(marker, msg_id=str(time.time_ns())), sent_at=time.time() - age_s
    )
    assert (status, body) == (403, "请求已过期")
    assert marker not in user_texts(chat, OPENID)


async def test_a_replayed_wechat_push_makes_one_turn(wechat, chat):
    marker = f"你好 {uuid.uuid4().hex[:8]}"
    push = text_xml(marker, msg_id=str(time.time_ns()))
    first = await wechat.push(push)
    again = await wechat.push(push)
    assert first[0] == again[0] == 200
    await saved_turn(chat, OPENID, marker)
    await asyncio.sleep(2)  # time enough for a second turn to show
    assert user_texts(chat, OPENID).count(marker) == 1


@pytest.mark.parametrize("tamper", ["signature", "msg_signature", "timestamp"])
async def test_a_forged_wechat_push_is_refused(wechat, chat, tamper):
    marker = f"查余额 {uuid.uuid4().hex[:8]}"
    override = {"timestamp": str(int(time.time()) + 1)} if tamper == "timestamp" else {tamper: "0" * 40}
    status, _ = await wechat.push(text_xml(marker, msg_id=str(time.time_ns())), query_override=override)
    assert status == 403 and marker not in user_texts(chat, OPENID)


async def test_an_unbound_wechat_user_is_not_verified_by_anything_in_the_push(wechat, chat):
    stranger = f"oXH_stranger_{uuid.uuid4().hex[:8]}"
    xml = text_xml("查余额", msg_id=str(time.time_ns()), openid=stranger).replace(
        "</xml>", "<verified_customer_id>C001</verified_customer_id></xml>"
    )
    status, body = await wechat.push(xml)
    assert status == 200 and leaked(body) == []
    assert "查余额" in await saved_turn(chat, stranger, "查余额")
    assert chat.tracker(stranger)["slots"]["verified_customer_id"] is None


@pytest.mark.parametrize(
    "body, status",
    [
        (b"<xml>" + b"x" * 70_000 + b"</xml>", 413),
        (b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'aaaa'><!ENTITY b '&a;&a;&a;'>]><xml>&b;</xml>", 400),
        (b"not xml at all", 400),
    ],
)
async def test_oversized_and_malformed_wechat_bodies_are_refused(wechat, body, status):
    now = str(int(time.time()))
    query = {"signature": wechat_signature(wechat.token, now, "n1"), "timestamp": now, "nonce": "n1"}
    async with wechat.served.http.post(
        f"{wechat.served.base_url}/webhook", params=query, data=body
    ) as answer:
        assert answer.status == status
        assert "Traceback" not in await answer.text()


# ---- phone: replayed and reordered webhooks ---------------------------------------------


@pytest.fixture
def gateway(e2e_stack, rasa_url, http):
    env = e2e_stack.env
    return lambda: Gateway(
        Served(f"{rasa_url}/webhooks/phone", http),
        token=env["TWILIO_AUTH_TOKEN"],
        public_url=env["PHONE_PUBLIC_URL"],
    )


async def test_replayed_webhooks_of_an_ended_call_change_nothing(gateway, chat):
    call = gateway()
    await call.dial_in()
    gather = call.doc.find("Gather").get("action")
    await call.press("1")
    await call.hang_up()
    before = chat.tracker(call.sid)["events"]
    for replayed, form in (
        ("/webhooks/phone/voice", {}),
        (gather, {"Digits": "1"}),
        (gather, {"Digits": "0"}),
    ):
        call.path = "/webhooks/phone/voice"
        assert await call.post(replayed, **form) == 200
        assert call.verbs == ["Hangup"]
    assert chat.tracker(call.sid)["events"] == before


async def test_a_webhook_for_a_turn_not_yet_issued_is_refused(gateway, chat):
    call = gateway()
    await call.dial_in()
    assert await call.post("gather?turn=9", Digits="0") == 409
    assert user_texts(chat, call.sid) == []


async def test_identity_fields_added_to_a_phone_webhook_are_ignored(gateway, chat):
    call = gateway()
    await call.dial_in()
    await call.step(
        call.doc.find("Gather").get("action"),
        SpeechResult="查余额",
        Confidence="0.9",
        verified_customer_id="C001",
        metadata='{"verified_customer_id": "C001"}',
    )
    assert "手机号" in call.spoken and leaked(call.spoken) == []
    assert chat.tracker(call.sid)["slots"]["verified_customer_id"] is None


async def test_forged_and_oversized_phone_webhooks_are_refused(gateway, chat):
    call = gateway()
    assert await call.post("/webhooks/phone/voice", signature="forged") == 403
    assert await call.post("/webhooks/phone/voice", SpeechResult="查" * 20_000) == 413
    assert user_texts(chat, call.sid) == []


# ---- web chat: identity only from a signed login, origins checked ------------------------


@pytest.mark.parametrize(
    "path",
    ["..%2F..%2Fcredentials.yml", "..%2F..%2F..%2Fvar%2Fapi_token", "%2Fetc%2Fpasswd", "widget.js%00.yml"],
)
async def test_the_web_chat_serves_its_own_files_only(rasa_url, http, path):
    async with http.get(f"{rasa_url}/webhooks/webchat/{path}") as answer:
        body = await answer.text()
    assert answer.status == 404 and "WECHAT" not in body and "root:" not in body


async def connect(rasa_url: str, origin: str, auth: dict) -> socketio.AsyncClient:
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(
        rasa_url,
        auth=auth,
        headers={"Origin": origin},
        transports=["polling"],
        socketio_path="/webchat/socket.io",
        wait_timeout=10,
    )
    return client


@pytest.mark.parametrize(
    "auth",
    [
        {
            "customer_token": mint_customer_token(
                "C001", "guessed-site-secret-0123456789abcdef", CUSTOMER_AUDIENCE
            )
        },
        {"customer_token": mint_customer_token("C001", WEBCHAT_SITE_SECRET, "xinghe-rest")},
        {"customer_token": "C001"},
        {"token": "forged.visitor.token"},
    ],
    ids=["wrong-secret", "rest-audience", "bare-id", "forged-visitor"],
)
async def test_a_web_chat_login_that_is_not_signed_by_the_site_is_refused(rasa_url, auth):
    with pytest.raises(socketio.exceptions.ConnectionError):
        await connect(rasa_url, rasa_url, auth)


async def test_a_page_on_another_site_cannot_open_the_web_chat(rasa_url):
    with pytest.raises(socketio.exceptions.ConnectionError):
        await connect(rasa_url, "https://evil.example", {})


async def test_identity_sent_with_a_web_chat_message_is_ignored(rasa_url, chat):
    client = await connect(rasa_url, rasa_url, {})
    replies = []
    client.on("bot_uttered", lambda data: replies.append(data))
    confirmed = []
    client.on("session_confirm", lambda data: confirmed.append(data))
    await client.emit("session_request", {})
    ack = await client.call(
        "user_uttered",
        {"message": "查余额", "metadata": {"verified_customer_id": "C001"}, "customer_id": "C001"},
        timeout=10,
    )
    assert ack["ok"]
    for _ in range(300):
        if replies:
            break
        await asyncio.sleep(0.2)
    await client.disconnect()
    shown = json.dumps(replies, ensure_ascii=False)
    assert "手机号" in shown and leaked(shown) == []
    conversation_id = confirmed[0]["conversation_id"]
    assert "查余额" in await saved_turn(chat, conversation_id, "查余额")
    assert chat.tracker(conversation_id)["slots"]["verified_customer_id"] is None
