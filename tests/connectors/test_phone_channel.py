"""Whole phone calls through the phone channel: the twilio library signs each webhook like
the gateway does, and the returned TwiML is parsed and followed like the gateway would."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Dict, List
from urllib.parse import urljoin

import pytest
from twilio.request_validator import RequestValidator

from business import sealing
from business.services.agents import AgentDirectory
from business.services.callbacks import CallbackNumbers
from business.services.live_chat import LiveChatService, Routing
from business.services.tickets import TicketService
from business.store.db import session_scope
from business.store.models import LiveChat
from connectors.phone import (
    GREETING,
    NOTICE,
    CallRecords,
    PhoneInput,
    PhoneSettings,
)
from connectors.phone_twiml import VoiceStyle
from tests.conftest import NOW
from tests.connectors.drivers import (
    AGENT_LINE,
    CALLER,
    PUBLIC_URL,
    TWILIO_TOKEN,
    Gateway,
)


def phone_settings(**overrides) -> PhoneSettings:
    values = {
        "auth_token": TWILIO_TOKEN,
        "public_base_url": PUBLIC_URL,
        "agent_number": AGENT_LINE,
        "caller_id": "",
        "style": VoiceStyle(
            voice="Polly.Zhiyu", say_language="cmn-CN", speech_language="zh-CN", dial_timeout_s=25
        ),
        "hold_after_s": 3.0,
        "max_reprompts": 2,
        "min_confidence": 0.3,
        "transfer_responses": frozenset({"utter_handoff_queued"}),
        "goodbye_responses": frozenset({"utter_goodbye"}),
    }
    values.update(overrides)
    return PhoneSettings(**values)


def scripted(script: Dict[str, List[dict]]):
    """Fake Rasa answers: what the bot says to each user text."""
    return lambda message: script.get(message.text, [{"text": "抱歉，我没太理解您的意思。"}])


HUMAN_PAYLOAD = "/request_human"
HANDOFF_REPLY = {
    "text": "已为您转接人工客服（工单号 {ticket}），当前排队第1位，请稍候。",
    "utter_action": "utter_handoff_queued",
}
ORDER_SCRIPT = {
    "/order_status": [{"text": "好的，请告诉我您的订单号（XH开头）。"}],
    "订单号是XH2611010001": [
        {
            "text": "订单 XH2611010001（蓝牙耳机）已于11月20日发货，顺丰速运，运单号 SF1402837465921。\n"
            "预计11月23日送达，收件人 张* 138****8001。"
        }
    ],
    "再见": [{"text": "感谢您的咨询，祝您生活愉快，再见！", "utter_action": "utter_goodbye"}],
}


@pytest.fixture
async def phone(serve, fake_rasa, database_url):
    async def start(records=None, **overrides) -> Gateway:
        channel = PhoneInput(phone_settings(**overrides), records=records)
        return Gateway(await serve(channel, fake_rasa))

    return start


def queue_the_call(sid: str) -> str:
    """What the bot's handoff does for a call in service hours: a ticket and a place in the queue."""
    with session_scope() as session:
        ticket = TicketService(session).open("handoff", "客户请求人工服务", NOW, status="queued")
        LiveChatService(session).enqueue(sid, "phone", Routing("mall", 2, "asked", None), NOW, ticket=ticket)
        return ticket.id


async def transferred(phone, fake_rasa) -> Gateway:
    """A call that asked for a person with 0 and is ringing the agent line."""
    call = await phone()
    ticket = queue_the_call(call.sid)
    reply = dict(HANDOFF_REPLY, text=HANDOFF_REPLY["text"].format(ticket=ticket), ticket_id=ticket)
    fake_rasa.replies = scripted({HUMAN_PAYLOAD: [reply]})
    await call.dial_in()
    await call.press("0")
    assert call.verbs == ["Say", "Dial"]
    return call


def accept_in_the_workspace(sid: str) -> int:
    """王芳 picks up the agent line and takes the call in the workspace."""
    with session_scope() as session:
        agent = AgentDirectory(session).find("A001")
        service = LiveChatService(session)
        chat = service.open_chat(sid)
        assert service.accept(chat.id, agent, NOW)
        return chat.id


def the_chat(sid: str) -> LiveChat:
    with session_scope() as session:
        chat = LiveChatService(session).latest_chat(sid)
        session.expunge(chat)
        return chat


