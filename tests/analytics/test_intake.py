"""The consumer on Rasa's real event brokers: the SQL broker's table and RabbitMQ (Rasa's Pika broker).
Replayed or resent events add nothing; a consumer killed mid-stream loses nothing when it restarts."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Dict, List

import aio_pika
import pytest
from rasa.core.brokers.pika import PikaEventBroker
from rasa.core.brokers.sql import SQLEventBroker
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import event as sqlalchemy_events
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from analytics import intake, store
from analytics.facts import conversation_facts
from business.services.agents import AgentDirectory
from business.services.live_chat import LiveChatService, Routing
from business.services.tickets import TicketService
from business.store.db import engine_for, session_scope
from business.store.migrate import upgrade
from business.store.models import AnalyticsEvent, Base, ConversationFact, WebchatRating
from business.store.seed import load_demo_data, seed
from tests.analytics.streams import Stream, closed_chat
from tests.conftest import NOW
from tests.servers import postgres_url, rabbitmq_url  # noqa: F401 - fixtures
from tests.tracker_stores import DOMAIN, masking_store, tracker_url  # noqa: F401 - fixture

ROOT = Path(__file__).resolve().parents[2]


def journeys(n: int) -> List[Stream]:
    streams = []
    for i in range(n):
        stream = Stream(f"webchat:{i}", f"2026-11-22 10:{i % 60:02d}:00").session()
        stream.says("你好", "greet").bot("utter_greet").says("运费怎么算", "ask_faq").bot("utter_faq_answer")
        if i % 3 == 0:
            stream.says("转人工", "request_human").action("action_handoff").pause()
        streams.append(stream)
    return streams


def facts_of(url: str) -> Dict[str, tuple]:
    with session_scope(engine_for(url)) as session:
        rows = session.execute(select(ConversationFact)).scalars()
        return {
            r.key: (r.customer_messages, r.bot_messages, r.kb_answered, r.handed_off, r.handoff_status)
            for r in rows
        }


def expected(streams: List[Stream]) -> Dict[str, tuple]:
    found = {}
    for stream in streams:
        for f in conversation_facts(stream.sender, stream.events):
            found[f.key] = (
                f.customer_messages,
                f.bot_messages,
                f.kb_answered,
                f.handed_off,
                f.handoff_status,
            )
    return found


def published(tmp_path: Path, streams) -> "intake.BrokerTable":
    """Rasa's SQL event broker with these streams' events in it, as the consumer reads it."""
    broker = SQLEventBroker(db=str(tmp_path / "events.db"))
    for stream in streams:
        for event in stream.events:
            broker.publish(event)
    return intake.BrokerTable(f"sqlite:///{tmp_path / 'events.db'}")


def test_the_sql_brokers_table_is_read_once_and_a_replay_changes_nothing(tmp_path, database_url):
    streams = journeys(12)
    table = published(tmp_path, streams)
    broker = SQLEventBroker(db=str(tmp_path / "events.db"))  # the stream goes on
    assert intake.drain_table(table) == sum(len(s.events) for s in streams)
    assert facts_of(database_url) == expected(streams)
    assert intake.drain_table(table) == 0  # nothing new

    with session_scope(engine_for(database_url)) as session:
        store.advance(session, intake.SQL_BROKER, 0)  # the whole table again
    intake.drain_table(table)
    assert facts_of(database_url) == expected(streams)
    with session_scope(engine_for(database_url)) as session:
        assert session.execute(select(func.count()).select_from(AnalyticsEvent)).scalar() == sum(
            len(s.events) for s in streams
        )

    streams[1].says("谢谢", "thanks").bot("utter_thanks")  # the conversation goes on
    for event in streams[1].events[-2:]:
        broker.publish(event)
    intake.drain_table(table)
    assert facts_of(database_url) == expected(streams)


def test_an_agents_accept_and_close_reach_the_facts_without_a_broker_event(
    tmp_path, database_url, monkeypatch
):
    table = published(tmp_path, journeys(1))  # conversation 0 is handed off at 10:00:06
    monkeypatch.setenv("XINGHE_NOW", "2026-11-22T10:00:10")
    intake.drain_table(table)
    [before] = facts_of(database_url).values()
    assert before[3:] == (True, None)  # handed off, no live chat yet
    assert intake.refresh() == 0
    with session_scope(engine_for(database_url)) as session:  # the agent accepts, talks and closes
        session.add(closed_chat("webchat:0", "2026-11-22 10:00:07", wait_s=23, handle_s=300, rating=5))
    monkeypatch.setenv("XINGHE_NOW", "2026-11-22T10:06:00")
    assert intake.refresh() == 1
    with session_scope(engine_for(database_url)) as session:
        fact = session.execute(select(ConversationFact)).scalar_one()
        assert (fact.handoff_status, fact.agent_id, fact.wait_s, fact.handle_s, fact.rating) == (
            "closed",
            "A001",
            23.0,
            300.0,
            5,
        )
    assert intake.refresh() == 0  # up to date now


@pytest.fixture(params=["sqlite", "postgresql"])
def business(request, database_url):
    """The business database the facts are built in: SQLite (make run) or PostgreSQL (production)."""
    if request.param == "sqlite":
        return engine_for(database_url)
    engine = engine_for(request.getfixturevalue("postgres_url"))
    Base.metadata.create_all(engine)
    with session_scope(engine) as session:
        seed(session, load_demo_data(), now=NOW)
    return engine


def test_the_consumers_refresh_sees_an_agents_close_committed_after_a_rebuild_it_predates(
    business, monkeypatch
):
    streams = journeys(4)  # conversation 3 is handed off at 10:03:06
    monkeypatch.setenv("XINGHE_NOW", "2026-11-22T10:05:00")
    intake.apply([(s.sender, event) for s in streams for event in s.events], business)
    watch = store.ChangeWatch()
    assert intake.refresh(business, watch) == 0  # its first look: nothing changed
    # The agent closes the chat at 10:05:50; the close is timed then but commits only at 10:06:10.
    # Meanwhile, at 10:05:55, the customer writes (the facts are rebuilt) and the consumer looks.
    monkeypatch.setenv("XINGHE_NOW", "2026-11-22T10:05:55")
    streams[3].says("好的", "affirm")
    intake.apply([(streams[3].sender, streams[3].events[-1])], business)
    assert intake.refresh(business, watch) == 0
    monkeypatch.setenv("XINGHE_NOW", "2026-11-22T10:06:10")
    with session_scope(business) as session:
        session.add(closed_chat("webchat:3", "2026-11-22 10:03:07", wait_s=23, handle_s=140, rating=4))
    assert intake.refresh(business, watch) == 1
    with session_scope(business) as session:
        fact = session.execute(
            select(ConversationFact).where(ConversationFact.conversation_id == "webchat:3")
        ).scalar_one()
        assert (fact.handoff_status, fact.agent_id, fact.handle_s, fact.rating) == (
            "closed",
            "A001",
            140.0,
            4,
        )
    assert intake.refresh(business, watch) == 0  # taken once, not at every look within the margin


def test_an_agents_transfer_after_the_facts_were_built_reaches_them(business, monkeypatch):
    streams = journeys(4)  # conversation 3 is handed off at 10:03:06
    with session_scope(business) as session:  # and taken by 王芳 at once
        service = LiveChatService(session)
        chat = service.enqueue(
            "webchat:3", "webchat", Routing("mall", 2, "asked", None), datetime(2026, 11, 22, 10, 3, 7)
        ).chat
        assert service.accept(
            chat.id, AgentDirectory(session).find("A001"), datetime(2026, 11, 22, 10, 3, 30)
        )
        chat_id = chat.id
    # Built, and first looked at, more than LATE_COMMIT_MARGIN after the accept: later looks do not
    # read the accept again.
    monkeypatch.setenv("XINGHE_NOW", "2026-11-22T10:09:00")
    intake.apply([(s.sender, event) for s in streams for event in s.events], business)
    watch = store.ChangeWatch()
    assert intake.refresh(business, watch) == 0  # its first look: nothing changed
    # At 10:10 she sends the customer to the travel group's queue: the live chat's times stay as they
    # were but for accepted_at, which goes back to none; the customer says nothing meanwhile.
    monkeypatch.setenv("XINGHE_NOW", "2026-11-22T10:10:00")
    with session_scope(business) as session:
        LiveChatService(session).transfer(
            chat_id,
            AgentDirectory(session).find("A001"),
            datetime(2026, 11, 22, 10, 10),
            to_group="travel",
            note="要改签",
        )
    monkeypatch.setenv("XINGHE_NOW", "2026-11-22T10:10:05")
    with session_scope(business) as session:
        assert store.stale(session) == {"webchat:3"}  # what a consumer starting now would compare
    assert intake.refresh(business, watch) == 1
    with session_scope(business) as session:
        fact = session.execute(
            select(ConversationFact).where(ConversationFact.conversation_id == "webchat:3")
        ).scalar_one()
        assert (fact.transfers, fact.skill_group, fact.handoff_status, fact.agent_id, fact.wait_s) == (
            1,
            "travel",
            "waiting",
            None,
            23,  # waited from 10:03:07 until 王芳 accepted: back in a queue, that wait is over
        )
    assert intake.refresh(business, watch) == 0  # taken once


def test_after_its_first_look_the_refresh_reads_only_what_changed_since(business, monkeypatch):
    streams = journeys(4)
    monkeypatch.setenv("XINGHE_NOW", "2026-11-22T08:00:00")
    intake.apply([(s.sender, event) for s in streams for event in s.events], business)
    monkeypatch.setenv("XINGHE_NOW", "2026-11-22T10:05:00")
    watch = store.ChangeWatch()
    assert intake.refresh(business, watch) == 0
    with session_scope(business) as session:
        # Timed an hour before the last look, further back than any commit is late.
        session.add(closed_chat("webchat:0", "2026-11-22 09:00:00", wait_s=30, handle_s=60, rating=5))
        # Since the last look: an agent's close, a ticket and a web chat rating (kept in UTC).
        session.add(closed_chat("webchat:3", "2026-11-22 10:04:00", wait_s=30, handle_s=60, rating=5))
        TicketService(session).open(
            "logistics", "快递三天没动", datetime(2026, 11, 22, 10, 5, 10), conversation_id="webchat:1"
        )
        session.add(
            WebchatRating(conversation_id="webchat:2", score=5, created_at=datetime(2026, 11, 22, 2, 5, 20))
        )
    monkeypatch.setenv("XINGHE_NOW", "2026-11-22T10:06:00")
    with session_scope(business) as session:
        assert store.stale(session) == {"webchat:0", "webchat:1", "webchat:2", "webchat:3"}  # all, read
        assert watch.look(session).conversations == {"webchat:1", "webchat:2", "webchat:3"}


def test_a_change_whose_refresh_failed_is_looked_for_again(database_url, monkeypatch):
    [stream] = journeys(1)
    monkeypatch.setenv("XINGHE_NOW", "2026-11-22T10:05:00")
    intake.apply([(stream.sender, event) for event in stream.events])
    watch = store.ChangeWatch()
    assert intake.refresh(watch=watch) == 0
    with session_scope() as session:
        session.add(closed_chat("webchat:0", "2026-11-22 10:00:07", wait_s=23, handle_s=240, rating=5))
    monkeypatch.setenv("XINGHE_NOW", "2026-11-22T10:06:00")
    with monkeypatch.context() as outage:
        outage.setattr(store, "rebuild", lambda session, ids: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            intake.refresh(watch=watch)
    assert intake.refresh(watch=watch) == 1


def consumer(env: Dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "analytics", "consume"],
        cwd=ROOT,
        env=env,
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
    )


async def wait_for(condition, seconds: float) -> bool:
    """Polls without blocking the loop: Rasa's Pika broker publishes from it."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.2)
    return condition()


