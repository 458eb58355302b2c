"""The human side of a conversation: routing, the queue, accepting, transferring and closing.

A handoff in service hours, with an agent of the right skill group online, becomes a live chat
that waits in its group's queue (complaints and frozen wallets first, then verified customers,
then everyone else; in each, first come first served). An agent accepts it (exactly one agent:
the change of hands is one conditional UPDATE), talks with the customer, and closes it with a
result code, transfers it to another agent or group, or hands it back to the bot.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Dict, List, Optional, Sequence, Tuple

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from business.services.agents import SKILL_GROUPS, AgentDirectory, AgentError
from business.services.tickets import TicketService
from business.store.models import Agent, LiveChat, LiveChatEvent, Ticket
from business.text import normalise

# What the bot knows -> which group's agents take the customer.
GROUP_OF_INTENT: Dict[str, str] = {
    "order_status": "mall",
    "cancel_order": "mall",
    "request_refund": "mall",
    "refund_status": "mall",
    "account_lookup": "wallet",
    "transaction_history": "wallet",
    "flight_status": "travel",
    "change_flight": "travel",
    "cancel_flight": "travel",
    "complain": "complaint",
}
# What the customer wanted, by the intent the bot recognised.
WANTED: Dict[str, str] = {
    "order_status": "查订单",
    "cancel_order": "取消订单",
    "request_refund": "退货退款",
    "refund_status": "查退款进度",
    "account_lookup": "查钱包余额",
    "transaction_history": "查交易记录",
    "flight_status": "查航班",
    "change_flight": "改签",
    "cancel_flight": "退票",
    "ask_faq": "咨询",
    "request_human": "找人工",
    "complain": "投诉",
    "ticket_status": "查工单进度",
}
CHANNEL_NAMES: Dict[str, str] = {
    "webchat": "网页",
    "wechat": "微信",
    "phone": "电话",
    "rest": "接口",
    "rest_signed": "接口",
}
REASONS: Dict[str, str] = {
    "asked": "客户要求人工",
    "complaint": "客户投诉",
    "wallet_frozen": "钱包冻结，需人工核实",
    "not_understood": "机器人多次没听懂",
}
NOT_UNDERSTOOD_INTENTS = frozenset({"nlu_fallback", "out_of_scope"})
# How long a customer may wait in each group before a supervisor is alerted and the customer is
# offered a call back instead.
ACCEPT_SLA: Dict[str, timedelta] = {
    "complaint": timedelta(seconds=60),
    "wallet": timedelta(seconds=90),
    "travel": timedelta(seconds=120),
    "mall": timedelta(seconds=120),
}
RESULTS: Dict[str, str] = {"resolved": "已解决", "unresolved": "未解决", "ticket": "转工单"}
# Kinds of live chat events analytics reads (docs/analytics.md): transfers are counted, and the first
# accept (an agent's, or a supervisor taking the customer over) ends the wait.
TRANSFERRED = "transferred"
ACCEPTED = "accepted"
TAKEN_OVER = "taken_over"
# What a customer writes to leave the queue or the agent and go back to the bot. Only explicit
# phrases: a plain 不用了 to an agent's question is an answer, not a wish to leave.
LEAVE_PHRASES = (
    "不用人工",
    "不要人工",
    "不需要人工",
    "不找人工",
    "取消人工",
    "结束人工",
    "退出人工",
    "转回机器人",
    "找机器人",
)
LEAVE_QUEUE_PHRASES = LEAVE_PHRASES + ("取消排队", "不排队", "不排了", "不等了", "不想等了", "算了不等")
OPEN_CHAT_STATUSES = ("waiting", "active")
# A rating given this long after the agent closed the chat is still about that agent.
RATING_WINDOW = timedelta(minutes=30)
# The handle time assumed for a group that has closed no chat yet.
DEFAULT_HANDLE_TIME = timedelta(minutes=4)
HANDLE_TIME_SAMPLE = 20


def wants_to_leave(text: str, waiting: bool) -> bool:
    """Whether the customer's message asks to leave the queue (waiting) or the agent (active)."""
    folded = re.sub(r"[\s，。！？,.!?~～]", "", normalise(text))
    return any(phrase in folded for phrase in (LEAVE_QUEUE_PHRASES if waiting else LEAVE_PHRASES))


