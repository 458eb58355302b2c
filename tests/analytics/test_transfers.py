"""Transfers as a fact and a figure: handoffs worked through the real live chat service (accepted,
transferred, closed as agents do in the workspace), folded into facts and counted in the report, the
CSV tables and the supervisors' dashboard; the right answers are worked out here."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Optional

import pytest
from sqlalchemy import select

from analytics import intake
from analytics.facts import Handoff, conversation_facts
from analytics.report import build, dashboard, tables
from business.services.agents import AgentDirectory
from business.services.live_chat import LiveChatService, Routing
from business.store.db import engine_for, session_scope
from business.store.models import ConversationFact
from tests.analytics.streams import Stream

DAY = datetime(2026, 11, 22)


def handed_off(sender: str, minute: int) -> Stream:
    """A web chat customer who asks for a person at 10:mm:03 (the bot pauses at :05)."""
    stream = Stream(sender, f"2026-11-22 10:{minute:02d}:00").session()
    return stream.says("转人工", "request_human").action("action_handoff").pause()


def at(minute: int, second: int = 0) -> datetime:
    return DAY.replace(hour=10, minute=minute, second=second)


def test_a_handoff_transferred_once_twice_or_not_at_all(database_url):
    streams = [handed_off("webchat:once", 1), handed_off("webchat:twice", 2), handed_off("webchat:none", 3)]
    streams.append(Stream("webchat:bot", "2026-11-22 10:04:00").session().says("运费怎么算", "ask_faq"))
    with session_scope(engine_for(database_url)) as session:
        directory = AgentDirectory(session)
        wang, li, zhao = (directory.find(agent_id) for agent_id in ("A001", "A002", "A003"))
        for agent in (wang, li, zhao):
            directory.set_status(agent, "online", at(1))  # still there at 10:02:20, for 王芳's transfer
        service = LiveChatService(session)

        def queued(conversation_id: str, group: str, minute: int) -> int:
            routing = Routing(group, 2, "complaint" if group == "complaint" else "asked", None)
            return service.enqueue(conversation_id, "webchat", routing, at(minute, 3)).chat.id

        # Once: 商城 (王芳) sends it to the complaints group, where 赵敏 takes it and closes it.
        once = queued("webchat:once", "mall", 1)
        service.accept(once, wang, at(1, 10))
        service.transfer(once, wang, at(1, 40), to_group="complaint", note="客户要投诉")
        service.accept(once, zhao, at(1, 50))
        service.close(once, zhao, "resolved", at(5))
        # Twice: 王芳 gives it to her colleague 李强, who sends it on to the travel group and takes it
        # there himself.
        twice = queued("webchat:twice", "mall", 2)
        service.accept(twice, wang, at(2, 10))
        service.transfer(twice, wang, at(2, 20), to_agent=li)
        service.transfer(twice, li, at(2, 30), to_group="travel", note="要改签")
        service.accept(twice, li, at(2, 40))
        service.close(twice, li, "resolved", at(6))
        # Not at all: a complaint 赵敏 takes and closes.
        none = queued("webchat:none", "complaint", 3)
        service.accept(none, zhao, at(3, 10))
        service.close(none, zhao, "unresolved", at(7))
    intake.apply([(s.sender, event) for s in streams for event in s.events])

    with session_scope(engine_for(database_url)) as session:
        facts = {
            fact.conversation_id: (fact.handed_off, fact.transfers, fact.skill_group, fact.agent_id)
            for fact in session.execute(select(ConversationFact)).scalars()
        }
        assert facts == {
            "webchat:once": (True, 1, "complaint", "A003"),
            "webchat:twice": (True, 2, "travel", "A002"),
            "webchat:none": (True, 0, "complaint", "A003"),
            "webchat:bot": (False, 0, None, None),
        }
        # The wait ends at the first agent's accept, and the handling runs from there to the close.
        times = {
            fact.conversation_id: (fact.wait_s, fact.handle_s)
            for fact in session.execute(select(ConversationFact)).scalars()
            if fact.handed_off
        }
        assert times == {"webchat:once": (7, 230), "webchat:twice": (7, 230), "webchat:none": (7, 230)}
        result = build(session, DAY, DAY + timedelta(days=1))
        # Three handoffs (the bot's conversation is not one), two of them transferred at least once.
        assert result.overall.transfer_rate == pytest.approx(2 / 3)
        assert result.by_channel["webchat"].transfer_rate == pytest.approx(2 / 3)
        assert result.by_day[date(2026, 11, 22)].transfer_rate == pytest.approx(2 / 3)
        assert result.by_week[date(2026, 11, 16)].transfer_rate == pytest.approx(2 / 3)
        # Counted where each ended: nothing ended in 商城, though both transfers began there.
        assert {group: s.transfer_rate for group, s in result.by_skill_group.items()} == {
            "complaint": pytest.approx(1 / 2),
            "travel": 1.0,
        }
        assert {agent: s.transfer_rate for agent, s in result.by_agent.items()} == {
            "A002": 1.0,
            "A003": pytest.approx(1 / 2),
        }
        overall = next(table for table in tables(result, {}) if table.slug == "overall")
        assert overall.shown_cells(overall.rows[0])[overall.header.index("转接率")] == "66.7%"
        figures = {figure["key"]: figure for figure in dashboard(session, DAY.date(), 1)["figures"]}
        assert (figures["transfer_rate"]["title"], figures["transfer_rate"]["value"]) == ("转接率", "66.7%")


def test_a_conversation_counts_the_transfers_of_each_of_its_live_chats():
    stream = Stream("webchat:e", "2026-11-22 10:00:00").session()
    stream.says("转人工", "request_human").action("action_handoff").pause()
    stream.resume("2026-11-22 10:02:00").says("转人工", "request_human").action("action_handoff").pause()

    def chat(queued: datetime, status: str, result: Optional[str], transfers: int) -> Handoff:
        ended = queued + timedelta(seconds=50)
        return Handoff(queued, None, ended, status, "asked", "mall", None, result, None, transfers)

    # Sent on to another group's queue, where the customer gave up waiting; asked again, closed.
    first = chat(datetime(2026, 11, 22, 10, 0, 3), "cancelled", None, 1)
    second = chat(datetime(2026, 11, 22, 10, 2, 3), "closed", "resolved", 0)
    [fact] = conversation_facts("webchat:e", stream.events, [first, second])
    assert (fact.transfers, fact.handoff_status, fact.result) == (1, "closed", "resolved")
    [unhanded] = conversation_facts(
        "webchat:f", Stream("webchat:f", "2026-11-22 11:00:00").session().says("你好", "greet").events
    )
    assert unhanded.transfers == 0
