"""One conversation's turns run one at a time, in order, whichever Rasa instance receives them
(the conversation lock in the real Redis, shared by two lock stores as by two instances)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import List

import pytest
from rasa.core.lock_store import LockError
from rasa.utils.endpoints import EndpointConfig

from persistence.lock_store import RedisTicketLockStore
from tests.servers import redis_server  # noqa: F401 - fixture


def store(server, lifetime: float = 10.0) -> RedisTicketLockStore:
    return RedisTicketLockStore(
        EndpointConfig(
            url=server["host"],
            port=server["port"],
            db=1,
            key_prefix=server["prefix"],
            lock_lifetime=lifetime,
        )
    )


def test_twenty_messages_at_once_on_two_instances_run_one_at_a_time_in_arrival_order(
    redis_server,  # noqa: F811
):
    """Two instances are two threads with event loops of their own, as separate as processes."""
    guard = threading.Lock()
    inside = 0
    most_inside = 0
    served: List[int] = []
    start = time.monotonic() + 0.2

    async def turn(instance: RedisTicketLockStore, n: int) -> None:
        nonlocal inside, most_inside
        await asyncio.sleep(start + 0.005 * n - time.monotonic())  # a message every 5 ms
        async with instance.lock("webchat:one"):
            with guard:
                inside += 1
                most_inside = max(most_inside, inside)
                served.append(n)
            await asyncio.sleep(0.01)  # a turn's work, during which the next ones arrive
            with guard:
                inside -= 1

    async def instance_receives(numbers: range) -> None:
        instance = store(redis_server)
        await asyncio.gather(*(turn(instance, n) for n in numbers))

    threads = [
        threading.Thread(target=asyncio.run, args=(instance_receives(range(first, 20, 2)),))
        for first in (0, 1)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert most_inside == 1
    assert served == list(range(20))  # none lost, first come first served


async def test_another_conversation_does_not_wait(redis_server):  # noqa: F811
    instance = store(redis_server)
    async with instance.lock("webchat:busy"):
        started = time.monotonic()
        async with instance.lock("webchat:other"):
            pass
        assert time.monotonic() - started < 0.5


async def test_the_turn_of_an_instance_that_died_is_given_up_after_the_lifetime(redis_server):  # noqa: F811
    dead, alive = store(redis_server, lifetime=0.5), store(redis_server, lifetime=0.5)
    # The dead instance drew a ticket and then vanished (no heartbeat, no release).
    await dead._issue(keys=dead._keys("wechat:o1"), args=[dead.lifetime_ms])
    started = time.monotonic()
    async with alive.lock("wechat:o1"):
        waited = time.monotonic() - started
    assert 0.3 < waited < 2.0


async def test_a_slow_turn_keeps_its_place_past_the_lifetime(redis_server):  # noqa: F811
    slow, other = store(redis_server, lifetime=0.3), store(redis_server, lifetime=0.3)
    order: List[str] = []

    async def slow_turn() -> None:
        async with slow.lock("rest:slow"):
            order.append("slow starts")
            await asyncio.sleep(1.0)  # three lifetimes: the heartbeat keeps the ticket alive
            order.append("slow ends")

    async def next_turn() -> None:
        await asyncio.sleep(0.1)
        async with other.lock("rest:slow"):
            order.append("next")

    await asyncio.gather(slow_turn(), next_turn())
    assert order == ["slow starts", "slow ends", "next"]


async def test_nothing_is_left_in_redis_after_the_last_turn(redis_server):  # noqa: F811
    instance = store(redis_server)
    async with instance.lock("rest:tidy"):
        pass
    assert await instance.red.keys(f"{redis_server['prefix']}:*") == []


async def test_without_redis_a_turn_fails_at_once_with_a_lock_error():
    nowhere = RedisTicketLockStore(EndpointConfig(url="127.0.0.1", port=1, socket_timeout=1))
    started = time.monotonic()
    with pytest.raises(LockError):
        async with nowhere.lock("rest:x"):
            pass
    assert time.monotonic() - started < 3
