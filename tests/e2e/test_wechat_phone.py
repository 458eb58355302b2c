"""The WeChat and phone channels end to end: one journey each through the channel's
webhook of the real Rasa server (trained model, action server, demo data).

WeChat: wechatpy signs and encrypts the push like WeChat does; a reply that misses
the passive window arrives at the fake WeChat API on the port the harness configured.
Phone: the twilio library signs every webhook and the TwiML is followed like a gateway.
"""

from __future__ import annotations

import json
import time

import aiohttp
import pytest

from business.services.audit import AuditLog
from business.store.models import LiveChat
from tests.connectors.drivers import CALLER, OPENID, FakeWeChatApi, Gateway, Served, WeChat, text_xml
from tests.stack import workspace_agent


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def wechat_api(e2e_stack):
    fake = FakeWeChatApi()
    await fake.start(int(e2e_stack.env["WECHAT_API_BASE"].rsplit(":", 1)[1]))
    yield fake
    await fake.stop()


@pytest.fixture
def wechat(e2e_stack, rasa_url, http) -> WeChat:
    """WeChat's side of the webhook (wechatpy signs and encrypts), as the harness configured it."""
    env = e2e_stack.env
    return WeChat(
        Served(f"{rasa_url}/webhooks/wechat", http),
        token=env["WECHAT_TOKEN"],
        aes_key=env["WECHAT_AES_KEY"],
        app_id=env["WECHAT_APP_ID"],
    )


async def test_wechat_order_status_from_a_bound_user(wechat, wechat_api, chat):
    status, body = await wechat.push(text_xml("帮我查下订单XH2611010001到哪了", msg_id=str(time.time_ns())))
    assert status == 200, body
    if body == "success":  # the turn took longer than the passive window
        reply = "\n".join(
            s["body"]["text"]["content"] for s in await wechat_api.wait_for_sends(1, timeout=60)
        )
    else:
        reply = wechat.read(body).content
    assert "顺丰速运" in reply and "SF1402837465921" in reply
    latest = chat.tracker(OPENID)["latest_message"]
    assert latest["metadata"]["verified_customer_id"] == "C001"  # the openid is bound to 张伟


@pytest.fixture
def phone_call(e2e_stack, rasa_url, http):
    """A new call, driven the way the voice gateway drives the harness's phone channel."""
    env = e2e_stack.env
    return lambda: Gateway(
        Served(f"{rasa_url}/webhooks/phone", http),
        token=env["TWILIO_AUTH_TOKEN"],
        public_url=env["PHONE_PUBLIC_URL"],
    )


async def test_phone_keypad_order_status_by_speech_then_goodbye(e2e_stack, rasa_url, http, phone_call):
    call = phone_call()
    await call.dial_in()
    assert "按1，查询订单" in call.spoken
    await call.press("1")
    assert "订单号" in call.spoken
    await call.speak("订单号是 X H 二六一一零一零零零一")
    assert "顺丰速运" in call.spoken
    assert "S F 1 4 0 2 8 3 7 4 6 5 9 2 1" in call.spoken
    await call.speak("好的，再见")
    assert call.verbs == ["Say", "Hangup"]
    await call.hang_up()
    async with http.get(
        f"{rasa_url}/conversations/{call.sid}/tracker",
        params={"include_events": "ALL", "token": e2e_stack.api_token},
    ) as answer:
        events = (await answer.json())["events"]
    assert {e.get("input_channel") for e in events if e["event"] == "user"} == {"phone"}
    assert "restart" in [e["event"] for e in events]  # the status callback closed the conversation


async def wechat_reply(wechat: WeChat, wechat_api: FakeWeChatApi, text: str, sends_before: int) -> str:
    """What the customer reads after sending `text`: the passive reply or the API's messages."""
    status, body = await wechat.push(text_xml(text, msg_id=str(time.time_ns())))
    assert status == 200, body
    if body != "success":
        return wechat.read(body).content
    sent = await wechat_api.wait_for_sends(sends_before + 1, timeout=60)
    return "\n".join(s["body"]["text"]["content"] for s in sent[sends_before:])


@pytest.fixture
async def agent(workspace_url, http):
    async with workspace_agent(http, workspace_url) as headers:
        yield headers


