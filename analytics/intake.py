"""The analytics consumer: follows Rasa's event broker and keeps the facts up to date.

* The SQL event broker (make run): its table `events` (id, sender_id, data) is read in id order from
  the position kept in `analytics_cursors`; the events, the facts they change and the new position are
  committed in one transaction, so a consumer stopped at any moment resumes where it stopped.
* RabbitMQ (make run-prod): a durable queue of its own (`XINGHE_ANALYTICS_QUEUE`, xinghe.analytics)
  bound to Rasa's fanout exchange; a batch is acknowledged once committed, and what RabbitMQ sends
  again after a crash is recognised by its digest and adds nothing.

Between batches, conversations whose live chat, ticket or rating changed in the business store are
rebuilt too (an agent's close or a rating is not always followed by a broker event).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import aio_pika
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from analytics import store
from business.broker_queue import durable_queue
from business.store.db import session_scope
from privacy.stores import events_after

logger = logging.getLogger(__name__)

SQL_BROKER = "sql-broker"
BATCH = 1000
POLL_S = 1.0
RECONNECT_S = 2.0
QUEUE_BATCH_WAIT_S = 0.5
REFRESH_S = 5.0  # how often the business store's changes are looked for


def _event(data: Any) -> Optional[Dict[str, Any]]:
    try:
        event = json.loads(data) if isinstance(data, (str, bytes)) else data
    except ValueError:
        return None
    return event if isinstance(event, dict) else None


def apply(
    batch: Sequence[Tuple[str, Dict[str, Any]]],
    engine: Optional[Engine] = None,
    position: Optional[int] = None,
) -> int:
    """Keeps a batch of events and rebuilds what it changed, in one transaction (with the SQL broker's
    new position, when given); returns the facts rebuilt. A batch that fails is kept event by event, and
    an event that cannot be kept is logged and passed over: one bad event never stops the stream. When
    the database itself fails (OperationalError) the error is raised and nothing is passed over: the SQL
    broker's rows are read again, RabbitMQ sends the unacknowledged messages again."""
    try:
        return _apply(batch, engine, position)
    except Exception:  # noqa: BLE001 - find the event at fault instead of stopping
        logger.exception("analytics: a batch of %d events failed; keeping them one by one", len(batch))
    built = 0
    for event in batch:
        try:
            built += _apply([event], engine, None)
        except OperationalError:  # the database's fault, not the event's: nothing is passed over
            raise
        except Exception:  # noqa: BLE001
            logger.exception("analytics: an event of %s could not be kept and was passed over", event[0])
    if position is not None:
        _apply([], engine, position)
    return built


def _apply(
    batch: Sequence[Tuple[str, Dict[str, Any]]], engine: Optional[Engine], position: Optional[int]
) -> int:
    with session_scope(engine) as session:
        touched = store.ingest(session, batch)
        built = store.rebuild(session, touched)
        if position is not None:
            store.advance(session, SQL_BROKER, position)
        return built


def refresh(engine: Optional[Engine] = None, watch: Optional[store.ChangeWatch] = None) -> int:
    """Rebuilds the conversations the business store changed since their facts were built: a new
    watch compares all of them, one that has looked before only what changed since."""
    watch = watch or store.ChangeWatch()
    with session_scope(engine) as session:
        changes = watch.look(session)
        built = store.rebuild(session, changes.conversations)
    watch.taken_up(changes)  # only once committed: a refresh that failed is looked for again
    return built


class Refresher:
    """`refresh` at most every REFRESH_S seconds, with one watch: after the first, each looks only
    at what changed since the one before."""

    def __init__(self, engine: Optional[Engine]) -> None:
        self.engine = engine
        self.watch = store.ChangeWatch()
        self.last = float("-inf")

    async def __call__(self) -> None:
        if time.monotonic() - self.last >= REFRESH_S:
            await asyncio.to_thread(refresh, self.engine, self.watch)
            self.last = time.monotonic()


