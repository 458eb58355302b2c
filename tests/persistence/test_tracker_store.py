"""Rasa's SQL tracker store as the product configures it: what rests in its database and what its
event broker publishes carries no personal data in clear, while the conversation goes on."""

from __future__ import annotations

import json

from rasa.core.brokers.sql import SQLEventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import text

from business.store.db import engine_for
from tests.servers import postgres_url  # noqa: F401 (fixture)
from tests.tracker_stores import DOMAIN, masking_store, tracker_url  # noqa: F401 (fixture)

PHONE, ID_TAIL, CARD = "13800138001", "2817", "6222020200112233446"


def rows(url: str) -> list[str]:
    with engine_for(url).connect() as connection:
        return [row[0] for row in connection.execute(text("SELECT data FROM events ORDER BY id"))]


async def test_what_rests_and_what_the_broker_streams_is_masked_turn_after_turn(
    tmp_path,
    tracker_url,  # noqa: F811
):
    broker = SQLEventBroker(db=str(tmp_path / "events.db"))
    store = masking_store(tracker_url, broker)
    tracker = DialogueStateTracker("web:c1", DOMAIN.slots)
    tracker.update(SlotSet("requested_slot", "phone_number"))
    tracker.update(
        UserUttered(
            f"我的手机是{PHONE}",
            {"name": "inform"},
            [{"entity": "phone_number", "value": PHONE, "start": 5, "end": 16}],
        )
    )
    tracker.update(SlotSet("phone_number", "138****8001"))
    tracker.update(SlotSet("requested_slot", "id_last4"))
    await store.save(tracker)
    assert tracker.latest_message.text == f"我的手机是{PHONE}"  # the turn in memory keeps it

    tracker.update(UserUttered(ID_TAIL, {"name": "inform"}))  # the next turn: the ID tail alone
    tracker.update(SlotSet("id_last4", ID_TAIL))
    tracker.update(SlotSet("requested_slot", None))
    tracker.update(UserUttered(f"退款打到卡号{CARD}吧", {"name": "inform"}))
    tracker.update(ActionExecuted("action_listen"))
    tracker.update(BotUttered("好的，收件人 张* 138****8001"))
    await store.save(tracker)

    resting = rows(tracker_url)
    streamed = rows(f"sqlite:///{tmp_path / 'events.db'}")
    assert len(resting) == len(streamed) == len(tracker.events)  # each event once, none lost
    for stored in (resting, streamed):
        everything = "\n".join(stored)
        assert PHONE not in everything and CARD not in everything
        assert json.loads(stored[4])["text"] == "****"  # the answer to the ID-tail question
        assert json.loads(stored[5])["value"] == "****"  # the id_last4 slot
    restored = await store.retrieve("web:c1")
    assert [e.text for e in restored.events if isinstance(e, UserUttered)] == [
        "我的手机是138****8001",
        "****",
        "退款打到卡号***************3446吧",
    ]


def test_the_sqlite_stores_append_to_a_log_and_sync_at_checkpoints(tmp_path):
    broker = SQLEventBroker(db=str(tmp_path / "events.db"))
    store = masking_store(f"sqlite:///{tmp_path / 'tracker.db'}", broker)
    for engine in (store.engine, broker.engine):
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL


async def test_a_turns_events_reach_the_broker_in_order_in_one_go(tmp_path):
    broker = SQLEventBroker(db=str(tmp_path / "events.db"))
    store = masking_store(f"sqlite:///{tmp_path / 'tracker.db'}", broker)
    tracker = DialogueStateTracker("web:c2", DOMAIN.slots)
    for text_ in ("你好", "查订单", "XH2611010001"):
        tracker.update(UserUttered(text_, {"name": "inform"}))
        tracker.update(ActionExecuted("action_listen"))
    await store.save(tracker)
    with engine_for(f"sqlite:///{tmp_path / 'events.db'}").connect() as connection:
        streamed = connection.execute(text("SELECT sender_id, data FROM events ORDER BY id")).all()
    assert [row[0] for row in streamed] == ["web:c2"] * 6
    assert [json.loads(row[1]).get("text") for row in streamed][::2] == ["你好", "查订单", "XH2611010001"]
    assert all(json.loads(row[1])["sender_id"] == "web:c2" for row in streamed)


async def test_a_turn_reads_and_extends_the_latest_session_as_rasas_store_does(tracker_url):  # noqa: F811
    store = masking_store(tracker_url)

    async def turn(word: str, new_session: bool = False) -> None:  # as Rasa's processor runs one
        tracker = await store.retrieve("web:c3") or DialogueStateTracker("web:c3", DOMAIN.slots)
        if new_session:
            tracker.update(ActionExecuted("action_session_start"))
            tracker.update(SessionStarted())
            tracker.update(ActionExecuted("action_listen"))
        tracker.update(UserUttered(word, {"name": "inform"}))
        tracker.update(BotUttered(f"回复{word}"))
        await store.save(tracker)

    await turn("你好", new_session=True)
    await turn("查订单")
    await turn("退货要多久", new_session=True)
    await turn("XH2611010001")

    latest = await store.retrieve("web:c3")
    rasas = await SQLTrackerStore._retrieve(store, "web:c3", fetch_events_from_all_sessions=False)
    assert [e.as_dict() for e in latest.events] == [e.as_dict() for e in rasas.events]
    assert [e.text for e in latest.events if isinstance(e, UserUttered)] == ["退货要多久", "XH2611010001"]
    everything = await store.retrieve_full_tracker("web:c3")
    assert len(everything.events) == 14  # each event stored once
    assert await store.retrieve("web:none") is None
