"""Clients that play the platforms' side against a channel: WeChat pushing messages
(signed and encrypted by wechatpy) and a voice gateway driving a call (signed by
twilio's RequestValidator, TwiML followed like the gateway does).  Used by the
connector tests and by the end-to-end tests against the real Rasa server."""

from __future__ import annotations

import asyncio
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import urljoin

import aiohttp
import xmltodict
from aiohttp import web
from twilio.request_validator import RequestValidator
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

# Test credentials of the fake WeChat account and voice gateway.
WECHAT_TOKEN, WECHAT_AES_KEY, WECHAT_APP_ID = (
    "xinghe-token",
    "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    "wx2c2769f8efd9abc2",
)
ACCOUNT, OPENID = "gh_xinghe000001", "oXH_demo_zhangwei_0001"
TWILIO_TOKEN, PUBLIC_URL = "twilio-test-token", "https://bot.example.com"
CALLER, AGENT_LINE = "+8613800138001", "+861088886666"


@dataclass
class Served:
    base_url: str  # e.g. http://127.0.0.1:5123/webhooks/wechat
    http: aiohttp.ClientSession


def wechat_signature(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def text_xml(content: str, msg_id: str = "6054768590064713728", openid: str = OPENID) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )


def event_xml(event: str, key: str = "", created: str = "1700000000") -> str:
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{OPENID}]]></FromUserName>"
        f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{event}]]></Event>"
        f"<EventKey><![CDATA[{key}]]></EventKey></xml>"
    )


