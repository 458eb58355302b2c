"""Customers' messages on their way to agents: read from Rasa's event broker.

Rasa keeps writing every event of a paused conversation (the customer's messages are still parsed
and stored in the tracker) and publishes each one through its event broker; the pause that starts a
wait in the queue goes the same way. Two brokers are followed:

* the default SQL broker, a table `events` (id, sender_id, data) in its own database: `BrokerTail`
  polls it from the row it found last;
* RabbitMQ in production (Rasa's Pika broker, a fanout exchange): `QueueTail` consumes the
  workspace's own durable queue bound to it, and acknowledges an event once the desk has had it, so
  what arrives while the workspace restarts waits in the queue instead of being lost.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, List, Optional, Protocol, Tuple, Union

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from business.broker_queue import durable_queue
from privacy.stores import events_after, last_event_id

logger = logging.getLogger(__name__)

POLL_INTERVAL_S = 0.2
BATCH = 500
RECONNECT_S = 2.0


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


def happening_of(sender_id: Optional[str], event: Dict[str, Any]) -> Optional[Happening]:
    """What a broker event means to the desk, if anything."""
    if not sender_id:
        return None
    if event.get("event") == "user":
        return CustomerMessage(
            sender_id, event.get("text") or "", event.get("timestamp") or 0.0, event.get("input_channel")
        )
    if event.get("event") == "pause":
        return Paused(sender_id)
    return None


class EventSource(Protocol):
    def happenings(self) -> AsyncIterator[Happening]:
        """Every happening from now on, in the broker's order; runs until cancelled."""


class BrokerTail:
    """Follows the SQL event broker's table; only new rows, in order."""

    def __init__(self, url: str) -> None:
        self.engine: Engine = create_engine(url, future=True)
        self.last_id: Optional[int] = None

    def _rows(self) -> List[Tuple[int, str, Any]]:
        if self.last_id is None:  # start at the end: earlier messages are in the trackers
            self.last_id = last_event_id(self.engine)
            return []
        rows = events_after(self.engine, self.last_id, BATCH)
        if rows:
            self.last_id = rows[-1][0]
        return rows

    def new_happenings(self) -> List[Happening]:
        try:
            rows = self._rows()
        except OperationalError as error:  # Rasa has not created the table yet
            logger.debug("event broker not ready: %s", error)
            return []
        found = (happening_of(sender_id, json.loads(data)) for _, sender_id, data in rows)
        return [happening for happening in found if happening is not None]

    async def happenings(self) -> AsyncIterator[Happening]:
        while True:
            for happening in await asyncio.to_thread(self.new_happenings):
                yield happening
            await asyncio.sleep(POLL_INTERVAL_S)


class QueueTail:
    """Consumes the workspace's durable queue on Rasa's RabbitMQ exchange."""

    def __init__(self, url: str, queue: str, exchange: str) -> None:
        self.url = url
        self.queue = queue
        self.exchange = exchange

    async def happenings(self) -> AsyncIterator[Happening]:
        async with durable_queue(self.url, self.queue, self.exchange, prefetch=BATCH) as queue:
            logger.info("workspace: following RabbitMQ queue %s", self.queue)
            async with queue.iterator() as messages:
                async for message in messages:
                    # Acknowledged when the desk is done with it (the relay resumes this generator).
                    async with message.process(requeue=False):
                        try:
                            event = json.loads(message.body)
                        except ValueError:
                            logger.warning("workspace: an unreadable broker message was dropped")
                            continue
                        happening = happening_of(event.get("sender_id"), event)
                        if happening is not None:
                            yield happening


def event_source(url: str, queue: str, exchange: str) -> EventSource:
    """RabbitMQ for an amqp:// URL, else the SQL broker's database."""
    if url.startswith(("amqp://", "amqps://")):
        return QueueTail(url, queue, exchange)
    return BrokerTail(url)


async def relay(source: EventSource, deliver: Callable[[Happening], Awaitable[None]]) -> None:
    """Runs until cancelled; a failure to hand over one event is logged and the rest go on, and a
    broker that goes away is followed again once it is back."""
    while True:
        try:
            async for happening in source.happenings():
                try:
                    await deliver(happening)
                except Exception:  # noqa: BLE001 - one bad event must not stop the relay
                    logger.exception("relay: could not hand over an event of %s", happening.conversation_id)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - the broker is down or not there yet
            logger.warning("relay: event broker unavailable (%s), trying again", error)
        await asyncio.sleep(RECONNECT_S)
