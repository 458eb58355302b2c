"""Which platform deliveries were already taken, so a retried delivery makes no second turn.

In-memory by default (one worker process). With several workers or instances,
configure a shared SQL database (`dedupe_store` / `WECHAT_DEDUPE_URL`, any
SQLAlchemy URL): the first worker to insert a key owns the delivery.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone
from typing import Dict, Protocol

from sqlalchemy import Column, DateTime, MetaData, String, Table, delete, insert
from sqlalchemy.exc import IntegrityError

from business.store.db import engine_for

# WeChat retries within ~15 s; keys are kept long enough to cover clock and queue delays.
KEEP_FOR = timedelta(minutes=10)

_metadata = MetaData()
_deliveries = Table(
    "channel_deliveries",
    _metadata,
    Column("key", String(200), primary_key=True),
    Column("claimed_at", DateTime, nullable=False, index=True),
)


class DeliveryLedger(Protocol):
    async def claim(self, key: str) -> bool:
        """True for the first claim of `key` (within KEEP_FOR), False for a repeat."""


class MemoryLedger:
    def __init__(self) -> None:
        self._claimed: Dict[str, float] = {}

    async def claim(self, key: str) -> bool:
        now = time.monotonic()
        horizon = now - KEEP_FOR.total_seconds()
        for old in [k for k, at in self._claimed.items() if at < horizon]:
            del self._claimed[old]
        if key in self._claimed:
            return False
        self._claimed[key] = now
        return True


class SqlLedger:
    """Claims are rows of `channel_deliveries`; the primary key decides who was first."""

    def __init__(self, url: str) -> None:
        self.engine = engine_for(url)
        _metadata.create_all(self.engine)

    async def claim(self, key: str) -> bool:
        return await asyncio.to_thread(self._claim, key)

    def _claim(self, key: str) -> bool:
        now = datetime.now(timezone.utc).replace(tzinfo=None)  # naive UTC, portable across databases
        with self.engine.begin() as connection:
            connection.execute(delete(_deliveries).where(_deliveries.c.claimed_at < now - KEEP_FOR))
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(_deliveries).values(key=key, claimed_at=now))
        except IntegrityError:
            return False
        return True


def ledger_for(url: str) -> DeliveryLedger:
    """A shared SQL ledger for a database URL, the in-memory one for ''."""
    return SqlLedger(url) if url else MemoryLedger()
