"""The WeChat customer-service message API (客服消息): replies that miss the 5-second window.

The access token is fetched once (stable_token), shared by every send, and
fetched again when WeChat says it expired or was replaced.  Quota and window
errors stop the rest of a turn's messages: retrying them only burns quota.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any, Dict, Optional

import aiohttp

logger = logging.getLogger(__name__)

# invalid credential / invalid token / token expired
TOKEN_ERRORS = frozenset({40001, 40014, 42001})
# frequency limit, window closed (48 h), 5-per-message quota used, user unsubscribed, no API permission
STOP_ERRORS = frozenset({45009, 45015, 45047, 43004, 48001})
# Why WeChat refused a message, for the agent who wrote it.
REFUSALS = {
    45015: "客户超过48小时没有发消息，微信不允许再发客服消息，请电话联系客户",
    45047: "客户回复之前最多只能连发5条，请等客户回复后再发",
    43004: "客户已取消关注公众号，收不到消息了",
    40003: "客户的微信身份无效（openid 不属于本公众号）",
    48001: "公众号没有客服消息接口权限，请联系管理员",
    45009: "微信接口调用超过频率限制，请稍后再试",
}
TOKEN_MARGIN_S = 300  # renew a little before WeChat's expiry
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=10)


class WeChatApiError(Exception):
    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"WeChat API error {errcode}: {errmsg}")
        self.errcode = errcode

    @property
    def stops_sending(self) -> bool:
        return self.errcode in STOP_ERRORS

    @property
    def reason(self) -> str:
        return REFUSALS.get(self.errcode, f"微信拒收了这条消息（错误码 {self.errcode}）")


class CustomerServiceApi:
    def __init__(self, base_url: str, app_id: str, app_secret: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.app_id = app_id
        self._app_secret = app_secret
        self._token: Optional[str] = None
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()

    async def send_text(self, openid: str, content: str) -> None:
        message = {"touser": openid, "msgtype": "text", "text": {"content": content}}
        async with aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as http:
            for attempt in range(2):
                token = await self._access_token(http, renew=attempt > 0)
                answer = await self._post(http, "/cgi-bin/message/custom/send", message, token)
                errcode = int(answer.get("errcode") or 0)
                if errcode == 0:
                    return
                if errcode not in TOKEN_ERRORS or attempt:
                    raise WeChatApiError(errcode, str(answer.get("errmsg", "")))
                logger.info("WeChat access token rejected (%s), fetching a new one", errcode)

    async def _access_token(self, http: aiohttp.ClientSession, renew: bool) -> str:
        async with self._token_lock:
            if renew:
                self._token = None
            if self._token is None or time.monotonic() >= self._token_expires:
                answer = await self._post(
                    http,
                    "/cgi-bin/stable_token",
                    {"grant_type": "client_credential", "appid": self.app_id, "secret": self._app_secret},
                )
                if "access_token" not in answer:
                    raise WeChatApiError(int(answer.get("errcode") or -1), str(answer.get("errmsg", "")))
                self._token = str(answer["access_token"])
                self._token_expires = time.monotonic() + int(answer.get("expires_in", 7200)) - TOKEN_MARGIN_S
            return self._token

    async def _post(
        self, http: aiohttp.ClientSession, path: str, body: Dict[str, Any], token: Optional[str] = None
    ) -> Dict[str, Any]:
        params = {"access_token": token} if token else None
        # Raw UTF-8, not \u-escapes: WeChat shows escaped Chinese literally in some APIs.
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8"}
        async with http.post(self.base_url + path, params=params, data=data, headers=headers) as response:
            response.raise_for_status()
            # WeChat answers JSON with a text/plain content type.
            return await response.json(content_type=None)
