"""`python -m analytics consume | report | rebuild` (see analytics/__init__.py)."""

from __future__ import annotations

import argparse
import logging
import os
from datetime import date, timedelta
from pathlib import Path
from typing import List, Optional

from analytics import intake, store
from analytics.report import write
from business import clock
from business.store.db import session_scope
from business.store.migrate import upgrade
from privacy.stores import Stores

ROOT = Path(__file__).resolve().parents[1]


def events_url() -> str:
    """RabbitMQ when XINGHE_EVENTS_URL says so, else the SQL event broker's database."""
    events_db = os.environ.get("XINGHE_EVENTS_DB") or str(ROOT / "var" / "events.db")
    return os.environ.get("XINGHE_EVENTS_URL") or f"sqlite:///{events_db}"


def day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"日期格式应为 YYYY-MM-DD: {text}") from error


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analytics", description="数据分析与报告 / analytics")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("consume", help="follow the event broker and keep the facts up to date")
    commands.add_parser("rebuild", help="rebuild every conversation's facts from the kept events")
    backfilling = commands.add_parser(
        "backfill", help="read every event the SQL tracker store keeps into the facts"
    )
    backfilling.add_argument(
        "--endpoints", type=Path, help="Rasa's endpoints file (default: the one make run wrote)"
    )
    reporting = commands.add_parser("report", help="write the HTML report and its CSV tables")
    today = clock.today()
    reporting.add_argument(
        "--from",
        dest="start",
        type=day,
        default=today - timedelta(days=29),
        help="first day (default: 30 days ago)",
    )
    reporting.add_argument(
        "--to", dest="end", type=day, default=today, help="last day, included (default: today)"
    )
    reporting.add_argument(
        "--channel", choices=["webchat", "wechat", "phone", "rest"], help="one channel only"
    )
    reporting.add_argument(
        "--out", type=Path, default=ROOT / "results" / "report", help="where to write (results/report)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s - %(message)s")
    upgrade()
    if args.command == "consume":
        intake.follow(
            events_url(),
            os.environ.get("XINGHE_ANALYTICS_QUEUE") or "xinghe.analytics",
            os.environ.get("XINGHE_EVENTS_EXCHANGE") or "xinghe.events",
        )
        return 0
    if args.command == "backfill":
        tracker = Stores.from_endpoints(args.endpoints).tracker
        if tracker is None:
            parser.error("对话存储不是 SQL 存储，无法回填 / the tracker store is not an SQL store")
        print(f"read {intake.backfill(tracker):,} events from the tracker store")
        return 0
    if args.command == "rebuild":
        with session_scope() as session:
            print(f"rebuilt {store.rebuild(session, store.conversations(session))} conversations")
        return 0
    if args.end < args.start:
        parser.error("--to 早于 --from / --to is before --from")
    if not events_url().startswith(("amqp://", "amqps://")):  # the report is as fresh as the broker
        intake.drain_table(intake.BrokerTable(events_url()))
    intake.refresh()
    with session_scope() as session:
        page = write(session, args.start, args.end, args.out, args.channel)
    print(page)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
