"""The WeChat channel over HTTP, with wechatpy playing WeChat's side (signing, encrypting, reading replies)."""

from __future__ import annotations

import asyncio
import time

import pytest

from business.delivery import DeliveryRefused, refusal_reason
from connectors.dedupe import SqlLedger
from connectors.wechat import WeChatInput, WeChatSettings, customer_for_openid
from connectors.wechat_inbound import (
    DEFAULT_MENU_KEYS,
    EMPTY_VOICE_REPLY,
    UNSUPPORTED_REPLY,
)
from tests.connectors.conftest import FakeRasa
from tests.connectors.drivers import (
    ACCOUNT,
    OPENID,
    WECHAT_AES_KEY,
    WECHAT_APP_ID,
    WECHAT_TOKEN,
    WeChat,
    event_xml,
    text_xml,
    wechat_signature,
)


def settings(**overrides) -> WeChatSettings:
    values = {
        "token": WECHAT_TOKEN,
        "app_id": WECHAT_APP_ID,
        "app_secret": "test-secret",
        "encoding_aes_keys": (WECHAT_AES_KEY,),
        "api_base": "http://127.0.0.1:9",
        "passive_budget_s": 2.0,
        "max_text_bytes": 2048,
        "dedupe_store": "",
        "menu_keys": DEFAULT_MENU_KEYS,
        "max_clock_skew_s": 300.0,
    }
    values.update(overrides)
    return WeChatSettings(**values)


@pytest.fixture
async def wechat(serve, fake_rasa):
    served = await serve(WeChatInput(settings(), identify=lambda openid: None), fake_rasa)
    return WeChat(served)


# -- URL verification --


async def test_url_verification_echoes_echostr(serve, fake_rasa):
    served = await serve(WeChatInput(settings()), fake_rasa)
    now = str(int(time.time()))
    query = {
        "signature": wechat_signature(WECHAT_TOKEN, now, "nonce1"),
        "timestamp": now,
        "nonce": "nonce1",
        "echostr": "5927782489442352469",
    }
    async with served.http.get(f"{served.base_url}/webhook", params=query) as response:
        assert (response.status, await response.text()) == (200, "5927782489442352469")
    query["signature"] = wechat_signature("wrong-token", now, "nonce1")
    async with served.http.get(f"{served.base_url}/webhook", params=query) as response:
        assert response.status == 403
    # A verification request captured long ago, correctly signed, is not echoed.
    query = {
        "signature": wechat_signature(WECHAT_TOKEN, "1410685589", "nonce1"),
        "timestamp": "1410685589",
        "nonce": "nonce1",
        "echostr": "5927782489442352469",
    }
    async with served.http.get(f"{served.base_url}/webhook", params=query) as response:
        assert (response.status, await response.text()) == (403, "请求已过期")


@pytest.mark.parametrize("age_s", [-400, 400, 3600])
async def test_a_signed_push_outside_the_replay_window_makes_no_turn(wechat, fake_rasa, age_s):
    status, body = await wechat.push(
        text_xml("查余额", msg_id=f"71{age_s + 5000}"), sent_at=time.time() - age_s
    )
    assert (status, body) == (403, "请求已过期") and fake_rasa.received == []


async def test_a_push_signed_within_the_window_is_answered(wechat, fake_rasa):
    status, _ = await wechat.push(text_xml("你好", msg_id="7100000000000000001"), sent_at=time.time() - 240)
    assert status == 200 and len(fake_rasa.received) == 1


async def test_unconfigured_channel_answers_503_and_calls_no_turn(serve, fake_rasa):
    served = await serve(WeChatInput(settings(token="", encoding_aes_keys=())), fake_rasa)
    status, _ = await WeChat(served, safe=False, token="").push(text_xml("你好"))
    assert status == 503 and fake_rasa.received == []


# -- messages --


async def test_safe_mode_text_gets_an_encrypted_passive_reply(wechat, fake_rasa):
    reply = await wechat.say(text_xml("查订单XH2611010001"))
    assert reply.type == "text"
    assert reply.content == "收到：查订单XH2611010001"
    assert (reply.source, reply.target) == (ACCOUNT, OPENID)  # from the account, to the user
    [message] = fake_rasa.received
    assert (message.sender_id, message.input_channel) == (OPENID, "wechat")
    assert message.message_id == "6054768590064713728"


async def test_plain_mode_text_gets_a_plain_reply(serve, fake_rasa):
    served = await serve(WeChatInput(settings(encoding_aes_keys=()), identify=lambda openid: None), fake_rasa)
    reply = await WeChat(served, safe=False).say(text_xml("你好"))
    assert reply.content == "收到：你好"