RATING_REPLY = re.compile(r"([1-5一二三四五])(?:分|星|颗星)?")
CHINESE_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5}


def rating_reply(text: str) -> Optional[int]:
    """1–5 when the whole message is a score (5 / 5分 / 五星 / ５), as a channel without stars sends it."""
    folded = re.sub(r"[\s，。！？,.!?~～]", "", normalise(text))
    found = RATING_REPLY.fullmatch(folded)
    if found is None:
        return None
    digit = found.group(1)
    return CHINESE_DIGITS.get(digit) or int(digit)


@dataclass(frozen=True)
class HandoffFacts:
    """What the bot knows when the customer is handed over."""

    category: str  # the ticket category: handoff / complaint / account_frozen
    intents: Sequence[str]  # the customer's intents in this conversation, the latest last
    verified: bool
    wallet_frozen: bool = False


@dataclass(frozen=True)
class Routing:
    skill_group: str
    priority: int  # 0 first
    reason: str
    intent: Optional[str]


def route(facts: HandoffFacts) -> Routing:
    latest = next((intent for intent in reversed(facts.intents) if intent in GROUP_OF_INTENT), None)
    if facts.category == "complaint":
        return Routing("complaint", 0, "complaint", "complain")
    if facts.category == "account_frozen" or facts.wallet_frozen:
        return Routing("wallet", 0, "wallet_frozen", latest)
    recent = list(facts.intents)[-4:]
    reason = "not_understood" if sum(i in NOT_UNDERSTOOD_INTENTS for i in recent) >= 2 else "asked"
    group = GROUP_OF_INTENT.get(latest or "", "mall")
    return Routing(group, 1 if facts.verified else 2, reason, latest)


@dataclass(frozen=True)
class GroupCapacity:
    """What a group's agents online can take: places in all, free places, mean handle time."""

    slots: int
    free: int
    handle_time: timedelta

    def wait_minutes(self, position: int) -> int:
        """A free place takes the next customer at once, and a busy one frees up every handle time
        on average, so the customers beyond the free places wait (position - free) x handle time
        / slots; with nobody online, a whole handle time per customer up to them."""
        if self.slots == 0:
            return math.ceil(self.handle_time.total_seconds() / 60) * max(position, 1)
        beyond = max(0, position - self.free)
        return max(1, math.ceil(beyond * self.handle_time.total_seconds() / self.slots / 60))


@dataclass(frozen=True)
class QueuePlace:
    chat: LiveChat
    position: int  # 1: next to be served
    wait_minutes: int  # the honest estimate: see `LiveChatService.wait_minutes`