class WeChat:
    """Pushes messages the way WeChat does, and reads the replies back with wechatpy."""

    def __init__(
        self,
        served: Served,
        safe: bool = True,
        token: str = WECHAT_TOKEN,
        aes_key: str = WECHAT_AES_KEY,
        app_id: str = WECHAT_APP_ID,
    ) -> None:
        self.served, self.safe, self.token = served, safe, token
        self.crypto = WeChatCrypto(token, aes_key, app_id)

    async def push(
        self,
        xml: str,
        query_override: Optional[Dict[str, str]] = None,
        sent_at: Optional[float] = None,
        openid: str = OPENID,
    ) -> Tuple[int, str]:
        """Pushes `xml` from `openid`, signed at `sent_at` (default: now) as WeChat signs it."""
        timestamp, nonce = str(int(time.time() if sent_at is None else sent_at)), "1320562132"
        query = {
            "signature": wechat_signature(self.token, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
            "openid": openid,
        }
        body = xml
        if self.safe:
            sealed = parse_message_envelope(self.crypto.encrypt_message(xml, nonce, timestamp))
            query.update(encrypt_type="aes", msg_signature=sealed["MsgSignature"])
            body = (
                f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
                f"<Encrypt><![CDATA[{sealed['Encrypt']}]]></Encrypt></xml>"
            )
        query.update(query_override or {})
        async with self.served.http.post(
            f"{self.served.base_url}/webhook", params=query, data=body.encode("utf-8")
        ) as response:
            return response.status, await response.text()

    def read(self, body: str):
        """The reply as WeChat would show it (decrypted and checked in safe mode)."""
        if self.safe:
            envelope = parse_message_envelope(body)
            body = self.crypto.decrypt_message(
                body, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"]
            )
        return parse_message(body)

    async def say(self, xml: str):
        status, body = await self.push(xml)
        assert status == 200, body
        return self.read(body)


def parse_message_envelope(xml: str) -> Dict[str, str]:
    return dict(xmltodict.parse(xml)["xml"])


class Gateway:
    """One call, driven the way the voice gateway drives it."""

    def __init__(
        self, served: Served, token: str = TWILIO_TOKEN, public_url: str = PUBLIC_URL, caller: str = CALLER
    ) -> None:
        self.served, self.public_url, self.caller = served, public_url, caller
        self.origin = served.base_url.split("/webhooks/")[0]
        self.validator = RequestValidator(token)
        self.sid = "CA" + uuid.uuid4().hex
        self.path = "/webhooks/phone/voice"
        self.doc: Optional[ET.Element] = None
        self.holds = 0

    async def post(self, relative: str, signature: Optional[str] = None, **params: str) -> int:
        path = urljoin(self.path, relative)
        form = {
            "CallSid": self.sid,
            "AccountSid": "AC" + "0" * 32,
            "From": self.caller,
            "To": "+861012345678",
            "CallStatus": "in-progress",
            "Direction": "inbound",
            **params,
        }
        if signature is None:
            signature = self.validator.compute_signature(self.public_url + path, form)
        async with self.served.http.post(
            self.origin + path, data=form, headers={"X-Twilio-Signature": signature}
        ) as answer:
            body = (await answer.read()).decode("utf-8")
            if answer.status == 200:
                assert answer.headers["Content-Type"].startswith("text/xml")
                self.path, self.doc = path, ET.fromstring(body)
            return answer.status

    async def step(self, relative: str, **params: str) -> ET.Element:
        assert await self.post(relative, **params) == 200
        while self.doc.find("Gather") is None and "poll" in (self._redirect() or ""):  # hold loop
            self.holds += 1
            assert await self.post(self._redirect()) == 200
        return self.doc

    def _redirect(self) -> Optional[str]:
        redirect = self.doc.find("Redirect")
        return redirect.text if redirect is not None else None

    async def dial_in(self) -> ET.Element:
        return await self.step("/webhooks/phone/voice", CallStatus="ringing")

    async def press(self, digits: str) -> ET.Element:
        return await self.step(self.doc.find("Gather").get("action"), Digits=digits)

    async def speak(self, text: str, confidence: str = "0.91") -> ET.Element:
        return await self.step(
            self.doc.find("Gather").get("action"), SpeechResult=text, Confidence=confidence
        )

    async def stay_silent(self) -> ET.Element:
        return await self.step(self._redirect())

    async def dial_ends(self, status: str, duration: str = "0") -> ET.Element:
        return await self.step(
            self.doc.find("Dial").get("action"), DialCallStatus=status, DialCallDuration=duration
        )

    async def hang_up(self) -> None:
        assert await self.post("/webhooks/phone/status", CallStatus="completed", CallDuration="42") == 200

    @property
    def spoken(self) -> str:
        return "".join(say.text or "" for say in self.doc.iter("Say"))

    @property
    def verbs(self) -> List[str]:
        return [child.tag for child in self.doc]


@dataclass
class FakeWeChatApi:
    """A loopback stand-in for api.weixin.qq.com that records every call."""

    base_url: str = ""
    calls: List[Dict[str, Any]] = field(default_factory=list)
    send_errors: List[int] = field(default_factory=list)  # errcodes for the next sends, in order
    broken: bool = False  # answer every send with HTTP 502
    tokens_issued: int = 0
    _runner: Optional[web.AppRunner] = None

    @property
    def sent(self) -> List[Dict[str, Any]]:
        return [c for c in self.calls if c["path"] == "/cgi-bin/message/custom/send"]

    async def wait_for_sends(self, count: int, timeout: float = 10.0) -> List[Dict[str, Any]]:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.sent) < count and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        return self.sent

    async def start(self, port: int) -> None:
        app = web.Application()
        app.router.add_post("/cgi-bin/stable_token", self._stable_token)
        app.router.add_post("/cgi-bin/message/custom/send", self._custom_send)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.base_url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        await self._runner.cleanup()

    async def _stable_token(self, request: web.Request) -> web.Response:
        self.calls.append({"path": request.path, "body": await request.json()})
        self.tokens_issued += 1
        return web.json_response({"access_token": f"TOKEN{self.tokens_issued}", "expires_in": 7200})

    async def _custom_send(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.calls.append({"path": request.path, "body": body, "token": request.query.get("access_token")})
        if self.broken:
            return web.Response(status=502, text="bad gateway")
        errcode = self.send_errors.pop(0) if self.send_errors else 0
        return web.json_response({"errcode": errcode, "errmsg": "ok" if errcode == 0 else "error"})


def channel_environment(wechat_api_port: int) -> Dict[str, str]:
    """Environment that configures both channels with the test credentials above
    (the e2e harness passes it to `rasa run`)."""
    return {
        "WECHAT_TOKEN": WECHAT_TOKEN,
        "WECHAT_APP_ID": WECHAT_APP_ID,
        "WECHAT_APP_SECRET": "test-secret",
        "WECHAT_AES_KEY": WECHAT_AES_KEY,
        "WECHAT_API_BASE": f"http://127.0.0.1:{wechat_api_port}",
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "PHONE_PUBLIC_URL": PUBLIC_URL,
        "PHONE_AGENT_NUMBER": AGENT_LINE,
    }
