"""Agents and supervisors: who they are, how they log in, whether they can take a customer."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Dict, List, Optional, Sequence

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from business.store.models import Agent, AgentSkill

SKILL_GROUPS: Dict[str, str] = {"mall": "商城", "wallet": "钱包", "travel": "旅行", "complaint": "投诉"}
ROLES: Dict[str, str] = {"agent": "坐席", "supervisor": "班长"}
STATUSES: Dict[str, str] = {"online": "在线", "busy": "忙碌", "away": "离开", "offline": "离线"}
# An agent counts as online only while the workspace has heard from them lately: a closed
# laptop must not keep customers queueing for nobody.
PRESENCE_TIMEOUT = timedelta(minutes=2)

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Checked when the login is unknown, so that a wrong login costs as long as a wrong password."""
    return _hasher.hash("not a password of anyone")


class AgentError(ValueError):
    """A request the rules refuse, with the Chinese reason for the person who made it."""


@dataclass(frozen=True)
class NewAgent:
    id: str
    login: str
    name: str
    password: str
    role: str
    skill_groups: Sequence[str]
    max_concurrent: int = 3


class AgentDirectory:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, new: NewAgent) -> Agent:
        if new.role not in ROLES:
            raise AgentError(f"没有这个角色：{new.role}")
        unknown = [group for group in new.skill_groups if group not in SKILL_GROUPS]
        if unknown:
            raise AgentError(f"没有这个技能组：{'、'.join(unknown)}")
        if new.max_concurrent < 1:
            raise AgentError("同时接待数至少为 1")
        agent = Agent(
            id=new.id,
            login=new.login,
            name=new.name,
            password_hash=_hasher.hash(new.password),
            role=new.role,
            status="offline",
            max_concurrent=new.max_concurrent,
            skills=[AgentSkill(skill_group=group) for group in dict.fromkeys(new.skill_groups)],
        )
        self.session.add(agent)
        self.session.flush()
        return agent

    def find(self, agent_id: str) -> Optional[Agent]:
        agent: Optional[Agent] = self.session.get(Agent, agent_id)
        return agent

    def everyone(self) -> List[Agent]:
        return list(
            self.session.execute(
                select(Agent).options(selectinload(Agent.skills)).order_by(Agent.id)
            ).scalars()
        )

    def authenticate(self, login: str, password: str) -> Optional[Agent]:
        """The agent with this login and password; None for either being wrong (not saying which)."""
        agent: Optional[Agent] = self.session.execute(
            select(Agent).where(Agent.login == login)
        ).scalar_one_or_none()
        try:
            _hasher.verify(agent.password_hash if agent is not None else _dummy_hash(), password)
        except (VerificationError, InvalidHashError):
            return None
        if agent is None:
            return None
        if _hasher.check_needs_rehash(agent.password_hash):
            agent.password_hash = _hasher.hash(password)
        return agent

    def set_status(self, agent: Agent, status: str, now: datetime) -> None:
        if status not in STATUSES:
            raise AgentError(f"没有这个状态：{status}")
        if agent.status != status:
            agent.status, agent.status_since = status, now
        agent.last_seen = now

    def seen(self, agent: Agent, now: datetime) -> None:
        agent.last_seen = now

    def reachable(self, agent: Agent, now: datetime) -> bool:
        """Heard from within the presence timeout (whatever status they chose)."""
        return bool(agent.last_seen is not None and now - agent.last_seen <= PRESENCE_TIMEOUT)

    def shown_status(self, agent: Agent, now: datetime) -> str:
        """The status colleagues see: what the agent chose, or offline once they went quiet."""
        return str(agent.status) if self.reachable(agent, now) else "offline"

    def present(self, agent: Agent, now: datetime) -> bool:
        """Online, and heard from within the presence timeout: can take a customer."""
        return agent.status == "online" and self.reachable(agent, now)

    def online_in(self, skill_group: str, now: datetime) -> List[Agent]:
        candidates = self.session.execute(
            select(Agent)
            .join(AgentSkill)
            .where(AgentSkill.skill_group == skill_group, Agent.status == "online")
            .options(selectinload(Agent.skills))
        ).scalars()
        return [agent for agent in candidates if self.present(agent, now)]
