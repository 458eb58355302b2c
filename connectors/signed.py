"""Short-lived HS256 tokens by which a trusted back end vouches for a customer.

The web chat's logged-in site and a back-office REST integration both prove who
their customer is the same way: a JWT signed with a secret shared with this
server, `sub` = customer id, `aud` naming the channel it is meant for, and an
expiry.  A token for one channel is refused by the other (audience), and a
token that lives longer than the channel allows is refused even if signed.
"""

from __future__ import annotations

import time
from typing import Optional

import jwt

ALGORITHM = "HS256"


class TokenRejected(Exception):
    """A token that must not be honoured; `code` is what the client is told."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def decode_token(token: str, secret: str, audience: str, max_lifetime_s: Optional[int] = None) -> dict:
    """The claims of a valid token; TokenRejected (token_expired / token_invalid) otherwise."""
    required = ["exp", "sub"] + (["iat"] if max_lifetime_s is not None else [])
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], audience=audience, options={"require": required}
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenRejected("token_expired") from exc
    except jwt.InvalidTokenError as exc:
        raise TokenRejected("token_invalid") from exc
    if max_lifetime_s is not None and int(claims["exp"]) - int(claims["iat"]) > max_lifetime_s:
        raise TokenRejected("token_too_long_lived")
    return claims


def mint_customer_token(customer_id: str, secret: str, audience: str, ttl_seconds: int = 300) -> str:
    """What the trusted back end does for a customer it has verified (reference implementation)."""
    now = int(time.time())
    claims = {"sub": customer_id, "aud": audience, "iat": now, "exp": now + ttl_seconds}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)
