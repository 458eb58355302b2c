"""A conversation lock shared by several Rasa instances through Redis, taken atomically.

Rasa's own `RedisLockStore` reads the lock, changes it in Python and writes it back, so two
instances that receive messages of one conversation at the same moment can both take "ticket 0"
and run their turns side by side (a turn is lost), and one instance can delete the lock while the
other is queued on it (its message fails). Here every step is one Lua script on the Redis server,
timed by Redis's clock:

* a message draws the next ticket of its conversation (FIFO in the order Redis saw them);
* it runs when its ticket is the lowest one still alive; waiting and running both keep the ticket
  alive (a heartbeat every third of the lifetime), so a slow turn keeps its place, while the ticket
  of an instance that died is dropped `lock_lifetime` seconds after its last sign of life;
* finishing removes the ticket, and the conversation's keys when nobody is queued.

Configured in the endpoints as `lock_store: {type: persistence.lock_store.RedisTicketLockStore,
url, port, db, password, key_prefix, lock_lifetime}` (docs/deployment.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import AsyncIterator, List

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LockError, LockStore
from rasa.utils.endpoints import EndpointConfig
from redis import asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

DEFAULT_LIFETIME_S = 10.0
POLL_S = 0.02  # Redis answers in well under a millisecond; waiting is cheap

_NOW_MS = "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000) "

# KEYS: queue (sorted set of tickets), lives (hash ticket -> alive-until ms), counter.
# ARGV: lifetime ms. Returns the new ticket.
_ISSUE = (
    _NOW_MS
    + """
local ticket = redis.call('INCR', KEYS[3])
redis.call('ZADD', KEYS[1], ticket, ticket)
redis.call('HSET', KEYS[2], ticket, now + tonumber(ARGV[1]))
for _, key in ipairs(KEYS) do redis.call('PEXPIRE', key, 10 * tonumber(ARGV[1])) end
return ticket
"""
)

# ARGV: ticket, lifetime ms. Keeps the ticket alive, drops dead tickets ahead of it.
# Returns 1 when it is this ticket's turn, 0 when it must wait, -1 when the ticket was dropped.
_TURN = (
    _NOW_MS
    + """
local ticket = ARGV[1]
if redis.call('HEXISTS', KEYS[2], ticket) == 0 then return -1 end
redis.call('HSET', KEYS[2], ticket, now + tonumber(ARGV[2]))
for _, key in ipairs(KEYS) do redis.call('PEXPIRE', key, 10 * tonumber(ARGV[2])) end
while true do
  local head = redis.call('ZRANGE', KEYS[1], 0, 0)[1]
  if head == ticket then return 1 end
  if tonumber(redis.call('HGET', KEYS[2], head) or '0') >= now then return 0 end
  redis.call('ZREM', KEYS[1], head)
  redis.call('HDEL', KEYS[2], head)
end
"""
)

# ARGV: ticket. Removes it; the conversation's keys go with the last ticket.
_RELEASE = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('DEL', KEYS[1], KEYS[2], KEYS[3]) end
return 1
"""


class RedisTicketLockStore(LockStore):
    def __init__(self, endpoint_config: EndpointConfig) -> None:
        options = endpoint_config.kwargs
        self.red = aioredis.Redis(
            host=endpoint_config.url or "localhost",
            port=int(options.get("port") or 6379),
            db=int(options.get("db") or 1),
            password=options.get("password") or None,
            socket_timeout=float(options.get("socket_timeout") or 10),
            # A connection broken by a Redis restart is replaced instead of failing one turn.
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 2),
            retry_on_error=[RedisConnectionError, RedisTimeoutError],
        )
        self.prefix = f"{options.get('key_prefix') or 'xinghe'}:conversation_lock:"
        self.lifetime_ms = int(1000 * float(options.get("lock_lifetime") or DEFAULT_LIFETIME_S))
        self._issue = self.red.register_script(_ISSUE)
        self._turn = self.red.register_script(_TURN)
        self._release = self.red.register_script(_RELEASE)
        super().__init__()

    def _keys(self, conversation_id: str) -> List[str]:
        base = self.prefix + conversation_id
        return [base + ":queue", base + ":lives", base + ":counter"]

    @contextlib.asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = 0,
        wait_time_in_seconds: float = 0,
    ) -> AsyncIterator[TicketLock]:  # type: ignore[override]
        """This conversation's turn, after the messages that came before it (Rasa's arguments are
        ignored: the lifetime is the store's own, and waiting polls Redis every POLL_S)."""
        keys = self._keys(conversation_id)
        try:
            ticket = int(await self._issue(keys=keys, args=[self.lifetime_ms]))
        except RedisError as error:
            raise LockError(f"conversation lock unavailable (Redis): {error}") from error
        alive = asyncio.ensure_future(self._keep_alive(keys, ticket))
        try:
            await self._wait_for_turn(keys, ticket, alive)
            yield TicketLock(conversation_id)
        finally:
            alive.cancel()
            with contextlib.suppress(RedisError):
                await self._release(keys=keys, args=[ticket])

    async def _wait_for_turn(self, keys: List[str], ticket: int, alive: "asyncio.Future[None]") -> None:
        while True:
            if alive.done():  # the heartbeat found the ticket dropped, or Redis gone
                alive.result()
            try:
                state = int(await self._turn(keys=keys, args=[ticket, self.lifetime_ms]))
            except RedisError as error:
                raise LockError(f"conversation lock unavailable (Redis): {error}") from error
            if state == 1:
                return
            if state == -1:
                raise LockError(f"the ticket for {keys[0]} was dropped while waiting")
            await asyncio.sleep(POLL_S)

    async def _keep_alive(self, keys: List[str], ticket: int) -> None:
        while True:
            await asyncio.sleep(self.lifetime_ms / 3000)
            try:
                state = int(await self._turn(keys=keys, args=[ticket, self.lifetime_ms]))
            except RedisError as error:
                logger.warning("conversation lock heartbeat failed: %s", error)
                continue
            if state == -1:
                raise LockError(f"the ticket for {keys[0]} was dropped (no sign of life in time)")
