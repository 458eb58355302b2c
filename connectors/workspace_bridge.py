"""The agent workspace's way to write into a conversation: `POST /webhooks/workspace/events`.

Body `{"conversation_id": …, "events": [...], "deliver": true}` with `Authorization: Bearer
<RASA_API_TOKEN>`. It does what Rasa's `POST /conversations/<id>/tracker/events` does with
`output_channel=latest&execute_side_effects=true` (under the conversation's lock: append the events
to the tracker, send the bot messages through the customer's latest channel, save), for the only
events the workspace writes (a bot message, `action_listen`, pause, resume) checked field by field.
Rasa's route validates every body against the whole event schema and re-checks that schema on each
call, which under a busy desk took about half of the Rasa process's time (docs/workspace.md).

A channel that refuses a delivery (WeChat outside its window, say) raises `DeliveryRefused`; the
answer then carries its reason and nothing is saved, as with Rasa's route.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, OutputChannel, UserMessage
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from business.delivery import DeliveryRefused
from connectors.api_token import api_token_refusal

logger = logging.getLogger(__name__)

MAX_EVENTS = 20
MAX_TEXT_CHARS = 4000
MAX_CONVERSATION_ID_CHARS = 256
# The events the workspace writes and the fields each may carry.
ALLOWED_EVENTS: Mapping[str, frozenset] = {
    "bot": frozenset({"event", "text", "metadata", "data"}),
    "action": frozenset({"event", "name"}),
    "pause": frozenset({"event"}),
    "resume": frozenset({"event"}),
}
ALLOWED_ACTIONS = frozenset({"action_listen"})


def event_problem(raw: Any) -> Optional[str]:
    """Why one event of the body is not one the workspace may write (None when it is)."""
    if not isinstance(raw, dict) or raw.get("event") not in ALLOWED_EVENTS:
        return "只接受 bot、action、pause、resume 事件"
    extra = set(raw) - ALLOWED_EVENTS[raw["event"]]
    if extra:
        return f"{raw['event']} 事件不接受字段 {sorted(extra)}"
    if raw["event"] == "bot":
        text = raw.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT_CHARS:
            return f"bot 事件的 text 须为 1 到 {MAX_TEXT_CHARS} 个字"
        for key in ("metadata", "data"):
            if not isinstance(raw.get(key, {}), dict):
                return f"bot 事件的 {key} 须为对象"
    if raw["event"] == "action" and raw.get("name") not in ALLOWED_ACTIONS:
        return "action 事件只接受 action_listen"
    return None


def body_problem(body: Any) -> Optional[str]:
    if not isinstance(body, dict):
        return "请求须为 JSON 对象"
    conversation_id = body.get("conversation_id")
    if not isinstance(conversation_id, str) or not 0 < len(conversation_id) <= MAX_CONVERSATION_ID_CHARS:
        return "conversation_id 无效"
    events = body.get("events")
    if not isinstance(events, list) or not 0 < len(events) <= MAX_EVENTS:
        return f"events 须为 1 到 {MAX_EVENTS} 个事件"
    if not isinstance(body.get("deliver", False), bool):
        return "deliver 须为 true 或 false"
    return next((problem for problem in map(event_problem, events) if problem), None)


def latest_output_channel(request: Request, tracker: DialogueStateTracker) -> OutputChannel:
    """The output channel of the input channel the customer last wrote through (collecting if none)."""
    latest = tracker.get_latest_input_channel()
    for channel in getattr(request.app.ctx, "input_channels", None) or []:
        if channel.name() == latest:
            output = channel.get_output_channel()
            if output is not None:
                return output
    return CollectingOutputChannel()


class WorkspaceBridgeInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "workspace"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bridge = Blueprint("workspace_bridge", __name__)

        @bridge.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bridge.route("/events", methods=["POST"])
        async def append(request: Request) -> HTTPResponse:
            refusal = api_token_refusal(request)
            if refusal is not None:
                return refusal
            try:
                body = json.loads(request.body or b"null")
            except (ValueError, UnicodeDecodeError):
                body = None
            problem = body_problem(body)
            if problem:
                return response.json({"error": problem}, status=400)
            agent = getattr(request.app.ctx, "agent", None)
            if agent is None or not agent.is_ready():
                return response.json({"error": "助手尚未就绪"}, status=503)
            try:
                await self._append(
                    request, agent, body["conversation_id"], body["events"], body.get("deliver", False)
                )
            except DeliveryRefused as refused:
                return response.json({"message": str(refused)}, status=502)
            return response.json({"ok": True})

        return bridge

    @staticmethod
    async def _append(
        request: Request, agent: Any, conversation_id: str, raw_events: List[Dict[str, Any]], deliver: bool
    ) -> None:
        events = [Event.from_parameters(raw) for raw in raw_events]
        async with agent.lock_store.lock(conversation_id):
            tracker = await agent.processor.fetch_tracker_with_initial_session(conversation_id)
            for event in events:
                tracker.update(event, agent.domain)
            if deliver:
                await agent.processor.execute_side_effects(
                    events, tracker, latest_output_channel(request, tracker)
                )
            await agent.tracker_store.save(tracker)
