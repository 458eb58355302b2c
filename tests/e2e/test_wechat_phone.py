"""The WeChat and phone channels end to end: one journey each through the channel's
webhook of the real Rasa server (trained model, action server, demo data).

WeChat: wechatpy signs and encrypts the push like WeChat does; a reply that misses
the passive window arrives at the fake WeChat API on the port the harness configured.
Phone: the twilio library signs every webhook and the TwiML is followed like a gateway.
"""

from __future__ import annotations

import time

import aiohttp
import pytest

from tests.connectors.drivers import OPENID, FakeWeChatApi, Gateway, Served, WeChat, text_xml


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


async def test_wechat_order_status_from_a_bound_user(e2e_stack, rasa_url, wechat_api, http, chat):
    env = e2e_stack.env
    wechat = WeChat(
        Served(f"{rasa_url}/webhooks/wechat", http),
        token=env["WECHAT_TOKEN"],
        aes_key=env["WECHAT_AES_KEY"],
        app_id=env["WECHAT_APP_ID"],
    )
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


async def test_phone_keypad_order_status_by_speech_then_goodbye(e2e_stack, rasa_url, http):
    env = e2e_stack.env
    call = Gateway(
        Served(f"{rasa_url}/webhooks/phone", http),
        token=env["TWILIO_AUTH_TOKEN"],
        public_url=env["PHONE_PUBLIC_URL"],
    )
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
