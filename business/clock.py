"""The business clock: Asia/Shanghai wall time.

`XINGHE_NOW` (ISO 8601, e.g. `2026-11-22T10:00:00+08:00`) fixes the clock, so
tests and demos get the same service-hour and eligibility answers at any hour.
"""

from __future__ import annotations

import os
from datetime import date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    """Current naive Asia/Shanghai time (the store's convention)."""
    fixed = os.environ.get("XINGHE_NOW")
    if fixed:
        moment = datetime.fromisoformat(fixed)
        if moment.tzinfo is not None:
            moment = moment.astimezone(SHANGHAI)
        return moment.replace(tzinfo=None)
    return datetime.now(SHANGHAI).replace(tzinfo=None)


def today() -> date:
    return now().date()
