"""Forms listen: an open answer is content, and no question is asked a third time in a row."""

from __future__ import annotations

import pytest

from actions.common import MAX_ASKS
from actions.orders import ActionAskOrderId, ValidateOrderStatusForm
from actions.refunds import ValidateRefundForm
from actions.tickets import ValidateComplaintForm
from tests.actions.conftest import make_tracker

VERIFIED = {"verified_customer_id": "C001", "order_id": "XH2611010002"}


def refund_reason(text, intent="inform", slots=None):
    return make_tracker(
        text,
        intent=intent,
        slots={**VERIFIED, "requested_slot": "refund_reason", **(slots or {})},
        extracted={"refund_reason": text},
        active_loop="refund_form",
    )


@pytest.mark.parametrize("text", ["不想要了", "不喜欢", "不合适，太小了"])
def test_a_reason_with_a_no_in_it_is_the_reason(run, text):
    result = run(ValidateRefundForm(), refund_reason(text, intent="deny"))
    assert result.slots()["refund_reason"] == "no_reason" and result.slots()["refund_detail"] == text
    assert "utter_journey_stopped" not in result.responses


@pytest.mark.parametrize("text", ["算了不退了", "不退了", "取消这个申请"])
def test_a_clear_stop_ends_the_refund_form(run, text):
    result = run(ValidateRefundForm(), refund_reason(text, intent="deny"))
    assert result.responses == ["utter_journey_stopped"]
    assert result.slots()["requested_slot"] is None and result.slots()["refund_reason"] is None


def test_an_unclear_reply_is_asked_about_once_and_the_answer_decides(run):
    asked = run(ValidateRefundForm(), refund_reason("不要了", intent="deny"))
    assert asked.responses == ["utter_ask_stop_or_refund_reason"]
    assert asked.slots() == {"refund_reason": None, "unclear_reply": "不要了"}
    kept = run(ValidateRefundForm(), refund_reason("/affirm", intent="affirm", slots=asked.slots()))
    assert kept.slots()["refund_detail"] == "不要了" and kept.slots()["unclear_reply"] is None
    stopped = run(ValidateRefundForm(), refund_reason("/deny", intent="deny", slots=asked.slots()))
    assert stopped.responses == ["utter_journey_stopped"] and stopped.slots()["requested_slot"] is None


def test_a_complaint_that_says_what_did_not_happen_is_filed_as_said(run):
    text = "没收到货，快递却显示已签收"
    tracker = make_tracker(
        text,
        intent="deny",
        slots={"requested_slot": "complaint_detail"},
        extracted={"complaint_detail": text},
        active_loop="complaint_form",
    )
    assert run(ValidateComplaintForm(), tracker).slots() == {"complaint_detail": text}


def test_the_stop_button_under_a_complaint_question_is_not_filed_as_the_complaint(run):
    tracker = make_tracker(
        "/deny",
        intent="deny",
        slots={"requested_slot": "complaint_detail"},
        extracted={"complaint_detail": "/deny"},
        active_loop="complaint_form",
    )
    result = run(ValidateComplaintForm(), tracker)
    assert result.responses == ["utter_journey_stopped"] and result.slots()["complaint_detail"] is None


def asked(times):
    return {"asked_slot": "order_id", "asked_times": times}


def test_a_question_is_asked_twice_then_changes_course_then_stops_the_form(run):
    responses, slots = [], {}
    for _ in range(MAX_ASKS + 2):
        result = run(
            ActionAskOrderId(), make_tracker("XH2699999999", slots=slots, active_loop="order_status_form")
        )
        responses += result.responses
        slots = {**slots, **result.slots()}
    assert responses == [
        "utter_ask_order_id",
        "utter_ask_order_id",
        "utter_stuck_order_id",
        "utter_form_stuck_stopped",
    ]
    assert slots["requested_slot"] is None  # the fourth time ends the form


def test_after_giving_up_the_way_out_and_the_stop_take_turns(run):
    slots, responses = asked(MAX_ASKS + 2), []
    for _ in range(4):
        result = run(
            ActionAskOrderId(), make_tracker("XH2699999999", slots=slots, active_loop="order_status_form")
        )
        responses += result.responses
        slots = {**slots, **result.slots()}
    assert responses == ["utter_stuck_order_id", "utter_form_stuck_stopped"] * 2


def test_a_form_started_again_right_after_giving_up_keeps_counting(run):
    gave_up = [{"event": "bot", "text": "…", "metadata": {"utter_action": "utter_form_stuck_stopped"}}]
    tracker = make_tracker("XH2699999999", intent="order_status", slots=asked(4), history=gave_up)
    assert "asked_times" not in run(ValidateOrderStatusForm(), tracker).slots()


def test_a_question_for_another_slot_starts_counting_again(run):
    result = run(ActionAskOrderId(), make_tracker(slots={"asked_slot": "phone_number", "asked_times": 3}))
    assert result.responses == ["utter_ask_order_id"] and result.slots()["asked_times"] == 1


def test_a_wrong_answer_to_the_question_asked_differently_is_not_told_off_again(run):
    tracker = make_tracker(
        "XH2699999999",
        slots={"requested_slot": "order_id", **asked(MAX_ASKS + 1)},
        extracted={"order_id": "XH2699999999"},
        active_loop="order_status_form",
    )
    assert run(ValidateOrderStatusForm(), tracker).responses == []
    earlier = make_tracker(
        "XH2699999999",
        slots={"requested_slot": "order_id", **asked(1)},
        extracted={"order_id": "XH2699999999"},
        active_loop="order_status_form",
    )
    assert run(ValidateOrderStatusForm(), earlier).responses == ["utter_order_not_found"]


def test_a_new_form_forgets_the_questions_of_the_last_one(run):
    tracker = make_tracker("查订单", intent="order_status", slots=asked(3))
    slots = run(ValidateOrderStatusForm(), tracker).slots()
    assert (slots["asked_slot"], slots["asked_times"]) == (None, 0)


@pytest.mark.parametrize(
    "text, intent", [("先不弄了", "inform"), ("算了不查了", "nlu_fallback"), ("不办了", "deny")]
)
def test_a_clear_stop_to_any_question_ends_the_form_however_it_was_understood(run, text, intent):
    tracker = make_tracker(
        text,
        intent=intent,
        slots={"requested_slot": "order_id", **asked(1)},
        extracted={"order_id": text} if intent != "deny" else {},
        active_loop="order_status_form",
    )
    result = run(ValidateOrderStatusForm(), tracker)
    assert result.responses == ["utter_journey_stopped"] and result.slots()["requested_slot"] is None