async def test_bound_openid_is_sent_as_verified_identity(serve, fake_rasa, database_url):
    served = await serve(WeChatInput(settings(), identify=customer_for_openid), fake_rasa)
    wechat = WeChat(served)
    await wechat.say(text_xml("查订单", msg_id="1"))
    await wechat.say(text_xml("查订单", msg_id="2", openid="oXH_stranger_9999"))
    bound, stranger = fake_rasa.received
    assert bound.metadata["verified_customer_id"] == "C001"
    assert "verified_customer_id" not in stranger.metadata
    assert bound.metadata["wechat"]["msg_type"] == "text"


@pytest.mark.parametrize(
    "xml, expected_text",
    [
        (event_xml("subscribe", "qrscene_123123"), "/greet"),
        (event_xml("CLICK", "MENU_HUMAN"), "/request_human"),
        (
            "<xml><ToUserName>gh_x</ToUserName><FromUserName>"
            + OPENID
            + "</FromUserName><CreateTime>1</CreateTime>"
            "<MsgType>voice</MsgType><MediaId>m</MediaId><Format>amr</Format><Recognition>我的订单到哪了。</Recognition>"
            "<MsgId>77</MsgId></xml>",
            "我的订单到哪了",
        ),
    ],
    ids=["subscribe-welcome", "menu-click", "voice-recognition"],
)
async def test_events_and_voice_become_turns(wechat, fake_rasa, xml, expected_text):
    await wechat.say(xml)
    assert fake_rasa.texts == [expected_text]


async def test_subscription_scene_reaches_rasa(wechat, fake_rasa):
    await wechat.say(event_xml("subscribe", "qrscene_123123"))
    assert fake_rasa.received[0].metadata["wechat"]["scene"] == "123123"


@pytest.mark.parametrize(
    "xml, expected_reply",
    [
        (
            "<xml><ToUserName>gh_x</ToUserName><FromUserName>"
            + OPENID
            + "</FromUserName><CreateTime>1</CreateTime>"
            "<MsgType>voice</MsgType><MediaId>m</MediaId><Format>amr</Format><Recognition></Recognition>"
            "<MsgId>78</MsgId></xml>",
            EMPTY_VOICE_REPLY,
        ),
        (
            "<xml><ToUserName>gh_x</ToUserName><FromUserName>"
            + OPENID
            + "</FromUserName><CreateTime>1</CreateTime>"
            "<MsgType>image</MsgType><PicUrl>http://x/a.png</PicUrl><MediaId>m</MediaId><MsgId>79</MsgId></xml>",
            UNSUPPORTED_REPLY,
        ),
    ],
    ids=["empty-recognition", "image"],
)
async def test_unreadable_messages_get_a_polite_reply_without_a_turn(wechat, fake_rasa, xml, expected_reply):
    reply = await wechat.say(xml)
    assert reply.content == expected_reply
    assert fake_rasa.received == []


async def test_unsubscribe_is_acknowledged_silently(wechat, fake_rasa):
    status, body = await wechat.push(event_xml("unsubscribe"))
    assert (status, body) == (200, "success")
    assert fake_rasa.received == []


async def test_numbered_choice_sends_the_buttons_payload(wechat, fake_rasa):
    fake_rasa.replies = lambda m: [
        {
            "text": "您想了解的是下面哪一个？",
            "buttons": [
                {"title": "退货政策", "payload": '/ask_faq{"faq_document": "return-policy"}'},
                {"title": "退款时效", "payload": '/ask_faq{"faq_document": "refund-time"}'},
            ],
        }
    ]
    reply = await wechat.say(text_xml("退", msg_id="10"))
    assert "回复 1：退货政策" in reply.content and "回复 2：退款时效" in reply.content
    await wechat.say(text_xml("2", msg_id="11"))
    assert fake_rasa.texts[-1] == '/ask_faq{"faq_document": "refund-time"}'


# -- refusals --


@pytest.mark.parametrize(
    "override",
    [{"signature": "0" * 40}, {"msg_signature": "0" * 40}, {"signature": ""}],
    ids=["bad-signature", "bad-msg-signature", "missing-signature"],
)
async def test_forged_pushes_get_403_and_reach_nobody(wechat, fake_rasa, override):
    status, _ = await wechat.push(text_xml("你好"), query_override=override)
    assert status == 403 and fake_rasa.received == []


