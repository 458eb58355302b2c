"""Rasa's SQL tracker store, writing every event with personal data masked, and streaming the same
masked events to the event broker (which only ever hears from the tracker store).

The conversation in memory keeps the clear values for the turn that needs them (the bot reads a
phone number and checks it in the same turn); what rests, and so what every later turn, the
workspace and analytics read, is masked (`business.privacy.masked_events`). Events are counted the
way Rasa counts them (already stored, or already streamed), so only new ones are written.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Dict, List

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from business.privacy import masked_events

logger = logging.getLogger(__name__)


def resting_events(tracker: DialogueStateTracker, start: int) -> List[Dict[str, Any]]:
    """The tracker's events from `start` on, as they may rest."""
    return masked_events([event.as_dict() for event in tracker.events], start)


class MaskingSQLTrackerStore(SQLTrackerStore):
    async def stream_events(self, tracker: DialogueStateTracker) -> None:
        if self.event_broker is None:
            return
        stored = await self.retrieve(tracker.sender_id)
        offset = len(stored.events) if stored else 0
        for data in resting_events(tracker, offset):
            self.event_broker.publish({"sender_id": tracker.sender_id, **data})

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        with self.session_scope() as session:
            stored = self._event_query(
                session, tracker.sender_id, fetch_events_from_all_sessions=False
            ).count()
            new = list(tracker.events)[stored:]
            for event, data in zip(new, resting_events(tracker, stored), strict=True):
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
