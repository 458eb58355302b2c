"""Reading a connector's settings: credentials.yml first, then an environment variable.

Rasa's own `${VAR}` expansion in credentials.yml aborts `rasa run` when the
variable is unset, so secrets are named by environment variable instead and a
channel without them simply answers 503 until it is configured.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar, Dict, Mapping, Optional

from rasa.core.channels.channel import InputChannel
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse


def setting(credentials: Mapping[str, Any], key: str, env: str, default: str = "") -> str:
    """`credentials[key]` when given, else `$env`, else `default` (always a string)."""
    value: Optional[Any] = credentials.get(key)
    if value is None or value == "":
        value = os.environ.get(env, default)
    return str(value).strip()


def number_setting(credentials: Mapping[str, Any], key: str, env: str, default: float) -> float:
    return float(setting(credentials, key, env, str(default)))


class ConfiguredInput(InputChannel):
    """An input channel built from its settings class (`settings_type.from_credentials`)."""

    channel_name: ClassVar[str]
    settings_type: ClassVar[Any]

    @classmethod
    def name(cls) -> str:
        return cls.channel_name

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> "ConfiguredInput":
        return cls(cls.settings_type.from_credentials(credentials or {}))

    def webhook_blueprint(self) -> Blueprint:
        """The channel's blueprint, with the `GET /` health check every channel answers."""
        hook = Blueprint(f"{self.channel_name}_webhook", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        return hook