async def test_push_for_another_app_id_is_refused(serve, fake_rasa):
    served = await serve(WeChatInput(settings(app_id="wxSOMEONEELSE")), fake_rasa)
    status, _ = await WeChat(served).push(text_xml("你好"))
    assert status == 400 and fake_rasa.received == []


TEXT_FIELDS = (
    "<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><MsgType>text</MsgType>"
    "<Content>{content}</Content></xml>"
)


@pytest.mark.parametrize(
    "xml",
    [
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>'
        + TEXT_FIELDS.format(content="&lol2;"),
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        + TEXT_FIELDS.format(content="&e;"),
        "<xml><Content>没有发送者</Content></xml>",
        "这不是XML",
    ],
    ids=["entity-expansion", "external-entity", "missing-fields", "not-xml"],
)
@pytest.mark.parametrize("safe", [True, False], ids=["safe", "plain"])
async def test_hostile_or_malformed_xml_gets_400(serve, fake_rasa, xml, safe):
    served = await serve(WeChatInput(settings(), identify=lambda openid: None), fake_rasa)
    status, _ = await WeChat(served, safe=safe).push(xml)
    assert status == 400 and fake_rasa.received == []


# -- retries, slow turns, the customer-service API --


async def test_retried_delivery_makes_one_turn_and_repeats_the_reply(wechat, fake_rasa):
    fake_rasa.delay_s = 0.3
    first, retry = await asyncio.gather(
        wechat.say(text_xml("查订单", msg_id="500")), wechat.say(text_xml("查订单", msg_id="500"))
    )
    late_retry = await wechat.say(text_xml("查订单", msg_id="500"))
    assert len(fake_rasa.received) == 1
    assert first.content == retry.content == late_retry.content == "收到：查订单"


async def test_retried_event_is_deduplicated_by_sender_and_time(wechat, fake_rasa):
    await wechat.say(event_xml("CLICK", "MENU_ORDER", created="1700000001"))
    await wechat.say(event_xml("CLICK", "MENU_ORDER", created="1700000001"))
    await wechat.say(event_xml("CLICK", "MENU_ORDER", created="1700000002"))
    assert fake_rasa.texts == ["/order_status", "/order_status"]


async def test_workers_sharing_a_sql_store_make_one_turn(serve, tmp_path):
    url = f"sqlite:///{tmp_path / 'dedupe.db'}"
    rasas = []
    workers = []
    for _ in range(2):
        rasa = FakeRasa(delay_s=0.2)
        rasas.append(rasa)
        channel = WeChatInput(settings(dedupe_store=url), identify=lambda openid: None, ledger=SqlLedger(url))
        workers.append(WeChat(await serve(channel, rasa)))
    answers = await asyncio.gather(*(w.push(text_xml("你好", msg_id="900")) for w in workers))
    assert sum(len(r.received) for r in rasas) == 1
    assert sorted(body == "success" for _, body in answers) == [False, True]


async def test_slow_turn_answers_success_then_sends_through_the_api(serve, fake_rasa, wechat_api):
    fake_rasa.delay_s = 0.8
    channel = WeChatInput(
        settings(api_base=wechat_api.base_url, passive_budget_s=0.2), identify=lambda o: None
    )
    wechat = WeChat(await serve(channel, fake_rasa))
    status, body = await wechat.push(text_xml("查订单XH2611010001", msg_id="600"))
    assert (status, body) == (200, "success")
    [sent] = await wechat_api.wait_for_sends(1)
    assert sent["body"] == {
        "touser": OPENID,
        "msgtype": "text",
        "text": {"content": "收到：查订单XH2611010001"},
    }
    assert sent["token"] == "TOKEN1"
    # A second slow message reuses the cached access token.
    await wechat.push(text_xml("再查一次", msg_id="601"))
    await wechat_api.wait_for_sends(2)
    assert wechat_api.tokens_issued == 1 and wechat_api.sent[1]["token"] == "TOKEN1"


async def test_expired_token_is_renewed_once_and_the_message_still_sent(serve, fake_rasa, wechat_api):
    fake_rasa.delay_s = 0.5
    wechat_api.send_errors = [42001]
    channel = WeChatInput(
        settings(api_base=wechat_api.base_url, passive_budget_s=0.1), identify=lambda o: None
    )
    await WeChat(await serve(channel, fake_rasa)).push(text_xml("你好", msg_id="700"))
    sends = await wechat_api.wait_for_sends(2)
    assert [s["token"] for s in sends] == ["TOKEN1", "TOKEN2"]


