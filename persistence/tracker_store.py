"""Rasa's SQL tracker store, writing every event with personal data masked, and streaming the same
masked events to the event broker (which only ever hears from the tracker store).

The conversation in memory keeps the clear values for the turn that needs them (the bot reads a
phone number and checks it in the same turn); what rests, and so what every later turn, the
workspace and analytics read, is masked (`business.privacy.masked_events`). Only the events not
stored yet are written and streamed, counted the way Rasa counts them.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Dict, List

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.constants import REQUESTED_SLOT
from rasa.shared.core.events import Event, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from business.privacy import masked_events

logger = logging.getLogger(__name__)


def resting_events(events: List[Event], start: int) -> List[Dict[str, Any]]:
    """The events from `start` on, as they may rest."""
    asked = next(
        (e.value for e in reversed(events[:start]) if isinstance(e, SlotSet) and e.key == REQUESTED_SLOT),
        None,
    )
    return masked_events([event.as_dict() for event in events[start:]], asked)


class MaskingSQLTrackerStore(SQLTrackerStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite":  # a commit appends to the log instead of rewriting
            with self.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA journal_mode=WAL")

    async def stream_events(self, tracker: DialogueStateTracker) -> None:
        """Streaming happens in `save`, from the same masked events it writes."""

    async def save(self, tracker: DialogueStateTracker) -> None:
        with self.session_scope() as session:
            # What is stored already is counted, not read back: Rasa's own `stream_events` rebuilds the
            # whole tracker from the database on every save only to count its events.
            stored = self._event_query(
                session, tracker.sender_id, fetch_events_from_all_sessions=False
            ).count()
            events = list(tracker.events)
            new = events[stored:]
            resting = resting_events(events, stored)
            if self.event_broker is not None:
                for data in resting:
                    self.event_broker.publish({"sender_id": tracker.sender_id, **data})
            for event, data in zip(new, resting, strict=True):
                session.add(
                    self.SQLEvent(
                        sender_id=tracker.sender_id,
                        type_name=event.type_name,
                        timestamp=data.get("timestamp"),
                        intent_name=data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                        action_name=data.get("name"),
                        data=json.dumps(data),
                    )
                )
            session.commit()
        logger.debug("tracker %s stored with personal data masked", tracker.sender_id)