class LiveChatService:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.agents = AgentDirectory(session)
        self.tickets = TicketService(session)

    # ---- the customer's side ----

    def can_queue(self, skill_group: str, now: datetime) -> bool:
        """Whether someone could take a customer of this group now (in service hours is the caller's)."""
        return bool(self.agents.online_in(skill_group, now))

    def open_chat(self, conversation_id: str) -> Optional[LiveChat]:
        chat: Optional[LiveChat] = self.session.execute(
            select(LiveChat)
            .where(LiveChat.conversation_id == conversation_id, LiveChat.status.in_(OPEN_CHAT_STATUSES))
            .order_by(LiveChat.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        return chat

    def enqueue(
        self,
        conversation_id: str,
        channel: str,
        routing: Routing,
        now: datetime,
        *,
        customer_id: Optional[str] = None,
        ticket: Optional[Ticket] = None,
    ) -> QueuePlace:
        """Puts the conversation in its group's queue; asked again, says where it stands."""
        chat = self.open_chat(conversation_id)
        if chat is None:
            chat = LiveChat(
                conversation_id=conversation_id,
                channel=channel,
                customer_id=customer_id,
                ticket_id=ticket.id if ticket is not None else None,
                skill_group=routing.skill_group,
                priority=routing.priority,
                reason=routing.reason,
                intent=routing.intent,
                status="waiting",
                queued_at=now,
                version=0,
            )
            self.session.add(chat)
            self.session.flush()
            self._event(
                chat, "queued", now, None, f"{SKILL_GROUPS[routing.skill_group]}，{REASONS[routing.reason]}"
            )
        return self.place(chat, now)

    def place(self, chat: LiveChat, now: datetime) -> QueuePlace:
        position = self.position(chat)
        return QueuePlace(chat, position, self.wait_minutes(chat.skill_group, position, now))

    def position(self, chat: LiveChat) -> int:
        """1 + the waiting chats of the group served before this one (0 once it is no longer waiting)."""
        if chat.status != "waiting":
            return 0
        ahead: int = self.session.execute(
            select(func.count())
            .select_from(LiveChat)
            .where(
                LiveChat.status == "waiting",
                LiveChat.skill_group == chat.skill_group,
                (LiveChat.priority < chat.priority)
                | ((LiveChat.priority == chat.priority) & (LiveChat.queued_at < chat.queued_at))
                | (
                    (LiveChat.priority == chat.priority)
                    & (LiveChat.queued_at == chat.queued_at)
                    & (LiveChat.id < chat.id)
                ),
            )
        ).scalar_one()
        return ahead + 1

    def handle_time(self, skill_group: str) -> timedelta:
        """The mean time agents of the group spent on their latest closed chats."""
        rows = self.session.execute(
            select(LiveChat.accepted_at, LiveChat.closed_at)
            .where(
                LiveChat.skill_group == skill_group,
                LiveChat.status == "closed",
                LiveChat.accepted_at.is_not(None),
                LiveChat.closed_at.is_not(None),
            )
            .order_by(LiveChat.closed_at.desc())
            .limit(HANDLE_TIME_SAMPLE)
        ).all()
        if not rows:
            return DEFAULT_HANDLE_TIME
        return sum((closed - accepted for accepted, closed in rows), timedelta()) / len(rows)

    def wait_minutes(self, skill_group: str, position: int, now: datetime) -> int:
        """Whole minutes until an agent of the group is free for the customer at `position`."""
        return self._group_capacity(skill_group, now).wait_minutes(position)

    def places(self, skill_groups: Sequence[str], now: datetime) -> List[QueuePlace]:
        """Every waiting chat of these groups with its place and wait, in serving order: one pass
        over each queue instead of counting and measuring for each customer."""
        capacity = {group: self._group_capacity(group, now) for group in set(skill_groups)}
        served: Dict[str, int] = dict.fromkeys(capacity, 0)
        found = []
        for chat in self.waiting(list(capacity)):
            served[chat.skill_group] += 1
            position = served[chat.skill_group]
            found.append(QueuePlace(chat, position, capacity[chat.skill_group].wait_minutes(position)))
        return found

    def _group_capacity(self, skill_group: str, now: datetime) -> "GroupCapacity":
        agents = self.agents.online_in(skill_group, now)
        slots: int = sum(agent.max_concurrent for agent in agents)
        free = max(0, slots - self._active_count([agent.id for agent in agents]))
        return GroupCapacity(slots, free, self.handle_time(skill_group))

    def customer_wrote(self, conversation_id: str, now: datetime) -> Optional[LiveChat]:
        """Notes a customer message; the open chat it belongs to, if any."""
        chat = self.open_chat(conversation_id)
        if chat is not None:
            chat.last_customer_at, chat.silence_prompted_at = now, None
        return chat

    def cancel(self, conversation_id: str, now: datetime) -> Optional[LiveChat]:
        """The customer no longer wants a person (取消排队 / 不用人工了): back to the bot."""
        chat = self.open_chat(conversation_id)
        if chat is None:
            return None
        was_waiting = chat.status == "waiting"
        chat.status, chat.closed_at, chat.version = "cancelled", now, chat.version + 1
        self._event(chat, "cancelled", now, None, "客户取消排队" if was_waiting else "客户结束人工对话")
        if was_waiting and chat.escalated_at is not None:  # offered a call back after waiting too long
            self._ticket_note(chat, "open", "客户等待超时后取消排队，转为回电", now)
        else:
            self._ticket_note(chat, "resolved", "客户不再需要人工服务", now)
        return chat

    def unanswered(self, conversation_id: str, now: datetime, note: str) -> Optional[LiveChat]:
        """A phone transfer nobody picked up: the chat ends; the ticket becomes a call back (the caller's)."""
        chat = self.open_chat(conversation_id)
        if chat is not None:
            chat.status, chat.closed_at, chat.version = "cancelled", now, chat.version + 1
            self._event(chat, "unanswered", now, None, note)
        return chat

    # ---- a phone call's transfer (the gateway dials the agent line; agents see the call here) ----

    def agent_call_ended(self, conversation_id: str, now: datetime, seconds: int) -> Optional[LiveChat]:
        """The agent line answered the transfer and has now hung up; the caller is still on the line.
        A call accepted in the workspace stays with its agent to record the result; one nobody took
        there is closed, and its ticket stays open for someone to check what was agreed."""
        chat = self.latest_chat(conversation_id)
        if chat is None:
            return None
        self._event(chat, "call_connected", now, chat.agent_id, f"人工通话{seconds}秒")
        if chat.status == "waiting":
            chat.status, chat.closed_at, chat.version = "closed", now, chat.version + 1
            self._event(chat, "closed", now, None, "电话已由人工接听，工作台无人接入")
            self._ticket_note(chat, "open", "电话已转人工接听，工作台未登记结果，请核实", now)
        return chat

    def call_ended(self, conversation_id: str, now: datetime) -> Optional[LiveChat]:
        """The caller hung up. Still waiting for the agent line: out of the queue, the ticket kept
        for a call back; taken by an agent: theirs until they record the result."""
        chat = self.open_chat(conversation_id)
        if chat is None:
            return None
        if chat.status == "waiting":
            chat.status, chat.closed_at, chat.version = "cancelled", now, chat.version + 1
            self._event(chat, "cancelled", now, None, "客户在转接中挂断")
            self._ticket_note(chat, "open", "客户在转接人工时挂断，请回电", now)
        else:
            self._event(chat, "call_ended", now, None, "通话已结束，请登记处理结果")
        return chat

    def rate_call(self, conversation_id: str, rating: int) -> Optional[LiveChat]:
        """The caller's keypad score after talking with the agent line, for that call's chat."""
        chat = self.latest_chat(conversation_id)
        if chat is None or chat.rating is not None or chat.status not in ("active", "closed"):
            return None
        return self.rate(chat.id, rating)

    def latest_chat(self, conversation_id: str) -> Optional[LiveChat]:
        chat: Optional[LiveChat] = self.session.execute(
            select(LiveChat)
            .where(LiveChat.conversation_id == conversation_id)
            .order_by(LiveChat.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        return chat

    def rate(self, chat_id: int, rating: int) -> LiveChat:
        if not 1 <= rating <= 5:
            raise AgentError("评分是 1 到 5")
        chat = self._chat(chat_id)
        chat.rating = rating
        return chat

    def rate_latest(self, conversation_id: str, rating: int, now: datetime) -> Optional[LiveChat]:
        """A customer's rating given after an agent closed their chat belongs to that chat and agent."""
        chat: Optional[LiveChat] = self.session.execute(
            select(LiveChat)
            .where(
                LiveChat.conversation_id == conversation_id,
                LiveChat.status == "closed",
                LiveChat.rating.is_(None),
                LiveChat.closed_at >= now - RATING_WINDOW,
            )
            .order_by(LiveChat.closed_at.desc())
            .limit(1)
        ).scalar_one_or_none()
        if chat is not None:
            self.rate(chat.id, rating)
        return chat

    # ---- the agent's side ----

    def waiting(self, skill_groups: Optional[Sequence[str]] = None) -> List[LiveChat]:
        """The queue in serving order; only the given groups' when given."""
        query = select(LiveChat).where(LiveChat.status == "waiting")
        if skill_groups is not None:
            query = query.where(LiveChat.skill_group.in_(list(skill_groups)))
        return list(
            self.session.execute(query.order_by(LiveChat.priority, LiveChat.queued_at, LiveChat.id)).scalars()
        )

    def active_for(self, agent_id: Optional[str] = None) -> List[LiveChat]:
        query = select(LiveChat).where(LiveChat.status == "active")
        if agent_id is not None:
            query = query.where(LiveChat.agent_id == agent_id)
        return list(self.session.execute(query.order_by(LiveChat.accepted_at, LiveChat.id)).scalars())

    def may_see(self, agent: Agent, chat: LiveChat) -> bool:
        """Supervisors see every chat; an agent their groups' queue and their own chats."""
        if agent.role == "supervisor" or chat.agent_id == agent.id:
            return True
        return chat.status == "waiting" and chat.skill_group in agent.skill_groups

    def accept(self, chat_id: int, agent: Agent, now: datetime) -> bool:
        """Gives the waiting chat to this agent; False when someone else was first."""
        chat = self._chat(chat_id)
        if agent.role != "supervisor" and chat.skill_group not in agent.skill_groups:
            raise AgentError("这位客户不在您的技能组")
        self._check_capacity(agent)
        taken = self.session.execute(
            update(LiveChat)
            .where(LiveChat.id == chat_id, LiveChat.status == "waiting")
            .values(status="active", agent_id=agent.id, accepted_at=now, version=LiveChat.version + 1)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:
            return False
        self.session.refresh(chat)
        self._event(chat, ACCEPTED, now, agent.id, agent.name)
        self._ticket_note(chat, "in_progress", f"坐席{agent.name}接入", now)
        return True

    def accept_next(self, agent: Agent, now: datetime) -> Optional[LiveChat]:
        """The first waiting customer of the agent's groups, taken for them (None: queue empty)."""
        groups = None if agent.role == "supervisor" else agent.skill_groups
        while True:
            candidates = self.waiting(groups)[:10]
            if not candidates:
                return None
            for chat in candidates:
                if self.accept(chat.id, agent, now):
                    return chat

    def transfer(
        self,
        chat_id: int,
        by: Agent,
        now: datetime,
        *,
        to_agent: Optional[Agent] = None,
        to_group: Optional[str] = None,
        note: str = "",
    ) -> LiveChat:
        """To a colleague who is online (at once) or back to a group's queue (keeping its place)."""
        chat = self._own_active(chat_id, by)
        if (to_agent is None) == (to_group is None):
            raise AgentError("请选择转给哪位坐席或哪个技能组")
        if to_agent is not None:
            if to_agent.id == by.id:
                raise AgentError("不能转给自己")
            if not self.agents.present(to_agent, now):
                raise AgentError(f"{to_agent.name}现在不在线")
            self._check_capacity(to_agent)
            chat.agent_id, chat.accepted_at = to_agent.id, now
            detail = f"{by.name} → {to_agent.name}"
        else:
            if to_group not in SKILL_GROUPS:
                raise AgentError(f"没有这个技能组：{to_group}")
            chat.status, chat.agent_id, chat.skill_group, chat.accepted_at = "waiting", None, to_group, None
            detail = f"{by.name} → {SKILL_GROUPS[to_group]}组"
        chat.version += 1
        self._event(chat, TRANSFERRED, now, by.id, f"{detail}：{note}" if note else detail)
        return chat

    def take_over(self, chat_id: int, supervisor: Agent, now: datetime) -> LiveChat:
        """A supervisor takes an agent's conversation over (or a waiting one out of the queue)."""
        if supervisor.role != "supervisor":
            raise AgentError("只有班长可以接管会话")
        chat = self._chat(chat_id)
        if chat.status not in OPEN_CHAT_STATUSES:
            raise AgentError("这个会话已经结束了")
        before = chat.agent.name if chat.agent is not None else "队列"
        chat.status, chat.agent_id, chat.accepted_at = "active", supervisor.id, now
        chat.version += 1
        self._event(chat, TAKEN_OVER, now, supervisor.id, f"{before} → {supervisor.name}")
        self._ticket_note(chat, "in_progress", f"班长{supervisor.name}接管", now)
        return chat

    def hand_back(self, chat_id: int, by: Agent, now: datetime) -> LiveChat:
        """The agent returns the customer to the bot (the chat ends without a result code)."""
        chat = self._own_active(chat_id, by)
        chat.status, chat.closed_at, chat.version = "returned", now, chat.version + 1
        self._event(chat, "returned", now, by.id, "交还机器人")
        self._ticket_note(chat, "resolved", f"坐席{by.name}交还机器人", now)
        return chat

    def close(self, chat_id: int, by: Agent, result: str, now: datetime, note: str = "") -> LiveChat:
        if result not in RESULTS:
            raise AgentError("请选择处理结果：已解决、未解决或转工单")
        chat = self._own_active(chat_id, by)
        chat.status, chat.closed_at, chat.result, chat.version = "closed", now, result, chat.version + 1
        self._event(chat, "closed", now, by.id, f"{RESULTS[result]}：{note}" if note else RESULTS[result])
        status = {"resolved": "resolved", "unresolved": "closed", "ticket": "open"}[result]
        self._ticket_note(chat, status, f"坐席{by.name}结束对话（{RESULTS[result]}）{note}", now)
        return chat

    def agent_wrote(self, chat_id: int, by: Agent) -> LiveChat:
        """Checks that the agent may write in this chat now; the caller stamps the time."""
        return self._own_active(chat_id, by)

    # ---- timeouts ----

    def overdue(self, now: datetime) -> List[LiveChat]:
        """Waiting chats past their group's SLA, each returned once (marked escalated)."""
        late = [
            chat
            for chat in self.waiting()
            if chat.escalated_at is None and now - chat.queued_at > ACCEPT_SLA[chat.skill_group]
        ]
        for chat in late:
            chat.escalated_at = now
            self._event(chat, "escalated", now, None, "超过接起时限，已提醒班长")
        return late

    def silent(
        self, now: datetime, prompt_after: timedelta, close_after: timedelta
    ) -> Tuple[List[LiveChat], List[LiveChat]]:
        """(chats whose agent should be told the customer has gone quiet, chats to close now)."""
        to_prompt, to_close = [], []
        for chat in self.active_for():
            if chat.channel == "phone":  # the caller talks on the agent line, not in messages
                continue
            quiet_since = max(filter(None, (chat.last_customer_at, chat.accepted_at)))
            if now - quiet_since >= close_after:
                to_close.append(chat)
            elif now - quiet_since >= prompt_after and chat.silence_prompted_at is None:
                chat.silence_prompted_at = now
                to_prompt.append(chat)
        for chat in to_close:
            chat.status, chat.closed_at, chat.result = "closed", now, "unresolved"
            chat.version += 1
            self._event(chat, "closed", now, None, "客户长时间未回复，自动结束")
            self._ticket_note(chat, "closed", "客户长时间未回复，人工对话自动结束", now)
        return to_prompt, to_close

    # ---- helpers ----

    def chat(self, chat_id: int) -> Optional[LiveChat]:
        chat: Optional[LiveChat] = self.session.get(LiveChat, chat_id)
        return chat

    def _chat(self, chat_id: int) -> LiveChat:
        chat = self.chat(chat_id)
        if chat is None:
            raise AgentError("没有这个会话")
        return chat

    def _own_active(self, chat_id: int, agent: Agent) -> LiveChat:
        chat = self._chat(chat_id)
        if chat.status != "active":
            raise AgentError("这个会话已经结束了")
        if chat.agent_id != agent.id:  # a supervisor takes the chat over first (take_over)
            raise AgentError("这位客户不是由您接待的")
        return chat

    def _active_count(self, agent_ids: Sequence[str]) -> int:
        if not agent_ids:
            return 0
        count: int = self.session.execute(
            select(func.count())
            .select_from(LiveChat)
            .where(LiveChat.status == "active", LiveChat.agent_id.in_(list(agent_ids)))
        ).scalar_one()
        return count

    def _check_capacity(self, agent: Agent) -> None:
        if self._active_count([agent.id]) >= agent.max_concurrent:
            raise AgentError(f"同时接待的客户已满（{agent.max_concurrent}位），请先结束一个对话")

    def _event(self, chat: LiveChat, kind: str, now: datetime, agent_id: Optional[str], detail: str) -> None:
        self.session.add(LiveChatEvent(chat_id=chat.id, at=now, kind=kind, agent_id=agent_id, detail=detail))

    def _ticket_note(self, chat: LiveChat, status: str, note: str, now: datetime) -> None:
        if chat.ticket_id is None:
            return
        ticket = self.tickets.find(chat.ticket_id)
        if ticket is not None:
            self.tickets.set_status(ticket, status, note, now)
