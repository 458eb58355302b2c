from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from business.services.travel import (
    BookingRefused,
    FlightPolicy,
    TravelService,
    parse_booking_ref,
    parse_flight_no,
)
from business.store.models import FlightBooking, FlightSchedule
from tests.conftest import NOW

K7M2QD_DAY = date(2026, 11, 27)  # 5 days after NOW, 08:00


def departing_in(session, remaining: timedelta) -> FlightBooking:
    """K7M2QD (fare 1100.00) moved so that `remaining` is left before departure at NOW."""
    booking = session.get(FlightBooking, "K7M2QD")
    booking.departs_at = NOW + remaining
    return booking


# Every band edge: more than 7×24 h is the outer band, exactly 7×24 h and exactly 48 h
# are the middle band, less than 48 h is the inner band, at departure nothing is allowed.
SEVEN_DAYS_AND_A_MINUTE = timedelta(days=7, minutes=1)
SEVEN_DAYS = timedelta(days=7)
FORTY_EIGHT_HOURS = timedelta(hours=48)
JUST_UNDER_48_HOURS = timedelta(hours=47, minutes=59)
ONE_MINUTE = timedelta(minutes=1)
AT_DEPARTURE = timedelta(0)
AFTER_DEPARTURE = timedelta(minutes=-1)


@pytest.mark.parametrize(
    "remaining, allowed, band, rate, fee",
    [
        (SEVEN_DAYS_AND_A_MINUTE, True, "over_7d", "0", "0.00"),
        (SEVEN_DAYS, True, "7d_to_48h", "0.10", "110.00"),
        (FORTY_EIGHT_HOURS, True, "7d_to_48h", "0.10", "110.00"),
        (JUST_UNDER_48_HOURS, True, "within_48h", "0.20", "220.00"),
        (ONE_MINUTE, True, "within_48h", "0.20", "220.00"),
        (AT_DEPARTURE, False, "departed", "0", "0.00"),
        (AFTER_DEPARTURE, False, "departed", "0", "0.00"),
    ],
)
def test_change_fee_at_every_band_boundary(session, remaining, allowed, band, rate, fee):
    quote = FlightPolicy.change_fee(departing_in(session, remaining), NOW)
    assert (quote.allowed, quote.band, quote.rate, quote.fee) == (allowed, band, Decimal(rate), Decimal(fee))
    assert quote.refund_amount == Decimal("0.00")


@pytest.mark.parametrize(
    "remaining, allowed, band, rate, fee, back",
    [
        (SEVEN_DAYS_AND_A_MINUTE, True, "over_7d", "0.05", "55.00", "1045.00"),
        (SEVEN_DAYS, True, "7d_to_48h", "0.20", "220.00", "880.00"),
        (FORTY_EIGHT_HOURS, True, "7d_to_48h", "0.20", "220.00", "880.00"),
        (JUST_UNDER_48_HOURS, True, "within_48h", "0.40", "440.00", "660.00"),
        (ONE_MINUTE, True, "within_48h", "0.40", "440.00", "660.00"),
        (AT_DEPARTURE, False, "departed", "0", "0.00", "0.00"),
        (AFTER_DEPARTURE, False, "departed", "0", "0.00", "0.00"),
    ],
)
def test_refund_quote_at_every_band_boundary(session, remaining, allowed, band, rate, fee, back):
    quote = FlightPolicy.refund_quote(departing_in(session, remaining), NOW)
    assert (quote.allowed, quote.band, quote.rate, quote.fee, quote.refund_amount) == (
        allowed,
        band,
        Decimal(rate),
        Decimal(fee),
        Decimal(back),
    )


@pytest.mark.parametrize(
    "ref, change_fee, refund_fee, refund_back",
    [
        ("K7M2QD", "110.00", "220.00", "880.00"),  # 1100.00 in 5 days
        ("H5R8WE", "196.00", "392.00", "588.00"),  # 980.00 tomorrow 19:00
        ("P3X9LA", "0.00", "198.00", "3762.00"),  # 3960.00 in 12 days
    ],
)
def test_fees_on_the_demo_bookings(session, ref, change_fee, refund_fee, refund_back):
    booking = session.get(FlightBooking, ref)
    change = FlightPolicy.change_fee(booking, NOW)
    refund = FlightPolicy.refund_quote(booking, NOW)
    assert change.allowed and change.fee == Decimal(change_fee)
    assert refund.allowed and (refund.fee, refund.refund_amount) == (
        Decimal(refund_fee),
        Decimal(refund_back),
    )


def test_a_change_more_than_seven_days_ahead_is_free(session):
    quote = FlightPolicy.change_fee(session.get(FlightBooking, "P3X9LA"), NOW)
    assert quote.free and quote.band == "over_7d"
    assert not FlightPolicy.change_fee(session.get(FlightBooking, "K7M2QD"), NOW).free


