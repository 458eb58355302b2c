"""Workspace logins (business/services/agent_sessions.py) as several requests of one browser meet them."""

from __future__ import annotations

import warnings
from datetime import timedelta

from business.services.agent_sessions import IDLE_TIMEOUT, AgentSessions
from business.store.db import engine_for, session_scope
from tests.conftest import NOW

PASSWORD = "xinghe-demo"


def test_requests_arriving_together_after_the_session_expired_are_all_refused_quietly(database_url):
    engine = engine_for(database_url)
    with session_scope(engine) as session:
        login = AgentSessions(session).log_in("wangfang", PASSWORD, "127.0.0.1", NOW)
        assert login is not None
    later = NOW + IDLE_TIMEOUT + timedelta(minutes=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # SQLAlchemy warns when a row it deletes was already gone
        with session_scope(engine) as first, session_scope(engine) as second:
            assert AgentSessions(first).resolve(login.token, later) is None
            assert AgentSessions(second).resolve(login.token, later) is None
            first.commit()  # the first request's end removes the session; then the second's ends
    with session_scope(engine) as session:
        assert AgentSessions(session).resolve(login.token, NOW) is None  # gone for good
        AgentSessions(session).log_out(login.token, later)  # a logout after it is no error either
