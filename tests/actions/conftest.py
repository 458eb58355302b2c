"""Run actions the way the action server does: real Trackers, the real domain, a real SQLite store."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional

import pytest
from rasa.shared.core.domain import Domain
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from business.services.agents import AgentDirectory
from tests.conftest import NOW

DOMAIN = Domain.load(Path(__file__).resolve().parents[2] / "domain.yml").as_dict()


def make_tracker(
    text: str = "",
    intent: str = "inform",
    slots: Optional[Dict[str, Any]] = None,
    extracted: Optional[Dict[str, Any]] = None,
    entities: Iterable[Dict[str, Any]] = (),
    active_loop: Optional[str] = None,
    history: Iterable[Dict[str, Any]] = (),
    sender_id: str = "test-conversation",
) -> Tracker:
    """A tracker right after the customer's latest message.

    `extracted` are the slots Rasa filled from that message (what a form validates).
    """
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.99}, "entities": list(entities)}
    events: List[Dict[str, Any]] = list(history) + [{"event": "user", "text": text, "parse_data": latest}]
    events += [{"event": "slot", "name": name, "value": value} for name, value in (extracted or {}).items()]
    all_slots = dict.fromkeys(DOMAIN["slots"])
    all_slots.update(slots or {})
    all_slots.update(extracted or {})
    return Tracker(
        sender_id,
        all_slots,
        latest,
        events,
        False,
        None,
        {"name": active_loop} if active_loop else {},
        "action_listen",
    )


def agent_online(session, agent_id: str) -> None:
    """The demo agent is logged in to the workspace (as of the tests' clock)."""
    directory = AgentDirectory(session)
    directory.set_status(directory.find(agent_id), "online", NOW)
    session.commit()


class Run:
    """The result of one action run: its events and what it said."""

    def __init__(self, events: List[Dict[str, Any]], dispatcher: CollectingDispatcher) -> None:
        self.events = events
        self.messages = dispatcher.messages

    @property
    def responses(self) -> List[str]:
        return [m.get("response") for m in self.messages]

    def message(self, response: str) -> Dict[str, Any]:
        return next(m for m in self.messages if m.get("response") == response)

    def slots(self) -> Dict[str, Any]:
        return {e["name"]: e["value"] for e in self.events if e.get("event") == "slot"}


def run_action(action: Action, tracker: Tracker) -> Run:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, DOMAIN))
    return Run(events, dispatcher)


@pytest.fixture
def run(database_url):
    """Runs an action against the seeded store of this test."""
    return run_action
