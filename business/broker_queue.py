"""A reader's own durable queue on Rasa's RabbitMQ event broker: Rasa's Pika broker publishes every
event to a fanout exchange, and each reader (the workspace's relay, the analytics consumer) binds a
durable queue of its own to it, so what arrives while the reader is away waits there."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator

import aio_pika
from aio_pika.abc import AbstractQueue


@asynccontextmanager
async def durable_queue(
    url: str, queue_name: str, exchange_name: str, prefetch: int
) -> AsyncIterator[AbstractQueue]:
    """The queue `queue_name` bound to the fanout exchange `exchange_name`, over a connection that
    reconnects as RabbitMQ comes and goes, with at most `prefetch` messages unacknowledged."""
    connection = await aio_pika.connect_robust(url)
    async with connection:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=prefetch)
        # Declared as Rasa declares it, so whichever starts first, the other finds the same one.
        exchange = await channel.declare_exchange(exchange_name, type=aio_pika.ExchangeType.FANOUT)
        queue = await channel.declare_queue(queue_name, durable=True)
        await queue.bind(exchange, "")
        yield queue
