"""快捷回复: the replies agents insert with one click, kept by supervisors."""

from __future__ import annotations

from datetime import datetime
from typing import List, Optional

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from business.services.agents import SKILL_GROUPS, AgentError
from business.store.models import Agent, CannedReply

MAX_TITLE_CHARS = 32
MAX_TEXT_CHARS = 1000


class CannedReplies:
    def __init__(self, session: Session) -> None:
        self.session = session

    def for_agent(self, agent: Agent) -> List[CannedReply]:
        """The common replies and those of the agent's groups (a supervisor sees all)."""
        query = select(CannedReply).order_by(
            CannedReply.skill_group.is_not(None), CannedReply.skill_group, CannedReply.id
        )
        if agent.role != "supervisor":
            query = query.where(
                or_(CannedReply.skill_group.is_(None), CannedReply.skill_group.in_(agent.skill_groups))
            )
        return list(self.session.execute(query).scalars())

    def save(
        self,
        by: Agent,
        title: str,
        text: str,
        skill_group: Optional[str],
        now: datetime,
        reply_id: Optional[int] = None,
    ) -> CannedReply:
        """Adds a reply, or changes one (`reply_id`); only supervisors keep them."""
        self._supervisor(by)
        title, text = title.strip(), text.strip()
        if not title or not text:
            raise AgentError("标题和内容都不能为空")
        if len(title) > MAX_TITLE_CHARS or len(text) > MAX_TEXT_CHARS:
            raise AgentError(f"标题最多{MAX_TITLE_CHARS}字，内容最多{MAX_TEXT_CHARS}字")
        if skill_group is not None and skill_group not in SKILL_GROUPS:
            raise AgentError(f"没有这个技能组：{skill_group}")
        reply = CannedReply() if reply_id is None else self._find(reply_id)
        reply.title, reply.text, reply.skill_group = title, text, skill_group
        reply.updated_by, reply.updated_at = by.id, now
        self.session.add(reply)
        self.session.flush()
        return reply

    def delete(self, by: Agent, reply_id: int) -> None:
        self._supervisor(by)
        self.session.delete(self._find(reply_id))

    def _find(self, reply_id: int) -> CannedReply:
        reply: Optional[CannedReply] = self.session.get(CannedReply, reply_id)
        if reply is None:
            raise AgentError("没有这条快捷回复")
        return reply

    @staticmethod
    def _supervisor(agent: Agent) -> None:
        if agent.role != "supervisor":
            raise AgentError("只有班长可以编辑快捷回复")