async def test_long_reply_passive_part_first_rest_through_the_api(serve, fake_rasa, wechat_api):
    paragraph = "订单已发货，顺丰速运，运单号 SF1402837465921。" * 40  # ~2.3 KB
    fake_rasa.replies = lambda m: [{"text": paragraph}, {"text": "还有什么可以帮您？"}]
    channel = WeChatInput(settings(api_base=wechat_api.base_url), identify=lambda o: None)
    reply = await WeChat(await serve(channel, fake_rasa)).say(text_xml("查订单", msg_id="800"))
    assert len(reply.content.encode("utf-8")) <= 2048
    [rest] = await wechat_api.wait_for_sends(1)
    assert (reply.content + rest["body"]["text"]["content"]).replace("\n", "") == (
        paragraph + "还有什么可以帮您？"
    )


async def test_quota_error_stops_the_remaining_messages(serve, fake_rasa, wechat_api):
    fake_rasa.delay_s = 0.3
    fake_rasa.replies = lambda m: [{"text": "甲" * 1000}, {"text": "乙" * 1000}, {"text": "丙" * 1000}]
    wechat_api.send_errors = [45047]
    channel = WeChatInput(
        settings(api_base=wechat_api.base_url, passive_budget_s=0.1), identify=lambda o: None
    )
    await WeChat(await serve(channel, fake_rasa)).push(text_xml("你好", msg_id="801"))
    await wechat_api.wait_for_sends(1)
    await asyncio.sleep(0.3)
    assert len(wechat_api.sent) == 1


async def test_proactive_messages_go_through_the_api(wechat_api):
    channel = WeChatInput(settings(api_base=wechat_api.base_url), identify=lambda o: None)
    await channel.get_output_channel().send_response(OPENID, {"text": "您的退款已原路退回。"})
    assert [s["body"]["text"]["content"] for s in wechat_api.sent] == ["您的退款已原路退回。"]


async def test_an_unreachable_api_is_logged_without_the_access_token(serve, fake_rasa, wechat_api, caplog):
    fake_rasa.delay_s = 0.3
    wechat_api.broken = True
    channel = WeChatInput(
        settings(api_base=wechat_api.base_url, passive_budget_s=0.1), identify=lambda o: None
    )
    await WeChat(await serve(channel, fake_rasa)).push(text_xml("你好", msg_id="802"))
    await wechat_api.wait_for_sends(1)
    await asyncio.sleep(0.2)
    assert "WeChat API unreachable" in caplog.text
    assert "TOKEN1" not in caplog.text and "test-secret" not in caplog.text


async def test_an_agents_message_from_the_workspace_arrives_as_a_customer_service_message_with_their_name(
    wechat_api,
):
    # What Rasa does with the workspace's bot event (execute_side_effects, output_channel=latest).
    output = WeChatInput(settings(api_base=wechat_api.base_url), identify=lambda o: None).get_output_channel()
    await output.send_response(
        OPENID, {"text": "您好，我是王芳，这就帮您查", "agent_id": "A001", "agent_name": "王芳"}
    )
    await output.send_response(OPENID, {"text": "本次人工服务已结束", "utter_action": "utter_agent_closed"})
    sent = await wechat_api.wait_for_sends(2)
    assert [s["body"]["text"]["content"] for s in sent] == [
        "【客服王芳】您好，我是王芳，这就帮您查",
        "本次人工服务已结束",
    ]


@pytest.mark.parametrize(
    "errcode, reason",
    [(45015, "超过48小时"), (45047, "最多只能连发5条"), (43004, "取消关注"), (99999, "错误码 99999")],
)
async def test_a_message_wechat_refuses_says_why_in_chinese_for_the_agent(wechat_api, errcode, reason):
    output = WeChatInput(settings(api_base=wechat_api.base_url), identify=lambda o: None).get_output_channel()
    wechat_api.send_errors = [errcode]
    with pytest.raises(DeliveryRefused) as refused:
        await output.send_response(OPENID, {"text": "您好", "agent_id": "A001", "agent_name": "王芳"})
    # The reason rides inside Rasa's error answer to the workspace, which finds it there.
    rasa_error = f"An unexpected error occurred. Error: {refused.value}"
    assert reason in refusal_reason(rasa_error)


async def test_an_unreachable_api_refuses_an_agents_message_without_the_access_token(wechat_api):
    output = WeChatInput(settings(api_base=wechat_api.base_url), identify=lambda o: None).get_output_channel()
    wechat_api.broken = True
    with pytest.raises(DeliveryRefused) as refused:
        await output.send_response(OPENID, {"text": "您好", "agent_id": "A001", "agent_name": "王芳"})
    assert refusal_reason(str(refused.value)) == "微信接口暂时连不上，请稍后再发"
