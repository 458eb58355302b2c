"""A customer's rights against the real stores: Rasa's SQL tracker store (the product's masking one)
and SQL event broker, the business database and the web chat's transcript, all SQLite files.

Export gives back everything held; erasure leaves nothing of the customer in any file (the raw
bytes are scanned, deleted pages included) while the counts the reports use stay; the purge drops
conversation data older than the retention period and keeps the rest."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from rasa.core.brokers.sql import SQLEventBroker
from rasa.shared.core.events import BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from analytics import intake
from business.services.callbacks import CallbackNumbers
from business.services.live_chat import LiveChatService, Routing
from business.services.tickets import TicketService
from business.store.db import engine_for, get_engine, session_scope
from business.store.models import AuditEntry, ConversationFact, Customer, LiveChat, Ticket
from connectors.webchat.messages import new_message
from connectors.webchat.transcript import Transcripts
from privacy.__main__ import main
from privacy.rights import CustomerRecords
from privacy.stores import Stores, scrub, secure, sql_url
from tests.conftest import NOW
from tests.privacy.conftest import files, held
from tests.servers import postgres_url  # noqa: F401 (fixture)
from tests.tracker_stores import DOMAIN, masking_store

ROOT = Path(__file__).resolve().parents[2]

ZHANG, OTHER = "web:zhang-visitor", "web:li-visitor"
MALL = Routing("mall", 2, "asked", "order_status")


async def converse(tmp_path: Path, sender: str, customer_id: str, said: str, at: float) -> None:
    broker = SQLEventBroker(db=str(tmp_path / "events.db"))
    store = masking_store(f"sqlite:///{tmp_path / 'tracker.db'}", broker)
    tracker = await store.retrieve(sender) or DialogueStateTracker(sender, DOMAIN.slots)
    tracker.update(UserUttered(said, {"name": "order_status"}, timestamp=at, input_channel="webchat"))
    tracker.update(SlotSet("verified_customer_id", customer_id, timestamp=at))
    tracker.update(BotUttered(f"{said}？我帮您查一下", timestamp=at))
    await store.save(tracker)


def follow_the_broker(tmp_path: Path) -> None:
    """What the analytics consumer keeps of the broker's events (docs/analytics.md)."""
    intake.drain_table(intake.BrokerTable(f"sqlite:///{tmp_path / 'events.db'}"))


@pytest.fixture
async def zhang(tmp_path, stores):
    """张伟 (C001) talked on the web chat, was handed to an agent, rated it and left a ticket with a
    call-back number; 李娜 (C002) talked too."""
    now = time.time()
    await converse(tmp_path, ZHANG, "C001", "我的订单XH2611010002到哪了", now)
    await converse(tmp_path, OTHER, "C002", "我的机票能改签吗", now)
    follow_the_broker(tmp_path)
    transcripts = Transcripts(get_engine())
    transcripts.append(ZHANG, new_message("user", text="我的订单XH2611010002到哪了"))
    transcripts.rate(ZHANG, 5, "张伟很满意", "C001")
    with session_scope() as session:
        chat = LiveChatService(session).enqueue(ZHANG, "webchat", MALL, NOW, customer_id="C001").chat
        chat.rating = 5
        ticket = TicketService(session).open(
            "logistics",
            "张伟说快递三天没动",
            NOW,
            customer_id="C001",
            conversation_id=ZHANG,
            context=[{"by": "customer", "text": "张伟的快递三天没动了", "at": 1.0}],
        )
        CallbackNumbers(session).keep(ticket.id, "+8613800138001", NOW)
    return stores


def counts() -> dict:
    with session_scope() as session:
        return {
            "live_chats": session.scalar(select(func.count()).select_from(LiveChat)),
            "ratings": session.scalar(select(func.sum(LiveChat.rating))),
            "tickets": session.scalar(select(func.count()).select_from(Ticket)),
        }


def test_the_export_holds_everything_about_the_customer_and_is_audited(zhang):
    document = CustomerRecords(zhang).export("C001", by="S001")
    assert document["个人资料"]["name"] == "张伟" and document["个人资料"]["phone"] == "13800138001"
    assert {o["id"] for o in document["订单"]} >= {"XH2611010002"}
    assert [line["text"] for line in document["对话"][ZHANG]] == [
        "我的订单XH2611010002到哪了",
        "我的订单XH2611010002到哪了？我帮您查一下",
    ]
    assert OTHER not in document["对话"]  # another customer's conversation is not theirs
    assert [t["summary"] for t in document["工单"]] == ["张伟说快递三天没动"]
    assert document["人工服务"][0]["rating"] == 5 and document["评价"][0]["score"] == 5
    json.dumps(document, ensure_ascii=False)  # one readable document
    with session_scope() as session:
        assert session.execute(
            select(AuditEntry.agent_id).where(AuditEntry.action == "export_customer")
        ).scalars().all() == ["S001"]