class BrokerTable:
    """The SQL event broker's table, read after a position."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url, future=True)

    def after(self, position: int, limit: int = BATCH) -> List[Tuple[int, str, Any]]:
        try:
            return events_after(self.engine, position, limit)
        except OperationalError as error:  # its database cannot be read yet: read again at the next poll
            logger.debug("event broker not ready: %s", error)
            return []


def drain_table(table: BrokerTable, engine: Optional[Engine] = None) -> int:
    """Reads everything the table holds beyond the kept position; returns the events read."""
    read = 0
    while True:
        with session_scope(engine) as session:
            position = store.position(session, SQL_BROKER)
        rows = table.after(position)
        if not rows:
            return read
        batch = [(sender, event) for _, sender, data in rows if (event := _event(data)) is not None]
        apply(batch, engine, position=rows[-1][0])
        read += len(rows)


def backfill(tracker: Engine, engine: Optional[Engine] = None) -> int:
    """Reads every event the SQL tracker store keeps into the facts, in its order: conversations from
    before the consumer ran, or whose broker stream was lost. The tracker store keeps the same masked
    events the broker carries, so what was kept from either is not kept twice. Returns the events read."""
    read, after = 0, 0
    while rows := events_after(tracker, after, BATCH):
        apply([(sender, event) for _, sender, data in rows if (event := _event(data)) is not None], engine)
        after, read = rows[-1][0], read + len(rows)
    return read


async def follow_table(url: str, engine: Optional[Engine] = None) -> None:
    table, refresh_now = BrokerTable(url), Refresher(engine)
    while True:
        try:
            read = await asyncio.to_thread(drain_table, table, engine)
            await refresh_now()
        except OperationalError as error:  # the database is down or locked: read the same rows again
            logger.warning("analytics: business database unavailable (%s), trying again", error)
            await asyncio.sleep(RECONNECT_S)
            continue
        if not read:
            await asyncio.sleep(POLL_S)


async def follow_queue(
    url: str, queue_name: str, exchange_name: str, engine: Optional[Engine] = None
) -> None:
    """Consumes the analytics queue until cancelled; a broker that goes away is followed again."""
    while True:
        try:
            await _consume(url, queue_name, exchange_name, engine)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - the broker is down or not there yet
            logger.warning("analytics: event broker unavailable (%s), trying again", error)
        await asyncio.sleep(RECONNECT_S)


async def _consume(url: str, queue_name: str, exchange_name: str, engine: Optional[Engine]) -> None:
    async with durable_queue(url, queue_name, exchange_name, prefetch=BATCH) as queue:
        logger.info("analytics: following RabbitMQ queue %s", queue_name)
        arrived: asyncio.Queue[aio_pika.abc.AbstractIncomingMessage] = asyncio.Queue()
        await queue.consume(arrived.put)
        refresh_now = Refresher(engine)
        while True:
            pending: List[aio_pika.abc.AbstractIncomingMessage] = []
            try:
                while len(pending) < BATCH:
                    pending.append(await asyncio.wait_for(arrived.get(), QUEUE_BATCH_WAIT_S))
            except asyncio.TimeoutError:
                pass
            if pending:
                batch = [
                    (str(event.get("sender_id") or ""), event)
                    for message in pending
                    if (event := _event(message.body)) is not None
                ]
                await asyncio.to_thread(apply, batch, engine)
                await pending[-1].ack(multiple=True)  # only once committed
            await refresh_now()


def follow(events_url: str, queue_name: str, exchange_name: str) -> None:
    """Runs the consumer for the configured broker until interrupted."""
    if events_url.startswith(("amqp://", "amqps://")):
        runner = follow_queue(events_url, queue_name, exchange_name)
    else:
        runner = follow_table(events_url)
    started = time.monotonic()
    try:
        asyncio.run(runner)
    except KeyboardInterrupt:
        logger.info("analytics: stopped after %.0f s", time.monotonic() - started)
