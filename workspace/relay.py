"""Customers' messages on their way to agents: read from Rasa's event broker.

Rasa keeps writing every event of a paused conversation (the customer's messages are still parsed
and stored in the tracker) and publishes each one through its event broker; the pause that starts a
wait in the queue goes the same way. With the default SQL
broker that is a table `events` (id, sender_id, data) in its own database; the relay follows it
from the row it found last and hands each customer message to the desk.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Awaitable, Callable, List, Optional, Tuple, Union

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

logger = logging.getLogger(__name__)

POLL_INTERVAL_S = 0.2
BATCH = 500


@dataclass(frozen=True)
class CustomerMessage:
    conversation_id: str
    text: str
    timestamp: float
    channel: Optional[str]


@dataclass(frozen=True)
class Paused:
    """The bot stepped aside in this conversation: a customer has just joined a queue."""

    conversation_id: str


Happening = Union[CustomerMessage, Paused]


class BrokerTail:
    """Follows the SQL event broker's table; only new rows, in order."""

    def __init__(self, url: str) -> None:
        self.engine: Engine = create_engine(url, future=True)
        self.last_id: Optional[int] = None

    def _rows(self) -> List[Tuple[int, str, str]]:
        with self.engine.connect() as connection:
            if self.last_id is None:  # start at the end: earlier messages are in the trackers
                self.last_id = connection.execute(
                    text("SELECT COALESCE(MAX(id), 0) FROM events")
                ).scalar_one()
                return []
            rows = connection.execute(
                text("SELECT id, sender_id, data FROM events WHERE id > :after ORDER BY id LIMIT :n"),
                {"after": self.last_id, "n": BATCH},
            ).all()
        if rows:
            self.last_id = rows[-1][0]
        return [(row[0], row[1], row[2]) for row in rows]

    def new_happenings(self) -> List[Happening]:
        try:
            rows = self._rows()
        except OperationalError as error:  # Rasa has not created the table yet
            logger.debug("event broker not ready: %s", error)
            return []
        found: List[Happening] = []
        for _, sender_id, data in rows:
            event = json.loads(data)
            if not sender_id:
                continue
            if event.get("event") == "user":
                found.append(
                    CustomerMessage(
                        sender_id,
                        event.get("text") or "",
                        event.get("timestamp") or 0.0,
                        event.get("input_channel"),
                    )
                )
            elif event.get("event") == "pause":
                found.append(Paused(sender_id))
        return found


async def relay(tail: BrokerTail, deliver: Callable[[Happening], Awaitable[None]]) -> None:
    """Runs until cancelled; a failure to hand over one event is logged and the rest go on."""
    while True:
        for happening in await asyncio.to_thread(tail.new_happenings):
            try:
                await deliver(happening)
            except Exception:  # noqa: BLE001 - one bad event must not stop the relay
                logger.exception("relay: could not hand over an event of %s", happening.conversation_id)
        await asyncio.sleep(POLL_INTERVAL_S)
