"""Numbers to call customers back on: kept sealed, shown masked, revealed only on an agent's request
(the workspace writes each reveal to the audit log)."""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Optional

from sqlalchemy.orm import Session

from business import sealing
from business.privacy import mask, masked
from business.store.models import CallbackNumber

logger = logging.getLogger(__name__)

PURPOSE = "callback_number"
MIN_DIGITS = 5  # shorter is no number one can call back


def dialable(number: str) -> bool:
    return len(re.sub(r"\D", "", number)) >= MIN_DIGITS


def masked_number(number: str) -> str:
    """The number as notes and screens show it (a mobile as 138****8001)."""
    shown = mask(number)
    if shown == number and dialable(number):  # a number the detector does not know
        shown = masked("landline", number)
    return shown


class CallbackNumbers:
    def __init__(self, session: Session) -> None:
        self.session = session

    def keep(self, ticket_id: str, number: str, now: datetime) -> str:
        """Keeps the number for the ticket; returns its masked form, for the ticket's note. A caller id
        that is no number (a withheld one: "anonymous") is not kept: there is nothing to dial."""
        shown = masked_number(number)
        if not dialable(number):
            return shown
        sealed: Optional[str] = None
        if sealing.available():
            sealed = sealing.seal(number, PURPOSE)
        else:
            logger.warning(
                "no data key (%s): ticket %s keeps the masked number only", sealing.KEY_ENV, ticket_id
            )
        row = self.session.get(CallbackNumber, ticket_id)
        if row is None:
            self.session.add(CallbackNumber(ticket_id=ticket_id, masked=shown, sealed=sealed, created_at=now))
        else:
            row.masked, row.sealed = shown, sealed
        return shown

    def masked(self, ticket_id: str) -> Optional[str]:
        row = self.session.get(CallbackNumber, ticket_id)
        return row.masked if row is not None else None

    def reveal(self, ticket_id: str) -> str:
        """The number in clear; `SealingUnavailable` when none can be opened."""
        row = self.session.get(CallbackNumber, ticket_id)
        return sealing.unseal(row.sealed if row is not None else None, PURPOSE)
