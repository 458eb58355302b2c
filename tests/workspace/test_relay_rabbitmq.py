"""In production the workspace follows Rasa's RabbitMQ broker (the Pika event broker, for real):
it hears what customers write to their agents, and nothing is lost or heard twice when it restarts."""

from __future__ import annotations

import asyncio
import uuid
from typing import List

import aio_pika
import pytest
from rasa.core.brokers.pika import PikaEventBroker

from tests.servers import rabbitmq_url  # noqa: F401 - fixture
from workspace.relay import CustomerMessage, Happening, Paused, QueueTail, relay


@pytest.fixture
async def rasa_broker(rabbitmq_url):  # noqa: F811
    """Rasa's own Pika broker on an exchange and queue of this test's, removed afterwards."""
    name = f"xinghe-test-{uuid.uuid4().hex[:8]}"
    broker = PikaEventBroker(
        rabbitmq_url, username="guest", password="guest", queues=[name], exchange_name=name
    )
    await broker.connect()
    broker.name = name
    yield broker
    await broker.close()
    connection = await aio_pika.connect(rabbitmq_url)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(name)
        await channel.exchange_delete(name)


def customer(text: str, at: float) -> dict:
    return {
        "sender_id": "webchat:a",
        "event": "user",
        "text": text,
        "timestamp": at,
        "input_channel": "webchat",
    }


async def heard(tail: QueueTail, count: int) -> List[Happening]:
    """The first `count` happenings the relay hands over (then it is stopped, as at a shutdown)."""
    got: List[Happening] = []
    enough = asyncio.Event()

    async def deliver(happening: Happening) -> None:
        got.append(happening)
        if len(got) == count:
            enough.set()

    task = asyncio.ensure_future(relay(tail, deliver))
    try:
        await asyncio.wait_for(enough.wait(), 10)
        await asyncio.sleep(0.3)  # anything more would show up now
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return got


async def test_the_workspace_hears_customers_and_pauses_from_rasas_pika_broker(rasa_broker, rabbitmq_url):  # noqa: F811
    tail = QueueTail(rabbitmq_url, rasa_broker.name, exchange=rasa_broker.name)
    rasa_broker.publish({"sender_id": "webchat:a", "event": "bot", "text": "机器人说的"})
    rasa_broker.publish({"sender_id": "webchat:a", "event": "pause"})
    rasa_broker.publish(customer("我还在等", 2.0))
    assert await heard(tail, 2) == [
        Paused("webchat:a"),
        CustomerMessage("webchat:a", "我还在等", 2.0, "webchat"),
    ]


async def test_what_customers_write_while_the_workspace_restarts_is_heard_once_afterwards(
    rasa_broker,
    rabbitmq_url,  # noqa: F811
):
    tail = QueueTail(rabbitmq_url, rasa_broker.name, exchange=rasa_broker.name)
    rasa_broker.publish(customer("第一条", 1.0))
    assert [h.text for h in await heard(tail, 1)] == ["第一条"]
    # The workspace is down: customers go on writing.
    for n in range(2, 6):
        rasa_broker.publish(customer(f"第{n}条", float(n)))
    await asyncio.sleep(0.5)
    restarted = QueueTail(rabbitmq_url, rasa_broker.name, exchange=rasa_broker.name)
    assert [h.text for h in await heard(restarted, 4)] == ["第2条", "第3条", "第4条", "第5条"]


async def test_an_unreadable_broker_message_is_dropped_and_the_rest_go_on(rasa_broker, rabbitmq_url):  # noqa: F811
    tail = QueueTail(rabbitmq_url, rasa_broker.name, exchange=rasa_broker.name)
    connection = await aio_pika.connect(rabbitmq_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(rasa_broker.name)
        await exchange.publish(aio_pika.Message(b"\xff not json"), "")
    rasa_broker.publish(customer("还在吗", 3.0))
    assert [h.text for h in await heard(tail, 1)] == ["还在吗"]


async def test_the_relay_waits_for_a_broker_that_is_not_there_yet(monkeypatch):
    monkeypatch.setattr("workspace.relay.RECONNECT_S", 0.05)
    tail = QueueTail("amqp://guest:guest@127.0.0.1:1/", "nowhere", "nowhere")
    task = asyncio.ensure_future(relay(tail, lambda h: asyncio.sleep(0)))
    await asyncio.sleep(0.5)
    assert not task.done()  # still trying, not crashed
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
