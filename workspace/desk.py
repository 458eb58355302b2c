"""The agent desk: what agents do with live chats, carried out in the business core and in Rasa.

Every change of hands is decided by the business core (one transaction); then Rasa is told
(pause / resume events, messages into the customer's channel) and the agents' screens are
signalled. Timeouts run here too: a customer nobody accepts in time, a customer who went silent.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Callable, Dict, List, Optional, Protocol, Set, Tuple, TypeVar

from sqlalchemy.orm import Session

from analytics.report import dashboard
from assist.actions import AgentActions
from assist.assistant import Assistant
from business import clock
from business.formatting import mask_name, mask_phone, month_day_time
from business.sealing import SealingUnavailable
from business.services.agents import SKILL_GROUPS, STATUSES, AgentDirectory, AgentError
from business.services.audit import AuditLog
from business.services.callbacks import CallbackNumbers
from business.services.canned import CannedReplies
from business.services.live_chat import CHANNEL_NAMES, REASONS, RESULTS, LiveChatService, wants_to_leave
from business.services.tickets import (
    AGENT_STATUSES,
    CATEGORY_NAMES,
    GROUP_OF_CATEGORY,
    OPEN_STATUSES,
    TicketService,
)
from business.services.tickets import (
    STATUS_NAMES as TICKET_STATUS_NAMES,
)
from business.store.db import session_scope
from business.store.models import Agent, CannedReply, Customer, LiveChat, Ticket
from business.wording import Wording
from workspace.dashboard_cache import DashboardCache, Figures
from workspace.rasa_api import RasaApi, RasaUnavailable
from workspace.relay import CustomerMessage, Happening, Paused

logger = logging.getLogger(__name__)

T = TypeVar("T")
MAX_REPLY_CHARS = 2000
WECHAT_WINDOW = timedelta(
    hours=48
)  # WeChat's customer-service messages: only this long after the customer wrote
# The bot paused right after its handoff action, before listening: it resumes as if it had listened
# since, so the customer's next message starts a new turn instead of confusing the policies.
RESUME = ({"event": "action", "name": "action_listen"}, {"event": "resume"})
STATUS_NAMES = {
    "waiting": "排队中",
    "active": "接待中",
    "closed": "已结束",
    "cancelled": "客户已取消",
    "returned": "已交还机器人",
}


class NeedsConfirmation(AgentError):
    """The draft would promise what the rules do not allow or give away personal data: the agent
    confirms before it goes out."""

    def __init__(self, warnings: List[Dict[str, str]]) -> None:
        super().__init__("发送前请确认：" + "；".join(w["label"] for w in warnings))
        self.warnings = warnings


class Push(Protocol):
    """Signals to the agents' screens (Socket.IO rooms in the workspace server)."""

    async def emit(self, event: str, data: Dict[str, Any], room: str) -> None: ...


@dataclass(frozen=True)
class Timeouts:
    silence_prompt: timedelta = timedelta(minutes=3)
    silence_close: timedelta = timedelta(minutes=6)


def chat_view(
    chat: LiveChat, customer: Optional[Customer], now: datetime, position: Optional[int] = None
) -> Dict[str, Any]:
    """A chat as the workspace shows it (the customer's name masked, as in the bot's answers)."""
    return {
        "id": chat.id,
        "conversation_id": chat.conversation_id,
        "channel": chat.channel,
        "channel_name": CHANNEL_NAMES.get(chat.channel, chat.channel),
        "customer": {
            "id": chat.customer_id,
            "name": mask_name(customer.name) if customer is not None else None,
            "verified": chat.customer_id is not None,
            "member_level": customer.member_level if customer is not None else None,
        },
        "skill_group": chat.skill_group,
        "group_name": SKILL_GROUPS[chat.skill_group],
        "priority": chat.priority,
        "reason": chat.reason,
        "reason_name": REASONS.get(chat.reason, chat.reason),
        "intent": chat.intent,
        "status": chat.status,
        "status_name": STATUS_NAMES.get(chat.status, chat.status),
        "agent": {"id": chat.agent.id, "name": chat.agent.name} if chat.agent is not None else None,
        "ticket_id": chat.ticket_id,
        "queued_at": chat.queued_at.isoformat(),
        "waited_seconds": int(((chat.accepted_at or now) - chat.queued_at).total_seconds()),
        "accepted_at": chat.accepted_at.isoformat() if chat.accepted_at else None,
        "position": position,
        "escalated": chat.escalated_at is not None,
        "result": chat.result,
        "result_name": RESULTS.get(chat.result or ""),
        "rating": chat.rating,
    }


def agent_view(agent: Agent, active: int, status: str) -> Dict[str, Any]:
    return {
        "id": agent.id,
        "name": agent.name,
        "login": agent.login,
        "role": agent.role,
        "skill_groups": agent.skill_groups,
        "status": status,
        "status_name": STATUSES[status],
        "max_concurrent": agent.max_concurrent,
        "active": active,
    }


PRIORITY_NAMES = {"urgent": "紧急", "high": "高", "normal": "普通", "low": "低"}