@pytest.fixture
async def exchange(rabbitmq_url):  # noqa: F811
    """An exchange and an analytics queue of this test's own, removed afterwards."""
    name = f"xinghe-test-{uuid.uuid4().hex[:8]}"
    yield name
    connection = await aio_pika.connect(rabbitmq_url)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(f"{name}.analytics")
        await channel.exchange_delete(name)


async def test_a_consumer_killed_mid_stream_loses_nothing_and_counts_nothing_twice(
    tmp_path,
    rabbitmq_url,  # noqa: F811
    exchange,
):
    url = f"sqlite:///{tmp_path / 'business.db'}"
    upgrade(engine_for(url))
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "XINGHE_EVENTS_URL": rabbitmq_url,
        "XINGHE_EVENTS_EXCHANGE": exchange,
        "XINGHE_ANALYTICS_QUEUE": f"{exchange}.analytics",
        "PYTHONPATH": str(ROOT),
    }
    log = tmp_path / "consumer.log"
    first = consumer(env, log)
    broker = PikaEventBroker(
        rabbitmq_url, username="guest", password="guest", queues=[], exchange_name=exchange
    )
    await broker.connect()
    try:
        assert await wait_for(lambda: "following RabbitMQ queue" in log.read_text(), 30), log.read_text()
        streams = journeys(40)
        events = [event for stream in streams for event in stream.events]

        def kept() -> int:
            with session_scope(engine_for(url)) as session:
                return int(session.execute(select(func.count()).select_from(AnalyticsEvent)).scalar())

        for event in events[: len(events) // 2]:
            broker.publish(event)
        assert await wait_for(lambda: kept() > 0, 20), log.read_text()
        first.send_signal(signal.SIGKILL)  # in the middle of the stream
        first.wait()
        for event in events[len(events) // 2 :]:
            broker.publish(event)  # published while no consumer runs
        second = consumer(env, log)
        try:
            assert await wait_for(lambda: kept() == len(events), 40), log.read_text()
            assert await wait_for(lambda: facts_of(url) == expected(streams), 10), log.read_text()
        finally:
            second.terminate()
            second.wait(10)
    finally:
        await broker.close()
        if first.poll() is None:
            first.kill()
    assert len(facts_of(url)) == 40


def test_hostile_events_neither_stop_the_stream_nor_lose_the_others(tmp_path, database_url):
    broker = SQLEventBroker(db=str(tmp_path / "events.db"))
    streams = journeys(3)
    streams[0].says("半个表情\ud83d", "greet")  # a client cut the message inside an emoji
    for stream in streams:
        for event in stream.events:
            broker.publish(event)
    broker.publish({"sender_id": "webchat:bad", "event": "user", "timestamp": "not a time"})
    broker.publish({"sender_id": "webchat:bad", "event": "bot", "timestamp": 1.0})
    table = intake.BrokerTable(f"sqlite:///{tmp_path / 'events.db'}")
    assert intake.drain_table(table) == sum(len(s.events) for s in streams) + 2
    assert facts_of(database_url) == expected(streams)  # the cut message counted with the rest
    assert intake.drain_table(table) == 0  # the bad event is passed over, not read again and again


async def test_a_backfill_from_the_tracker_store_keeps_what_the_broker_also_carried_once(
    tmp_path, database_url
):
    broker = SQLEventBroker(db=str(tmp_path / "events.db"))
    tracker_store = masking_store(f"sqlite:///{tmp_path / 'tracker.db'}", broker)
    for sender, words in (("webchat:old-1", ["你好", "运费怎么算"]), ("wechat:old-2", ["查订单"])):
        tracker = DialogueStateTracker(sender, DOMAIN.slots)
        tracker.update(ActionExecuted("action_session_start"))
        tracker.update(SessionStarted())
        for word in words:
            tracker.update(UserUttered(word, {"name": "ask_faq"}, input_channel=sender.split(":")[0]))
            tracker.update(BotUttered("好的", metadata={"utter_action": "utter_faq_answer"}))
        await tracker_store.save(tracker)  # the tracker store keeps them, the broker carries them
    assert intake.backfill(tracker_store.engine) == 10
    backfilled = facts_of(database_url)
    assert sorted(key.split("@")[0] for key in backfilled) == ["webchat:old-1", "wechat:old-2"]
    assert intake.drain_table(intake.BrokerTable(f"sqlite:///{tmp_path / 'events.db'}")) == 10
    assert facts_of(database_url) == backfilled
    with session_scope(engine_for(database_url)) as session:
        assert session.execute(select(func.count()).select_from(AnalyticsEvent)).scalar() == 10  # kept once


async def test_a_tracker_store_rasa_has_not_written_to_yet_backfills_nothing_until_it_has(
    tracker_url,  # noqa: F811
    database_url,
    caplog,
):
    with caplog.at_level(logging.DEBUG, logger="privacy.stores"):
        assert intake.backfill(engine_for(tracker_url)) == 0  # no events table yet
    assert "Rasa has not created its events table yet" in caplog.text
    tracker_store = masking_store(tracker_url)
    tracker = DialogueStateTracker("webchat:late", DOMAIN.slots)
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())
    tracker.update(UserUttered("你好", {"name": "greet"}, input_channel="webchat"))
    await tracker_store.save(tracker)
    assert intake.backfill(engine_for(tracker_url)) == 3
    assert [key.split("@")[0] for key in facts_of(database_url)] == ["webchat:late"]


def test_two_readers_keeping_the_same_events_at_once_keep_them_once(database_url):
    """`make report` drains the SQL broker while `make run`'s consumer is doing the same."""
    [stream] = journeys(1)
    batch = [(stream.sender, event) for event in stream.events]
    engine = engine_for(database_url)
    first_read, errors = threading.Event(), []

    def slow_reader() -> None:
        with session_scope(engine) as session:
            store.ingest(session, batch)
            first_read.set()
            time.sleep(0.5)  # still in its transaction when the other one checks what is kept

    def other_reader() -> None:
        first_read.wait(5)
        try:
            with session_scope(engine) as session:
                store.ingest(session, batch)
        except Exception as error:  # noqa: BLE001 - any failure is the finding
            errors.append(error)

    readers = [threading.Thread(target=slow_reader), threading.Thread(target=other_reader)]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join()
    assert errors == []
    with session_scope(engine) as session:
        assert session.execute(select(func.count()).select_from(AnalyticsEvent)).scalar() == len(batch)


def test_a_database_outage_passes_over_nothing(tmp_path, database_url, monkeypatch):
    streams = journeys(2)
    table = published(tmp_path, streams)

    keep = store.ingest

    def down(session, batch):  # writing events fails; moving the position on alone would not
        if batch:
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        return keep(session, batch)

    with monkeypatch.context() as outage:
        outage.setattr(store, "ingest", down)
        with pytest.raises(OperationalError):
            intake.drain_table(table)
    assert facts_of(database_url) == {}
    assert intake.drain_table(table) == sum(len(s.events) for s in streams)  # read again once it is back
    assert facts_of(database_url) == expected(streams)


def test_looking_for_what_changed_reads_no_table_whole(database_url):
    """The refresh asks every few seconds what changed since its last look; the tables it asks grow by
    the month, so each question goes through an index on the time it asks by (SQLite's plan)."""
    engine = engine_for(database_url)
    statements: List[tuple] = []

    def record(_connection, _cursor, statement, parameters, _context, _many) -> None:
        statements.append((statement, parameters))

    sqlalchemy_events.listen(engine, "before_cursor_execute", record)
    try:
        with session_scope(engine) as session:
            store.changes_since(session, datetime(2026, 11, 22, 10))
    finally:
        sqlalchemy_events.remove(engine, "before_cursor_execute", record)
    with engine.connect() as connection:
        plans = [
            " / ".join(
                str(row[-1]) for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)
            )
            for sql, params in statements
        ]
    assert len(plans) == 6, plans
    whole = [
        plan
        for plan in plans
        if re.search(r"\bSCAN (live_chats|live_chat_events|tickets|webchat_ratings)\b", plan)
    ]
    assert whole == [], plans
