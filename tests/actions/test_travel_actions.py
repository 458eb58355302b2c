from datetime import datetime

import pytest
from sqlalchemy import select

from actions.travel import (
    ActionAskBookingRef,
    ActionAskChangeConfirmed,
    ActionAskFlightCancelConfirmed,
    ActionAskNewFlightNo,
    ActionCancelFlight,
    ActionChangeFlight,
    ActionFlightStatus,
    ValidateCancelFlightForm,
    ValidateChangeFlightForm,
)
from business.store.models import FlightBooking, Ticket
from tests.actions.conftest import make_tracker

CHANGE, CANCEL = "change_flight_form", "cancel_flight_form"
# NOW is Sunday 2026-11-22 10:00; K7M2QD (张伟, C001) is MU5101 on 11-27 08:00, fare 1100.00.


def flight_question(text, entities=(), customer=None):
    return make_tracker(
        text,
        intent="flight_status",
        entities=entities,
        slots={"verified_customer_id": customer} if customer else {},
    )


def test_a_flight_number_is_answered_for_anyone_from_the_schedule(run):
    tracker = flight_question("MU5101几点起飞", [{"entity": "flight_no", "value": "MU5101"}])
    message = run(ActionFlightStatus(), tracker).message("utter_flight_status")
    assert (message["origin"], message["destination"]) == ("上海虹桥", "北京首都")
    assert (message["day"], message["departs"], message["arrives"]) == ("11月22日", "08:00", "10:15")
    assert message["status"] == "已起飞"  # 10:00, between departure and arrival


def test_a_flight_on_a_named_day_is_still_planned(run):
    tracker = flight_question("后天mu5137几点飞", [{"entity": "flight_no", "value": "mu5137"}])
    message = run(ActionFlightStatus(), tracker).message("utter_flight_status")
    assert (message["flight_no"], message["day"], message["status"]) == ("MU5137", "11月24日", "计划")


def test_an_unknown_flight_number_says_so(run):
    tracker = flight_question("ZZ9999到了吗", [{"entity": "flight_no", "value": "ZZ9999"}])
    assert run(ActionFlightStatus(), tracker).responses == ["utter_flight_not_found"]


def test_my_flights_after_verification(run):
    message = run(ActionFlightStatus(), flight_question("我的航班几点起飞", customer="C001")).message(
        "utter_booking_flight_status"
    )
    assert (message["booking_ref"], message["flight_no"], message["day"], message["departs"]) == (
        "K7M2QD",
        "MU5101",
        "11月27日",
        "08:00",
    )


def test_someone_elses_booking_reveals_nothing(run):
    tracker = flight_question("预订P3X9LA的航班状态", [{"entity": "booking_ref", "value": "P3X9LA"}], "C001")
    result = run(ActionFlightStatus(), tracker)
    assert result.responses == ["utter_booking_not_yours"]
    assert set(result.messages[0]) & {"flight_no", "origin", "passenger"} == set()


def test_my_flights_unverified_says_nothing(run):
    assert run(ActionFlightStatus(), flight_question("我的航班几点起飞")).messages == []


def test_the_booking_question_offers_upcoming_bookings_as_buttons(run):
    result = run(ActionAskBookingRef(), make_tracker(slots={"verified_customer_id": "C001"}))
    assert [b["payload"] for b in result.message("utter_ask_booking_ref")["buttons"]] == [
        '/inform{"booking_ref": "K7M2QD"}'
    ]
    flown_only = run(ActionAskBookingRef(), make_tracker(slots={"verified_customer_id": "C004"}))
    assert flown_only.responses == ["utter_ask_booking_ref_none"]


def answer(form, slot, value, customer="C001", **slots):
    return make_tracker(
        value,
        active_loop=form,
        extracted={slot: value},
        slots={"requested_slot": slot, "verified_customer_id": customer, **slots},
    )


def test_someone_elses_booking_is_refused_like_an_unknown_one(run):
    result = run(ValidateChangeFlightForm(), answer(CHANGE, "booking_ref", "P3X9LA"))
    assert result.responses == ["utter_booking_not_yours"]
    assert set(result.messages[0]) & {"flight_no", "passenger", "departs"} == set()
    assert result.slots()["booking_ref"] is None