def ticket_view(
    ticket: Ticket, customer: Optional[Customer], now: datetime, full: bool = False
) -> Dict[str, Any]:
    """A ticket as the workspace lists it; `full` adds the conversation it came from and its history."""
    group = GROUP_OF_CATEGORY.get(ticket.category, "mall")
    view: Dict[str, Any] = {
        "id": ticket.id,
        "category": ticket.category,
        "category_name": CATEGORY_NAMES.get(ticket.category, ticket.category),
        "priority": ticket.priority,
        "priority_name": PRIORITY_NAMES.get(ticket.priority, ticket.priority),
        "status": ticket.status,
        "status_name": TICKET_STATUS_NAMES.get(ticket.status, ticket.status),
        "skill_group": group,
        "group_name": SKILL_GROUPS[group],
        "sla_due": ticket.sla_due.isoformat(),
        "overdue": ticket.status in OPEN_STATUSES and ticket.sla_due < now,
        "assignee_id": ticket.assignee_id,
        "customer": {
            "id": ticket.customer_id,
            "name": mask_name(customer.name) if customer is not None else None,
            "member_level": customer.member_level if customer is not None else None,
        },
        "order_id": ticket.order_id,
        "booking_ref": ticket.booking_ref,
        "summary": ticket.summary,
        "created_at": ticket.created_at.isoformat(),
        "updated_at": ticket.updated_at.isoformat(),
        "can_reply": bool(ticket.conversation_id),
    }
    if full:
        view["context"] = json.loads(ticket.context or "[]")
        view["events"] = [
            {
                "at": e.at.isoformat(),
                "status_name": TICKET_STATUS_NAMES.get(e.status, e.status),
                "note": e.note,
                "agent_id": e.agent_id,
                "for_customer": bool(e.for_customer),
            }
            for e in ticket.events
        ]
    return view


def reply_text(text: Optional[str]) -> str:
    """What an agent writes to a customer, trimmed; empty or too long is refused in Chinese."""
    text = (text or "").strip()
    if not text:
        raise AgentError("消息不能为空")
    if len(text) > MAX_REPLY_CHARS:
        raise AgentError(f"消息太长了（最多{MAX_REPLY_CHARS}字）")
    return text


def canned_view(reply: CannedReply) -> Dict[str, Any]:
    return {
        "id": reply.id,
        "title": reply.title,
        "text": reply.text,
        "skill_group": reply.skill_group,
        "group_name": SKILL_GROUPS.get(reply.skill_group or "", "通用"),
    }