def test_after_erasure_nothing_of_the_customer_is_in_any_store_and_the_counts_stay(zhang, tmp_path):
    before = counts()
    for trace in ("张伟", "我的订单XH2611010002到哪了", ZHANG):
        assert held(trace, files(tmp_path)), trace  # the control: the scan finds them before
    erased = CustomerRecords(zhang).erase("C001", by="S001", reason="客户来电要求删除")
    assert erased.conversations == ["oXH_demo_zhangwei_0001", ZHANG]  # and any WeChat chat of theirs
    assert erased.tracker_events == erased.broker_events == 3
    assert erased.webchat_messages == 1 and erased.tickets == 1 and erased.live_chats == 1
    assert erased.analytics_events == 3

    raw = files(tmp_path)
    for trace in ("张伟", "13800138001", "我的订单XH2611010002到哪了", ZHANG):
        assert not held(trace, raw), trace
    assert held("我的机票能改签吗", raw)  # 李娜's conversation stays
    assert counts() == before  # the reports still add up
    with session_scope() as session:
        assert session.get(Customer, "C001").name == "已注销用户"
        assert session.scalar(select(func.count()).select_from(ConversationFact)) == 2  # the figures stay
        assert (
            session.scalar(
                select(ConversationFact.customer_id).where(ConversationFact.conversation_id.like("erased:%"))
            )
            is None
        )
        assert session.scalar(select(LiveChat.customer_id).where(LiveChat.conversation_id == ZHANG)) is None
        [entry] = session.execute(select(AuditEntry).where(AuditEntry.action == "erase_customer")).scalars()
        assert (entry.agent_id, entry.subject) == ("S001", "C001") and "客户来电要求删除" in entry.detail
    assert CustomerRecords(zhang).export("C001", by="S001")["对话"] == {}


async def test_the_purge_drops_what_is_older_than_the_retention_period(zhang, tmp_path):
    old = time.time() - timedelta(days=200).total_seconds()
    await converse(tmp_path, "web:old-visitor", "C002", "半年前问过的运费问题", old)
    follow_the_broker(tmp_path)
    assert held("半年前问过的运费问题", files(tmp_path)) and held("web:old-visitor", files(tmp_path))
    purged = CustomerRecords(zhang).purge(now=NOW + timedelta(days=14), days=180)
    assert purged.tracker_events == purged.broker_events == purged.analytics_events == 3
    assert purged.conversation_facts == 1
    raw = files(tmp_path)
    assert not held("半年前问过的运费问题", raw) and not held("web:old-visitor", raw)
    assert held("我的机票能改签吗", raw) and held("我的订单XH2611010002到哪了", raw)  # recent: kept


