"""Workspace logins: opaque session tokens (only their hashes stored), CSRF tokens, expiry, and the
failed-login count that rate-limits guessing (kept in the audit log, so every instance sees it)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from business.services.agents import AgentDirectory
from business.services.audit import AuditLog
from business.store.models import Agent, AgentSession, AuditEntry

IDLE_TIMEOUT = timedelta(hours=2)  # no sign of life from the browser for this long: log in again
MAX_SESSION = timedelta(hours=12)  # one shift at most
TOUCH_EVERY = timedelta(minutes=1)  # how fresh the idle clock needs to be
LOGIN_FAILURES_ALLOWED = 5
LOGIN_FAILURE_WINDOW = timedelta(minutes=15)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Login:
    token: str  # for the cookie; never stored
    csrf_token: str
    agent: Agent


class LoginThrottled(Exception):
    """Too many wrong passwords for this login or from this address lately."""


class AgentSessions:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.audit = AuditLog(session)

    def log_in(self, login: str, password: str, address: str, now: datetime) -> Optional[Login]:
        """A new session for the right login and password; None otherwise (and the attempt is counted)."""
        if self.recent_failures(login, address, now) >= LOGIN_FAILURES_ALLOWED:
            raise LoginThrottled()
        agent = AgentDirectory(self.session).authenticate(login, password)
        if agent is None:
            self.audit.record(None, "login_failed", now, subject=login[:64], detail=address)
            return None
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self.session.add(
            AgentSession(
                token_hash=_digest(token),
                agent_id=agent.id,
                csrf_token=csrf,
                created_at=now,
                last_seen_at=now,
            )
        )
        self.audit.record(agent.id, "login", now, detail=address)
        return Login(token, csrf, agent)

    def recent_failures(self, login: str, address: str, now: datetime) -> int:
        count: int = self.session.execute(
            select(func.count())
            .select_from(AuditEntry)
            .where(
                AuditEntry.action == "login_failed",
                AuditEntry.at > now - LOGIN_FAILURE_WINDOW,
                (AuditEntry.subject == login[:64]) | (AuditEntry.detail == address),
            )
        ).scalar_one()
        return count

    def resolve(self, token: str, now: datetime) -> Optional[AgentSession]:
        """The live session this token opens, kept alive; None when unknown or expired."""
        found: Optional[AgentSession] = self.session.get(AgentSession, _digest(token))
        if found is None:
            return None
        if now - found.last_seen_at > IDLE_TIMEOUT or now - found.created_at > MAX_SESSION:
            self.session.delete(found)
            return None
        if now - found.last_seen_at > TOUCH_EVERY:  # not a write on every request
            found.last_seen_at = now
        return found

    @staticmethod
    def csrf_ok(found: AgentSession, offered: Optional[str]) -> bool:
        return bool(offered) and hmac.compare_digest(found.csrf_token, offered or "")

    def log_out(self, token: str, now: datetime) -> None:
        found = self.session.get(AgentSession, _digest(token))
        if found is not None:
            self.audit.record(found.agent_id, "logout", now)
            self.session.delete(found)

    def end_all(self, agent_id: str) -> None:
        self.session.execute(delete(AgentSession).where(AgentSession.agent_id == agent_id))
