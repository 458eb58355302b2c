"""星河钱包 and membership: balance, points, member benefits and the transaction statement."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Dict, List, Optional, Tuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from business.formatting import fold_width
from business.services.dates import add_months, chinese_number, week_start
from business.store.models import CENT, Customer, WalletTransaction

POINTS_PER_YUAN = 100  # knowledge base points: 每消费1元得1积分，100积分可抵扣1元
POINTS_RULE = "每消费1元得1积分，100积分可抵扣1元"
BIRTHDAY_COUPON = "生日月专享优惠券"
SHIPPING_INSURANCE = "每月2次退货运费险"  # knowledge base return_shipping: 金卡及以上
MEMBER_BENEFITS: Dict[str, str] = {
    "普通会员": POINTS_RULE,
    "银卡会员": f"{POINTS_RULE}；{BIRTHDAY_COUPON}",
    "金卡会员": f"{POINTS_RULE}；{BIRTHDAY_COUPON}；{SHIPPING_INSURANCE}",
    "钻石会员": f"{POINTS_RULE}；{BIRTHDAY_COUPON}；{SHIPPING_INSURANCE}；专属客服优先接待",
}

TRANSACTION_TYPES = ("消费", "充值", "退款", "提现")  # the store's WalletTransaction.type values
TYPE_WORDS: Dict[str, Tuple[str, ...]] = {
    "消费": ("消费", "支出", "花了", "花费", "付款"),
    "充值": ("充值",),
    "退款": ("退款",),
    "提现": ("提现", "取现"),
}

RECENT = re.compile(r"近([\d零〇一二两兩三四五六七八九十]{1,3})(?:个|個)?(天|日|周|週|星期|礼拜|禮拜|月|年)")


@dataclass(frozen=True)
class AccountView:
    balance: Decimal
    points: int
    level: str
    benefits: str
    frozen: bool
    points_value: Decimal  # what the points are worth in yuan


@dataclass(frozen=True)
class TransactionPage:
    items: List[WalletTransaction]  # newest first
    total: int
    page: int
    pages: int
    has_more: bool


def _recent(count: int, unit: str, today: date) -> date:
    """First day of the last `count` units ending today (近7天 = today and the 6 days before)."""
    if unit in ("天", "日"):
        return today - timedelta(days=count - 1)
    if unit == "月":
        return add_months(today, -count) + timedelta(days=1)
    if unit == "年":
        return add_months(today, -12 * count) + timedelta(days=1)
    return today - timedelta(weeks=count) + timedelta(days=1)


def parse_period(text: str, today: date) -> Tuple[Optional[date], Optional[date]]:
    """The first and last day (inclusive) a message asks about; (None, None) when it names none."""
    text = fold_width(text)
    recent = RECENT.search(text)
    if recent:
        count = chinese_number(recent[1])
        if count:
            return _recent(count, recent[2], today), today
    month_start = today.replace(day=1)
    if re.search(r"上(?:个|個)?(?:周|週|星期|礼拜|禮拜)", text):
        last_monday = week_start(today) - timedelta(weeks=1)
        return last_monday, last_monday + timedelta(days=6)
    if re.search(r"(?:这|這|本)(?:个|個)?(?:周|週|星期|礼拜|禮拜)", text):
        return week_start(today), today
    if re.search(r"上(?:个|個)?月", text):
        last_month_end = month_start - timedelta(days=1)
        return last_month_end.replace(day=1), last_month_end
    if re.search(r"(?:这|這|本)(?:个|個)?月", text):
        return month_start, today
    if "去年" in text:
        return date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)
    if re.search(r"今年|本年", text):
        return date(today.year, 1, 1), today
    return None, None


def parse_types(text: str) -> Optional[Tuple[str, ...]]:
    """'充值和提现记录' -> ('充值', '提现'); None when the message names no kind of transaction."""
    found = tuple(kind for kind in TRANSACTION_TYPES if any(word in text for word in TYPE_WORDS[kind]))
    return found or None


class WalletService:
    def __init__(self, session: Session) -> None:
        self.session = session

    def account(self, customer_id: str) -> AccountView:
        customer = self.session.get(Customer, customer_id)
        if customer is None:
            raise LookupError(f"unknown customer {customer_id}")
        return AccountView(
            balance=customer.wallet_balance,
            points=customer.points,
            level=customer.member_level,
            benefits=MEMBER_BENEFITS.get(customer.member_level, POINTS_RULE),
            frozen=customer.wallet_frozen,
            points_value=(Decimal(customer.points) / POINTS_PER_YUAN).quantize(CENT),
        )

    def transactions(
        self,
        customer_id: str,
        now: datetime,
        *,
        since: Optional[date] = None,
        until: Optional[date] = None,
        types: Optional[Tuple[str, ...]] = None,
        page: int = 1,
        page_size: int = 5,
    ) -> TransactionPage:
        """One page of the statement up to now, newest first; a page past the end shows the last one."""
        conditions = [WalletTransaction.customer_id == customer_id, WalletTransaction.occurred_at <= now]
        if since is not None:
            conditions.append(WalletTransaction.occurred_at >= datetime.combine(since, time.min))
        if until is not None:
            conditions.append(
                WalletTransaction.occurred_at < datetime.combine(until + timedelta(days=1), time.min)
            )
        if types:
            conditions.append(WalletTransaction.type.in_(types))
        total = self.session.execute(
            select(func.count()).select_from(WalletTransaction).where(*conditions)
        ).scalar_one()
        pages = max(1, math.ceil(total / page_size))
        page = min(max(page, 1), pages)
        items = self.session.execute(
            select(WalletTransaction)
            .where(*conditions)
            .order_by(WalletTransaction.occurred_at.desc(), WalletTransaction.id.desc())
            .offset((page - 1) * page_size)
            .limit(page_size)
        ).scalars()
        return TransactionPage(list(items), total, page, pages, page < pages)