def test_text_that_is_no_booking_ref_gets_a_hint(run):
    result = run(ValidateCancelFlightForm(), answer(CANCEL, "booking_ref", "不记得了"))
    assert result.responses == ["utter_invalid_booking_ref"]


@pytest.mark.parametrize(
    "form, validation, refused",
    [
        (CHANGE, ValidateChangeFlightForm, "utter_change_refused_flown"),
        (CANCEL, ValidateCancelFlightForm, "utter_flight_refund_refused_flown"),
    ],
)
def test_a_flown_booking_is_refused_and_ends_the_form(run, form, validation, refused):
    result = run(validation(), answer(form, "booking_ref", "z8n4tb", customer="C004"))
    assert result.responses == [refused]
    assert result.slots() == {"booking_ref": "Z8N4TB", "requested_slot": None}


def test_a_departed_booking_is_refused(run, session):
    session.get(FlightBooking, "K7M2QD").departs_at = datetime(2026, 11, 22, 8, 0)
    session.commit()
    result = run(ValidateChangeFlightForm(), answer(CHANGE, "booking_ref", "K7M2QD"))
    assert result.responses == ["utter_change_refused_departed"]
    assert result.slots()["requested_slot"] is None


def test_an_own_upcoming_booking_goes_on(run):
    result = run(ValidateChangeFlightForm(), answer(CHANGE, "booking_ref", "预订号K7M2QD"))
    assert result.messages == [] and result.slots() == {"booking_ref": "K7M2QD"}


@pytest.mark.parametrize(
    "said, day",
    [
        ("明天", "2026-11-23"),
        ("下周三", "2026-11-25"),
        ("12月5号", "2026-12-05"),
        ("2026-12-05", "2026-12-05"),
        ("明天不行，改到5号", "2026-12-05"),
        ("周五不行，改到明天", "2026-11-23"),
        ("5号吧，明天不行", "2026-12-05"),
    ],
)
def test_chinese_dates_resolve_to_a_day(run, said, day):
    result = run(ValidateChangeFlightForm(), answer(CHANGE, "travel_date", said, booking_ref="K7M2QD"))
    assert result.slots() == {"travel_date": day}


def test_a_date_the_nlu_cut_in_pieces_is_read_from_the_whole_message(run):
    tracker = make_tracker(
        "2026-12-05",
        active_loop=CHANGE,
        extracted={"travel_date": "12-05"},
        slots={"requested_slot": "travel_date", "verified_customer_id": "C001", "booking_ref": "K7M2QD"},
    )
    assert run(ValidateChangeFlightForm(), tracker).slots() == {"travel_date": "2026-12-05"}


def test_a_day_in_the_request_is_read_when_the_form_starts_after_verification(run):
    request = {
        "event": "user",
        "text": "帮我把K7M2QD改签到2026-12-05",
        "parse_data": {"intent": {"name": "change_flight"}, "entities": []},
    }
    tracker = make_tracker(
        "2817",
        history=[request],
        extracted={"booking_ref": "K7M2QD", "travel_date": "12-05"},
        slots={"verified_customer_id": "C001"},
    )
    result = run(ValidateChangeFlightForm(), tracker)
    assert result.slots() == {"booking_ref": "K7M2QD", "travel_date": "2026-12-05"} and result.messages == []


@pytest.mark.parametrize(
    "request_text, day", [("把K7M2QD改到三天后", "2026-11-25"), ("K7M2QD改签到下周末", "2026-11-28")]
)
def test_a_day_the_nlu_did_not_tag_in_the_request_is_read_all_the_same(run, request_text, day):
    request = {
        "event": "user",
        "text": request_text,
        "parse_data": {"intent": {"name": "change_flight"}, "entities": []},
    }
    tracker = make_tracker(
        "2817", history=[request], extracted={"booking_ref": "K7M2QD"}, slots={"verified_customer_id": "C001"}
    )
    assert run(ValidateChangeFlightForm(), tracker).slots()["travel_date"] == day


def test_a_day_only_ruled_out_is_not_taken_and_the_form_asks_again(run):
    # The NLU extracts 明天 from 明天不行: the entity must not win over the message.
    tracker = make_tracker(
        "明天不行",
        active_loop=CHANGE,
        extracted={"travel_date": "明天"},
        slots={"requested_slot": "travel_date", "verified_customer_id": "C001", "booking_ref": "K7M2QD"},
    )
    result = run(ValidateChangeFlightForm(), tracker)
    assert result.message("utter_travel_date_ruled_out")["day"] == "11月23日"
    assert result.slots()["travel_date"] is None


