"""Web chat settings: secrets and origins from the environment, limits from credentials.yml.

Environment:
  XINGHE_WEBCHAT_SECRET       signs visitor tokens.  Unset: a random per-process
                              secret (logged warning; visitors get new tokens after
                              a restart) -- fine for a local demo only.
  XINGHE_WEBCHAT_SITE_SECRET  shared with the logged-in site, which signs customer
                              ids with it.  Unset: customer logins are refused.
  XINGHE_WEBCHAT_ORIGINS      comma-separated page origins allowed to connect,
                              e.g. "https://www.example.cn,https://m.example.cn".
                              Unset: only pages served by this Rasa server itself.
  XINGHE_WEBCHAT_MESSAGE_QUEUE
                              a Redis URL (redis://127.0.0.1:6379/2) through which several Rasa
                              instances hand each other the messages for visitors connected to
                              another instance (docs/deployment.md).  Unset: one instance.
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

logger = logging.getLogger(__name__)

SECRET_ENV = "XINGHE_WEBCHAT_SECRET"
SITE_SECRET_ENV = "XINGHE_WEBCHAT_SITE_SECRET"
ORIGINS_ENV = "XINGHE_WEBCHAT_ORIGINS"
MESSAGE_QUEUE_ENV = "XINGHE_WEBCHAT_MESSAGE_QUEUE"


def site_secret_from_env() -> Optional[str]:
    return os.environ.get(SITE_SECRET_ENV) or None


@dataclass(frozen=True)
class WebChatSettings:
    secret: str
    site_secret: Optional[str]
    allowed_origins: Tuple[str, ...]  # empty: same origin only
    message_queue: Optional[str] = None  # Redis URL shared by the Rasa instances
    token_ttl_seconds: int = 7 * 24 * 3600
    max_message_chars: int = 500
    rate_per_second: float = 1.0
    rate_burst: int = 5
    history_limit: int = 100
    socketio_path: str = "/webchat/socket.io"
    # Engine.IO heartbeat: a dead tab is noticed after interval + timeout.
    ping_interval_seconds: int = 25
    ping_timeout_seconds: int = 20
    # Largest Engine.IO payload accepted (python-socketio's default is 1 MB); a
    # message is at most max_message_chars, a polling batch a few of them.
    max_http_buffer_bytes: int = 64 * 1024

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> "WebChatSettings":
        credentials = credentials or {}
        secret = os.environ.get(SECRET_ENV)
        if not secret:
            logger.warning(
                "%s is not set: using a random secret for this process (local demo only; "
                "visitors get new conversations after a restart)",
                SECRET_ENV,
            )
            secret = secrets.token_urlsafe(32)
        site_secret = site_secret_from_env()
        if not site_secret:
            logger.warning("%s is not set: logged-in customer ids are not accepted", SITE_SECRET_ENV)
        origins = tuple(
            o.strip().rstrip("/") for o in os.environ.get(ORIGINS_ENV, "").split(",") if o.strip()
        )
        tunables = {
            name: type(getattr(cls, name))(credentials[name])
            for name in (
                "token_ttl_seconds",
                "max_message_chars",
                "rate_per_second",
                "rate_burst",
                "history_limit",
                "socketio_path",
                "ping_interval_seconds",
                "ping_timeout_seconds",
                "max_http_buffer_bytes",
            )
            if credentials.get(name) is not None
        }
        return cls(
            secret=secret,
            site_secret=site_secret,
            allowed_origins=origins,
            message_queue=os.environ.get(MESSAGE_QUEUE_ENV) or None,
            **tunables,
        )