def transcript(events: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The conversation as the agent reads it: the customer, the bot and agents, in order."""
    lines = []
    for event in events:
        kind = event.get("event")
        if kind not in ("user", "bot") or not event.get("text"):
            continue
        metadata = event.get("metadata") or {}
        by = "customer" if kind == "user" else ("agent" if metadata.get("agent_id") else "bot")
        lines.append(
            {
                "by": by,
                "text": event["text"],
                "at": event.get("timestamp"),
                "agent_name": metadata.get("agent_name") if by == "agent" else None,
                "intent": ((event.get("parse_data") or {}).get("intent") or {}).get("name")
                if by == "customer"
                else None,
            }
        )
    return lines


class Desk:
    def __init__(
        self,
        rasa: RasaApi,
        wording: Wording,
        push: Push,
        assistant: Assistant,
        timeouts: Timeouts = Timeouts(),
    ) -> None:
        self.rasa = rasa
        self.say = wording
        self.push = push
        self.assistant = assistant
        self.timeouts = timeouts
        self._told_position: Dict[int, Tuple[str, int]] = {}  # chat -> (group, place last told)
        self.dashboards = DashboardCache(self._dashboard)

    # ---- plumbing ----

    @staticmethod
    async def _db(work: Callable[[Session, datetime], T]) -> T:
        def run() -> T:
            with session_scope() as session:
                return work(session, clock.now())

        return await asyncio.to_thread(run)

    @staticmethod
    def _agent(session: Session, agent_id: str) -> Agent:
        agent = AgentDirectory(session).find(agent_id)
        if agent is None:
            raise AgentError("坐席不存在")
        return agent

    @staticmethod
    def _view(
        session: Session, chat: LiveChat, now: datetime, position: Optional[int] = None
    ) -> Dict[str, Any]:
        """The chat for the screens; its place in the queue is counted unless the caller knows it."""
        customer = session.get(Customer, chat.customer_id) if chat.customer_id else None
        if position is None:
            position = LiveChatService(session).position(chat)
        return chat_view(chat, customer, now, position or None)

    async def _signal_queues(self, *groups: str) -> None:
        for group in set(groups):
            await self.push.emit("queue_changed", {"group": group}, f"group:{group}")
        await self.push.emit("queue_changed", {}, "supervisors")
        await self._tell_positions(*groups)

    async def _signal_chat(self, view: Dict[str, Any]) -> None:
        await self.push.emit("chat_changed", view, f"chat:{view['id']}")
        if view["agent"]:
            await self.push.emit("chat_changed", view, f"agent:{view['agent']['id']}")
        await self.push.emit("chat_changed", view, "supervisors")

    # ---- what an agent sees ----

    async def me(self, agent_id: str) -> Dict[str, Any]:
        def work(session: Session, now: datetime) -> Dict[str, Any]:
            agent = self._agent(session, agent_id)
            directory = AgentDirectory(session)
            return agent_view(
                agent, len(LiveChatService(session).active_for(agent.id)), directory.shown_status(agent, now)
            )

        return await self._db(work)

    async def queue(self, agent_id: str) -> List[Dict[str, Any]]:
        def work(session: Session, now: datetime) -> List[Dict[str, Any]]:
            agent = self._agent(session, agent_id)
            service = LiveChatService(session)
            groups = list(SKILL_GROUPS) if agent.role == "supervisor" else agent.skill_groups
            return [self._view(session, p.chat, now, p.position) for p in service.places(groups, now)]

        return await self._db(work)

    async def my_chats(self, agent_id: str) -> List[Dict[str, Any]]:
        def work(session: Session, now: datetime) -> List[Dict[str, Any]]:
            return [self._view(session, chat, now) for chat in LiveChatService(session).active_for(agent_id)]

        return await self._db(work)

    async def may_watch(self, agent_id: str, chat_id: int) -> bool:
        """Whether the agent may follow this chat live (the chat's transcript is read when opened)."""

        def work(session: Session, now: datetime) -> bool:
            service = LiveChatService(session)
            chat = service.chat(chat_id)
            return chat is not None and service.may_see(self._agent(session, agent_id), chat)

        return await self._db(work)

    async def chat(self, agent_id: str, chat_id: int) -> Dict[str, Any]:
        """One chat with its whole transcript; every opening is written to the audit log."""

        def work(session: Session, now: datetime) -> Dict[str, Any]:
            agent = self._agent(session, agent_id)
            service = LiveChatService(session)
            chat = service.chat(chat_id)
            if chat is None or not service.may_see(agent, chat):
                raise AgentError("没有这个会话，或您无权查看")
            AuditLog(session).record(
                agent.id, "view_chat", now, subject=chat.conversation_id, detail=f"chat {chat.id}"
            )
            view = self._view(session, chat, now)
            view["events"] = [
                {"at": e.at.isoformat(), "kind": e.kind, "detail": e.detail} for e in chat.events
            ]
            return view

        view = await self._db(work)
        view["messages"] = transcript(await self.rasa.events(view["conversation_id"]))
        return view

    async def assist(self, agent_id: str, chat_id: int) -> Dict[str, Any]:
        """Agent assist for one chat: the handoff summary, the customer 360 (written to the audit
        log), and suggestions and alerts for the customer's latest message."""

        def find(session: Session, now: datetime) -> str:
            agent = self._agent(session, agent_id)
            service = LiveChatService(session)
            chat = service.chat(chat_id)
            if chat is None or not service.may_see(agent, chat):
                raise AgentError("没有这个会话，或您无权查看")
            return str(chat.conversation_id)

        events = await self.rasa.events(await self._db(find))

        def work(session: Session, now: datetime) -> Dict[str, Any]:
            chat = LiveChatService(session).chat(chat_id)
            assert chat is not None
            if chat.customer_id:
                AuditLog(session).record(
                    agent_id, "view_customer", now, subject=chat.customer_id, detail=f"chat {chat.id}"
                )
            return {"chat_id": chat.id, **self.assistant.for_chat(session, chat, events, now)}

        return await self._db(work)

    async def act(
        self, agent_id: str, chat_id: int, work: Callable[[AgentActions], Dict[str, Any]]
    ) -> Dict[str, Any]:
        """An agent's action for the customer of the chat they serve (assist.actions: the bot's rules)."""

        def run(session: Session, now: datetime) -> Dict[str, Any]:
            return work(AgentActions(session, self._agent(session, agent_id), chat_id, now, self.say))

        return await self._db(run)

    async def overview(self) -> Dict[str, Any]:
        """The supervisor's view: who is online and busy, queue lengths and the longest wait."""

        def work(session: Session, now: datetime) -> Dict[str, Any]:
            directory = AgentDirectory(session)
            service = LiveChatService(session)
            agents = [
                agent_view(a, len(service.active_for(a.id)), directory.shown_status(a, now))
                for a in directory.everyone()
            ]
            groups = {}
            for group, name in SKILL_GROUPS.items():
                waiting = service.waiting([group])
                groups[group] = {
                    "name": name,
                    "waiting": len(waiting),
                    "longest_wait_seconds": int((now - waiting[0].queued_at).total_seconds())
                    if waiting
                    else 0,
                    "online": len(directory.online_in(group, now)),
                }
            active = [self._view(session, chat, now) for chat in service.active_for()]
            return {"agents": agents, "groups": groups, "active": active}

        return await self._db(work)

    async def metrics(self, days: int) -> Figures:
        """The supervisor's dashboard: the service's figures over the last `days` days (docs/analytics.md),
        shared by every supervisor for a little while (workspace/dashboard_cache.py)."""
        return await self.dashboards.figures(clock.today(), days)

    async def _dashboard(self, today: date, days: int) -> Figures:
        return await self._db(lambda session, now: dashboard(session, today, days))

    # ---- what an agent does ----

    async def set_status(self, agent_id: str, status: str) -> Dict[str, Any]:
        def work(session: Session, now: datetime) -> Tuple[Dict[str, Any], List[str]]:
            agent = self._agent(session, agent_id)
            AgentDirectory(session).set_status(agent, status, now)
            AuditLog(session).record(agent.id, "status", now, detail=status)
            return agent_view(
                agent, len(LiveChatService(session).active_for(agent.id)), status
            ), agent.skill_groups

        view, groups = await self._db(work)
        await self._signal_queues(*groups)
        return view

    async def heartbeat(self, agent_id: str) -> None:
        def work(session: Session, now: datetime) -> None:
            AgentDirectory(session).seen(self._agent(session, agent_id), now)

        await self._db(work)

    async def accept(self, agent_id: str, chat_id: Optional[int]) -> Dict[str, Any]:
        """This chat, or (None) the first of the agent's queues; exactly one agent gets each."""

        def work(session: Session, now: datetime) -> Tuple[Dict[str, Any], str]:
            agent = self._agent(session, agent_id)
            service = LiveChatService(session)
            if chat_id is None:
                chat = service.accept_next(agent, now)
                if chat is None:
                    raise AgentError("队列里现在没有等待的客户")
            else:
                if not service.accept(chat_id, agent, now):
                    raise AgentError("这位客户已被其他坐席接入")
                chat = service.chat(chat_id)
                assert chat is not None
            AuditLog(session).record(
                agent.id, "accept", now, subject=chat.conversation_id, detail=f"chat {chat.id}"
            )
            return self._view(session, chat, now), agent.name

        view, name = await self._db(work)
        await self._deliver_notice(view, "utter_agent_joined", handoff="agent_joined", agent_name=name)
        await self._signal_chat(view)
        await self._signal_queues(view["skill_group"])
        return view

    async def send(self, agent_id: str, chat_id: int, text: str, confirmed: bool = False) -> Dict[str, Any]:
        """The agent's reply, delivered through the customer's own channel; its delivery state. A
        draft with a warning (a promise, personal data) goes out only once the agent confirmed it."""
        text = reply_text(text)

        def work(session: Session, now: datetime) -> Tuple[str, str]:
            agent = self._agent(session, agent_id)
            chat = LiveChatService(session).agent_wrote(chat_id, agent)
            if chat.channel == "phone":
                raise AgentError("电话客户请在电话里直接沟通，这里发不了文字；通话结束后选择处理结果并结束")
            chat.last_agent_at = now
            return chat.conversation_id, agent.name

        conversation_id, name = await self._db(work)
        warnings = [] if confirmed else await self._draft_warnings(conversation_id, text)
        if warnings:
            raise NeedsConfirmation(warnings)
        message = {"id": uuid.uuid4().hex, "by": "agent", "text": text, "at": time.time(), "agent_name": name}
        try:
            await self.rasa.say(conversation_id, text, agent_id=agent_id, agent_name=name)
            message["state"] = "sent"
        except RasaUnavailable as error:
            message.update(state="failed", error=str(error))
        await self.push.emit("message", {"chat_id": chat_id, "message": message}, f"chat:{chat_id}")
        return message

    async def check_draft(self, agent_id: str, chat_id: int, text: str) -> List[Dict[str, str]]:
        """While the agent types: what sending this draft would be held for."""

        def work(session: Session, now: datetime) -> str:
            return str(
                LiveChatService(session).agent_wrote(chat_id, self._agent(session, agent_id)).conversation_id
            )

        text = (text or "").strip()
        return await self._draft_warnings(await self._db(work), text) if text else []

    async def _draft_warnings(self, conversation_id: str, text: str) -> List[Dict[str, str]]:
        """What to check before the draft goes out: promises, personal data, a refund the rules forbid."""
        warnings = self.assistant.draft_warnings(text)
        if self.assistant.promises_a_refund(text):
            events = await self.rasa.events(conversation_id)
            warnings += await self._db(
                lambda session, now: self.assistant.refund_promise_warning(session, events, now)
            )
        return warnings

    async def typing(self, agent_id: str, chat_id: int, on: bool) -> None:
        """The agent's typing, shown to a web chat customer (other channels have no such signal)."""

        def work(session: Session, now: datetime) -> Tuple[str, str, str]:
            agent = self._agent(session, agent_id)
            chat = LiveChatService(session).agent_wrote(chat_id, agent)
            return chat.channel, chat.conversation_id, agent.name

        channel, conversation_id, name = await self._db(work)
        if channel == "webchat":
            await self.rasa.agent_typing(conversation_id, on, name)

    async def transfer(
        self, agent_id: str, chat_id: int, to_agent: Optional[str], to_group: Optional[str], note: str
    ) -> Dict[str, Any]:
        def work(session: Session, now: datetime) -> Tuple[Dict[str, Any], Optional[str], str]:
            agent = self._agent(session, agent_id)
            target = self._agent(session, to_agent) if to_agent else None
            before = LiveChatService(session).chat(chat_id)
            old_group = before.skill_group if before is not None else ""
            chat = LiveChatService(session).transfer(
                chat_id, agent, now, to_agent=target, to_group=to_group, note=note[:500]
            )
            AuditLog(session).record(
                agent.id, "transfer", now, subject=chat.conversation_id, detail=chat.events[-1].detail
            )
            return self._view(session, chat, now), target.name if target else None, old_group

        view, target_name, old_group = await self._db(work)
        if target_name:
            await self._deliver_notice(
                view, "utter_agent_joined", handoff="agent_joined", agent_name=target_name
            )
        else:
            await self._deliver_notice(
                view, "utter_agent_transferred", handoff="queued", group_name=view["group_name"]
            )
        await self.push.emit("chat_changed", view, f"agent:{agent_id}")
        await self._signal_chat(view)
        await self._signal_queues(view["skill_group"], old_group)
        return view

    async def take_over(self, supervisor_id: str, chat_id: int) -> Dict[str, Any]:
        def work(session: Session, now: datetime) -> Tuple[Dict[str, Any], str, Optional[str]]:
            supervisor = self._agent(session, supervisor_id)
            before = LiveChatService(session).chat(chat_id)
            previous = before.agent_id if before is not None else None
            chat = LiveChatService(session).take_over(chat_id, supervisor, now)
            AuditLog(session).record(
                supervisor.id, "take_over", now, subject=chat.conversation_id, detail=f"chat {chat.id}"
            )
            return self._view(session, chat, now), supervisor.name, previous

        view, name, previous = await self._db(work)
        await self._deliver_notice(view, "utter_agent_joined", handoff="agent_joined", agent_name=name)
        if previous:
            await self.push.emit("chat_changed", view, f"agent:{previous}")
        await self._signal_chat(view)
        await self._signal_queues(view["skill_group"])
        return view

    async def hand_back(self, agent_id: str, chat_id: int) -> Dict[str, Any]:
        def work(session: Session, now: datetime) -> Dict[str, Any]:
            agent = self._agent(session, agent_id)
            chat = LiveChatService(session).hand_back(chat_id, agent, now)
            AuditLog(session).record(
                agent.id, "hand_back", now, subject=chat.conversation_id, detail=f"chat {chat.id}"
            )
            return self._view(session, chat, now)

        view = await self._db(work)
        await self._resume(view, [self._notice("utter_agent_handed_back", handoff="agent_left")])
        await self._signal_chat(view)
        return view

    async def close(self, agent_id: str, chat_id: int, result: str, note: str) -> Dict[str, Any]:
        """Ends the chat with a result code; the customer is asked for a rating and the bot resumes."""

        def work(session: Session, now: datetime) -> Tuple[Dict[str, Any], str]:
            agent = self._agent(session, agent_id)
            chat = LiveChatService(session).close(chat_id, agent, result, now, note=note[:500])
            AuditLog(session).record(
                agent.id, "close", now, subject=chat.conversation_id, detail=f"chat {chat.id}: {result}"
            )
            return self._view(session, chat, now), agent.name

        view, name = await self._db(work)
        await self._resume(
            view,
            [
                self._notice("utter_agent_closed", handoff="agent_left", agent_name=name),
                self._notice("utter_live_rating_request", rating_request=True, agent_name=name),
            ],
        )
        await self._signal_chat(view)
        return view

    # ---- colleagues and canned replies ----

    async def colleagues(self) -> List[Dict[str, Any]]:
        """Everyone an agent could transfer to, with whether they can take a customer now."""

        def work(session: Session, now: datetime) -> List[Dict[str, Any]]:
            directory = AgentDirectory(session)
            service = LiveChatService(session)
            colleagues = []
            for a in directory.everyone():
                view = agent_view(a, len(service.active_for(a.id)), directory.shown_status(a, now))
                del view["login"]  # a colleague's login is nobody else's business
                colleagues.append(view)
            return colleagues

        return await self._db(work)

    async def canned(self, agent_id: str) -> List[Dict[str, Any]]:
        def work(session: Session, now: datetime) -> List[Dict[str, Any]]:
            return [canned_view(r) for r in CannedReplies(session).for_agent(self._agent(session, agent_id))]

        return await self._db(work)

    async def save_canned(
        self, agent_id: str, fields: Dict[str, Any], reply_id: Optional[int] = None
    ) -> Dict[str, Any]:
        def work(session: Session, now: datetime) -> Dict[str, Any]:
            agent = self._agent(session, agent_id)
            reply = CannedReplies(session).save(
                agent, fields["title"], fields["text"], fields["skill_group"] or None, now, reply_id
            )
            AuditLog(session).record(agent.id, "canned_saved", now, subject=str(reply.id), detail=reply.title)
            return canned_view(reply)

        return await self._db(work)

    async def delete_canned(self, agent_id: str, reply_id: int) -> None:
        def work(session: Session, now: datetime) -> None:
            agent = self._agent(session, agent_id)
            CannedReplies(session).delete(agent, reply_id)
            AuditLog(session).record(agent.id, "canned_deleted", now, subject=str(reply_id))

        await self._db(work)

    # ---- tickets ----

    @staticmethod
    def _ticket(session: Session, agent: Agent, ticket_id: str) -> Ticket:
        ticket = TicketService(session).find(ticket_id)
        allowed = ticket is not None and (
            agent.role == "supervisor"
            or ticket.assignee_id == agent.id
            or GROUP_OF_CATEGORY.get(ticket.category, "mall") in agent.skill_groups
        )
        if ticket is None or not allowed:
            raise AgentError("没有这个工单，或您无权查看")
        return ticket

    @staticmethod
    def _ticket_view(session: Session, ticket: Ticket, now: datetime) -> Dict[str, Any]:
        """One ticket in full, with its customer and the number to call them on (masked)."""
        customer = session.get(Customer, ticket.customer_id) if ticket.customer_id else None
        view = ticket_view(ticket, customer, now, full=True)
        view["phone"] = CallbackNumbers(session).masked(ticket.id) or (
            mask_phone(customer.phone) if customer is not None else None
        )
        return view

    async def reveal_phone(
        self, agent_id: str, ticket_id: Optional[str] = None, chat_id: Optional[int] = None
    ) -> Dict[str, str]:
        """The number to call the customer of a ticket or a chat on, in clear: the number a caller
        left for a call back, else the verified customer's own. Each reveal is in the audit log."""

        def work(session: Session, now: datetime) -> Dict[str, str]:
            agent = self._agent(session, agent_id)
            if ticket_id is not None:
                ticket = self._ticket(session, agent, ticket_id)
                subject, callback_ticket, customer_id = ticket.id, ticket.id, ticket.customer_id
            else:
                service = LiveChatService(session)
                chat = service.chat(chat_id or 0)
                if chat is None or not service.may_see(agent, chat):
                    raise AgentError("没有这个会话，或您无权查看")
                subject, callback_ticket, customer_id = f"chat {chat.id}", chat.ticket_id, chat.customer_id
            numbers = CallbackNumbers(session)
            if callback_ticket and numbers.masked(callback_ticket):
                try:
                    phone, source = numbers.reveal(callback_ticket), "callback"
                except SealingUnavailable as error:
                    raise AgentError(str(error)) from error
            elif customer_id and (customer := session.get(Customer, customer_id)) is not None:
                phone, source = customer.phone, f"customer {customer_id}"
            else:
                raise AgentError("没有可以显示的号码")
            AuditLog(session).record(agent.id, "reveal_phone", now, subject=subject, detail=source)
            return {"phone": phone}

        return await self._db(work)

    async def tickets(self, agent_id: str, filters: Dict[str, str]) -> List[Dict[str, Any]]:
        """The worklist: open tickets of the agent's groups (all for supervisors), filtered."""

        def work(session: Session, now: datetime) -> List[Dict[str, Any]]:
            agent = self._agent(session, agent_id)
            status = filters.get("status") or ""
            statuses = [status] if status in TICKET_STATUS_NAMES else list(OPEN_STATUSES)
            group = filters.get("group") or ""
            mine = filters.get("mine") == "1"
            # One's own tickets are theirs whatever the group; otherwise an agent sees their groups'.
            groups: Optional[List[str]] = None if agent.role == "supervisor" or mine else agent.skill_groups
            if group in SKILL_GROUPS:
                groups = [group] if groups is None or group in groups else []
            found = TicketService(session).worklist(
                now,
                statuses=statuses,
                priority=filters.get("priority") or None,
                groups=groups,
                overdue_only=filters.get("overdue") == "1",
                assignee_id=agent.id if mine else None,
            )
            return [
                ticket_view(t, session.get(Customer, t.customer_id) if t.customer_id else None, now)
                for t in found
            ]

        return await self._db(work)

    async def ticket(self, agent_id: str, ticket_id: str) -> Dict[str, Any]:
        def work(session: Session, now: datetime) -> Dict[str, Any]:
            agent = self._agent(session, agent_id)
            ticket = self._ticket(session, agent, ticket_id)
            AuditLog(session).record(agent.id, "view_ticket", now, subject=ticket.id)
            return self._ticket_view(session, ticket, now)

        return await self._db(work)

    async def update_ticket(
        self, agent_id: str, ticket_id: str, status: str, note: str, for_customer: bool
    ) -> Dict[str, Any]:
        """A new status with a note (kept in the history); the customer sees it if it is for them."""
        note = note.strip()[:1000]
        if status not in AGENT_STATUSES:
            raise AgentError("请选择工单状态：待处理、处理中、已解决或已关闭")
        if not note:
            raise AgentError("请写一句处理说明")

        def work(session: Session, now: datetime) -> Dict[str, Any]:
            agent = self._agent(session, agent_id)
            ticket = self._ticket(session, agent, ticket_id)
            TicketService(session).set_status(
                ticket, status, note, now, agent_id=agent.id, for_customer=for_customer
            )
            AuditLog(session).record(agent.id, "ticket_status", now, subject=ticket.id, detail=status)
            return self._ticket_view(session, ticket, now)

        return await self._signal_ticket(await self._db(work), agent_id)

    async def assign_ticket(
        self, agent_id: str, ticket_id: str, assignee_id: Optional[str]
    ) -> Dict[str, Any]:
        def work(session: Session, now: datetime) -> Dict[str, Any]:
            agent = self._agent(session, agent_id)
            ticket = self._ticket(session, agent, ticket_id)
            assignee = self._agent(session, assignee_id) if assignee_id else None
            if agent.role != "supervisor":
                if assignee is not None and assignee.id != agent.id:
                    raise AgentError("坐席只能把工单分给自己；分给别人请找班长")
                if ticket.assignee_id not in (None, agent.id):
                    raise AgentError("这个工单已分给别的坐席；要改请找班长")
            note = f"分配给{assignee.name}" if assignee is not None else "取消分配"
            TicketService(session).assign(ticket, assignee.id if assignee else None, note, now, by=agent.id)
            AuditLog(session).record(
                agent.id, "ticket_assign", now, subject=ticket.id, detail=assignee_id or ""
            )
            return self._ticket_view(session, ticket, now)

        return await self._signal_ticket(await self._db(work), agent_id)

    async def reply_on_ticket(self, agent_id: str, ticket_id: str, text: str) -> Dict[str, Any]:
        """Writes to the customer in the conversation the ticket came from, through their channel."""
        text = reply_text(text)

        def find(session: Session, now: datetime) -> Tuple[str, str]:
            agent = self._agent(session, agent_id)
            ticket = self._ticket(session, agent, ticket_id)
            if not ticket.conversation_id:
                raise AgentError("这个工单没有关联的对话，请电话联系客户")
            if ticket.status == "closed":
                raise AgentError("工单已关闭，要继续处理请先改为处理中")
            return ticket.conversation_id, agent.name

        conversation_id, name = await self._db(find)
        await self._check_wechat_window(conversation_id)
        await self.rasa.say(conversation_id, text, agent_id=agent_id, agent_name=name)

        def record(session: Session, now: datetime) -> Dict[str, Any]:
            agent = self._agent(session, agent_id)
            ticket = self._ticket(session, agent, ticket_id)
            # The customer reads it when asking about the ticket, so it is kept as written.
            TicketService(session).set_status(
                ticket, ticket.status, text, now, agent_id=agent.id, for_customer=True
            )
            AuditLog(session).record(agent.id, "ticket_reply", now, subject=ticket.id)
            return self._ticket_view(session, ticket, now)

        return await self._signal_ticket(await self._db(record), agent_id)

    async def _signal_ticket(self, view: Dict[str, Any], by: str) -> Dict[str, Any]:
        """Colleagues who may work the ticket see the change at once (their list, the ticket if open)."""
        change = {"id": view["id"], "by": by}
        await self.push.emit("ticket_changed", change, f"group:{view['skill_group']}")
        await self.push.emit("ticket_changed", change, "supervisors")
        if view["assignee_id"]:
            await self.push.emit("ticket_changed", change, f"agent:{view['assignee_id']}")
        return view

    async def _check_wechat_window(self, conversation_id: str) -> None:
        """WeChat lets an account write to a customer only within 48 hours of the customer's last
        message: say so before trying, instead of a failed delivery."""
        events = await self.rasa.events(conversation_id)
        last = next((e for e in reversed(events) if e.get("event") == "user"), None)
        if last is not None and last.get("input_channel") == "wechat":
            if time.time() - float(last.get("timestamp") or 0) > WECHAT_WINDOW.total_seconds():
                raise AgentError("客户最近一条微信消息已超过48小时，微信不允许再主动发消息，请电话联系客户")

    # ---- what the customer does (from the relay) ----

    async def happened(self, happening: Happening) -> None:
        if isinstance(happening, Paused):
            await self.joined_queue(happening.conversation_id)
        else:
            await self.customer_message(happening)

    async def joined_queue(self, conversation_id: str) -> None:
        """The bot queued this customer: their group's agents see them at once."""

        def work(session: Session, now: datetime) -> Optional[str]:
            chat = LiveChatService(session).open_chat(conversation_id)
            return chat.skill_group if chat is not None else None

        group = await self._db(work)
        if group is not None:
            await self._signal_queues(group)

    async def customer_message(self, message: CustomerMessage) -> None:
        def work(session: Session, now: datetime) -> Optional[Tuple[Dict[str, Any], bool]]:
            service = LiveChatService(session)
            chat = service.open_chat(message.conversation_id)
            if chat is None:
                return None
            if wants_to_leave(message.text, chat.status == "waiting"):
                service.cancel(message.conversation_id, now)
                return self._view(session, chat, now), True
            service.customer_wrote(message.conversation_id, now)
            return self._view(session, chat, now), False

        found = await self._db(work)
        if found is None:
            return  # a conversation with the bot
        view, left = found
        if left:
            await self._resume(view, [self._notice("utter_queue_cancelled", handoff="agent_left")])
            await self._signal_chat(view)
            await self._signal_queues(view["skill_group"])
            return
        line = {"id": uuid.uuid4().hex, "by": "customer", "text": message.text, "at": message.timestamp}
        await self.push.emit("message", {"chat_id": view["id"], "message": line}, f"chat:{view['id']}")
        if view["agent"]:
            await self.push.emit("customer_wrote", {"chat_id": view["id"]}, f"agent:{view['agent']['id']}")
        # After the message itself: knowledge suggestions and alerts for it, for whoever follows the chat.
        help_for_it = await asyncio.to_thread(self.assistant.for_message, message.text)
        await self.push.emit("assist", {"chat_id": view["id"], **help_for_it}, f"chat:{view['id']}")

    async def customer_typing(self, conversation_id: str, on: bool) -> None:
        """A web customer is typing: their agent sees it in the chat (nobody else, and not stored)."""

        def work(session: Session, now: datetime) -> Optional[int]:
            chat = LiveChatService(session).open_chat(conversation_id)
            return chat.id if chat is not None and chat.status == "active" else None

        chat_id = await self._db(work)
        if chat_id is not None:
            await self.push.emit("customer_typing", {"chat_id": chat_id, "on": on}, f"chat:{chat_id}")

    # ---- timeouts (every few seconds) ----

    async def tick(self) -> None:
        def work(
            session: Session, now: datetime
        ) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]], List[Dict[str, Any]]]:
            service = LiveChatService(session)
            overdue = [self._view(session, chat, now) for chat in service.overdue(now)]
            prompt, close = service.silent(now, self.timeouts.silence_prompt, self.timeouts.silence_close)
            return (
                overdue,
                [self._view(session, c, now) for c in prompt],
                [self._view(session, c, now) for c in close],
            )

        overdue, prompt, close = await self._db(work)
        for view in overdue:
            await self.push.emit(
                "alert",
                {
                    "kind": "overdue",
                    "chat_id": view["id"],
                    "text": f"{view['group_name']}组有客户等待超过接起时限",
                },
                "supervisors",
            )
            callback = month_day_time(clock.now() + timedelta(hours=2))
            await self._deliver_notice(
                view, "utter_queue_timeout", ticket_id=view["ticket_id"] or "", callback_at=callback
            )
        for view in prompt:
            await self.push.emit(
                "alert",
                {"kind": "silent", "chat_id": view["id"], "text": "客户已经一段时间没有回复了"},
                f"agent:{view['agent']['id']}",
            )
        for view in close:
            await self._resume(view, [self._notice("utter_customer_silent_closed", handoff="agent_left")])
            await self._signal_chat(view)
        # New arrivals get a place to compare with; whoever moved up since hears it. A queue changed by
        # another process (the phone channel ending a transfer) reaches the screens this way.
        for group in await self._tell_positions(*SKILL_GROUPS):
            await self.push.emit("queue_changed", {"group": group}, f"group:{group}")
            await self.push.emit("queue_changed", {}, "supervisors")

    # ---- telling the customer ----

    def _notice(self, response: str, **values: Any) -> Dict[str, Any]:
        """A bot message the workspace sends, worded by the domain; extra values ride as metadata."""
        wording = {k: v for k, v in values.items() if k not in ("handoff", "rating_request")}
        return {
            "event": "bot",
            "text": self.say(response, **wording),
            "metadata": {"utter_action": response, **values},
        }

    async def _deliver_notice(self, view: Dict[str, Any], response: str, **values: Any) -> None:
        await self._append(view, [self._notice(response, **values)])

    async def _resume(self, view: Dict[str, Any], notices: List[Dict[str, Any]]) -> None:
        await self._append(view, [*notices, *RESUME])

    async def _append(self, view: Dict[str, Any], events: List[Dict[str, Any]]) -> None:
        """Into the conversation and the customer's channel; the agents following it see the notices too."""
        if view["channel"] == "phone":  # the caller is on the agent line: a written notice never reaches them
            events = [e for e in events if e["event"] != "bot"]
            if not events:
                return
        try:
            await self.rasa.append(view["conversation_id"], events, deliver=True)
        except RasaUnavailable:
            logger.error("could not update %s with %s", view["conversation_id"], [e["event"] for e in events])
            return
        for event in events:
            if event["event"] == "bot":
                line = {"id": uuid.uuid4().hex, "by": "bot", "text": event["text"], "at": time.time()}
                await self.push.emit(
                    "message", {"chat_id": view["id"], "message": line}, f"chat:{view['id']}"
                )

    async def _tell_positions(self, *groups: str) -> Set[str]:
        """Customers who moved up in a queue hear their new place and wait; returns the groups whose
        queue changed since the last look (someone joined or left it)."""

        def work(session: Session, now: datetime) -> Tuple[List[Tuple[Dict[str, Any], int, int]], Set[str]]:
            checked = {g for g in groups if g}
            moved, still_waiting, changed = [], set(), set()
            for place in LiveChatService(session).places(list(checked), now):
                chat = place.chat
                still_waiting.add(chat.id)
                told = self._told_position.get(chat.id)
                if told is None or told[0] != chat.skill_group:
                    changed.add(chat.skill_group)
                elif place.position < told[1]:
                    moved.append(
                        (self._view(session, chat, now, place.position), place.position, place.wait_minutes)
                    )
                self._told_position[chat.id] = (chat.skill_group, place.position)
            # Forget those of these queues who are no longer waiting (accepted, gone, moved on).
            for chat_id, (group, _) in list(self._told_position.items()):
                if group in checked and chat_id not in still_waiting:
                    del self._told_position[chat_id]
                    changed.add(group)
            return moved, changed

        moved, changed = await self._db(work)
        for view, position, wait in moved:
            await self._deliver_notice(view, "utter_queue_update", ahead=position - 1, wait_minutes=wait)
        return changed