def test_an_impossible_day_after_a_ruled_out_one_is_not_replaced_by_the_entity(run):
    tracker = make_tracker(
        "明天不行，改到2月30号",
        active_loop=CHANGE,
        extracted={"travel_date": "明天"},
        slots={"requested_slot": "travel_date", "verified_customer_id": "C001", "booking_ref": "K7M2QD"},
    )
    result = run(ValidateChangeFlightForm(), tracker)
    assert result.responses == ["utter_invalid_travel_date"] and result.slots()["travel_date"] is None


@pytest.mark.parametrize(
    "said, response",
    [
        ("随便哪天", "utter_invalid_travel_date"),
        ("2026-11-01", "utter_travel_date_past"),
    ],
)
def test_no_day_or_a_past_day_is_asked_again(run, said, response):
    result = run(ValidateChangeFlightForm(), answer(CHANGE, "travel_date", said, booking_ref="K7M2QD"))
    assert result.responses == [response] and result.slots()["travel_date"] is None


def single_flight_route(session):
    """Z8N4TB made a confirmed booking on 11-30: CZ3101 is its route's only flight."""
    booking = session.get(FlightBooking, "Z8N4TB")
    booking.status, booking.departs_at = "confirmed", datetime(2026, 11, 30, 9, 15)
    session.commit()


def test_a_day_without_flights_on_the_route_is_asked_again(run, session):
    single_flight_route(session)
    result = run(
        ValidateChangeFlightForm(),
        answer(CHANGE, "travel_date", "2026-11-30", customer="C004", booking_ref="Z8N4TB"),
    )
    message = result.message("utter_no_flights_that_day")
    assert (message["day"], message["origin"], message["destination"]) == ("11月30日", "广州白云", "北京大兴")
    assert result.slots()["travel_date"] is None


def test_a_day_named_before_the_booking_is_checked_once_the_booking_is_known(run, session):
    single_flight_route(session)
    kept = run(ValidateChangeFlightForm(), answer(CHANGE, "booking_ref", "K7M2QD", travel_date="2026-11-30"))
    assert kept.slots() == {"booking_ref": "K7M2QD", "travel_date": "2026-11-30"}
    dropped = run(
        ValidateChangeFlightForm(),
        answer(CHANGE, "booking_ref", "Z8N4TB", customer="C004", travel_date="2026-11-30"),
    )
    assert dropped.responses == ["utter_no_flights_that_day"]
    assert dropped.slots() == {"booking_ref": "Z8N4TB", "travel_date": None}


def test_the_new_flight_question_lists_the_route_that_day(run):
    tracker = make_tracker(
        slots={"verified_customer_id": "C001", "booking_ref": "K7M2QD", "travel_date": "2026-11-25"}
    )
    message = run(ActionAskNewFlightNo(), tracker).message("utter_ask_new_flight_no")
    assert [b["title"] for b in message["buttons"]] == [
        "MU5101 08:00-10:15",
        "MU5103 09:00-11:15",
        "MU5105 10:00-12:20",
        "MU5137 19:00-21:20",
    ]
    assert message["buttons"][1]["payload"] == '/inform{"flight_no": "MU5103"}'
    assert (message["day"], message["cabin"]) == ("11月25日", "经济舱")


@pytest.mark.parametrize("said, kept", [("MU5103", "MU5103"), ("mu5105那班", "MU5105"), ("CA1832", None)])
def test_only_an_offered_flight_is_taken(run, said, kept):
    result = run(
        ValidateChangeFlightForm(),
        answer(CHANGE, "new_flight_no", said, booking_ref="K7M2QD", travel_date="2026-11-25"),
    )
    assert result.slots()["new_flight_no"] == kept
    assert ("utter_invalid_new_flight_no" in result.responses) == (kept is None)


CHOSEN = {
    "verified_customer_id": "C001",
    "booking_ref": "K7M2QD",
    "travel_date": "2026-11-25",
    "new_flight_no": "MU5103",
}


