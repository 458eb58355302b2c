from datetime import timedelta

import pytest

from business.services.refunds import RefundPolicy, RefundService, classify_reason, refund_timeline
from business.store.models import Order, Ticket
from tests.conftest import NOW


def delivered(session, days_ago: int) -> Order:
    order = session.get(Order, "XH2611010002")
    order.delivered_at = NOW - timedelta(days=days_ago)
    return order


@pytest.mark.parametrize(
    "days, reason, allowed, code",
    [
        (0, "no_reason", True, "ok"),
        (7, "no_reason", True, "ok"),  # the 7th day is still inside the window
        (8, "no_reason", False, "no_reason_expired"),
        (8, "quality", True, "ok"),
        (15, "quality", True, "ok"),
        (15, "wrong_item", True, "ok"),
        (16, "quality", False, "expired"),
        (16, "no_reason", False, "expired"),
        (8, "other", False, "no_reason_expired"),
    ],
)
def test_return_windows_at_each_boundary(session, days, reason, allowed, code):
    result = RefundPolicy.eligibility(delivered(session, days), reason, NOW.date())
    assert (result.allowed, result.code, result.days_since_delivery) == (allowed, code, days)


@pytest.mark.parametrize(
    "order_id, code",
    [
        ("XH2611010001", "in_transit"),
        ("XH2611050004", "not_delivered"),
        ("XH2611070006", "not_delivered"),
        ("XH2611060005", "refunding"),
        ("XH2610200007", "refunded"),
    ],
)
def test_orders_that_cannot_be_returned(session, order_id, code):
    result = RefundPolicy.eligibility(session.get(Order, order_id), "quality", NOW.date())
    assert not result.allowed and result.code == code


def test_demo_order_outside_every_window(session):
    result = RefundPolicy.eligibility(session.get(Order, "XH2610150003"), "quality", NOW.date())
    assert (result.allowed, result.code, result.days_since_delivery) == (False, "expired", 20)


def test_request_records_refund_ticket_and_status(session):
    order = session.get(Order, "XH2611010002")
    refund, ticket = RefundService(session).request(order, "no_reason", "不想要了", NOW, conversation_id="c1")
    session.flush()
    assert order.status == "refunding"
    assert str(refund.amount) == "178.00" and refund.method == "wallet" and refund.status == "processing"
    assert refund.ticket_id == ticket.id == "TK20261122001"
    assert ticket.category == "refund" and ticket.order_id == order.id and ticket.customer_id == "C001"
    assert ticket.sla_due == NOW + timedelta(hours=24)


def test_request_refuses_an_ineligible_order(session):
    with pytest.raises(ValueError):
        RefundService(session).request(session.get(Order, "XH2610150003"), "quality", "坏了", NOW)


def test_exception_ticket_is_opened_once_per_order(session):
    order = session.get(Order, "XH2610150003")
    service = RefundService(session)
    eligibility = RefundPolicy.eligibility(order, "quality", NOW.date())
    first = service.open_exception(order, "quality", "鞋底开胶", eligibility, NOW)
    second = service.open_exception(order, "quality", "鞋底开胶", eligibility, NOW)
    assert first.id == second.id
    assert first.category == "refund_exception" and "20天" in first.summary
    assert session.query(Ticket).count() == 1


@pytest.mark.parametrize(
    "text, reason",
    [
        ("七天无理由", "no_reason"),
        ("商品质量问题", "quality"),
        ("发错货/少件", "wrong_item"),
        ("其他原因", "other"),
        ("耳机左边没声音，坏了", "quality"),
        ("鞋底开胶了", "quality"),
        ("拍错了，不想要了", "no_reason"),
        ("收到的颜色发错了", "wrong_item"),
        ("淘宝上同款便宜一半", "no_reason"),
        ("就是想退", "other"),
    ],
)
def test_reason_from_buttons_and_free_text(text, reason):
    assert classify_reason(text) == reason


def test_refund_timeline_by_payment_method():
    assert refund_timeline("wallet") == "即时到账"
    assert refund_timeline("wechat") == "1-3个工作日到账"
    assert refund_timeline("alipay") == "1-3个工作日到账"
    assert refund_timeline("bank_card") == "3-7个工作日到账"
