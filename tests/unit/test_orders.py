from decimal import Decimal

import pytest

from business.formatting import mask_name, mask_phone, yuan
from business.services.orders import OrderService, order_facts, parse_order_id
from business.store.models import Customer, Order, WalletTransaction
from tests.conftest import NOW


@pytest.mark.parametrize(
    "text, expected",
    [
        ("XH2611010001", "XH2611010001"),
        ("订单号xh2611010001到哪了", "XH2611010001"),
        ("ＸＨ２６１１０１０００１", "XH2611010001"),
        ("XH 2611 0100 01", "XH2611010001"),
        ("XH261101000", None),  # nine digits
        ("XH26110100011", None),  # eleven digits
        ("XH2611010001 和 XH2611010002", None),  # two orders: ask which
        ("我的快递", None),
    ],
)
def test_order_ids_are_read_as_customers_type_them(text, expected):
    assert parse_order_id(text) == expected


def test_ownership_refuses_unknown_and_foreign_orders_alike(session):
    service = OrderService(session)
    assert service.owned_by("XH2611010001", "C001").id == "XH2611010001"
    assert service.owned_by("XH2611010001", "C002") is None
    assert service.owned_by("XH9999999999", "C001") is None
    assert service.owned_by("XH2611010001", None) is None


def test_personal_data_is_masked():
    assert mask_phone("13800138001") == "138****8001"
    assert mask_name("张伟") == "张*"
    assert mask_name("欧阳娜娜") == "欧***"
    assert yuan(Decimal("1280.5")) == "1280.50"


def test_order_facts_show_only_masked_personal_data(session):
    facts = order_facts(session.get(Order, "XH2611010001"))
    assert facts["receiver"] == "张*" and facts["receiver_phone"] == "138****8001"
    assert "13800138001" not in str(facts) and "张伟" not in str(facts)
    assert facts["tracking_no"] == "SF1402837465921" and facts["eta"] == "11月23日"
    assert facts["last_scan"] == "已到达【北京顺义集散中心】"


@pytest.mark.parametrize(
    "order_id, cancellable",
    [
        ("XH2611050004", True),  # paid, not shipped
        ("XH2611070006", True),  # awaiting payment
        ("XH2611010001", False),  # shipped
        ("XH2611010002", False),  # delivered
        ("XH2611060005", False),  # refunding
    ],
)
def test_only_unshipped_orders_can_be_cancelled(session, order_id, cancellable):
    assert OrderService.can_cancel(session.get(Order, order_id)) is cancellable


def test_cancelling_a_paid_order_refunds_it_at_once(session):
    order = session.get(Order, "XH2611050004")
    refund = OrderService(session).cancel(order, NOW)
    assert order.status == "cancelled" and order.cancelled_at == NOW
    assert refund.amount == Decimal("39.00") and refund.status == "refunded" and refund.method == "wallet"


def test_wallet_refund_credits_the_balance_and_the_statement(session):
    customer = session.get(Customer, "C002")
    OrderService(session).cancel(session.get(Order, "XH2611050004"), NOW)
    session.flush()
    assert customer.wallet_balance == Decimal("95.00")
    latest = (
        session.query(WalletTransaction)
        .filter_by(customer_id="C002")
        .order_by(WalletTransaction.id.desc())
        .first()
    )
    assert (latest.type, latest.amount, latest.memo) == ("退款", Decimal("39.00"), "订单XH2611050004退款")


def test_cancelling_an_unpaid_order_moves_no_money(session):
    order = session.get(Order, "XH2611070006")
    assert OrderService(session).cancel(order, NOW) is None
    assert order.status == "cancelled" and order.refunds == []


def test_a_shipped_order_cannot_be_cancelled(session):
    with pytest.raises(ValueError):
        OrderService(session).cancel(session.get(Order, "XH2611010001"), NOW)
