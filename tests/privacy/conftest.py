"""The stores of one test: the business database (tests/conftest.py), and Rasa's SQL tracker store
and SQL event broker in files of the test's own directory, named by an endpoints file as make run's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from business import sealing
from privacy.stores import Stores


@pytest.fixture
def stores(tmp_path, database_url, monkeypatch) -> Stores:
    monkeypatch.setenv(sealing.KEY_ENV, "ef" * 32)
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(
        yaml.safe_dump(
            {
                "tracker_store": {
                    "type": "persistence.tracker_store.MaskingSQLTrackerStore",
                    "dialect": "sqlite",
                    "db": str(tmp_path / "tracker.db"),
                },
                "event_broker": {"type": "SQL", "dialect": "sqlite", "db": "${XINGHE_EVENTS_DB}"},
            }
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("XINGHE_EVENTS_DB", str(tmp_path / "events.db"))
    return Stores.from_endpoints(endpoints)


def files(tmp_path: Path) -> bytes:
    """Every byte of every SQLite file, with their logs."""
    return b"".join(path.read_bytes() for path in sorted(tmp_path.glob("*.db*")))


def held(text: str, raw: bytes) -> bool:
    """Whether the text is in the bytes, as UTF-8 or as JSON escapes (Rasa stores events so)."""
    return text.encode() in raw or json.dumps(text)[1:-1].encode() in raw