async def test_a_wechat_customer_talks_to_an_agent_through_customer_service_messages(
    wechat, workspace_url, wechat_api, http, store, agent
):
    queued = await wechat_reply(wechat, wechat_api, "转人工", len(wechat_api.sent))
    assert "排队第1位" in queued
    before = len(wechat_api.sent)
    async with http.post(f"{workspace_url}/api/queue/accept-next", headers=agent) as accepted:
        chat = await accepted.json()
        assert accepted.status == 200 and chat["channel"] == "wechat", chat
    joined = await wechat_api.wait_for_sends(before + 1, timeout=10)
    assert "王芳已接入" in joined[before]["body"]["text"]["content"]

    before = len(wechat_api.sent)
    status, body = await wechat.push(text_xml("我的快递三天没动了", msg_id=str(time.time_ns())))
    assert (status, body) == (200, "success")  # the bot stays silent: the agent answers
    async with http.post(
        f"{workspace_url}/api/chats/{chat['id']}/messages",
        json={"text": "您好，这就帮您催一下"},
        headers=agent,
    ) as sent:
        assert (await sent.json())["state"] == "sent"
    delivered = await wechat_api.wait_for_sends(before + 1, timeout=10)
    assert delivered[before]["body"] == {
        "touser": OPENID,
        "msgtype": "text",
        "text": {"content": "【客服王芳】您好，这就帮您催一下"},
    }
    wechat_api.send_errors = [45047]  # WeChat's limit of messages before the customer answers
    async with http.post(
        f"{workspace_url}/api/chats/{chat['id']}/messages", json={"text": "还有别的问题吗"}, headers=agent
    ) as refused:
        message = await refused.json()
    assert message["state"] == "failed" and "最多只能连发5条" in message["error"], message
    async with http.get(f"{workspace_url}/api/chats/{chat['id']}", headers=agent) as opened:
        lines = [(m["by"], m["text"]) for m in (await opened.json())["messages"]]
    assert ("customer", "我的快递三天没动了") in lines and ("agent", "您好，这就帮您催一下") in lines
    assert ("agent", "还有别的问题吗") not in lines  # not delivered, so not in the transcript

    before = len(wechat_api.sent)
    async with http.post(
        f"{workspace_url}/api/chats/{chat['id']}/close", json={"result": "resolved"}, headers=agent
    ) as closed:
        assert closed.status == 200
    after = await wechat_api.wait_for_sends(before + 2, timeout=10)
    assert "打分" in after[-1]["body"]["text"]["content"]
    thanks = await wechat_reply(wechat, wechat_api, "5分", len(wechat_api.sent))
    assert "感谢您的评价" in thanks  # WeChat has no stars: the score is typed
    with store() as session:
        assert session.get(LiveChat, chat["id"]).rating == 5


async def test_a_phone_caller_is_transferred_and_the_agent_works_the_call_in_the_workspace(
    e2e_stack, rasa_url, workspace_url, http, store, agent, phone_call
):
    call = phone_call()
    await call.dial_in()
    await call.press("0")
    assert call.verbs == ["Say", "Dial"]  # the gateway rings the agent line
    async with http.get(f"{workspace_url}/api/queue", headers=agent) as queue:
        [waiting] = [c for c in (await queue.json())["queue"] if c["conversation_id"] == call.sid]
    assert (waiting["channel_name"], waiting["status"]) == ("电话", "waiting")

    # 王芳 picks up the agent line and takes the call in the workspace: the bot's part is there.
    async with http.post(f"{workspace_url}/api/chats/{waiting['id']}/accept", headers=agent) as accepted:
        assert accepted.status == 200
    async with http.get(f"{workspace_url}/api/chats/{waiting['id']}", headers=agent) as opened:
        chat = await opened.json()
    assert [m["by"] for m in chat["messages"]] == ["customer", "bot"]  # pressed 0, heard the transfer
    async with http.post(
        f"{workspace_url}/api/chats/{waiting['id']}/messages", json={"text": "您好"}, headers=agent
    ) as typed:
        assert typed.status == 409 and "电话里直接沟通" in (await typed.json())["error"]

    await call.dial_ends("completed", duration="95")  # the agent hung up; the caller rates them
    assert "非常满意请按5" in call.spoken
    await call.press("5")
    assert "感谢您的评价" in call.spoken and call.verbs == ["Say", "Hangup"]
    await call.hang_up()
    async with http.post(
        f"{workspace_url}/api/chats/{waiting['id']}/close",
        json={"result": "resolved", "note": "已电话说明退货流程"},
        headers=agent,
    ) as closed:
        assert closed.status == 200
    with store() as session:
        stored = session.get(LiveChat, waiting["id"])
        assert (stored.rating, stored.agent_id, stored.result) == (5, "A001", "resolved")
        assert "call_connected" in [e.kind for e in stored.events]
    async with http.get(
        f"{rasa_url}/conversations/{call.sid}/tracker",
        params={"include_events": "ALL", "token": e2e_stack.api_token},
    ) as answer:
        events = (await answer.json())["events"]
    paused = [e["event"] for e in events].index("pause")
    assert not [e for e in events[paused:] if e["event"] == "bot"]  # the bot said nothing meanwhile


async def test_a_phone_transfer_nobody_answers_is_a_call_back_task_in_the_workspace(
    workspace_url, http, store, agent, phone_call
):
    call = phone_call()
    await call.dial_in()
    await call.press("0")
    await call.dial_ends("no-answer")
    assert "无人接听" in call.spoken and "回电" in call.spoken
    await call.hang_up()
    async with http.get(f"{workspace_url}/api/queue", headers=agent) as queue:
        assert call.sid not in [c["conversation_id"] for c in (await queue.json())["queue"]]
    async with http.get(f"{workspace_url}/api/tickets", headers=agent) as listed:
        tickets = [t for t in (await listed.json())["tickets"] if t["status"] == "open"]
    opened = []
    for ticket in tickets:
        async with http.get(f"{workspace_url}/api/tickets/{ticket['id']}", headers=agent) as one:
            opened.append(await one.json())
    # The note and the ticket show the number masked; the agent reveals it to call back.
    [callback] = [t for t in opened if any("请回电 138****8001" in e["note"] for e in t["events"])]
    assert "电话转人工未接通" in callback["events"][-1]["note"] and callback["phone"] == "138****8001"
    assert CALLER not in json.dumps(opened, ensure_ascii=False)
    async with http.post(
        f"{workspace_url}/api/tickets/{callback['id']}/reveal-phone", headers=agent
    ) as revealed:
        assert revealed.status == 200 and await revealed.json() == {"phone": CALLER}
    with store() as session:
        [entry] = [e for e in AuditLog(session).latest(50) if e.action == "reveal_phone"]
        assert (entry.agent_id, entry.subject, entry.detail) == ("A001", callback["id"], "callback")
