"""Load the demo business data (`demo_data.yml` beside this file) into the store.

    python -m business.store.seed            # add the demo records that are missing
    python -m business.store.seed --if-empty # only when there are no customers yet
    python -m business.store.seed --reset    # drop everything and restore the demo state

Relative dates in the file (`*_days_ago`, `*_in_days`) resolve against today, so
the demo's eligibility answers are the same on any day. Seeding is idempotent:
records are keyed by their ids and never inserted twice.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional

import yaml
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from business import clock
from business.store.db import get_engine, session_scope
from business.store.migrate import downgrade, upgrade
from business.store.models import (
    Agent,
    AgentSkill,
    CannedReply,
    Customer,
    FlightBooking,
    FlightSchedule,
    Order,
    OrderItem,
    Refund,
    WalletTransaction,
)

logger = logging.getLogger(__name__)

DEMO_DATA = Path(__file__).with_name("demo_data.yml")

# The demo file states how refunds went back ("原路退回微信支付"); orders without a
# refund were paid as the wallet history shows or, failing that, as listed here.
PAYMENT_METHOD_WORDS = {"星河钱包": "wallet", "微信": "wechat", "支付宝": "alipay", "银行卡": "bank_card"}
DEFAULT_PAYMENT = {"XH2610150003": "alipay", "XH2611080008": "wechat"}
# Business hours of day the demo events happened at, so timelines read naturally.
PAID_AT, SHIPPED_AT, DELIVERED_AT, REFUND_AT = time(10, 30), time(16, 0), time(14, 20), time(11, 0)


@dataclass
class SeedReport:
    added: Dict[str, int]

    def __str__(self) -> str:
        parts = [f"{name} +{count}" for name, count in self.added.items()]
        return "seeded: " + ", ".join(parts)


def load_demo_data(path: Path = DEMO_DATA) -> Dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        data: Dict[str, Any] = yaml.safe_load(handle)
    return data


def _at(day: date, at: time) -> datetime:
    return datetime.combine(day, at)


def _days_ago(today: date, record: Dict[str, Any], key: str, at: time) -> Optional[datetime]:
    return _at(today - timedelta(days=record[key]), at) if key in record else None


def _payment_method(record: Dict[str, Any], wallet_memos: Iterable[str]) -> Optional[str]:
    if record["status"] == "pending_payment":
        return None
    refund_method = record.get("refund_method", "")
    for word, method in PAYMENT_METHOD_WORDS.items():
        if word in refund_method:
            return method
    if any(record["id"] in memo for memo in wallet_memos):
        return "wallet"
    return DEFAULT_PAYMENT.get(record["id"], "wechat")


def build_order(record: Dict[str, Any], today: date, now: datetime, wallet_memos: List[str]) -> Order:
    paid_at = _days_ago(today, record, "paid_days_ago", PAID_AT)
    # A pending order was placed minutes ago: it closes 30 minutes after placing.
    placed_at = paid_at - timedelta(minutes=5) if paid_at else now - timedelta(minutes=10)
    order = Order(
        id=record["id"],
        customer_id=record["customer"],
        status=record["status"],
        placed_at=placed_at,
        paid_at=paid_at,
        shipped_at=_days_ago(today, record, "shipped_days_ago", SHIPPED_AT),
        delivered_at=_days_ago(today, record, "delivered_days_ago", DELIVERED_AT),
        eta=today + timedelta(days=record["eta_in_days"]) if "eta_in_days" in record else None,
        carrier=record.get("carrier"),
        tracking_no=record.get("tracking_no"),
        last_scan=record.get("last_scan"),
        logistics_exception=record.get("exception"),
        payment_method=_payment_method(record, wallet_memos),
    )
    order.items = [
        OrderItem(name=item["name"], qty=item["qty"], price=Decimal(str(item["price"])))
        for item in record["items"]
    ]
    if record["status"] in ("refunding", "refunded"):
        requested = _days_ago(today, record, "refund_requested_days_ago", REFUND_AT) or _days_ago(
            today, record, "refunded_days_ago", REFUND_AT
        )
        done = record["status"] == "refunded"
        order.refunds = [
            Refund(
                amount=order.total,
                reason="no_reason",
                method=order.payment_method,
                status="refunded" if done else "processing",
                requested_at=requested,
                completed_at=_days_ago(today, record, "refunded_days_ago", REFUND_AT) if done else None,
            )
        ]
    return order


def build_booking(record: Dict[str, Any], today: date) -> FlightBooking:
    hour, minute = (int(part) for part in record["departs_at"].split(":"))
    return FlightBooking(
        ref=record["ref"],
        customer_id=record["customer"],
        passenger=record["passenger"],
        flight_no=record["flight_no"],
        origin=record["from"],
        destination=record["to"],
        departs_at=_at(today + timedelta(days=record["departs_in_days"]), time(hour, minute)),
        cabin=record["cabin"],
        fare=Decimal(str(record["fare"])),
        status=record["status"],
    )


def _missing(
    session: Session, model: Any, key_attr: str, records: List[Any], key: Callable[[Any], str]
) -> List[Any]:
    existing = set(session.execute(select(getattr(model, key_attr))).scalars())
    return [record for record in records if key(record) not in existing]


def seed(session: Session, data: Dict[str, Any], now: Optional[datetime] = None) -> SeedReport:
    """Insert the demo records that are not in the store yet."""
    now = now or clock.now()
    today = now.date()
    added: Dict[str, int] = {}

    def add(name: str, rows: List[Any]) -> None:
        session.add_all(rows)
        session.flush()
        added[name] = len(rows)

    add(
        "customers",
        [
            Customer(
                id=c["id"],
                name=c["name"],
                phone=c["phone"],
                id_card_last4=c["id_card_last4"],
                member_level=c["member_level"],
                points=c["points"],
                wallet_balance=Decimal(str(c["wallet_balance"])),
                wallet_frozen=bool(c.get("wallet_frozen", False)),
                wechat_openid=c.get("wechat_openid"),
            )
            for c in _missing(session, Customer, "id", data["customers"], lambda c: c["id"])
        ],
    )
    memos = [t["memo"] for t in data["wallet_transactions"]]
    add(
        "orders",
        [
            build_order(o, today, now, memos)
            for o in _missing(session, Order, "id", data["orders"], lambda o: o["id"])
        ],
    )
    # Transactions have no natural key: they are added for a customer that has none.
    with_history = set(session.execute(select(WalletTransaction.customer_id).distinct()).scalars())
    add(
        "wallet_transactions",
        [
            WalletTransaction(
                customer_id=t["customer"],
                occurred_at=_at(today - timedelta(days=t["days_ago"]), time(12, 0)),
                type=t["type"],
                amount=Decimal(str(t["amount"])),
                memo=t["memo"],
            )
            for t in data["wallet_transactions"]
            if t["customer"] not in with_history
        ],
    )
    add(
        "flight_schedule",
        [
            FlightSchedule(
                flight_no=f["flight_no"],
                origin=f["from"],
                destination=f["to"],
                departs_at=f["departs_at"],
                arrives_at=f["arrives_at"],
            )
            for f in _missing(
                session, FlightSchedule, "flight_no", data["flight_schedule"], lambda f: f["flight_no"]
            )
        ],
    )
    add(
        "flight_bookings",
        [
            build_booking(b, today)
            for b in _missing(session, FlightBooking, "ref", data["flight_bookings"], lambda b: b["ref"])
        ],
    )
    add(
        "agents",
        [
            Agent(
                id=a["id"],
                login=a["login"],
                name=a["name"],
                password_hash=a["password_hash"],
                role=a["role"],
                status="offline",
                max_concurrent=a["max_concurrent"],
                skills=[AgentSkill(skill_group=group) for group in a["skill_groups"]],
            )
            for a in _missing(session, Agent, "id", data["agents"], lambda a: a["id"])
        ],
    )
    # Canned replies have no natural key: added while there are none.
    has_canned = session.execute(select(CannedReply.id).limit(1)).first() is not None
    add(
        "canned_replies",
        []
        if has_canned
        else [
            CannedReply(skill_group=c.get("skill_group"), title=c["title"], text=c["text"], updated_at=now)
            for c in data["canned_replies"]
        ],
    )
    return SeedReport(added)


def is_empty(session: Session) -> bool:
    customers: int = session.execute(select(func.count()).select_from(Customer)).scalar_one()
    return customers == 0


def reset(engine: Engine) -> None:
    """Every table dropped and made anew (a database from before migrations is adopted first, so
    that dropping knows its tables)."""
    upgrade(engine)
    downgrade(engine)
    upgrade(engine)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Load 星河's demo data into the business store.")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--if-empty", action="store_true", help="seed only when there are no customers")
    mode.add_argument("--reset", action="store_true", help="drop all data and restore the demo state")
    args = parser.parse_args(argv)

    engine = get_engine()
    if args.reset:
        reset(engine)
    else:
        upgrade(engine)
    with session_scope(engine) as session:
        if args.if_empty and not is_empty(session):
            print("database already has data: not seeding")
            return 0
        print(seed(session, load_demo_data()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
