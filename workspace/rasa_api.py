"""The workspace's only way into Rasa: its HTTP API, with the API token.

The conversation stays one conversation in the tracker store: pausing and resuming are events on
its tracker, and an agent's message is a bot message appended to it. Reading goes through Rasa's
tracker API; writing goes through the workspace bridge channel (`connectors/workspace_bridge.py`),
which appends under the conversation's lock and delivers the bot messages through the customer's
latest channel, as Rasa's `POST …/tracker/events?output_channel=latest&execute_side_effects=true`
does, without that route's costly schema check on every message.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List, Optional

import aiohttp

from business.delivery import refusal_reason

logger = logging.getLogger(__name__)


class RasaUnavailable(Exception):
    """Rasa did not take the request; the Chinese reason is for the agent."""


class RasaApi:
    def __init__(self, base_url: str, token: str, timeout_s: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: Optional[aiohttp.ClientSession] = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def _call(self, method: str, path: str, params: Dict[str, str], body: Any = None) -> Any:
        """The token goes as a Bearer header (the bridge channel's key); Rasa's own API wants it as the
        `token` parameter, which its callers add."""
        url = f"{self.base_url}{path}"
        try:
            async with self._http().request(
                method, url, params=params, json=body, headers={"Authorization": f"Bearer {self.token}"}
            ) as reply:
                if reply.status >= 400:
                    logger.error("rasa %s %s answered %s", method, path, reply.status)
                    reason = refusal_reason(await self._error_message(reply))
                    raise RasaUnavailable(reason or f"对话服务拒绝了请求（{reply.status}）")
                return await reply.json()
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:  # a busy Rasa times out
            logger.error("rasa %s %s failed: %r", method, path, error)
            raise RasaUnavailable("对话服务暂时连不上，请稍后再试") from error

    @staticmethod
    async def _error_message(reply: aiohttp.ClientResponse) -> str:
        """Rasa's error text (a JSON answer whose `message` holds the exception's text)."""
        try:
            body = await reply.json(content_type=None)
        except ValueError:
            return ""
        return str(body.get("message") or "") if isinstance(body, dict) else ""

    @staticmethod
    def _path(conversation_id: str) -> str:
        from urllib.parse import quote

        return f"/conversations/{quote(conversation_id, safe='')}/tracker"

    async def events(self, conversation_id: str) -> List[Dict[str, Any]]:
        """Every event of the conversation (the transcript the bot and the customer wrote)."""
        tracker = await self._call(
            "GET", self._path(conversation_id), {"include_events": "ALL", "token": self.token}
        )
        events: List[Dict[str, Any]] = tracker.get("events") or []
        return events

    async def append(self, conversation_id: str, events: List[Dict[str, Any]], deliver: bool = False) -> None:
        """Appends events; with `deliver`, the bot messages among them go to the customer's channel."""
        body = {"conversation_id": conversation_id, "events": events, "deliver": deliver}
        await self._call("POST", "/webhooks/workspace/events", {}, body)

    async def say(self, conversation_id: str, text: str, **metadata: Any) -> None:
        await self.append(
            conversation_id, [{"event": "bot", "text": text, "metadata": metadata}], deliver=True
        )

    async def agent_typing(self, conversation_id: str, on: bool, agent_name: str) -> None:
        """Tells the web chat that an agent is (or stopped) typing; not part of the conversation."""
        try:
            async with self._http().post(
                f"{self.base_url}/webhooks/webchat/agent_typing",
                json={"conversation_id": conversation_id, "on": on, "agent_name": agent_name},
                headers={"Authorization": f"Bearer {self.token}"},
            ) as reply:
                if reply.status != 200:
                    logger.warning("web chat refused the typing signal (%s)", reply.status)
        except aiohttp.ClientError as error:
            logger.warning("typing signal not sent: %s", error)
