"""Per-conversation flood control and the message size rule."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Dict, Optional

from connectors.webchat.notices import Notice


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class RateLimiter:
    """Token bucket per conversation: `burst` messages at once, then `per_second`.

    Keyed by conversation, not socket, so several tabs share one allowance.
    """

    per_second: float
    burst: int
    clock: Callable[[], float] = time.monotonic
    _buckets: Dict[str, _Bucket] = field(default_factory=dict)

    def allow(self, key: str) -> bool:
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(tokens=float(self.burst), updated=now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * self.per_second)
        bucket.updated = now
        if bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        return True


def message_problem(text: object, max_chars: int) -> Optional[Notice]:
    """Why a user message cannot be accepted, or None when it can."""
    if not isinstance(text, str) or not text.strip():
        return Notice.EMPTY
    if len(text) > max_chars:
        return Notice.TOO_LONG
    return None