def test_fees_round_half_up_to_the_fen(session):
    booking = session.get(FlightBooking, "K7M2QD")
    booking.fare = Decimal("1000.05")
    assert FlightPolicy.change_fee(booking, NOW).fee == Decimal("100.01")  # 100.005
    assert FlightPolicy.refund_quote(booking, NOW).refund_amount == Decimal("800.04")  # fee 200.01


def test_a_flown_booking_can_be_neither_changed_nor_refunded(session):
    booking = session.get(FlightBooking, "Z8N4TB")
    for quote in (FlightPolicy.change_fee(booking, NOW), FlightPolicy.refund_quote(booking, NOW)):
        assert (quote.allowed, quote.band, quote.fee) == (False, "flown", Decimal("0.00"))


def test_a_cancelled_booking_is_refused_even_before_departure(session):
    booking = session.get(FlightBooking, "P3X9LA")
    booking.status = "cancelled"
    assert FlightPolicy.change_fee(booking, NOW).band == "cancelled"
    assert not FlightPolicy.refund_quote(booking, NOW).allowed


def test_ownership_refuses_unknown_and_foreign_bookings_alike(session):
    service = TravelService(session)
    assert service.owned_booking("K7M2QD", "C001").ref == "K7M2QD"
    assert service.owned_booking("K7M2QD", "C002") is None
    assert service.owned_booking("ZZZ999", "C001") is None
    assert service.owned_booking("K7M2QD", None) is None


def test_upcoming_bookings_are_confirmed_and_soonest_first(session):
    service = TravelService(session)
    assert [b.ref for b in service.upcoming_bookings("C001", NOW)] == ["K7M2QD"]
    assert service.upcoming_bookings("C004", NOW) == []  # flown
    extra = FlightBooking(
        ref="A1B2C3",
        customer_id="C001",
        passenger="张伟",
        flight_no="MU5103",
        origin="上海虹桥",
        destination="北京首都",
        departs_at=NOW + timedelta(days=2),
        cabin="经济舱",
        fare=Decimal("900"),
        status="confirmed",
    )
    session.add(extra)
    session.flush()
    assert [b.ref for b in service.upcoming_bookings("C001", NOW)] == ["A1B2C3", "K7M2QD"]


def test_alternatives_on_the_booked_day_leave_out_the_booked_flight(session):
    service = TravelService(session)
    booking = service.booking("K7M2QD")
    assert [f.flight_no for f in service.alternatives(booking, K7M2QD_DAY, NOW)] == [
        "MU5103",
        "MU5105",
        "MU5137",
    ]


def test_alternatives_on_another_day_include_the_booked_flight_number(session):
    service = TravelService(session)
    booking = service.booking("K7M2QD")
    flights = service.alternatives(booking, date(2026, 11, 29), NOW)
    assert [f.flight_no for f in flights] == ["MU5101", "MU5103", "MU5105", "MU5137"]


def test_alternatives_today_only_offer_flights_still_to_depart(session):
    service = TravelService(session)
    booking = service.booking("K7M2QD")
    # NOW is 10:00: the 08:00, 09:00 and 10:00 flights have gone.
    assert [f.flight_no for f in service.alternatives(booking, NOW.date(), NOW)] == ["MU5137"]
    assert service.alternatives(booking, NOW.date() - timedelta(days=1), NOW) == []


def test_a_route_with_a_single_flight_has_no_alternative(session):
    service = TravelService(session)
    booking = service.booking("Z8N4TB")
    booking.status, booking.departs_at = "confirmed", datetime(2026, 11, 30, 9, 15)
    assert service.alternatives(booking, date(2026, 11, 30), NOW) == []


def test_change_moves_the_booking_and_keeps_fare_cabin_and_route(session):
    service = TravelService(session)
    booking = service.booking("K7M2QD")
    result = service.change(booking, session.get(FlightSchedule, "MU5105"), date(2026, 11, 28), NOW)
    assert result.fee == Decimal("110.00") and result.quote.band == "7d_to_48h"
    assert (result.old_flight_no, result.old_departs_at) == ("MU5101", datetime(2026, 11, 27, 8, 0))
    assert (result.new_flight_no, result.new_departs_at) == ("MU5105", datetime(2026, 11, 28, 10, 0))
    assert (booking.flight_no, booking.departs_at) == ("MU5105", datetime(2026, 11, 28, 10, 0))
    assert (booking.fare, booking.cabin, booking.origin, booking.destination, booking.status) == (
        Decimal("1100.00"),
        "经济舱",
        "上海虹桥",
        "北京首都",
        "confirmed",
    )


def test_change_fee_is_quoted_on_the_old_departure(session):
    service = TravelService(session)
    booking = service.booking("P3X9LA")  # 12 days away: free, even onto an earlier flight
    result = service.change(booking, session.get(FlightSchedule, "CA1832"), date(2026, 11, 23), NOW)
    assert result.quote.free and booking.departs_at == datetime(2026, 11, 23, 17, 30)


