"""How fast analytics turns events into facts and facts into a report: `make bench` (its analytics part).

Writes a month of synthetic conversations (the everyday journeys: greetings, order lookups with their
form, knowledge-base questions answered or not, complaints handed to agents who accept, close and get
rated, customers who leave in the middle of a form) as Rasa's SQL event broker stores them, 1,000,000
events by default, into a fresh SQLite broker database; then times the consumer building the facts
from all of them (events/s; target ≥ 5,000) and `make report` over the 100,000 conversations or so
they make (target ≤ 10 s). Writes results/bench/analytics.md.

    .venv/bin/python scripts/bench_analytics.py [--events 1000000]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from analytics import intake  # noqa: E402
from analytics.report import write  # noqa: E402
from business.clock import SHANGHAI  # noqa: E402
from business.store.db import engine_for, session_scope  # noqa: E402
from business.store.migrate import upgrade  # noqa: E402
from business.store.models import LiveChat  # noqa: E402
from business.store.seed import load_demo_data, seed  # noqa: E402

RESULTS = ROOT / "results" / "bench"
FIRST_DAY = date(2026, 11, 1)
DAYS = 30
CHANNELS = ["webchat", "wechat", "phone", "rest"]
AGENTS = ["A001", "A002", "A003", "S001"]  # the demo data's agents


def conversation(
    rng: random.Random, sender: str, channel: str, start: float
) -> Tuple[List[Dict[str, Any]], bool]:
    """One conversation's events and whether it was handed to an agent."""
    clock = [start]
    events: List[Dict[str, Any]] = []

    def add(event: Dict[str, Any]) -> None:
        clock[0] += rng.uniform(0.05, 20)
        events.append({"sender_id": sender, "timestamp": clock[0], **event})

    def says(text: str, intent: str) -> None:
        add(
            {
                "event": "user",
                "text": text,
                "input_channel": channel,
                "parse_data": {"intent": {"name": intent, "confidence": 0.98}},
            }
        )

    def bot(template: str) -> None:
        add({"event": "bot", "text": "…", "metadata": {"utter_action": template}})

    add({"event": "action", "name": "action_session_start"})
    add({"event": "session_started"})
    says("你好", "greet")
    bot("utter_greet")
    journey = rng.random()
    handed = False
    if journey < 0.4:
        says("查订单", "order_status")
        add({"event": "active_loop", "name": "order_status_form"})
        bot("utter_ask_order_id")
        if rng.random() < 0.85:
            says("XH2611010001", "inform")
            add({"event": "action", "name": "order_status_form"})
            add({"event": "active_loop", "name": None})
            bot("utter_order_status_shipped")
    elif journey < 0.8:
        says(rng.choice(["运费怎么算", "退货要多久", "几点上班", "发票怎么开"]), "ask_faq")
        bot(rng.choice(["utter_faq_answer"] * 8 + ["utter_faq_not_sure", "utter_faq_clarify"]))
        says("谢谢", "thanks")
        bot("utter_you_are_welcome")
    else:
        says(rng.choice(["我要投诉", "转人工"]), rng.choice(["complain", "request_human"]))
        add({"event": "action", "name": "action_handoff"})
        add({"event": "pause"})
        says("快点处理", "inform")
        add({"event": "bot", "text": "您好", "metadata": {"agent_id": rng.choice(AGENTS)}})
        add({"event": "resume"})
        handed = True
    return events, handed


def traffic(total: int, seed: int = 7) -> Iterator[Tuple[str, List[Dict[str, Any]], bool]]:
    rng = random.Random(seed)
    first = datetime.combine(FIRST_DAY, datetime.min.time(), SHANGHAI).timestamp()
    made = 0
    number = 0
    while made < total:
        channel = rng.choice(CHANNELS)
        sender = f"{channel}:bench-{number % 40_000}"  # some customers come back
        events, handed = conversation(rng, sender, channel, first + rng.uniform(0, DAYS * 86400))
        number += 1
        made += len(events)
        yield sender, events, handed


def prepare(workdir: Path, total: int) -> Tuple[str, str, int]:
    """The broker database with `total` events, the business database with the agents' live chats."""
    from rasa.core.brokers.sql import SQLEventBroker

    broker_db = workdir / "events.db"
    broker = SQLEventBroker(db=str(broker_db))  # Rasa creates its own table
    business = f"sqlite:///{workdir / 'business.db'}"
    upgrade(engine_for(business))
    with session_scope(engine_for(business)) as session:
        seed(session, load_demo_data(), now=datetime.combine(FIRST_DAY, datetime.min.time()))
    rows: List[Dict[str, Any]] = []
    chats: List[Dict[str, Any]] = []
    conversations = 0
    for sender, events, handed in traffic(total):
        conversations += 1
        rows.extend({"sender_id": sender, "data": json.dumps(event, ensure_ascii=False)} for event in events)
        if handed:
            queued = datetime.fromtimestamp(events[-4]["timestamp"], SHANGHAI).replace(tzinfo=None)
            chats.append(
                {
                    "conversation_id": sender,
                    "channel": events[2]["input_channel"],
                    "skill_group": "complaint",
                    "priority": 1,
                    "reason": "complaint",
                    "status": "closed",
                    "agent_id": events[-2]["metadata"]["agent_id"],
                    "queued_at": queued,
                    "accepted_at": queued + timedelta(seconds=20),
                    "closed_at": queued + timedelta(seconds=300),
                    "result": "resolved",
                    "rating": random.Random(conversations).choice([5, 5, 4, 3, 1]),
                }
            )
    with broker.engine.begin() as connection:
        for start in range(0, len(rows), 50_000):
            connection.execute(insert(broker.SQLBrokerEvent.__table__), rows[start : start + 50_000])
    with session_scope(engine_for(business)) as session:
        session.execute(insert(LiveChat), chats)
    return f"sqlite:///{broker_db}", business, conversations


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="xinghe-bench-analytics-") as tmp:
        workdir = Path(tmp)
        started = time.perf_counter()
        broker_url, business, conversations = prepare(workdir, args.events)
        print(
            f"wrote {args.events:,}+ events of {conversations:,} conversations in {time.perf_counter() - started:.0f} s"
        )
        engine = engine_for(business)
        started = time.perf_counter()
        read = intake.drain_table(intake.BrokerTable(broker_url), engine)
        facts_s = time.perf_counter() - started
        print(f"facts: {read:,} events in {facts_s:.1f} s = {read / facts_s:,.0f} events/s")
        started = time.perf_counter()
        with session_scope(engine) as session:
            write(session, FIRST_DAY, FIRST_DAY + timedelta(days=DAYS - 1), workdir / "report")
        report_s = time.perf_counter() - started
        print(f"report over {conversations:,} conversations: {report_s:.1f} s")
    machine = f"{platform.machine()}, Python {platform.python_version()}"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "analytics.md").write_text(
        f"# Analytics benchmark ({datetime.utcnow():%Y-%m-%d %H:%M} UTC)\n\n{machine}; SQLite broker and business database.\n\n"
        f"| step | size | time | rate | target |\n|---|---|---|---|---|\n"
        f"| facts from the broker's events | {read:,} events, {conversations:,} conversations "
        f"| {facts_s:.1f} s | {read / facts_s:,.0f} events/s | ≥ 5,000 events/s |\n"
        f"| `make report` (HTML, charts, CSV) | {conversations:,} conversations | {report_s:.1f} s | | ≤ 10 s |\n",
        encoding="utf-8",
    )
    print(f"written to {RESULTS / 'analytics.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