def test_the_command_exports_erases_with_confirmation_and_purges(zhang, tmp_path, capsys, monkeypatch):
    endpoints = next(tmp_path.glob("endpoints.yml"))
    out = tmp_path / "exports" / "C001.json"
    assert main(["--endpoints", str(endpoints), "export", "C001", "--out", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["个人资料"]["id"] == "C001"
    assert out.stat().st_mode & 0o077 == 0  # readable by its owner only
    assert main(["--endpoints", str(endpoints), "erase", "C001", "--confirm", "C002"]) == 2
    assert held("张伟", files(tmp_path))  # not confirmed: nothing erased
    assert main(["--endpoints", str(endpoints), "erase", "C001", "--confirm", "C001"]) == 0
    assert not held("张伟", files(tmp_path))
    assert main(["--endpoints", str(endpoints), "export", "C404"]) == 1
    assert "没有客户 C404" in capsys.readouterr().err
    for days in (["--days", "0"], ["--days", "半年"]):
        with pytest.raises(SystemExit) as refused:
            main(["--endpoints", str(endpoints), "purge", *days])
        assert refused.value.code == 2 and "保存天数须为正整数" in capsys.readouterr().err
    monkeypatch.setenv("XINGHE_RETENTION_DAYS", "abc")  # the variable is checked the same way
    with pytest.raises(SystemExit):
        main(["--endpoints", str(endpoints), "purge"])
    monkeypatch.delenv("XINGHE_RETENTION_DAYS")
    assert main(["--endpoints", str(endpoints), "purge"]) == 0


def test_erasing_connections_overwrite_deleted_bytes_and_the_log_is_emptied(tmp_path):
    """Debian's SQLite overwrites deleted rows by default; other builds do not, so the erasing
    connections ask for it, and the write-ahead log (old page images) is folded back and emptied."""
    engine = engine_for(f"sqlite:///{tmp_path / 'wal.db'}")  # WAL, as the business database
    holder = engine.connect()  # another process's connection: the log stays after each write
    holder.exec_driver_sql("CREATE TABLE notes (text TEXT)")
    holder.commit()
    with engine.begin() as connection:
        connection.exec_driver_sql("PRAGMA secure_delete = OFF")
        secure(connection)
        assert connection.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
        connection.exec_driver_sql("INSERT INTO notes VALUES ('张伟 13800138001')")
    assert (tmp_path / "wal.db-wal").stat().st_size > 0
    scrub(engine)
    assert (tmp_path / "wal.db-wal").stat().st_size == 0
    holder.close()


@pytest.mark.parametrize(
    "config, url",
    [
        ({"type": "SQL", "dialect": "sqlite", "db": "var/tracker.db"}, "sqlite:///var/tracker.db"),
        (
            {
                "dialect": "postgresql",
                "url": "127.0.0.1",
                "port": 5432,
                "db": "rasa",
                "username": "xh",
                "password": "pw",
            },
            "postgresql://xh:pw@127.0.0.1:5432/rasa",
        ),
        ({"dialect": "sqlite", "db": "${XINGHE_EVENTS_DB}"}, "sqlite:///var/events.db"),  # make run's default
        ({"dialect": "sqlite", "db": "${SOMETHING_UNSET}"}, None),
    ],
)
def test_the_stores_are_found_where_rasa_finds_them(config, url, monkeypatch):
    monkeypatch.delenv("XINGHE_EVENTS_DB", raising=False)
    monkeypatch.delenv("SOMETHING_UNSET", raising=False)
    assert sql_url(config) == url


def test_the_production_endpoints_are_read_with_their_variables(monkeypatch):
    """`make run-prod`'s endpoints name PostgreSQL by environment variables; RabbitMQ is not SQL."""
    for name, value in {
        "XINGHE_PG_HOST": "db.internal",
        "XINGHE_PG_PORT": "6432",
        "XINGHE_TRACKER_DB": "xinghe_tracker",
        "XINGHE_PG_USER": "xinghe",
        "XINGHE_PG_PASSWORD": "",
    }.items():
        monkeypatch.setenv(name, value)
    endpoints = yaml.safe_load((ROOT / "deploy" / "endpoints.prod.yml").read_text(encoding="utf-8"))
    assert sql_url(endpoints["tracker_store"]) == "postgresql://xinghe@db.internal:6432/xinghe_tracker"
    stores = Stores.from_endpoints(ROOT / "deploy" / "endpoints.prod.yml")
    assert stores.broker is None and any("RabbitMQ" in line for line in stores.unreachable())


async def test_erasure_reaches_a_postgresql_tracker_store(tmp_path, database_url, postgres_url, monkeypatch):  # noqa: F811
    """Production keeps conversations in PostgreSQL: the same erasure, read back with SQL."""
    where = make_url(postgres_url)
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(
        yaml.safe_dump(
            {
                "tracker_store": {
                    "type": "persistence.tracker_store.MaskingSQLTrackerStore",
                    "dialect": "postgresql",
                    "url": where.host,
                    "port": where.port,
                    "db": where.database,
                    "username": where.username,
                },
                "event_broker": {"type": "SQL", "dialect": "sqlite", "db": str(tmp_path / "events.db")},
            }
        ),
        encoding="utf-8",
    )
    store = masking_store(postgres_url)
    for sender, customer, said in (
        (ZHANG, "C001", "我的订单XH2611010002到哪了"),
        (OTHER, "C002", "我的机票能改签吗"),
    ):
        tracker = DialogueStateTracker(sender, DOMAIN.slots)
        tracker.update(UserUttered(said, {"name": "order_status"}, input_channel="webchat"))
        tracker.update(SlotSet("verified_customer_id", customer))
        await store.save(tracker)
    stores = Stores.from_endpoints(endpoints)
    assert stores.unreachable() == []
    erased = CustomerRecords(stores).erase("C001", by="S001", reason="客户来电要求删除")
    assert ZHANG in erased.conversations and erased.tracker_events == 2
    with engine_for(postgres_url).connect() as connection:
        left = connection.execute(text("SELECT DISTINCT sender_id FROM events")).scalars().all()
    assert left == [OTHER]
