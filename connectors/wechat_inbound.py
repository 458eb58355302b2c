"""What a WeChat push means for the assistant: a Rasa turn, a direct reply, or nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional

SUBSCRIBE_PAYLOAD = "/greet"
# Answered without Rasa: the assistant reads text only.
UNSUPPORTED_REPLY = (
    "抱歉，我暂时只能看懂文字和语音消息。请用文字描述您的问题，例如“查订单XH开头的订单号”或“转人工”。"
)
EMPTY_VOICE_REPLY = "抱歉，没能听清您的语音，请再说一遍，或者直接发送文字。"
EMPTY_TEXT_REPLY = "请问有什么可以帮您？可以直接输入您的问题，例如“查订单”“我要退货”“转人工”。"
UNKNOWN_MENU_REPLY = "这个菜单暂时不可用，请直接输入您的问题，或发送“转人工”。"
# Default menu keys of the account's custom menu -> Rasa intents.
DEFAULT_MENU_KEYS: Dict[str, str] = {
    "MENU_HUMAN": "/request_human",
    "MENU_ORDER": "/order_status",
    "MENU_REFUND": "/request_refund",
    "MENU_REFUND_STATUS": "/refund_status",
    "MENU_FLIGHT": "/flight_status",
}


class NotAMessage(ValueError):
    """XML without the fields every WeChat push carries."""


@dataclass(frozen=True)
class Inbound:
    openid: str
    account: str  # the account's original id (gh_…), the reply's sender
    delivery_key: str  # MsgId, or sender + CreateTime + event for events (WeChat's retry rule)
    text: Optional[str] = None  # what Rasa gets, when this makes a turn
    direct_reply: Optional[str] = None  # answered by the connector itself
    metadata: Dict[str, Any] = field(default_factory=dict)


def interpret(fields: Mapping[str, str], menu_keys: Mapping[str, str]) -> Inbound:
    openid, account, msg_type = fields.get("FromUserName"), fields.get("ToUserName"), fields.get("MsgType")
    if not openid or not account or not msg_type:
        raise NotAMessage("FromUserName, ToUserName and MsgType are required")
    msg_type = msg_type.lower()
    event = (fields.get("Event") or "").lower()
    event_key = fields.get("EventKey") or ""
    msg_id = fields.get("MsgId") or ""
    key = msg_id or f"{openid}:{fields.get('CreateTime', '')}:{event}:{event_key}"
    meta = {
        "msg_type": msg_type,
        "msg_id": msg_id,
        "create_time": fields.get("CreateTime", ""),
        "event": event,
        "event_key": event_key,
    }

    def turn(text: str) -> Inbound:
        return Inbound(openid, account, key, text=text, metadata=meta)

    def reply(text: str) -> Inbound:
        return Inbound(openid, account, key, direct_reply=text, metadata=meta)

    if msg_type == "text":
        content = (fields.get("Content") or "").strip()
        return turn(content) if content else reply(EMPTY_TEXT_REPLY)
    if msg_type == "voice":
        # Recognition is absent without 语音识别 and sometimes empty even with it.
        recognition = (fields.get("Recognition") or "").strip().rstrip("。")
        return turn(recognition) if recognition else reply(EMPTY_VOICE_REPLY)
    if msg_type != "event":
        return reply(UNSUPPORTED_REPLY)
    if event == "subscribe":
        meta["scene"] = event_key[len("qrscene_") :] if event_key.startswith("qrscene_") else ""
        return turn(SUBSCRIBE_PAYLOAD)
    if event == "click":
        mapped = menu_keys.get(event_key)
        return turn(mapped) if mapped else reply(UNKNOWN_MENU_REPLY)
    # unsubscribe, VIEW, LOCATION, SCAN…: nothing to say (WeChat shows no reply to them).
    return Inbound(openid, account, key, metadata=meta)