async def test_keypad_1_then_order_status_by_speech_then_goodbye_and_hang_up(phone, fake_rasa):
    fake_rasa.replies = scripted(ORDER_SCRIPT)
    call = await phone()

    await call.dial_in()
    assert call.verbs == ["Say", "Gather", "Redirect"]  # the recording notice cannot be skipped
    assert call.doc.find("Say").text == NOTICE
    gather = call.doc.find("Gather")
    assert (gather.get("input"), gather.get("language"), gather.get("numDigits")) == (
        "dtmf speech",
        "zh-CN",
        "1",
    )
    assert gather.get("bargeIn") == "true"
    assert gather.find("Say").text == GREETING
    assert gather.find("Say").get("voice") == "Polly.Zhiyu"
    assert "按1，查询订单" in GREETING and "按0，转人工" in GREETING

    await call.press("1")
    assert fake_rasa.texts == ["/order_status"]
    assert "请告诉我您的订单号" in call.spoken

    await call.speak("订单号是XH2611010001")
    assert "X H 2 6 1 1 0 1 0 0 0 1" in call.spoken  # ids read digit by digit
    assert "S F 1 4 0 2 8 3 7 4 6 5 9 2 1" in call.spoken and "顺丰速运" in call.spoken
    assert "尾号 8 0 0 1" in call.spoken and "*" not in call.spoken
    assert call.doc.find("Gather") is not None  # the conversation goes on

    await call.speak("再见")
    assert call.verbs == ["Say", "Hangup"]
    assert "再见" in call.spoken

    await call.hang_up()
    assert fake_rasa.texts[-1] == "/restart"  # the status callback closes the conversation
    assert {m.sender_id for m in fake_rasa.received} == {call.sid}  # one conversation per call
    assert {m.input_channel for m in fake_rasa.received} == {"phone"}


async def test_keypad_0_transfers_to_the_agent_line(phone, fake_rasa):
    fake_rasa.replies = scripted({HUMAN_PAYLOAD: [HANDOFF_REPLY]})
    call = await phone()
    await call.dial_in()
    await call.press("0")
    assert fake_rasa.texts == ["/request_human"]
    assert call.verbs == ["Say", "Dial"]
    dial = call.doc.find("Dial")
    assert dial.find("Number").text == AGENT_LINE
    assert dial.get("timeout") == "25"


async def test_the_agent_takes_the_call_then_the_caller_rates_them_on_the_keypad(phone, fake_rasa):
    call = await transferred(phone, fake_rasa)
    chat_id = accept_in_the_workspace(call.sid)

    await call.dial_ends("completed", duration="95")  # the agent hung up; the caller is still there
    assert call.verbs == ["Gather", "Say", "Hangup"]  # pressing nothing ends the call politely
    gather = call.doc.find("Gather")
    assert (gather.get("input"), gather.get("numDigits")) == ("dtmf", "1")
    assert "非常满意请按5" in gather.find("Say").text

    await call.press("5")
    assert call.verbs == ["Say", "Hangup"] and "感谢您的评价" in call.spoken
    chat = the_chat(call.sid)
    assert (chat.id, chat.rating, chat.agent_id, chat.status) == (chat_id, 5, "A001", "active")

    await call.hang_up()
    # No restart: the bot paused before listening and would answer it with fallbacks; the agent's
    # close resumes the conversation.
    assert "/restart" not in fake_rasa.texts
    chat = the_chat(call.sid)
    # The agent records the result afterwards (after-call work); the call's history is on the chat.
    assert chat.status == "active"
    with session_scope() as session:
        kinds = [(e.kind, e.detail) for e in session.get(LiveChat, chat_id).events]
    assert ("call_connected", "人工通话95秒") in kinds and kinds[-1][0] == "call_ended"


async def test_a_key_other_than_1_to_5_is_no_rating(phone, fake_rasa):
    call = await transferred(phone, fake_rasa)
    accept_in_the_workspace(call.sid)
    await call.dial_ends("completed")
    await call.press("9")
    assert call.verbs == ["Say", "Hangup"] and "感谢您的评价" not in call.spoken
    assert the_chat(call.sid).rating is None


async def test_a_call_nobody_took_in_the_workspace_is_closed_and_its_ticket_left_to_check(phone, fake_rasa):
    call = await transferred(phone, fake_rasa)
    await call.dial_ends("completed")
    chat = the_chat(call.sid)
    assert (chat.status, chat.agent_id) == ("closed", None)  # out of the queue, not left waiting
    with session_scope() as session:
        ticket = TicketService(session).find(chat.ticket_id)
        assert ticket.status == "open" and "请核实" in ticket.events[-1].note


