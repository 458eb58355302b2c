"""Signals from the web chat to the agent workspace that are not part of the conversation: a
customer typing to their agent. Sent with Rasa's API token, which the workspace holds too; the
workspace shows it only in the chat of the agent serving that customer."""

from __future__ import annotations

import logging
import os
import time
from typing import Dict, Optional

import aiohttp

logger = logging.getLogger(__name__)

TIMEOUT = aiohttp.ClientTimeout(total=2)
REPEAT_S = 1.0  # a customer's "typing" reaches the workspace at most this often
MEMORY = 10_000  # conversations remembered for that limit before the oldest are forgotten


def workspace_url() -> str:
    return os.environ.get("WORKSPACE_URL") or f"http://127.0.0.1:{os.environ.get('WORKSPACE_PORT', '5080')}"


class WorkspaceSignal:
    def __init__(self, url: str, token: Optional[str]) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self._typing_sent: Dict[str, float] = {}  # conversation -> when "typing" was last passed on
        self._http: Optional[aiohttp.ClientSession] = None

    def wanted(self, conversation_id: str, on: bool) -> bool:
        """Whether to pass this typing signal on: every stop, a start at most once a second."""
        if not self.token:
            return False
        now = time.monotonic()
        if on and now - self._typing_sent.get(conversation_id, -REPEAT_S) < REPEAT_S:
            return False
        if len(self._typing_sent) >= MEMORY:
            for old in sorted(self._typing_sent, key=self._typing_sent.__getitem__)[: MEMORY // 2]:
                del self._typing_sent[old]
        self._typing_sent[conversation_id] = now if on else -REPEAT_S
        return True

    async def customer_typing(self, conversation_id: str, on: bool) -> None:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(timeout=TIMEOUT)
        try:
            async with self._http.post(
                f"{self.url}/internal/customer_typing",
                json={"conversation_id": conversation_id, "on": on},
                headers={"Authorization": f"Bearer {self.token}"},
            ) as reply:
                if reply.status != 200:
                    logger.warning("the agent workspace refused a typing signal (%s)", reply.status)
        except (aiohttp.ClientError, TimeoutError) as error:  # no workspace running: nobody to tell
            logger.debug("typing signal not passed on: %s", error)
