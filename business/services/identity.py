"""Identity verification: registered phone + last 4 characters of the ID card."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from business.formatting import compact_id
from business.store.models import Customer

MAX_ATTEMPTS = 3
# The one metadata key by which a channel vouches for the customer it verified
# itself (signed web login, bound WeChat openid, signed REST identity). Channels
# set it only after their own check and drop it from anything a client sent.
VERIFIED_CUSTOMER_KEY = "verified_customer_id"
PHONE_PATTERN = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
ID_LAST4_PATTERN = re.compile(r"(?<![0-9A-Z])(\d{3}[\dX])(?![0-9A-Z])")


def parse_phone(text: str) -> Optional[str]:
    """The mainland mobile number in a message, if there is exactly one."""
    found = PHONE_PATTERN.findall(compact_id(text))
    return found[0] if len(found) == 1 else None


def parse_id_last4(text: str) -> Optional[str]:
    """'后四位是351x' -> '351X'; None unless the message holds one 4-character tail."""
    found = ID_LAST4_PATTERN.findall(compact_id(text))
    return found[0] if len(found) == 1 else None


@dataclass(frozen=True)
class VerificationResult:
    customer: Optional[Customer]
    attempts_left: int

    @property
    def verified(self) -> bool:
        return self.customer is not None

    @property
    def locked(self) -> bool:
        return self.customer is None and self.attempts_left <= 0


class IdentityVerifier:
    def __init__(self, session: Session) -> None:
        self.session = session

    def candidate(self, phone: str) -> str:
        """Whose registered phone this is: the customer's id, or "" for nobody. The conversation keeps
        this for the ID check of the next turn instead of the number, which never rests in clear;
        the customer is told nothing about it until that check."""
        customer = self.session.execute(select(Customer).where(Customer.phone == phone)).scalar_one_or_none()
        return str(customer.id) if customer is not None else ""

    def verify(self, candidate: str, id_last4: str, failures_so_far: int = 0) -> VerificationResult:
        """Checks the ID tail against the phone's owner; a mismatch never says which half was wrong."""
        customer = self.session.get(Customer, candidate) if candidate else None
        if customer is not None and customer.id_card_last4.upper() == id_last4.upper():
            return VerificationResult(customer, MAX_ATTEMPTS - failures_so_far)
        return VerificationResult(None, MAX_ATTEMPTS - failures_so_far - 1)

    def customer_for_openid(self, openid: str) -> Optional[Customer]:
        customer: Optional[Customer] = self.session.execute(
            select(Customer).where(Customer.wechat_openid == openid)
        ).scalar_one_or_none()
        return customer

    def known_customer(self, customer_id: str) -> Optional[Customer]:
        """The customer with this id, if there is one (for identities a channel vouches for)."""
        customer: Optional[Customer] = self.session.get(Customer, customer_id)
        return customer