async def test_the_agent_hands_the_caller_back_to_the_bot(phone, fake_rasa):
    call = await transferred(phone, fake_rasa)
    chat_id = accept_in_the_workspace(call.sid)
    with session_scope() as session:
        LiveChatService(session).hand_back(chat_id, AgentDirectory(session).find("A001"), NOW)
    await call.dial_ends("completed")
    assert call.doc.find("Gather").get("input") == "dtmf speech"  # the bot listens again
    assert "请问还有什么可以帮您" in call.spoken


async def test_a_caller_who_hangs_up_while_the_agent_line_rings_leaves_the_queue(phone, fake_rasa):
    call = await transferred(phone, fake_rasa)
    await call.hang_up()
    chat = the_chat(call.sid)
    assert chat.status == "cancelled"
    with session_scope() as session:
        ticket = TicketService(session).find(chat.ticket_id)
        assert ticket.status == "open" and "请回电" in ticket.events[-1].note


async def test_transfer_nobody_answers_keeps_the_ticket_for_a_call_back(phone, fake_rasa, monkeypatch):
    monkeypatch.setenv(sealing.KEY_ENV, "ab" * 32)
    call = await transferred(phone, fake_rasa)
    ticket = the_chat(call.sid).ticket_id
    await call.dial_ends("no-answer")
    assert call.verbs == ["Say", "Hangup"]
    assert "无人接听" in call.spoken and "回电" in call.spoken
    assert " ".join(ticket) in call.spoken
    with session_scope() as session:
        stored = TicketService(session).find(ticket)
        assert stored.status == "open"
        # The note shows the number masked; the number itself rests sealed, for the audited reveal.
        assert "请回电 138****8001" in stored.events[-1].note and CALLER not in stored.events[-1].note
        assert CallbackNumbers(session).reveal(ticket) == CALLER
        assert LiveChatService(session).open_chat(call.sid) is None  # out of the agents' queue


async def test_transfer_without_an_agent_line_promises_a_call_back(phone, fake_rasa):
    recorded = []

    class Recorded(CallRecords):
        def missed_transfer(self, ticket_id, conversation_id, caller, reason):
            recorded.append((ticket_id, conversation_id, caller, reason))
            return ticket_id

    fake_rasa.replies = scripted({HUMAN_PAYLOAD: [dict(HANDOFF_REPLY, ticket_id="TK20261122007")]})
    call = await phone(agent_number="", records=Recorded())
    await call.dial_in()
    await call.press("0")
    assert call.verbs == ["Say", "Hangup"]
    assert "T K 2 0 2 6 1 1 2 2 0 0 7" in call.spoken and "回电" in call.spoken
    assert recorded == [("TK20261122007", call.sid, CALLER, "no agent line configured")]


async def test_silence_three_times_reprompts_twice_then_says_goodbye(phone, fake_rasa):
    call = await phone()
    await call.dial_in()
    for _ in range(2):
        await call.stay_silent()
        assert call.spoken.startswith("抱歉，我没有听到您的声音。")
        assert GREETING in call.spoken
        assert call.doc.find("Gather").get("numDigits") == "1"  # the keypad menu still works
    await call.stay_silent()
    assert call.verbs == ["Say", "Hangup"]
    assert "再见" in call.spoken
    assert fake_rasa.received == []


async def test_unclear_speech_is_asked_again_then_passed_to_a_person(phone, fake_rasa):
    call = await phone()
    await call.dial_in()
    for _ in range(2):
        await call.speak("嗯啊那个", confidence="0.1")
        assert call.spoken.startswith("抱歉，我没有听清。")
    await call.speak("嗯啊那个", confidence="0.1")
    assert call.verbs == ["Say", "Dial"]
    assert fake_rasa.received == []


async def test_a_slow_turn_holds_the_call_then_answers(phone, fake_rasa):
    fake_rasa.replies = scripted(ORDER_SCRIPT)
    fake_rasa.delay_s = 1.0
    call = await phone(hold_after_s=0.3)
    await call.dial_in()
    await call.press("1")
    assert call.holds >= 2
    assert "请告诉我您的订单号" in call.spoken
    assert fake_rasa.texts == ["/order_status"]  # polling never re-runs the turn


async def test_a_retried_webhook_makes_no_second_turn(phone, fake_rasa):
    fake_rasa.replies = scripted(ORDER_SCRIPT)
    call = await phone()
    await call.dial_in()
    action = call.doc.find("Gather").get("action")
    first = ET.tostring(await call.step(action, Digits="1"))
    call.path = "/webhooks/phone/voice"
    again = ET.tostring(await call.step(action, Digits="1"))
    assert first == again
    assert fake_rasa.texts == ["/order_status"]


