"""endpoints.yml as plain `rasa run` / `rasa shell` read it from the project root: every variable it
names is filled from the environment (Rasa fills only unquoted ${...} values)."""

from __future__ import annotations

from pathlib import Path

from rasa.core.utils import AvailableEndpoints

ENDPOINTS = Path(__file__).resolve().parents[2] / "endpoints.yml"


def test_the_action_token_and_the_event_brokers_file_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ACTIONS_TOKEN", "token-from-the-venv")
    monkeypatch.setenv("XINGHE_EVENTS_DB", str(tmp_path / "events.db"))
    endpoints = AvailableEndpoints.read_endpoints(str(ENDPOINTS))
    assert endpoints.action.headers == {"Authorization": "Bearer token-from-the-venv"}
    assert endpoints.event_broker.kwargs["db"] == str(tmp_path / "events.db")
