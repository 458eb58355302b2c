"""The supervisors' dashboard, built once for everyone: every supervisor's page polls it every 20 s,
and one build reads the facts of every conversation in the period. The workspace process keeps each
period's figures for DASHBOARD_TTL_S, and supervisors who poll while they are being built wait for
that build instead of starting another."""

from __future__ import annotations

import asyncio
import time
from datetime import date
from typing import Any, Awaitable, Callable, Dict, Tuple

# Figures that move by the conversation, read by people over minutes: half a minute old is as good as
# fresh. Longer than the pages' 20 s poll, so even one supervisor alone costs half the builds.
DASHBOARD_TTL_S = 30.0

Figures = Dict[str, Any]
Period = Tuple[date, int]  # (today, days): a day's "today" is not the next day's


class DashboardCache:
    def __init__(
        self,
        build: Callable[[date, int], Awaitable[Figures]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.build = build
        self.clock = clock
        self._kept: Dict[Period, Tuple[float, Figures]] = {}
        self._building: Dict[Period, asyncio.Lock] = {}

    async def figures(self, today: date, days: int) -> Figures:
        """The dashboard of the `days` days up to `today`, built at most DASHBOARD_TTL_S ago."""
        period = (today, days)
        async with self._building.setdefault(period, asyncio.Lock()):
            kept = self._kept.get(period)
            if kept is not None and self.clock() - kept[0] < DASHBOARD_TTL_S:
                return kept[1]
            started = self.clock()
            figures = await self.build(today, days)
            # What was kept for an earlier day is never asked for again.
            self._kept = {key: value for key, value in self._kept.items() if key[0] == today}
            self._building = {key: lock for key, lock in self._building.items() if key[0] == today}
            self._kept[period] = (started, figures)
            return figures