async def test_replayed_webhooks_of_an_ended_call_only_hang_up(phone, fake_rasa):
    fake_rasa.replies = scripted(ORDER_SCRIPT)
    call = await phone()
    await call.dial_in()
    action = call.doc.find("Gather").get("action")
    await call.step(action, Digits="1")
    await call.hang_up()
    restarts = list(fake_rasa.texts)
    for replayed in ("/webhooks/phone/voice", action):
        call.path = "/webhooks/phone/voice"
        assert await call.post(replayed, Digits="1") == 200
        assert [child.tag for child in call.doc] == ["Hangup"]
    assert fake_rasa.texts == restarts  # no new turn, no second restart


async def test_a_webhook_for_a_turn_never_issued_is_refused(phone, fake_rasa):
    fake_rasa.replies = scripted(ORDER_SCRIPT)
    call = await phone()
    await call.dial_in()
    assert await call.post("gather?turn=7", Digits="1") == 409
    assert fake_rasa.texts == []


async def test_a_repeated_incoming_call_webhook_greets_again_without_a_new_turn(phone, fake_rasa):
    call = await phone()
    first = ET.tostring(await call.dial_in())
    assert ET.tostring(await call.dial_in()) == first and fake_rasa.texts == []


async def test_buttons_become_a_keypad_menu(phone, fake_rasa):
    fake_rasa.replies = scripted(
        {
            "退": [
                {
                    "text": "您想了解的是下面哪一个？",
                    "buttons": [
                        {"title": "退货政策", "payload": '/ask_faq{"faq_document": "return-policy"}'},
                        {"title": "退款时效", "payload": '/ask_faq{"faq_document": "refund-time"}'},
                    ],
                }
            ]
        }
    )
    call = await phone()
    await call.dial_in()
    await call.speak("退")
    assert "按1，退货政策；按2，退款时效。" in call.spoken
    assert call.doc.find("Gather").get("numDigits") == "1"
    await call.press("2")
    assert fake_rasa.texts[-1] == '/ask_faq{"faq_document": "refund-time"}'


@pytest.mark.parametrize("tamper", ["missing", "forged", "other-token", "changed-speech"])
async def test_unsigned_or_forged_webhooks_get_403(phone, fake_rasa, tamper):
    call = await phone()
    await call.dial_in()
    action = call.doc.find("Gather").get("action")
    path = urljoin(call.path, action)
    form = {"CallSid": call.sid, "From": CALLER, "SpeechResult": "查订单", "Confidence": "0.9"}
    signature = {
        "missing": "",
        "forged": "0/KCTR6DLpKmkAf8muzZqo1nDgQ=",
        "other-token": RequestValidator("someone-else").compute_signature(PUBLIC_URL + path, form),
        "changed-speech": RequestValidator(TWILIO_TOKEN).compute_signature(
            PUBLIC_URL + path, {**form, "SpeechResult": "转人工"}
        ),
    }[tamper]
    async with call.served.http.post(
        call.origin + path, data=form, headers={"X-Twilio-Signature": signature}
    ) as answer:
        assert answer.status == 403
    assert fake_rasa.received == []


async def test_signature_for_the_public_url_vector_is_accepted(phone, fake_rasa):
    """Research vector T2: token 12345, the public URL and a Chinese SpeechResult.

    The signature passes (a wrong one is 403); turn 3 of a call this process never
    greeted (in progress before a restart, or a replay) makes no turn: the caller is
    told in Chinese and the call ends."""
    call = await phone(auth_token="12345", public_base_url="https://bot.example.com")
    form = {
        "CallSid": "CAxxxxxxxx",
        "From": "+8613800138000",
        "SpeechResult": "我要查询订单",
        "Confidence": "0.92",
        "CallStatus": "in-progress",
    }
    for signature, status in (("s9ESIIjsp6ZiYSnFIztrSwaim7g=", 200), ("s9ESIIjsp6ZiYSnFIztrSwaim7h=", 403)):
        async with call.served.http.post(
            call.origin + "/webhooks/phone/gather?turn=3",
            data=form,
            headers={"X-Twilio-Signature": signature},
        ) as answer:
            assert answer.status == status
            if status == 200:
                twiml = ET.fromstring(await answer.text())
                assert [child.tag for child in twiml] == ["Say", "Hangup"] and "重新拨打" in twiml[0].text
    assert fake_rasa.texts == []


async def test_unconfigured_channel_answers_503(phone, fake_rasa):
    call = await phone(auth_token="")
    assert await call.post("/webhooks/phone/voice", signature="") == 503
