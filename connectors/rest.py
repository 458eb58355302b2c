"""REST channel: `POST /webhooks/rest/webhook` with `{"sender": …, "message": …}`, and
`POST /webhooks/rest/messages` with `{"sender": …, "since": …}` for what was said since then
(an agent in the workspace writes while the integration is not asking).

It replaces Rasa's built-in `rest` channel (same URL, same reply: a list of
bot messages), which passes on whatever `metadata` and `input_channel` a client
sends, so any client could call itself a verified customer.  Here:

* a client is an anonymous customer, in the conversation `rest:<sender>`; a
  sender named like a WeChat openid or a web visitor id never reaches those
  channels' conversations;
* a back-office integration that has verified the customer itself sends
  `metadata.customer_token`: a JWT signed with `XINGHE_REST_SECRET`, `aud`
  REST_AUDIENCE, at most `token_max_lifetime_s` between `iat` and `exp`.  Its
  conversation is `rest-verified:<customer>:<sender>`, which no anonymous
  request can reach, and a wrong, expired or foreign token is refused (401);
* every other metadata key is dropped, `input_channel` is always `rest`;
* a body that is too large, not a JSON object, or without a sender and a
  message is refused with a Chinese `error` and a stable `code`.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass
from enum import Enum
from functools import partial
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Mapping, Optional, Tuple

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.shared.core.events import BotUttered
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from business.services.identity import VERIFIED_CUSTOMER_KEY
from connectors.settings import ConfiguredInput, number_setting, setting
from connectors.signed import TokenRejected, decode_token, mint_customer_token
from connectors.webchat.limits import message_problem

logger = logging.getLogger(__name__)

REST_AUDIENCE = "xinghe-rest"
SECRET_ENV = "XINGHE_REST_SECRET"
ANONYMOUS_PREFIX = "rest:"
VERIFIED_PREFIX = "rest-verified:"
# Chinese stays readable in the answer (Sanic's default escapes it as \uXXXX).
readable_json = partial(response.json, dumps=partial(json.dumps, ensure_ascii=False))


class Refusal(Enum):
    """Why a request is not answered: HTTP status, stable code, Chinese text."""

    TOO_LARGE = (413, "body_too_large", "请求内容过大，请缩短消息后重试。")
    NOT_JSON = (
        400,
        "malformed",
        '请求格式错误：请发送 JSON 对象，例如 {{"sender": "访客编号", "message": "您好"}}。',
    )
    BAD_SENDER = (400, "bad_sender", "请求的 sender（会话编号）须为 1 到 {max_sender} 个字符的文字。")
    BAD_MESSAGE = (
        400,
        "bad_message",
        "请求的 message（消息）须为 1 到 {max_chars} 个字的文字，太长请分几条发送。",
    )
    IDENTITY_DISABLED = (
        403,
        "identity_disabled",
        "本服务未开启签名身份，请去掉 customer_token，以访客身份对话。",
    )
    IDENTITY_INVALID = (401, "identity_invalid", "身份凭证无效或已过期，请由业务系统重新签发后再试。")
    BAD_SINCE = (400, "bad_since", "since 须为数字（Unix 时间，秒）。")
    TURN_FAILED = (500, "server_error", "抱歉，系统有点忙，请稍后再试。")

    def reply(self, **details: object) -> HTTPResponse:
        status, code, text = self.value
        return readable_json({"code": code, "error": text.format(**details)}, status=status)


@dataclass(frozen=True)
class RestSettings:
    secret: str  # empty: signed identities are refused, every client is anonymous
    max_body_bytes: int
    max_message_chars: int
    max_sender_chars: int
    token_max_lifetime_s: int

    @classmethod
    def from_credentials(cls, credentials: Mapping[str, Any]) -> "RestSettings":
        return cls(
            secret=setting(credentials, "secret", SECRET_ENV),
            max_body_bytes=int(
                number_setting(credentials, "max_body_bytes", "XINGHE_REST_MAX_BODY_BYTES", 16384)
            ),
            max_message_chars=int(
                number_setting(credentials, "max_message_chars", "XINGHE_REST_MAX_MESSAGE_CHARS", 2000)
            ),
            max_sender_chars=int(
                number_setting(credentials, "max_sender_chars", "XINGHE_REST_MAX_SENDER_CHARS", 128)
            ),
            token_max_lifetime_s=int(
                number_setting(credentials, "token_max_lifetime_s", "XINGHE_REST_TOKEN_MAX_LIFETIME_S", 600)
            ),
        )


@dataclass(frozen=True)
class RestTurn:
    """One accepted request: whose conversation, what was said, what the channel vouches for."""

    conversation_id: str
    text: str
    metadata: Dict[str, str]


def said_since(events: Iterable[Any], since: float) -> List[Dict[str, Any]]:
    """The bot's and agents' messages after `since`, oldest first."""
    said = []
    for event in events:
        if isinstance(event, BotUttered) and event.text and event.timestamp > since:
            agent = event.metadata.get("agent_name") if event.metadata.get("agent_id") else None
            said.append(
                {
                    "text": event.text,
                    "at": event.timestamp,
                    "from": "agent" if agent else "bot",
                    "agent_name": agent,
                }
            )
    return said


def rest_conversation_id(sender: str, customer_id: Optional[str] = None) -> str:
    """The conversation a REST sender is in, anonymous or with a signed customer id."""
    return f"{VERIFIED_PREFIX}{customer_id}:{sender}" if customer_id else ANONYMOUS_PREFIX + sender


class RestInput(ConfiguredInput):
    channel_name = "rest"
    settings_type = RestSettings

    def __init__(self, settings: RestSettings) -> None:
        self.settings = settings

    def accept(self, body: bytes) -> "RestTurn | HTTPResponse":
        """The turn a request asks for, or the refusal to send back."""
        request = self._json(body)
        if isinstance(request, HTTPResponse):
            return request
        text = request.get("message")
        if message_problem(text, self.settings.max_message_chars):  # the web chat's rule, shared
            return Refusal.BAD_MESSAGE.reply(max_chars=self.settings.max_message_chars)
        caller = self._caller(request)
        if isinstance(caller, HTTPResponse):
            return caller
        return RestTurn(caller[0], text, caller[1])

    def _json(self, body: bytes) -> "Dict[str, Any] | HTTPResponse":
        if len(body) > self.settings.max_body_bytes:
            return Refusal.TOO_LARGE.reply()
        try:
            request = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return Refusal.NOT_JSON.reply()
        if not isinstance(request, dict):
            return Refusal.NOT_JSON.reply()
        return request

    def _caller(self, request: Dict[str, Any]) -> "Tuple[str, Dict[str, str]] | HTTPResponse":
        """(conversation id, metadata for Rasa) of the sender, verified by its token if it has one."""
        sender = request.get("sender")
        if not isinstance(sender, str) or not 0 < len(sender.strip()) <= self.settings.max_sender_chars:
            return Refusal.BAD_SENDER.reply(max_sender=self.settings.max_sender_chars)
        metadata = request.get("metadata") if isinstance(request.get("metadata"), dict) else {}
        if VERIFIED_CUSTOMER_KEY in metadata:
            logger.warning("REST client sent %s in metadata: ignored", VERIFIED_CUSTOMER_KEY)
        token = metadata.get("customer_token")
        if token is None:
            return rest_conversation_id(sender), {}
        if not self.settings.secret:
            return Refusal.IDENTITY_DISABLED.reply()
        try:
            customer_id = str(
                decode_token(
                    str(token), self.settings.secret, REST_AUDIENCE, self.settings.token_max_lifetime_s
                )["sub"]
            )
        except TokenRejected as rejected:
            logger.warning("REST customer token refused (%s)", rejected.code)
            return Refusal.IDENTITY_INVALID.reply()
        if ":" in customer_id:  # it would make rest-verified:<customer>:<sender> ambiguous
            logger.warning("REST customer token for an id with ':' refused")
            return Refusal.IDENTITY_INVALID.reply()
        return rest_conversation_id(sender, customer_id), {VERIFIED_CUSTOMER_KEY: customer_id}

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hook = self.webhook_blueprint()

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            turn = self.accept(request.body or b"")
            if isinstance(turn, HTTPResponse):
                return turn
            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(
                        turn.text,
                        collector,
                        turn.conversation_id,
                        input_channel=self.name(),
                        metadata=turn.metadata,
                    )
                )
            except Exception:  # the message text stays out of the log: it may carry personal data
                logger.exception("REST turn failed for %s", turn.conversation_id)
                return Refusal.TURN_FAILED.reply()
            return readable_json(collector.messages)

        @hook.route("/messages", methods=["POST"])
        async def messages(request: Request) -> HTTPResponse:
            """What the bot and agents said in the sender's conversation since `since` (Unix time):
            an agent in the workspace writes while the integration is not asking anything."""
            asked = self._json(request.body or b"")
            if isinstance(asked, HTTPResponse):
                return asked
            caller = self._caller(asked)
            if isinstance(caller, HTTPResponse):
                return caller
            since = asked.get("since", 0)
            if isinstance(since, bool) or not isinstance(since, (int, float)):
                return Refusal.BAD_SINCE.reply()
            tracker = await request.app.ctx.agent.tracker_store.retrieve(caller[0])
            return readable_json({"messages": said_since(tracker.events if tracker else [], float(since))})

        return hook


if __name__ == "__main__":  # XINGHE_REST_SECRET=... python -m connectors.rest C001
    secret = RestSettings.from_credentials({}).secret
    if len(sys.argv) != 2 or not secret:
        sys.exit(f"usage: {SECRET_ENV}=... python -m connectors.rest <customer id>")
    print(mint_customer_token(sys.argv[1], secret, REST_AUDIENCE))
