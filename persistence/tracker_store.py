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
from typing import Any, Dict, List, Optional

from rasa.core.brokers.sql import SQLEventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.constants import REQUESTED_SLOT
from rasa.shared.core.events import Event, SessionStarted, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy import Table, bindparam, create_engine, func, insert, or_, select
from sqlalchemy import event as engine_event
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import QueuePool

from business.privacy import masked_events
from persistence import action_responses, graph_runner, kept_connections, rule_index, tracker_building

logger = logging.getLogger(__name__)

# Loaded by every Rasa process of the product (endpoints.yml, deploy/endpoints.prod.yml).
action_responses.install()
kept_connections.install()
graph_runner.install()
rule_index.install()
tracker_building.install()


def keep_sqlite_connections(holder: Any) -> None:
    """A SQLite store of Rasa's (the tracker store, the SQL broker) keeps its connections between
    turns instead of opening one per session (SQLAlchemy 1.4's way with a database file), in WAL
    mode, syncing at checkpoints rather than at every commit: a commit appends to the log, and a
    crash of the machine (not of Rasa) can lose the last turns but never corrupts the file.
    PostgreSQL is the store for conversations that must outlive that (docs/deployment.md)."""
    if holder.engine.dialect.name != "sqlite":
        return
    engine = create_engine(holder.engine.url, poolclass=QueuePool, connect_args={"check_same_thread": False})

    @engine_event.listens_for(engine, "connect")
    def pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    holder.engine.dispose()
    holder.engine = engine
    holder.sessionmaker = sessionmaker(bind=engine)


def resting_events(events: List[Event], start: int) -> List[Dict[str, Any]]:
    """The events from `start` on, as they may rest."""
    asked = next(
        (e.value for e in reversed(events[:start]) if isinstance(e, SlotSet) and e.key == REQUESTED_SLOT),
        None,
    )
    return masked_events([event.as_dict() for event in events[start:]], asked)


class SessionEvents:
    """The statements a turn runs, built and compiled once: Rasa builds an ORM query for every count
    and every read, and adds events one ORM object at a time, which cost more CPU than the database
    work itself. The same rows and the same order as Rasa's own queries (`_event_query`)."""

    def __init__(self, events: Table) -> None:
        sender = bindparam("sender_id")
        session_start = (
            select(func.max(events.c.timestamp))
            .where(events.c.sender_id == sender, events.c.type_name == SessionStarted.type_name)
            .scalar_subquery()
        )
        current = (events.c.sender_id == sender) & or_(
            events.c.timestamp >= session_start, session_start.is_(None)
        )
        self.count = select(func.count()).select_from(events).where(current)
        self.data = select(events.c.data).where(current).order_by(events.c.id)
        self.insert = insert(events)


class MaskingSQLTrackerStore(SQLTrackerStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        keep_sqlite_connections(self)
        if isinstance(self.event_broker, SQLEventBroker):
            keep_sqlite_connections(self.event_broker)
        self._session_events = SessionEvents(self.SQLEvent.__table__)

    async def stream_events(self, tracker: DialogueStateTracker) -> None:
        """Streaming happens in `save`, from the same masked events it writes."""

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        """The latest session, as Rasa's own `retrieve` reads it."""
        with self.engine.connect() as connection:
            rows = connection.execute(self._session_events.data, {"sender_id": sender_id}).scalars().all()
        if not rows or not self.domain:
            return None
        return DialogueStateTracker.from_dict(
            sender_id, [json.loads(data) for data in rows], self.domain.slots
        )

    async def save(self, tracker: DialogueStateTracker) -> None:
        statements = self._session_events
        with self.engine.begin() as connection:
            # What is stored already is counted, not read back: Rasa's own `stream_events` rebuilds the
            # whole tracker from the database on every save only to count its events.
            stored = connection.execute(statements.count, {"sender_id": tracker.sender_id}).scalar_one()
            events = list(tracker.events)
            resting = resting_events(events, stored)
            if not resting:
                return
            self._publish(tracker.sender_id, resting)
            connection.execute(
                statements.insert,
                [
                    {
                        "sender_id": tracker.sender_id,
                        "type_name": event.type_name,
                        "timestamp": data.get("timestamp"),
                        "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                        "action_name": data.get("name"),
                        "data": json.dumps(data),
                    }
                    for event, data in zip(events[stored:], resting, strict=True)
                ],
            )
        logger.debug("tracker %s stored with personal data masked", tracker.sender_id)

    def _publish(self, sender_id: str, resting: List[Dict[str, Any]]) -> None:
        broker = self.event_broker
        if isinstance(broker, SQLEventBroker):  # one statement for the turn, not a transaction per event
            with broker.engine.begin() as connection:
                connection.execute(
                    insert(broker.SQLBrokerEvent.__table__),
                    [
                        {"sender_id": sender_id, "data": json.dumps({"sender_id": sender_id, **data})}
                        for data in resting
                    ],
                )
        elif broker is not None:
            for data in resting:
                broker.publish({"sender_id": sender_id, **data})
