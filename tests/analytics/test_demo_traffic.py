"""`make demo-traffic` (scripts/demo_traffic.py): a short stretch of it, through the real product on its
own database, leaves facts a report can show: several past days, every channel, agents at work, ratings,
customers who came back."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from business.clock import SHANGHAI
from business.store.db import engine_for, session_scope
from business.store.models import ConversationFact, LiveChat
from tests.stack import ROOT, E2EStack, default_now

pytestmark = pytest.mark.e2e


def test_a_few_days_of_demo_traffic_reach_the_facts_on_their_own_days(rasa_model):
    stack = E2EStack(rasa_model, default_now())
    stack.write_endpoints()
    env = {k: v for k, v in stack.env.items() if k != "XINGHE_NOW"}  # the demo moves the clock itself
    finished = subprocess.run(
        [sys.executable, "scripts/demo_traffic.py", "--conversations", "60", "--days", "3", "--seed", "3"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]

    today = datetime.now(SHANGHAI).date()
    with session_scope(engine_for(stack.database_url)) as session:
        facts = session.execute(select(ConversationFact)).scalars().all()
        chats = session.execute(select(LiveChat)).scalars().all()
    assert len(facts) >= 55  # a conversation whose customer said nothing is no conversation
    days = {fact.started_at.date() for fact in facts}
    assert days == {today - timedelta(days=n) for n in (1, 2, 3)}, days
    assert {fact.channel for fact in facts} == {"webchat", "wechat", "phone", "rest"}
    hours = {fact.started_at.hour for fact in facts}
    assert len(hours) >= 6  # spread over the day, not all at the moment the test ran
    served = [chat for chat in chats if chat.agent_id is not None]
    assert served and all(chat.status == "closed" for chat in served)
    assert all(9 <= chat.queued_at.hour < 21 for chat in served)  # agents work in service hours
    # Every process kept the demo's clock: no time of today, no handle time below zero.
    assert all(chat.closed_at.date() < today and chat.accepted_at.date() < today for chat in served)
    assert all(fact.ended_at.date() < today and (fact.handle_s or 0) >= 0 for fact in facts)
    assert any(chat.rating for chat in served)
    assert any(fact.wait_s and fact.wait_s >= 30 for fact in facts)  # minutes, not milliseconds
    customers = [fact.conversation_id for fact in facts]
    assert len(set(customers)) < len(customers)  # some came back
    assert "conversations in" in finished.stdout and "make report" in finished.stdout
    for path in (stack.run_dir / "demo_traffic.log", stack.run_dir / "rasa.log"):
        assert oct(os.stat(path).st_mode & 0o777) == "0o600", path
    # No conversation lock expired under the moving clock (an agent's message would have been lost).
    assert "Could not acquire lock" not in (stack.run_dir / "rasa.log").read_text(encoding="utf-8")
    shutil.rmtree(stack.tmpdir, ignore_errors=True)  # kept when the test fails, to read its logs
