"""Rasa's API token as the key of the routes only the agent workspace calls.

The workspace is the one holder of `RASA_API_TOKEN` besides Rasa (make run hands it to both); the
web chat also uses it to sign its customer-typing signals to the workspace.
"""

from __future__ import annotations

import hmac
import os
from typing import Optional

from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

API_TOKEN_ENV = "RASA_API_TOKEN"


def api_token() -> Optional[str]:
    return os.environ.get(API_TOKEN_ENV) or None


def api_token_refusal(request: Request) -> Optional[HTTPResponse]:
    """None when the request carries Rasa's API token as a Bearer token, else the refusal."""
    expected = api_token()
    if not expected:
        return response.json({"error": "未配置"}, status=503)
    scheme, _, offered = request.headers.get("authorization", "").partition(" ")
    if scheme != "Bearer" or not hmac.compare_digest(offered.encode(), expected.encode()):
        return response.json({"error": "无权访问"}, status=403)
    return None