@pytest.mark.parametrize(
    "ref, flight_no, day, code",
    [
        ("K7M2QD", "MU5103", date(2026, 11, 21), "past_departure"),  # yesterday
        ("K7M2QD", "MU5103", NOW.date(), "past_departure"),  # 09:00 today, it is 10:00
        ("K7M2QD", "CA1832", date(2026, 11, 28), "other_route"),
        ("K7M2QD", "MU5101", K7M2QD_DAY, "same_flight"),
        ("Z8N4TB", "CZ3101", date(2026, 11, 30), "flown"),
    ],
)
def test_change_refusals_leave_the_booking_alone(session, ref, flight_no, day, code):
    service = TravelService(session)
    booking = service.booking(ref)
    before = (booking.flight_no, booking.departs_at)
    with pytest.raises(BookingRefused) as refused:
        service.change(booking, session.get(FlightSchedule, flight_no), day, NOW)
    assert refused.value.code == code
    assert (booking.flight_no, booking.departs_at) == before


def test_change_is_refused_after_departure(session):
    booking = departing_in(session, timedelta(minutes=-5))
    with pytest.raises(BookingRefused) as refused:
        TravelService(session).change(booking, session.get(FlightSchedule, "MU5137"), K7M2QD_DAY, NOW)
    assert refused.value.code == "departed"


def test_cancel_marks_the_booking_cancelled_and_quotes_the_refund(session):
    service = TravelService(session)
    booking = service.booking("H5R8WE")
    quote = service.cancel(booking, NOW)
    assert booking.status == "cancelled"
    assert (quote.fee, quote.refund_amount) == (Decimal("392.00"), Decimal("588.00"))
    with pytest.raises(BookingRefused) as refused:
        service.cancel(booking, NOW)
    assert refused.value.code == "cancelled"


def test_cancel_refuses_a_flown_booking(session):
    booking = session.get(FlightBooking, "Z8N4TB")
    with pytest.raises(BookingRefused):
        TravelService(session).cancel(booking, NOW)
    assert booking.status == "flown"


@pytest.mark.parametrize(
    "on, now, status",
    [
        (date(2026, 11, 22), datetime(2026, 11, 22, 7, 59), "计划"),
        (date(2026, 11, 22), datetime(2026, 11, 22, 8, 0), "已起飞"),
        (date(2026, 11, 22), datetime(2026, 11, 22, 10, 14), "已起飞"),
        (date(2026, 11, 22), datetime(2026, 11, 22, 10, 15), "已到达"),
        (date(2026, 11, 27), NOW, "计划"),
    ],
)
def test_flight_status_follows_the_schedule(session, on, now, status):
    view = TravelService(session).flight_status("MU5101", on, now)
    assert (view.origin, view.destination, view.status) == ("上海虹桥", "北京首都", status)
    assert (view.departs_at, view.arrives_at) == (
        datetime.combine(on, datetime.min.time()) + timedelta(hours=8),
        datetime.combine(on, datetime.min.time()) + timedelta(hours=10, minutes=15),
    )


def test_flight_status_of_a_booking_and_of_an_unknown_flight(session):
    service = TravelService(session)
    booking = service.booking("H5R8WE")
    view = service.flight_status(booking.flight_no, booking.departs_at.date(), NOW)
    assert view.departs_at == booking.departs_at and view.arrives_at == datetime(2026, 11, 23, 21, 20)
    assert service.flight_status("XX9999", NOW.date(), NOW) is None


def test_an_overnight_arrival_is_on_the_next_day(session):
    session.add(
        FlightSchedule(
            flight_no="MU5199",
            origin="上海虹桥",
            destination="北京首都",
            departs_at="23:30",
            arrives_at="01:45",
        )
    )
    session.flush()
    view = TravelService(session).flight_status("MU5199", NOW.date(), NOW)
    assert view.arrives_at == datetime(2026, 11, 23, 1, 45)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("K7M2QD", "K7M2QD"),
        ("我的订座记录是k7m2qd", "K7M2QD"),
        ("Ｋ７Ｍ２ＱＤ", "K7M2QD"),
        ("K7M2QD MU5101", "K7M2QD"),
        ("MU5101", None),  # a flight number, not a booking
        ("ABCDEF", None),  # no digit
        ("123456", None),  # no letter
        ("K7M2QDX", None),  # seven characters
        ("XH2611010001", None),
        ("K7M2QD 和 P3X9LA", None),  # two bookings: ask which
    ],
)
def test_booking_refs(text, expected):
    assert parse_booking_ref(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("MU5101几点起飞", "MU5101"),
        ("mu 5101", "MU5101"),
        ("ＣＡ１８５８", "CA1858"),
        ("CZ310", "CZ310"),
        ("航班CA18580", None),  # five digits
        ("K7M2QD", None),
        ("MU5101还是MU5103", None),
    ],
)
def test_flight_numbers(text, expected):
    assert parse_flight_no(text) == expected
