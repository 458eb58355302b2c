"""Flight bookings of 星河旅行: change (改签) and refund (退票) fees, rebooking, cancelling, flight status."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Dict, List, Optional, Tuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from business.formatting import fold_width
from business.store.models import CENT, FlightBooking, FlightSchedule

# "起飞前7天以上" is strictly more than 7×24 h; "7天内至48小时" includes both exactly
# 7×24 h and exactly 48 h; "48小时内" is strictly less than 48 h; at departure it is too late.
WITHIN_48H = timedelta(hours=48)
WITHIN_7D = timedelta(days=7)

# Knowledge base flight_change_fee / flight_refund_fee: share of the fare charged, by band.
CHANGE_RATES: Dict[str, Decimal] = {
    "over_7d": Decimal("0"),
    "7d_to_48h": Decimal("0.10"),
    "within_48h": Decimal("0.20"),
}
REFUND_RATES: Dict[str, Decimal] = {
    "over_7d": Decimal("0.05"),
    "7d_to_48h": Decimal("0.20"),
    "within_48h": Decimal("0.40"),
}
NOTHING = Decimal("0.00")

BOOKING_REF_PATTERN = re.compile(
    r"(?<![0-9A-Z])(?=[0-9A-Z]{0,5}[A-Z])(?=[0-9A-Z]{0,5}\d)[0-9A-Z]{6}(?![0-9A-Z])"
)
FLIGHT_NO_PATTERN = re.compile(r"(?<![0-9A-Z])([A-Z]{2})\s?(\d{3,4})(?![0-9A-Z])")
FLIGHT_NO_SHAPE = re.compile(r"[A-Z]{2}\d{4}")


def _single(found: List[str]) -> Optional[str]:
    distinct = set(found)
    return distinct.pop() if len(distinct) == 1 else None


def parse_booking_ref(text: str) -> Optional[str]:
    """'订座号k7m2qd' -> 'K7M2QD': six letters and digits with both in it, not shaped like a flight number."""
    found = BOOKING_REF_PATTERN.findall(fold_width(text).upper())
    return _single([ref for ref in found if not FLIGHT_NO_SHAPE.fullmatch(ref)])


def parse_flight_no(text: str) -> Optional[str]:
    """'mu 5101几点起飞' -> 'MU5101'; None without exactly one flight number."""
    return _single([code + digits for code, digits in FLIGHT_NO_PATTERN.findall(fold_width(text).upper())])


def time_band(departs_at: datetime, now: datetime) -> str:
    """over_7d / 7d_to_48h / within_48h / departed, by the time left before departure."""
    remaining = departs_at - now
    if remaining <= timedelta(0):
        return "departed"
    if remaining < WITHIN_48H:
        return "within_48h"
    if remaining <= WITHIN_7D:
        return "7d_to_48h"
    return "over_7d"


def _money(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class FeeQuote:
    allowed: bool
    rate: Decimal
    fee: Decimal
    refund_amount: Decimal  # what a refund pays back (fare - fee); 0.00 for a change
    band: str  # over_7d / 7d_to_48h / within_48h, or why not: departed / flown / cancelled

    @property
    def free(self) -> bool:
        return self.allowed and self.fee == NOTHING


class FlightPolicy:
    """Fees by the time left before departure; only confirmed bookings that have not departed qualify."""

    @staticmethod
    def _quote(booking: FlightBooking, now: datetime, rates: Dict[str, Decimal]) -> FeeQuote:
        band = time_band(booking.departs_at, now) if booking.status == "confirmed" else booking.status
        if band not in rates:
            return FeeQuote(False, Decimal("0"), NOTHING, NOTHING, band)
        rate = rates[band]
        return FeeQuote(True, rate, _money(booking.fare * rate), NOTHING, band)

    @staticmethod
    def change_fee(booking: FlightBooking, now: datetime) -> FeeQuote:
        return FlightPolicy._quote(booking, now, CHANGE_RATES)

    @staticmethod
    def refund_quote(booking: FlightBooking, now: datetime) -> FeeQuote:
        quote = FlightPolicy._quote(booking, now, REFUND_RATES)
        if not quote.allowed:
            return quote
        return replace(quote, refund_amount=_money(booking.fare - quote.fee))


class BookingRefused(ValueError):
    """A change or cancellation the rules do not allow; `code` says why."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code  # departed / flown / cancelled / past_departure / other_route / same_flight


