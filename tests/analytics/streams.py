"""Hand-built event streams, shaped as Rasa's event broker publishes them (sender_id inside)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional

from business.clock import SHANGHAI
from business.store.models import LiveChat


def at(text: str) -> float:
    """A Shanghai wall-clock time ('2026-11-22 10:00:05') as a broker timestamp."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI).timestamp()


class Stream:
    """One sender's events, each a second after the one before unless a time is given."""

    def __init__(self, sender: str, start: str, channel: str = "webchat") -> None:
        self.sender = sender
        self.channel = channel
        self.clock = at(start) - 1  # the first event is at `start`
        self.events: List[Dict[str, Any]] = []

    def add(self, event: Dict[str, Any], when: Optional[str] = None) -> "Stream":
        self.clock = at(when) if when else self.clock + 1
        self.events.append({"sender_id": self.sender, "timestamp": self.clock, **event})
        return self

    def session(self, when: Optional[str] = None) -> "Stream":
        self.add({"event": "action", "name": "action_session_start"}, when)
        self.add({"event": "session_started"})
        return self.add({"event": "action", "name": "action_listen"})

    def says(self, text: str, intent: str, when: Optional[str] = None) -> "Stream":
        parse = {"intent": {"name": intent, "confidence": 0.99}, "text": text}
        return self.add(
            {"event": "user", "text": text, "parse_data": parse, "input_channel": self.channel}, when
        )

    def action(self, name: str) -> "Stream":
        return self.add({"event": "action", "name": name})

    def bot(self, template: str, text: str = "…", when: Optional[str] = None, **metadata: Any) -> "Stream":
        return self.add(
            {"event": "bot", "text": text, "metadata": {"utter_action": template, **metadata}}, when
        )

    def agent(self, text: str, agent_id: str, when: Optional[str] = None) -> "Stream":
        return self.add({"event": "bot", "text": text, "metadata": {"agent_id": agent_id}}, when)

    def loop(self, name: Optional[str]) -> "Stream":
        return self.add({"event": "active_loop", "name": name})

    def slot(self, name: str, value: Any) -> "Stream":
        return self.add({"event": "slot", "name": name, "value": value})

    def pause(self, when: Optional[str] = None) -> "Stream":
        return self.add({"event": "pause"}, when)

    def resume(self, when: Optional[str] = None) -> "Stream":
        return self.add({"event": "resume"}, when)


def closed_chat(conversation_id: str, queued: str, wait_s: int, handle_s: int, rating: int) -> LiveChat:
    """A live chat agent A001 accepted `wait_s` after it was queued and closed `handle_s` later, resolved."""
    queued_at = datetime.fromisoformat(queued)
    return LiveChat(
        conversation_id=conversation_id,
        channel=conversation_id.split(":")[0],
        skill_group="mall",
        priority=1,
        reason="asked",
        status="closed",
        agent_id="A001",
        queued_at=queued_at,
        accepted_at=queued_at + timedelta(seconds=wait_s),
        closed_at=queued_at + timedelta(seconds=wait_s + handle_s),
        result="resolved",
        rating=rating,
    )
