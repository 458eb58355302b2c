"""Signed visitor tokens and the site's signed customer ids.

A visitor token is an HS256 JWT the channel issues itself: `sub` is the
visitor id the conversation is bound to, `cid` the verified customer id when the
visitor came from a logged-in page.  A client can never pick its own id: every
id the channel acts on comes out of a signature check here.

A logged-in site proves who its customer is with a short-lived HS256 JWT signed
with the site secret (`sub` = customer id, `aud` = CUSTOMER_AUDIENCE).  The
`mint_customer_token` helper (and `python -m connectors.webchat.tokens C0001`)
shows the site side.
"""

from __future__ import annotations

import secrets
import sys
import time
from dataclasses import dataclass
from typing import Optional

import jwt

from connectors import signed
from connectors.signed import ALGORITHM, TokenRejected, decode_token

VISITOR_AUDIENCE = "xinghe-webchat"
CUSTOMER_AUDIENCE = "xinghe-webchat-login"


@dataclass(frozen=True)
class Visitor:
    visitor_id: str
    customer_id: Optional[str]
    expires_at: int  # unix seconds

    @property
    def conversation_id(self) -> str:
        """The Rasa sender id: derived from the signed visitor id only."""
        return f"web:{self.visitor_id}"


class VisitorTokens:
    """Issues and checks visitor tokens, and checks the site's customer tokens."""

    def __init__(self, secret: str, ttl_seconds: int, site_secret: Optional[str]) -> None:
        self._secret = secret
        self._site_secret = site_secret
        self.ttl_seconds = ttl_seconds

    def issue(self, visitor_id: Optional[str] = None, customer_id: Optional[str] = None) -> str:
        now = int(time.time())
        claims = {
            "sub": visitor_id or secrets.token_hex(16),
            "aud": VISITOR_AUDIENCE,
            "iat": now,
            "exp": now + self.ttl_seconds,
        }
        if customer_id:
            claims["cid"] = customer_id
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def new_visitor(self, customer_id: Optional[str]) -> Visitor:
        return self.verify(self.issue(customer_id=customer_id))

    def verify(self, token: object) -> Visitor:
        if not isinstance(token, str) or not token:
            raise TokenRejected("token_missing")
        claims = decode_token(token, self._secret, VISITOR_AUDIENCE)
        return Visitor(
            visitor_id=str(claims["sub"]), customer_id=claims.get("cid"), expires_at=int(claims["exp"])
        )

    def customer_from_site(self, customer_token: str) -> str:
        """The customer id a logged-in site signed; TokenRejected if not trustworthy."""
        if not self._site_secret:
            raise TokenRejected("login_disabled")
        return str(decode_token(customer_token, self._site_secret, CUSTOMER_AUDIENCE)["sub"])


def mint_customer_token(customer_id: str, site_secret: str, ttl_seconds: int = 600) -> str:
    """What the site's back end does for a logged-in customer (reference implementation)."""
    return signed.mint_customer_token(customer_id, site_secret, CUSTOMER_AUDIENCE, ttl_seconds)


if __name__ == "__main__":  # python -m connectors.webchat.tokens C0001
    from connectors.webchat.settings import site_secret_from_env

    secret = site_secret_from_env()
    if len(sys.argv) != 2 or not secret:
        sys.exit("usage: XINGHE_WEBCHAT_SITE_SECRET=... python -m connectors.webchat.tokens <customer id>")
    print(mint_customer_token(sys.argv[1], secret))