def scheduled_times(flight: FlightSchedule, day: date) -> Tuple[datetime, datetime]:
    """Departure and arrival of a daily flight on a day; an arrival before the departure is the next day."""
    departs = datetime.combine(day, time.fromisoformat(flight.departs_at))
    arrives = datetime.combine(day, time.fromisoformat(flight.arrives_at))
    if arrives < departs:
        arrives += timedelta(days=1)
    return departs, arrives


def _is_booked_flight(booking: FlightBooking, flight: FlightSchedule, day: date) -> bool:
    return bool(flight.flight_no == booking.flight_no and day == booking.departs_at.date())


@dataclass(frozen=True)
class FlightStatusView:
    flight_no: str
    origin: str
    destination: str
    departs_at: datetime
    arrives_at: datetime
    status: str  # 计划 / 已起飞 / 已到达


@dataclass(frozen=True)
class ChangeResult:
    booking_ref: str
    quote: FeeQuote
    old_flight_no: str
    old_departs_at: datetime
    new_flight_no: str
    new_departs_at: datetime

    @property
    def fee(self) -> Decimal:
        return self.quote.fee


class TravelService:
    def __init__(self, session: Session) -> None:
        self.session = session

    def booking(self, ref: str) -> Optional[FlightBooking]:
        booking: Optional[FlightBooking] = self.session.get(FlightBooking, ref)
        return booking

    def owned_booking(self, ref: str, customer_id: Optional[str]) -> Optional[FlightBooking]:
        """The booking if it belongs to the customer; None for unknown and for others' bookings alike."""
        booking = self.booking(ref)
        if booking is None or customer_id is None or booking.customer_id != customer_id:
            return None
        return booking

    def upcoming_bookings(self, customer_id: str, now: datetime) -> List[FlightBooking]:
        """Confirmed bookings still to fly, soonest first."""
        return list(
            self.session.execute(
                select(FlightBooking)
                .where(
                    FlightBooking.customer_id == customer_id,
                    FlightBooking.status == "confirmed",
                    FlightBooking.departs_at > now,
                )
                .order_by(FlightBooking.departs_at)
            ).scalars()
        )

    def flight_status(self, flight_no: str, on: date, now: datetime) -> Optional[FlightStatusView]:
        """The scheduled flight on a day (a booking's: its flight_no and departs_at.date())."""
        flight = self.session.get(FlightSchedule, flight_no)
        if flight is None:
            return None
        departs, arrives = scheduled_times(flight, on)
        status = "计划" if now < departs else "已起飞" if now < arrives else "已到达"
        return FlightStatusView(flight.flight_no, flight.origin, flight.destination, departs, arrives, status)

    def alternatives(self, booking: FlightBooking, day: date, now: datetime) -> List[FlightSchedule]:
        """Flights of the booking's route that day still to depart, other than the one booked.

        The schedule has no cabins: every flight offers them all, so the booked cabin is kept.
        """
        flights = self.session.execute(
            select(FlightSchedule)
            .where(FlightSchedule.origin == booking.origin, FlightSchedule.destination == booking.destination)
            .order_by(FlightSchedule.departs_at)
        ).scalars()
        return [
            flight
            for flight in flights
            if scheduled_times(flight, day)[0] > now and not _is_booked_flight(booking, flight, day)
        ]

    def change(
        self, booking: FlightBooking, flight: FlightSchedule, day: date, now: datetime
    ) -> ChangeResult:
        """Rebooks onto another flight of the route; fare, cabin and route stay. The caller charges the fee."""
        quote = FlightPolicy.change_fee(booking, now)
        if not quote.allowed:
            raise BookingRefused(quote.band)
        new_departure = scheduled_times(flight, day)[0]
        if new_departure <= now:
            raise BookingRefused("past_departure")
        if (flight.origin, flight.destination) != (booking.origin, booking.destination):
            raise BookingRefused("other_route")
        if _is_booked_flight(booking, flight, day):
            raise BookingRefused("same_flight")
        result = ChangeResult(
            booking.ref, quote, booking.flight_no, booking.departs_at, flight.flight_no, new_departure
        )
        booking.flight_no, booking.departs_at = flight.flight_no, new_departure
        return result

    def cancel(self, booking: FlightBooking, now: datetime) -> FeeQuote:
        """Cancels the booking; the quote says what is paid back. The caller pays it."""
        quote = FlightPolicy.refund_quote(booking, now)
        if not quote.allowed:
            raise BookingRefused(quote.band)
        booking.status = "cancelled"
        return quote
