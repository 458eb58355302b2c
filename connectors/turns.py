"""What the WeChat and phone channels share: one Rasa turn collected into messages,
run as a task that may outlive the webhook request which started it."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set, TypeVar

from rasa.core.channels.channel import OutputChannel, UserMessage

logger = logging.getLogger(__name__)

T = TypeVar("T")
MessageHandler = Callable[[UserMessage], Awaitable[Any]]


@dataclass(frozen=True)
class BotMessage:
    """One bot message as a channel needs it, whatever Rasa method produced it."""

    text: str = ""
    buttons: List[Dict[str, Any]] = field(default_factory=list)
    image: Optional[str] = None
    custom: Optional[Dict[str, Any]] = None
    # The response template behind the text (e.g. utter_handoff_queued): lets a
    # channel act on *what* was said (transfer, hang up) without parsing text.
    utter_action: Optional[str] = None
    ticket_id: Optional[str] = None


class TurnOutput(OutputChannel):
    """Collects every message of one turn; the channel renders them when the turn ends."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.messages: List[BotMessage] = []

    def name(self) -> str:  # type: ignore[override]
        # Rasa picks channel-specific response variants by this name.
        return self.channel

    async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> None:
        self.messages.append(
            BotMessage(
                text=(message.get("text") or "").strip(),
                buttons=list(message.get("buttons") or message.get("quick_replies") or []),
                image=message.get("image"),
                custom=message.get("custom"),
                utter_action=message.get("utter_action"),
                ticket_id=message.get("ticket_id"),
            )
        )


class TaskKeeper:
    """Background tasks with a strong reference until they finish (asyncio keeps only weak ones)."""

    def __init__(self) -> None:
        self._tasks: Set[asyncio.Task] = set()

    def start(self, work: Awaitable[T], what: str) -> "asyncio.Task[T]":
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(lambda done: self._finished(done, what))
        return task

    def _finished(self, task: asyncio.Task, what: str) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("%s failed", what, exc_info=task.exception())


async def finished_within(task: asyncio.Task, seconds: float) -> bool:
    """Waits up to `seconds` for `task` without cancelling it; True when it is done."""
    if not task.done():
        await asyncio.wait({task}, timeout=max(seconds, 0))
    return task.done()


async def run_turn(on_new_message: MessageHandler, message: UserMessage) -> List[BotMessage]:
    """Runs one Rasa turn into `message.output_channel` (a TurnOutput) and returns its messages."""
    await on_new_message(message)
    return message.output_channel.messages
