"""The audit log: every view of a customer's data and every action taken in the workspace."""

from __future__ import annotations

from datetime import datetime
from typing import List, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from business.store.models import AuditEntry

ANONYMOUS = "-"  # the actor of a failed login


class AuditLog:
    def __init__(self, session: Session) -> None:
        self.session = session

    def record(
        self,
        agent_id: Optional[str],
        action: str,
        now: datetime,
        subject: Optional[str] = None,
        detail: str = "",
    ) -> None:
        self.session.add(
            AuditEntry(at=now, agent_id=agent_id or ANONYMOUS, action=action, subject=subject, detail=detail)
        )

    def latest(self, limit: int = 200, agent_id: Optional[str] = None) -> List[AuditEntry]:
        query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
        if agent_id is not None:
            query = query.where(AuditEntry.agent_id == agent_id)
        return list(self.session.execute(query).scalars())
