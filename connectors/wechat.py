"""WeChat Official Account (公众号) channel: `/webhooks/wechat/webhook`.

One push makes at most one Rasa turn.  The passive reply (the HTTP answer) is
used when the turn finishes within the budget (4 s of WeChat's 5); otherwise the
connector answers `success` and sends the reply through the customer-service
API when the turn ends.  Plain and safe (AES) mode; every request's signature is
checked, and hostile XML never reaches Rasa.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Tuple

import aiohttp
from rasa.core.channels.channel import OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from business.delivery import DeliveryRefused
from business.services.identity import VERIFIED_CUSTOMER_KEY, IdentityVerifier
from business.store.db import session_scope
from connectors.dedupe import DeliveryLedger, ledger_for
from connectors.settings import ConfiguredInput, number_setting, setting
from connectors.turns import BotMessage, MessageHandler, TaskKeeper, TurnOutput, finished_within, run_turn
from connectors.wechat_api import CustomerServiceApi, WeChatApiError
from connectors.wechat_crypto import (
    MessageCipher,
    SignatureMismatch,
    UndecryptableMessage,
    check_signature,
)
from connectors.wechat_inbound import DEFAULT_MENU_KEYS, Inbound, NotAMessage, interpret
from connectors.wechat_xml import (
    MalformedXml,
    encrypted_envelope,
    parse_fields,
    split_by_bytes,
    text_reply,
)

logger = logging.getLogger(__name__)

SUCCESS = "success"  # WeChat's "received, no passive reply" answer: it stops retrying
MAX_BODY_BYTES = 64 * 1024
MAX_ASYNC_MESSAGES = 5  # WeChat allows 5 customer-service messages per user message
DELIVERY_MEMORY_S = 600
NOT_CONFIGURED = "微信渠道未配置"
STALE_REQUEST = "请求已过期"
TURN_FAILED_REPLY = "抱歉，系统有点忙，请稍后再试，或发送“转人工”联系人工客服。"

CustomerLookup = Callable[[str], Optional[str]]


def customer_for_openid(openid: str) -> Optional[str]:
    """The demo/business customer bound to this WeChat user, if any."""
    with session_scope() as session:
        customer = IdentityVerifier(session).customer_for_openid(openid)
        return customer.id if customer is not None else None


def redacted(openid: str) -> str:
    return openid[:6] + "…"


@dataclass(frozen=True)
class WeChatSettings:
    token: str
    app_id: str
    app_secret: str
    encoding_aes_keys: Tuple[str, ...]  # current first, then the previous one (key rotation)
    api_base: str
    passive_budget_s: float
    max_text_bytes: int
    dedupe_store: str
    menu_keys: Mapping[str, str]
    max_clock_skew_s: float  # a signed timestamp further from our clock is a replay

    @classmethod
    def from_credentials(cls, credentials: Mapping[str, Any]) -> "WeChatSettings":
        return cls(
            token=setting(credentials, "token", "WECHAT_TOKEN"),
            app_id=setting(credentials, "app_id", "WECHAT_APP_ID"),
            app_secret=setting(credentials, "app_secret", "WECHAT_APP_SECRET"),
            encoding_aes_keys=tuple(
                key
                for key in (
                    setting(credentials, "encoding_aes_key", "WECHAT_AES_KEY"),
                    setting(credentials, "previous_encoding_aes_key", "WECHAT_PREVIOUS_AES_KEY"),
                )
                if key
            ),
            api_base=setting(credentials, "api_base", "WECHAT_API_BASE", "https://api.weixin.qq.com"),
            passive_budget_s=number_setting(credentials, "passive_budget_s", "WECHAT_PASSIVE_BUDGET_S", 4.0),
            max_text_bytes=int(number_setting(credentials, "max_text_bytes", "WECHAT_MAX_TEXT_BYTES", 2048)),
            dedupe_store=setting(credentials, "dedupe_store", "WECHAT_DEDUPE_URL"),
            menu_keys={**DEFAULT_MENU_KEYS, **(credentials.get("menu_keys") or {})},
            max_clock_skew_s=number_setting(
                credentials, "max_clock_skew_s", "WECHAT_MAX_CLOCK_SKEW_S", 300.0
            ),
        )


class StaleRequest(Exception):
    """A correctly signed request whose timestamp is outside the replay window."""


class WeChatPushOutput(OutputChannel):
    """Proactive messages (reminders, `trigger_intent`) through the customer-service API."""

    @classmethod
    def name(cls) -> str:
        return "wechat"

    def __init__(self, api: CustomerServiceApi, max_text_bytes: int) -> None:
        self.api = api
        self.max_text_bytes = max_text_bytes

    async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> None:
        # A person in the agent workspace wrote it: WeChat shows no sender, so the text names them.
        if message.get("agent_id") and message.get("text"):
            message = {**message, "text": f"【客服{message.get('agent_name') or ''}】{message['text']}"}
        await super().send_response(recipient_id, message)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        for piece in split_by_bytes(text, self.max_text_bytes):
            try:
                await self.api.send_text(recipient_id, piece)
            except WeChatApiError as error:
                raise DeliveryRefused(error.reason) from error
            except aiohttp.ClientError as error:  # its message would carry the access token in the URL
                raise DeliveryRefused("微信接口暂时连不上，请稍后再发") from error


@dataclass
class Delivery:
    """One WeChat message (and its retries): the turn, and how it was answered."""

    task: "asyncio.Task[List[BotMessage]]"
    started: float
    reply: Optional[str] = None  # the passive reply, repeated if WeChat retries
    pushed: bool = False  # the answer goes through the API instead


class WeChatInput(ConfiguredInput):
    channel_name = "wechat"
    settings_type = WeChatSettings

    def __init__(
        self,
        settings: WeChatSettings,
        identify: CustomerLookup = customer_for_openid,
        ledger: Optional[DeliveryLedger] = None,
    ) -> None:
        self.settings = settings
        self.identify = identify
        self.ledger = ledger or ledger_for(settings.dedupe_store)
        self.cipher = (
            MessageCipher(settings.token, settings.app_id, settings.encoding_aes_keys)
            if settings.encoding_aes_keys
            else None
        )
        self.api = (
            CustomerServiceApi(settings.api_base, settings.app_id, settings.app_secret)
            if settings.app_id and settings.app_secret
            else None
        )
        self.tasks = TaskKeeper()
        self.deliveries: Dict[str, Delivery] = {}
        # The numbered choices last offered to each user: "2" picks the second button.
        self.choices: Dict[str, List[str]] = {}
        if not settings.token:
            logger.warning("WeChat channel has no token (WECHAT_TOKEN): it answers 503 until configured")

    def get_output_channel(self) -> Optional[OutputChannel]:
        return WeChatPushOutput(self.api, self.settings.max_text_bytes) if self.api else None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hook = self.webhook_blueprint()

        @hook.route("/webhook", methods=["GET"])
        async def verify_url(request: Request) -> HTTPResponse:
            if not self.settings.token:
                return response.text(NOT_CONFIGURED, status=503)
            try:
                self._check_request(request)
            except SignatureMismatch:
                logger.warning("WeChat URL verification with a bad signature")
                return response.text("签名校验失败", status=403)
            except StaleRequest:
                logger.warning("WeChat URL verification outside the replay window refused")
                return response.text(STALE_REQUEST, status=403)
            return response.text(request.args.get("echostr", ""))

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            return await self._receive(request, on_new_message)

        return hook

    # -- one push --

    def _check_request(self, request: Request) -> None:
        """SignatureMismatch unless WeChat signed it, StaleRequest unless it was signed just now.

        The signature covers the timestamp, so an old request cannot be given a new
        one; together with the MsgId ledger, a captured push is answered at most once.
        """
        timestamp = request.args.get("timestamp", "")
        check_signature(
            request.args.get("signature"), self.settings.token, timestamp, request.args.get("nonce", "")
        )
        try:
            skew = abs(time.time() - int(timestamp))
        except ValueError as error:
            raise StaleRequest() from error
        if skew > self.settings.max_clock_skew_s:
            raise StaleRequest()

    async def _receive(self, request: Request, on_new_message: MessageHandler) -> HTTPResponse:
        if not self.settings.token:
            return response.text(NOT_CONFIGURED, status=503)
        if len(request.body or b"") > MAX_BODY_BYTES:
            return response.text("消息过大", status=413)
        try:
            self._check_request(request)
            fields, key_index = self._open(request)
            inbound = interpret(fields, self.settings.menu_keys)
        except SignatureMismatch:
            logger.warning("WeChat push with a bad signature refused")
            return response.text("签名校验失败", status=403)
        except StaleRequest:
            logger.warning("WeChat push outside the replay window refused")
            return response.text(STALE_REQUEST, status=403)
        except (MalformedXml, UndecryptableMessage, NotAMessage) as error:
            logger.warning("WeChat push refused as malformed: %s", error)
            return response.text("消息格式错误", status=400)
        reply = await self._reply(inbound, on_new_message)
        if reply == SUCCESS:
            return response.text(SUCCESS)
        if key_index is None:
            return response.text(reply, content_type="application/xml; charset=utf-8")
        sealed = self.cipher.encrypt(reply, str(int(time.time())), request.args.get("nonce", ""), key_index)
        return response.text(encrypted_envelope(sealed), content_type="application/xml; charset=utf-8")

    def _open(self, request: Request) -> Tuple[Dict[str, str], Optional[int]]:
        """The message fields, and the AES key index when the push was encrypted."""
        outer = parse_fields(request.body or b"")
        if request.args.get("encrypt_type", "raw").lower() != "aes":
            return outer, None
        if self.cipher is None:
            raise UndecryptableMessage("encrypted push but no EncodingAESKey configured")
        plain, key_index = self.cipher.decrypt(
            outer.get("Encrypt", ""),
            request.args.get("msg_signature"),
            request.args.get("timestamp", ""),
            request.args.get("nonce", ""),
        )
        return parse_fields(plain.encode("utf-8")), key_index

    async def _reply(self, inbound: Inbound, on_new_message: MessageHandler) -> str:
        if inbound.direct_reply:
            return text_reply(inbound.openid, inbound.account, inbound.direct_reply)
        if inbound.text is None:
            if inbound.metadata.get("event") == "unsubscribe":
                logger.info("WeChat user %s unsubscribed", redacted(inbound.openid))
            return SUCCESS
        self._forget_old_deliveries()
        delivery = self.deliveries.get(inbound.delivery_key)
        if delivery is None:
            if not await self.ledger.claim(inbound.delivery_key):
                return SUCCESS  # another worker process owns this message
            delivery = self.deliveries.setdefault(
                inbound.delivery_key,
                Delivery(
                    self.tasks.start(self._turn(inbound, on_new_message), "WeChat turn"), time.monotonic()
                ),
            )
        return await self._answer(delivery, inbound)

    async def _turn(self, inbound: Inbound, on_new_message: MessageHandler) -> List[BotMessage]:
        metadata: Dict[str, Any] = {"wechat": inbound.metadata}
        try:
            customer_id = await asyncio.to_thread(self.identify, inbound.openid)
        except Exception:  # the chat still works, only without a known identity
            logger.exception("customer lookup for a WeChat user failed")
            customer_id = None
        if customer_id:
            metadata[VERIFIED_CUSTOMER_KEY] = customer_id
        message = UserMessage(
            self._chosen(inbound.openid, inbound.text or ""),
            TurnOutput(self.name()),
            inbound.openid,
            input_channel=self.name(),
            message_id=inbound.delivery_key,
            metadata=metadata,
        )
        return await run_turn(on_new_message, message)

    def _chosen(self, openid: str, text: str) -> str:
        """A number answering the last offered choices becomes that button's payload."""
        offered = self.choices.pop(openid, [])
        if text.isdigit() and 1 <= int(text) <= len(offered):
            return offered[int(text) - 1]
        return text

    async def _answer(self, delivery: Delivery, inbound: Inbound) -> str:
        if delivery.reply is None and not delivery.pushed:
            done = await finished_within(delivery.task, self.settings.passive_budget_s)
            # A retry of the same message may have settled the answer while we waited.
            if delivery.reply is None and not delivery.pushed:
                if done:
                    pieces = self._pieces(delivery.task, inbound.openid)
                    if pieces:  # an empty turn needs no reply at all
                        delivery.reply = text_reply(inbound.openid, inbound.account, pieces[0])
                        self._push_later(inbound.openid, pieces[1:])
                else:
                    delivery.pushed = True
                    self.tasks.start(self._push_when_done(delivery, inbound.openid), "WeChat async reply")
        return delivery.reply or SUCCESS

    def _pieces(self, task: "asyncio.Task[List[BotMessage]]", openid: str) -> List[str]:
        """The turn's reply as texts of at most max_text_bytes, buttons numbered."""
        if task.exception() is not None:
            return [TURN_FAILED_REPLY]
        blocks: List[str] = []
        offered: List[str] = []
        for message in task.result():
            lines = [message.text] if message.text else []
            for button in message.buttons:
                offered.append(button.get("payload") or button.get("title", ""))
                lines.append(f"回复 {len(offered)}：{button.get('title', '')}")
            if message.image:
                lines.append(message.image)
            if lines:
                blocks.append("\n".join(lines))
        if offered:
            self.choices[openid] = offered
        return split_by_bytes("\n\n".join(blocks), self.settings.max_text_bytes)

    async def _push_when_done(self, delivery: Delivery, openid: str) -> None:
        await asyncio.wait({delivery.task})
        await self._push(openid, self._pieces(delivery.task, openid))

    def _push_later(self, openid: str, pieces: List[str]) -> None:
        if pieces:
            self.tasks.start(self._push(openid, pieces), "WeChat overflow reply")

    async def _push(self, openid: str, pieces: List[str]) -> None:
        if self.api is None:
            logger.error("WeChat reply for %s dropped: no AppId/AppSecret for the API", redacted(openid))
            return
        if len(pieces) > MAX_ASYNC_MESSAGES:
            logger.warning("WeChat reply cut to %d messages (API quota)", MAX_ASYNC_MESSAGES)
        for piece in pieces[:MAX_ASYNC_MESSAGES]:
            try:
                await self.api.send_text(openid, piece)
            except WeChatApiError as error:
                logger.error("WeChat API refused a reply to %s: %s", redacted(openid), error)
                if error.stops_sending:
                    return
            except aiohttp.ClientError as error:  # its message would carry the access token in the URL
                logger.error(
                    "WeChat API unreachable for a reply to %s (%s)", redacted(openid), type(error).__name__
                )
                return

    def _forget_old_deliveries(self) -> None:
        horizon = time.monotonic() - DELIVERY_MEMORY_S
        for key in [k for k, d in self.deliveries.items() if d.started < horizon and d.task.done()]:
            del self.deliveries[key]
