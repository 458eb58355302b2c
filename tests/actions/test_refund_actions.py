from sqlalchemy import select

from actions.refunds import (
    ActionAskRefundConfirmed,
    ActionRefundStatus,
    ActionSubmitRefund,
    ValidateRefundForm,
)
from business.store.models import Order, Refund, Ticket
from tests.actions.conftest import make_tracker

FORM = "refund_form"


def answer(slot, value, customer="C001", **slots):
    return make_tracker(
        value,
        active_loop=FORM,
        extracted={slot: value},
        slots={"requested_slot": slot, "verified_customer_id": customer, **slots},
    )


def test_an_order_in_transit_cannot_be_returned_yet(run):
    result = run(ValidateRefundForm(), answer("order_id", "XH2611010001"))
    assert result.responses == ["utter_refund_in_transit"]
    assert result.slots()["requested_slot"] is None


def test_an_unshipped_order_is_pointed_to_cancellation(run):
    result = run(ValidateRefundForm(), answer("order_id", "XH2611050004", customer="C002"))
    assert result.responses == ["utter_refund_not_delivered"]


def test_a_refunding_order_says_so_instead_of_a_second_refund(run):
    result = run(ValidateRefundForm(), answer("order_id", "XH2611060005", customer="C002"))
    message = result.message("utter_refund_refunding")
    assert (message["refund_amount"], message["refund_method"]) == ("159.00", "微信支付")


def test_someone_elses_order_is_refused(run):
    result = run(ValidateRefundForm(), answer("order_id", "XH2611060005"))
    assert result.responses == ["utter_order_not_yours"] and result.slots()["order_id"] is None


def test_a_delivered_order_inside_the_window_continues(run):
    result = run(ValidateRefundForm(), answer("order_id", "XH2611010002"))
    assert result.messages == [] and result.slots() == {"order_id": "XH2611010002"}


def test_free_text_reason_is_classified_and_kept(run):
    result = run(ValidateRefundForm(), answer("refund_reason", "杯子盖子漏水", order_id="XH2611010002"))
    assert result.slots() == {"refund_reason": "quality", "refund_detail": "杯子盖子漏水"}


def test_outside_the_rules_opens_a_ticket_and_offers_a_human(run, session):
    result = run(ValidateRefundForm(), answer("refund_reason", "商品质量问题", order_id="XH2610150003"))
    message = result.message("utter_refund_outside_rules")
    ticket = session.execute(select(Ticket)).scalar_one()
    assert message["ticket_id"] == ticket.id and ticket.category == "refund_exception"
    assert message["days"] == 20 and "15天" in message["why"]
    assert result.slots()["requested_slot"] is None
    assert session.get(Order, "XH2610150003").status == "delivered"


def test_confirmation_shows_amount_method_and_timeline(run):
    tracker = make_tracker(
        slots={"order_id": "XH2611010002", "refund_reason": "no_reason", "verified_customer_id": "C001"}
    )
    message = run(ActionAskRefundConfirmed(), tracker).message("utter_ask_refund_confirmed")
    assert (message["amount"], message["refund_method"], message["timeline"]) == (
        "178.00",
        "星河钱包",
        "即时到账",
    )
    assert message["reason_name"] == "七天无理由"


def submit(confirmed):
    return make_tracker(
        "确认",
        intent="affirm",
        sender_id="refund-conv",
        slots={
            "order_id": "XH2611010002",
            "refund_reason": "no_reason",
            "refund_detail": "七天无理由",
            "refund_confirmed": confirmed,
            "verified_customer_id": "C001",
        },
    )


def test_confirmed_refund_is_recorded_with_its_ticket(run, session):
    result = run(ActionSubmitRefund(), submit(True))
    message = result.message("utter_refund_submitted")
    refund = session.execute(select(Refund).where(Refund.order_id == "XH2611010002")).scalar_one()
    ticket = session.get(Ticket, message["ticket_id"])
    assert refund.ticket_id == ticket.id and ticket.conversation_id == "refund-conv"
    assert session.get(Order, "XH2611010002").status == "refunding"
    assert message["amount"] == "178.00" and "运费" in message["return_shipping"]
    assert {"refund_reason", "refund_confirmed"} <= set(result.slots())


def test_declined_refund_changes_nothing(run, session):
    result = run(ActionSubmitRefund(), submit(False))
    assert result.responses == ["utter_refund_kept"]
    assert session.get(Order, "XH2611010002").status == "delivered"
    assert session.execute(select(Ticket)).first() is None


def test_refund_status_lists_the_customers_refunds(run):
    result = run(
        ActionRefundStatus(),
        make_tracker("退款到哪了", intent="refund_status", slots={"verified_customer_id": "C002"}),
    )
    message = result.message("utter_refund_status_item")
    assert (message["order_id"], message["refund_state"], message["refund_method"]) == (
        "XH2611060005",
        "退款处理中",
        "微信支付",
    )
    assert "1-3个工作日" in message["progress"]


def test_refund_status_without_refunds(run):
    result = run(
        ActionRefundStatus(), make_tracker(intent="refund_status", slots={"verified_customer_id": "C004"})
    )
    assert result.responses == ["utter_refund_status_none"]


def test_refund_status_says_nothing_to_an_unverified_customer(run):
    assert run(ActionRefundStatus(), make_tracker(intent="refund_status")).messages == []
