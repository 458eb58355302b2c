from datetime import date, timedelta
from decimal import Decimal

import pytest

from business.services.wallet import MEMBER_BENEFITS, WalletService, parse_period, parse_types
from business.store.models import WalletTransaction
from business.store.seed import load_demo_data
from tests.conftest import NOW

TODAY = NOW.date()  # Sunday 2026-11-22
# C001's demo statement: 11-21 消费 -399, 11-18 充值 500, 11-14 消费 -178 (all at 12:00).


def memos(page) -> list:
    return [item.memo for item in page.items]


def test_account_of_a_gold_member(session):
    account = WalletService(session).account("C001")
    assert (account.balance, account.points, account.points_value) == (
        Decimal("1280.50"),
        3680,
        Decimal("36.80"),
    )
    assert account.level == "金卡会员" and not account.frozen
    assert "运费险" in account.benefits and "100积分可抵扣1元" in account.benefits


def test_account_of_a_frozen_wallet_and_a_diamond_member(session):
    service = WalletService(session)
    assert service.account("C005").frozen
    diamond = service.account("C003")
    assert "专属客服" in diamond.benefits and diamond.points_value == Decimal("254.00")


def test_unknown_customer_has_no_account(session):
    with pytest.raises(LookupError):
        WalletService(session).account("C999")


def test_every_demo_member_level_has_benefits():
    levels = {customer["member_level"] for customer in load_demo_data()["customers"]}
    assert levels <= MEMBER_BENEFITS.keys()
    assert "运费险" not in MEMBER_BENEFITS["银卡会员"] and "运费险" in MEMBER_BENEFITS["钻石会员"]


def test_statement_is_newest_first(session):
    page = WalletService(session).transactions("C001", NOW)
    assert memos(page) == ["订单XH2611010001", "银行卡充值", "订单XH2611010002"]
    assert [item.amount for item in page.items] == [Decimal("-399.00"), Decimal("500.00"), Decimal("-178.00")]
    assert (page.total, page.page, page.pages, page.has_more) == (3, 1, 1, False)


def test_statement_pages(session):
    service = WalletService(session)
    first = service.transactions("C001", NOW, page_size=2)
    second = service.transactions("C001", NOW, page=2, page_size=2)
    assert (memos(first), first.total, first.pages, first.has_more) == (
        ["订单XH2611010001", "银行卡充值"],
        3,
        2,
        True,
    )
    assert (memos(second), second.page, second.has_more) == (["订单XH2611010002"], 2, False)
    assert service.transactions("C001", NOW, page=9, page_size=2).page == 2  # past the end: the last page


def test_statement_by_type_and_period(session):
    service = WalletService(session)
    assert memos(service.transactions("C001", NOW, types=("消费",))) == [
        "订单XH2611010001",
        "订单XH2611010002",
    ]
    assert memos(service.transactions("C001", NOW, types=("充值", "提现"))) == ["银行卡充值"]
    # Both ends are whole days, inclusive.
    assert memos(service.transactions("C001", NOW, since=date(2026, 11, 18))) == [
        "订单XH2611010001",
        "银行卡充值",
    ]
    assert memos(service.transactions("C001", NOW, until=date(2026, 11, 18))) == [
        "银行卡充值",
        "订单XH2611010002",
    ]
    since, until = parse_period("上周的消费", TODAY)
    assert memos(
        service.transactions("C001", NOW, since=since, until=until, types=parse_types("上周的消费"))
    ) == ["订单XH2611010002"]


def test_statement_stops_at_now_and_is_empty_without_history(session):
    session.add(
        WalletTransaction(
            customer_id="C001",
            occurred_at=NOW + timedelta(hours=1),
            type="充值",
            amount=Decimal("10"),
            memo="future",
        )
    )
    session.flush()
    service = WalletService(session)
    assert service.transactions("C001", NOW).total == 3
    empty = service.transactions("C004", NOW)
    assert (empty.items, empty.total, empty.pages, empty.has_more) == ([], 0, 1, False)


@pytest.mark.parametrize(
    "text, since, until",
    [
        ("最近一周的交易", date(2026, 11, 16), TODAY),
        ("近7天", date(2026, 11, 16), TODAY),
        ("近30天", date(2026, 10, 24), TODAY),
        ("近两周", date(2026, 11, 9), TODAY),
        ("本周", date(2026, 11, 16), TODAY),
        ("这周花了多少", date(2026, 11, 16), TODAY),
        ("上周", date(2026, 11, 9), date(2026, 11, 15)),
        ("上个星期", date(2026, 11, 9), date(2026, 11, 15)),
        ("这个月", date(2026, 11, 1), TODAY),
        ("本月", date(2026, 11, 1), TODAY),
        ("上个月", date(2026, 10, 1), date(2026, 10, 31)),
        ("上月", date(2026, 10, 1), date(2026, 10, 31)),
        ("最近一个月", date(2026, 10, 23), TODAY),
        ("近三个月", date(2026, 8, 23), TODAY),
        ("今年", date(2026, 1, 1), TODAY),
        ("去年", date(2025, 1, 1), date(2025, 12, 31)),
        ("最近的交易记录", None, None),
        ("查一下流水", None, None),
    ],
)
def test_periods(text, since, until):
    assert parse_period(text, TODAY) == (since, until)


def test_last_month_in_january_is_last_december():
    assert parse_period("上个月", date(2027, 1, 15)) == (date(2026, 12, 1), date(2026, 12, 31))


@pytest.mark.parametrize(
    "text, types",
    [
        ("充值记录", ("充值",)),
        ("提现", ("提现",)),
        ("消费明细", ("消费",)),
        ("最近支出", ("消费",)),
        ("这个月花了多少", ("消费",)),
        ("退款记录", ("退款",)),
        ("充值和提现", ("充值", "提现")),
        ("交易记录", None),
    ],
)
def test_transaction_types(text, types):
    assert parse_types(text) == types