def test_the_change_confirmation_shows_both_flights_and_the_fee(run):
    message = run(ActionAskChangeConfirmed(), make_tracker(slots=CHOSEN)).message(
        "utter_ask_change_confirmed"
    )
    assert (message["old_flight_no"], message["old_departs"]) == ("MU5101", "11月27日 08:00")
    assert (message["new_flight_no"], message["new_departs"], message["new_arrives"]) == (
        "MU5103",
        "11月25日 09:00",
        "11:15",
    )
    assert (message["fee"], message["rate"], message["fare"]) == ("110.00", "10", "1100.00")


def test_a_confirmed_change_moves_the_booking_and_leaves_a_record(run, session):
    result = run(
        ActionChangeFlight(),
        make_tracker(
            "确认", intent="affirm", sender_id="change-1", slots={**CHOSEN, "change_confirmed": True}
        ),
    )
    message = result.message("utter_flight_changed")
    booking = session.get(FlightBooking, "K7M2QD")
    assert (booking.flight_no, booking.departs_at, booking.status) == (
        "MU5103",
        datetime(2026, 11, 25, 9, 0),
        "confirmed",
    )
    ticket = session.get(Ticket, message["ticket_id"])
    assert (ticket.category, ticket.status, ticket.booking_ref, ticket.customer_id) == (
        "flight_change",
        "resolved",
        "K7M2QD",
        "C001",
    )
    assert "110.00" in ticket.summary and message["fee"] == "110.00"
    assert (message["new_departs"], message["new_arrives"]) == ("11月25日 09:00", "11:15")
    assert set(result.slots()) == {"booking_ref", "travel_date", "new_flight_no", "change_confirmed"}
    assert set(result.slots().values()) == {None}


def test_a_declined_change_changes_nothing(run, session):
    result = run(
        ActionChangeFlight(),
        make_tracker("不用了", intent="deny", slots={**CHOSEN, "change_confirmed": False}),
    )
    assert result.responses == ["utter_change_kept"]
    booking = session.get(FlightBooking, "K7M2QD")
    assert (booking.flight_no, booking.departs_at) == ("MU5101", datetime(2026, 11, 27, 8, 0))
    assert session.execute(select(Ticket)).first() is None


def test_a_flight_gone_before_the_yes_changes_nothing(run, session):
    result = run(
        ActionChangeFlight(),
        make_tracker(slots={**CHOSEN, "travel_date": "2026-11-22", "change_confirmed": True}),
    )  # 09:00 today has left
    assert result.responses == ["utter_change_failed"]
    assert session.get(FlightBooking, "K7M2QD").flight_no == "MU5101"


def test_a_change_form_asks_nothing_of_an_unverified_customer(run):
    result = run(ValidateChangeFlightForm(), make_tracker("我要改签", intent="change_flight"))
    assert result.slots() == {"requested_slot": None}


REFUND = {"verified_customer_id": "C002", "booking_ref": "H5R8WE"}  # 980.00, tomorrow 19:00: 40% fee


def test_the_refund_confirmation_shows_fare_fee_and_refund(run):
    message = run(ActionAskFlightCancelConfirmed(), make_tracker(slots=REFUND)).message(
        "utter_ask_flight_cancel_confirmed"
    )
    assert (message["fare"], message["fee"], message["rate"], message["refund_amount"]) == (
        "980.00",
        "392.00",
        "40",
        "588.00",
    )


def test_a_confirmed_refund_cancels_the_booking_and_leaves_a_record(run, session):
    result = run(ActionCancelFlight(), make_tracker(slots={**REFUND, "flight_cancel_confirmed": True}))
    message = result.message("utter_flight_cancelled")
    assert (message["refund_amount"], message["fee"]) == ("588.00", "392.00")
    assert session.get(FlightBooking, "H5R8WE").status == "cancelled"
    ticket = session.get(Ticket, message["ticket_id"])
    assert (ticket.category, ticket.status, ticket.booking_ref) == ("flight_refund", "resolved", "H5R8WE")


def test_a_declined_refund_changes_nothing(run, session):
    result = run(ActionCancelFlight(), make_tracker(slots={**REFUND, "flight_cancel_confirmed": False}))
    assert result.responses == ["utter_flight_cancel_kept"]
    assert session.get(FlightBooking, "H5R8WE").status == "confirmed"
    assert session.execute(select(Ticket)).first() is None
