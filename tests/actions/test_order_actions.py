import pytest

from actions.orders import (
    ActionCancelOrder,
    ActionOrderStatus,
    ValidateCancelOrderForm,
    ValidateOrderStatusForm,
)
from business.store.models import Order
from tests.actions.conftest import make_tracker


def test_order_status_reports_carrier_tracking_scan_and_eta_masked(run):
    result = run(ActionOrderStatus(), make_tracker(slots={"order_id": "XH2611010001"}))
    message = result.message("utter_order_status_shipped")
    assert message["carrier"] == "顺丰速运" and message["tracking_no"] == "SF1402837465921"
    assert message["last_scan"] == "已到达【北京顺义集散中心】" and message["eta"] == "11月23日"
    assert message["receiver_phone"] == "138****8001" and "13800138001" not in str(result.messages)


def test_a_stuck_parcel_reports_the_exception(run):
    result = run(ActionOrderStatus(), make_tracker(slots={"order_id": "XH2611080008"}))
    assert (
        result.message("utter_order_status_shipped_exception")["logistics_exception"]
        == "包裹滞留超过72小时未更新"
    )


def test_an_unknown_order_id_is_asked_again(run):
    tracker = make_tracker(
        "XH2699999999",
        slots={"requested_slot": "order_id"},
        extracted={"order_id": "XH2699999999"},
        active_loop="order_status_form",
    )
    result = run(ValidateOrderStatusForm(), tracker)
    assert result.message("utter_order_not_found")["order_id"] == "XH2699999999"
    assert result.slots()["order_id"] is None


def test_order_ids_are_normalised(run):
    tracker = make_tracker(
        "ｘｈ2611010001",
        slots={"requested_slot": "order_id"},
        extracted={"order_id": "ｘｈ2611010001"},
        active_loop="order_status_form",
    )
    assert run(ValidateOrderStatusForm(), tracker).slots()["order_id"] == "XH2611010001"


def cancel_form_answer(order_id, customer="C002"):
    return make_tracker(
        order_id,
        slots={"requested_slot": "order_id", "verified_customer_id": customer},
        extracted={"order_id": order_id},
        active_loop="cancel_order_form",
    )


def test_someone_elses_order_is_refused_without_details(run):
    result = run(ValidateCancelOrderForm(), cancel_form_answer("XH2611010001"))  # 张伟's order
    assert result.responses == ["utter_order_not_yours"]
    assert set(result.messages[0]) & {"items", "amount", "status"} == set()
    assert result.slots()["order_id"] is None


def test_a_shipped_order_is_refused_with_the_return_route(run):
    result = run(ValidateCancelOrderForm(), cancel_form_answer("XH2611010001", customer="C001"))
    assert result.responses == ["utter_cancel_refused_shipped"]
    assert result.slots()["requested_slot"] is None


def test_a_paid_order_goes_on_to_confirmation(run):
    result = run(ValidateCancelOrderForm(), cancel_form_answer("XH2611050004"))
    assert result.slots() == {"order_id": "XH2611050004"}  # the form asks cancel_confirmed next
    assert result.messages == []


def test_an_unverified_customer_is_asked_nothing(run):
    tracker = make_tracker("取消订单", intent="cancel_order")
    assert run(ValidateCancelOrderForm(), tracker).slots() == {"requested_slot": None}


def confirmed(value, order_id="XH2611050004", customer="C002"):
    return make_tracker(
        "确认",
        intent="affirm",
        slots={"order_id": order_id, "cancel_confirmed": value, "verified_customer_id": customer},
    )


def test_confirmed_cancel_changes_the_order_and_refunds(run, session):
    result = run(ActionCancelOrder(), confirmed(True))
    message = result.message("utter_order_cancelled_refund")
    assert (message["amount"], message["refund_method"]) == ("39.00", "星河钱包")
    order = session.get(Order, "XH2611050004")
    assert order.status == "cancelled" and order.refunds[0].status == "refunded"


def test_declined_cancel_changes_nothing(run, session):
    result = run(ActionCancelOrder(), confirmed(False))
    assert result.responses == ["utter_cancel_kept"]
    assert session.get(Order, "XH2611050004").status == "paid"


def test_unpaid_order_cancel_moves_no_money(run, session):
    result = run(ActionCancelOrder(), confirmed(True, "XH2611070006", "C003"))
    assert result.responses == ["utter_order_cancelled_unpaid"]
    assert session.get(Order, "XH2611070006").status == "cancelled"


def answer_to_cancel_confirmation(text, intent):
    """C002's cancel form, asking 确认取消订单 XH2611050004 吗？, answered with `text`."""
    return make_tracker(
        text,
        intent=intent,
        active_loop="cancel_order_form",
        slots={
            "requested_slot": "cancel_confirmed",
            "order_id": "XH2611050004",
            "verified_customer_id": "C002",
        },
    )


def test_junk_instead_of_a_yes_or_no_gets_a_hint(run):
    result = run(ValidateCancelOrderForm(), answer_to_cancel_confirmation("随便吧", "greet"))
    assert result.responses == ["utter_invalid_cancel_confirmed"]


@pytest.mark.parametrize("text", ["不用了，谢谢", "算了，谢谢你", "不用了謝謝"])
def test_a_polite_no_to_a_yes_or_no_question_is_a_no(run, text):
    result = run(ValidateCancelOrderForm(), answer_to_cancel_confirmation(text, "thanks"))
    assert result.responses == []
    assert result.slots()["cancel_confirmed"] is False


def test_thanks_without_a_no_is_not_taken_as_an_answer(run):
    result = run(ValidateCancelOrderForm(), answer_to_cancel_confirmation("好的，谢谢", "thanks"))
    assert result.responses == ["utter_invalid_cancel_confirmed"]
    assert result.slots().get("cancel_confirmed") is None  # asked again


def test_a_polite_no_fills_only_yes_or_no_questions(run):
    """不用了，谢谢 when asked for the order number is not an order number."""
    tracker = make_tracker(
        "不用了，谢谢",
        intent="thanks",
        active_loop="cancel_order_form",
        slots={"requested_slot": "order_id", "verified_customer_id": "C002"},
    )
    result = run(ValidateCancelOrderForm(), tracker)
    assert result.responses == ["utter_invalid_order_id"]
    assert result.slots().get("order_id") is None
