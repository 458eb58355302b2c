"""The supervisors' dashboard (GET /api/supervisor/metrics) is built once per period and day for
everyone who polls it within DASHBOARD_TTL_S, against the real business store and analytics."""

from __future__ import annotations

import asyncio

import pytest

from analytics import intake
from tests.analytics.streams import Stream
from workspace import desk as desk_module
from workspace.dashboard_cache import DASHBOARD_TTL_S


class StoppedClock:
    """The cache's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(workspace) -> StoppedClock:
    stopped = StoppedClock()
    workspace.app.ctx.desk.dashboards.clock = stopped
    return stopped


@pytest.fixture
def builds(monkeypatch):
    """Every build of the dashboard (analytics' own, called through): (today, days)."""
    built = []

    def counted(session, today, days):
        built.append((today.isoformat(), days))
        return dashboard(session, today, days)

    dashboard = desk_module.dashboard
    monkeypatch.setattr(desk_module, "dashboard", counted)
    return built


def a_conversation(sender: str, start: str) -> None:
    stream = Stream(sender, start).session().says("运费怎么算", "ask_faq").bot("utter_faq_answer")
    intake.apply([(sender, event) for event in stream.events])


async def polled(supervisor, days: int = 1) -> dict:
    reply = await supervisor.get(f"/api/supervisor/metrics?days={days}")
    assert reply.status == 200
    return await reply.json()


def conversations(figures: dict) -> str:
    return next(f["value"] for f in figures["figures"] if f["key"] == "conversations")


async def test_polls_within_the_ttl_share_one_build_and_later_ones_see_new_conversations(
    workspace, clock, builds
):
    a_conversation("webchat:early", "2026-11-22 09:00:00")
    chen = await workspace.logged_in("chenjing")
    assert conversations(await polled(chen)) == "1"
    a_conversation("webchat:later", "2026-11-22 09:30:00")
    clock.now += DASHBOARD_TTL_S - 1
    assert conversations(await polled(chen)) == "1"  # the figures of the first poll
    clock.now += 1
    assert conversations(await polled(chen)) == "2"
    assert builds == [("2026-11-22", 1), ("2026-11-22", 1)]


async def test_supervisors_polling_at_once_wait_for_one_build(workspace, clock, builds):
    a_conversation("webchat:early", "2026-11-22 09:00:00")
    supervisors = [await workspace.logged_in("chenjing") for _ in range(4)]
    answers = await asyncio.gather(*(polled(supervisor) for supervisor in supervisors))
    assert [conversations(answer) for answer in answers] == ["1"] * 4
    assert builds == [("2026-11-22", 1)]


async def test_each_period_is_built_and_kept_on_its_own(workspace, clock, builds):
    a_conversation("webchat:today", "2026-11-22 09:00:00")
    a_conversation("webchat:last-week", "2026-11-18 09:00:00")
    chen = await workspace.logged_in("chenjing")
    assert conversations(await polled(chen, days=1)) == "1"
    week = await polled(chen, days=7)
    assert (week["from"], conversations(week)) == ("2026-11-16", "2")
    assert conversations(await polled(chen, days=1)) == "1"
    assert conversations(await polled(chen, days=7)) == "2"
    assert builds == [("2026-11-22", 1), ("2026-11-22", 7)]


async def test_todays_figures_are_not_kept_past_midnight(workspace, clock, builds, monkeypatch):
    monkeypatch.setenv("XINGHE_NOW", "2026-11-22T23:59:50")
    a_conversation("webchat:late-night", "2026-11-22 23:30:00")
    chen = await workspace.logged_in("chenjing")
    assert conversations(await polled(chen)) == "1"
    monkeypatch.setenv("XINGHE_NOW", "2026-11-23T00:00:05")  # fifteen seconds later: a new day
    new_day = await polled(chen)
    assert (new_day["to"], conversations(new_day)) == ("2026-11-23", "0")
    assert builds == [("2026-11-22", 1), ("2026-11-23", 1)]
