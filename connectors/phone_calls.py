"""State of the calls in progress: one Rasa conversation per call (CallSid).

Kept in this process: a voice gateway sends all webhooks of a call to the same
URL, so run one Rasa instance per phone number or use sticky routing by CallSid.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from connectors.turns import BotMessage


@dataclass
class Call:
    sid: str
    caller: str
    turn: int = 0  # number of the last <Gather> we issued; its webhooks carry ?turn=N
    misses: int = 0  # silences and no-matches in a row
    prompt: str = ""  # what the caller was last asked, for a reprompt
    keypad: Dict[str, str] = field(default_factory=dict)  # key -> what it sends, for the current prompt
    ticket_id: Optional[str] = None  # the handoff ticket, for a transfer nobody answers
    transferred: bool = False  # handed to a person (the bot's handoff paused the conversation)
    running: Dict[int, "asyncio.Task[List[BotMessage]]"] = field(default_factory=dict)  # turn -> Rasa turn
    answered: Dict[int, str] = field(default_factory=dict)  # turn -> TwiML, repeated if the gateway retries
    held: Dict[int, int] = field(default_factory=dict)  # turn -> hold loops so far

    def next_turn(self) -> int:
        self.turn += 1
        return self.turn


# Gateway signatures never expire, so a captured webhook of an ended call stays
# valid: ended CallSids are remembered this long and their webhooks change nothing.
ENDED_MEMORY_S = 24 * 3600


class CallBook:
    def __init__(self) -> None:
        self._calls: Dict[str, Call] = {}
        self._ended: Dict[str, float] = {}  # CallSid -> when its end was reported (monotonic)

    def call(self, sid: str, caller: str) -> Call:
        """The call's state, created on its first webhook (or after this process restarted)."""
        if sid not in self._calls:
            self._calls[sid] = Call(sid, caller)
        return self._calls[sid]

    def close(self, sid: str) -> Optional[Call]:
        now = time.monotonic()
        for old in [s for s, at in self._ended.items() if at < now - ENDED_MEMORY_S]:
            del self._ended[old]
        self._ended.setdefault(sid, now)
        return self._calls.pop(sid, None)

    def ended(self, sid: str) -> bool:
        return sid in self._ended

    def __contains__(self, sid: str) -> bool:
        return sid in self._calls
