"""The table of dates as customers write them (date_expressions.yml), read as the change-flight
form reads the answer to "改到哪一天？"."""

from datetime import date
from pathlib import Path
from typing import Optional

import pytest
import yaml

from actions.travel import said_day
from business.services.dates import only_ruled_out_days

TABLE = yaml.safe_load((Path(__file__).parent / "date_expressions.yml").read_text(encoding="utf-8"))
ROWS = [(group["today"], text, day) for group in TABLE for text, day in group["says"].items()]


def new_day_taken(message: str, today: date) -> Optional[date]:
    """The day validate_travel_date takes: none when the message only rules days out or names a past day."""
    if only_ruled_out_days(message, today):
        return None
    day = said_day(message, message, today)
    return day if day is not None and day >= today else None


def test_the_table_is_big_enough_and_covers_a_year_end():
    assert len(ROWS) >= 80
    assert any(today.month == 12 and today.day >= 28 for today, _, _ in ROWS)
    assert sum(day is None for _, _, day in ROWS) >= 15


@pytest.mark.parametrize("today, text, expected", ROWS, ids=[f"{today}:{text}" for today, text, _ in ROWS])
def test_the_new_day_a_customer_names(today, text, expected):
    assert new_day_taken(text, today) == expected
