"""Masks what was stored before masking at rest existed (or by a version with fewer detectors).

Every row goes through the same rules as new events (`business.privacy`); masking what is already
masked changes nothing, so the command can run again at any time. A call-back note that still holds
the caller's number keeps it sealed for the audited reveal (`business.services.callbacks`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from business import clock
from business.privacy import mask, mask_value, masked_events
from business.services.callbacks import CallbackNumbers
from business.store.db import session_scope
from business.store.models import Ticket, TicketEvent, WebchatMessage
from privacy.stores import Stores, events_table, scrub, secure

CALL_BACK_NOTE = re.compile(r"请回电\s*(\+?\d[\d\- ]{6,}\d)")


@dataclass
class Remasked:
    tracker_events: int = 0
    broker_events: int = 0
    webchat_messages: int = 0
    tickets: int = 0
    ticket_notes: int = 0
    callback_numbers: int = 0


def remask(stores: Stores) -> Remasked:
    done = Remasked(
        tracker_events=_remask_events(stores.tracker), broker_events=_remask_events(stores.broker)
    )
    with session_scope(stores.business) as session:
        secure(session.connection())
        done.webchat_messages = _remask_webchat(session)
        for ticket in session.execute(select(Ticket)).scalars():
            summary, context = mask(ticket.summary), _masked_json(ticket.context)
            if (summary, context) != (ticket.summary, ticket.context):
                ticket.summary, ticket.context = summary, context
                done.tickets += 1
        numbers = CallbackNumbers(session)
        for note in session.execute(select(TicketEvent)).scalars():
            left = CALL_BACK_NOTE.search(note.note)
            if left and not numbers.masked(note.ticket_id):
                numbers.keep(note.ticket_id, left.group(1), clock.now())
                done.callback_numbers += 1
            masked = mask(note.note)
            if masked != note.note:
                note.note = masked
                done.ticket_notes += 1
    for engine in (stores.business, stores.tracker, stores.broker):
        scrub(engine)
    return done


def _masked_json(text: Optional[str]) -> Optional[str]:
    if not text:
        return text
    before = json.loads(text)
    after = mask_value(before)
    return text if after == before else json.dumps(after, ensure_ascii=False)


def _remask_events(engine: Optional[Engine]) -> int:
    """Rasa's `events` rows, a conversation at a time and in order (the ID-tail answer is known by
    the question before it)."""
    events = events_table(engine)
    if events is None or engine is None:
        return 0
    changed = 0
    with engine.begin() as connection:
        secure(connection)
        senders = list(connection.execute(select(events.c.sender_id).distinct()).scalars())
        for sender in senders:
            rows = connection.execute(
                select(events.c.id, events.c.data).where(events.c.sender_id == sender).order_by(events.c.id)
            ).all()
            stored: List[Dict[str, Any]] = [json.loads(data) for _, data in rows]
            for (row_id, _), before, after in zip(rows, stored, masked_events(stored), strict=True):
                if after != before:
                    connection.execute(
                        update(events).where(events.c.id == row_id).values(data=json.dumps(after))
                    )
                    changed += 1
    return changed


def _remask_webchat(session: Session) -> int:
    changed = 0
    for message in session.execute(select(WebchatMessage)).scalars():
        masked = _masked_json(message.body)
        if masked != message.body:
            message.body = masked
            changed += 1
    return changed
