"""星河旅行: flight status, changing a booking (改签) and cancelling it with a refund (退票)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import date, datetime
from typing import Any, Callable, Dict, List, Optional, Text, Tuple

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from actions.common import (
    FormQuestion,
    GuardedAction,
    conversation_context,
    entity_value,
    journey_request,
    verified_customer,
)
from actions.identity import VerifiedJourneyValidation
from business import clock
from business.formatting import month_day, month_day_time, percent, yuan
from business.services.dates import names_a_day, only_ruled_out_days, resolve_date, resolve_new_date
from business.services.tickets import TicketService
from business.services.travel import (
    BookingRefused,
    FeeQuote,
    FlightPolicy,
    FlightStatusView,
    TravelService,
    parse_booking_ref,
    parse_flight_no,
    scheduled_times,
)
from business.store.db import session_scope
from business.store.models import FlightBooking, FlightSchedule

CHANGE_SLOTS = ("booking_ref", "travel_date", "new_flight_no", "change_confirmed")
CANCEL_SLOTS = ("booking_ref", "flight_cancel_confirmed")
MAX_BOOKINGS_SHOWN = 3


def clock_time(moment: datetime) -> str:
    return f"{moment:%H:%M}"


def booking_facts(booking: FlightBooking) -> Dict[str, str]:
    """What the booking's owner may be told about it."""
    return {
        "booking_ref": booking.ref,
        "passenger": booking.passenger,
        "flight_no": booking.flight_no,
        "origin": booking.origin,
        "destination": booking.destination,
        "cabin": booking.cabin,
        "fare": yuan(booking.fare),
        "day": month_day(booking.departs_at),
        "departs": month_day_time(booking.departs_at),
    }


def status_facts(view: FlightStatusView) -> Dict[str, str]:
    return {
        "flight_no": view.flight_no,
        "origin": view.origin,
        "destination": view.destination,
        "day": month_day(view.departs_at),
        "departs": clock_time(view.departs_at),
        "arrives": clock_time(view.arrives_at),
        "status": view.status,
    }


def quote_facts(quote: FeeQuote) -> Dict[str, str]:
    return {"fee": yuan(quote.fee), "rate": percent(quote.rate), "refund_amount": yuan(quote.refund_amount)}


def booking_button(booking: FlightBooking) -> Dict[str, str]:
    return {
        "title": f"{booking.ref} {booking.flight_no} {booking.origin}→{booking.destination} "
        f"{month_day_time(booking.departs_at)}",
        "payload": f'/inform{{"booking_ref": "{booking.ref}"}}',
    }


def flight_button(flight: FlightSchedule, day: date) -> Dict[str, str]:
    departs, arrives = scheduled_times(flight, day)
    return {
        "title": f"{flight.flight_no} {clock_time(departs)}-{clock_time(arrives)}",
        "payload": f'/inform{{"flight_no": "{flight.flight_no}"}}',
    }


def own_booking(session: Session, tracker: Tracker) -> Optional[FlightBooking]:
    """The booking the form holds, if it still belongs to the verified customer."""
    return TravelService(session).owned_booking(
        tracker.get_slot("booking_ref") or "", verified_customer(tracker)
    )


def new_day(tracker: Tracker) -> date:
    return date.fromisoformat(tracker.get_slot("travel_date"))


# ---- flight status ----------------------------------------------------------


class ActionFlightStatus(GuardedAction):
    """By flight number for anyone; a booking's or the customer's own flights after verification."""

    def name(self) -> Text:
        return "action_flight_status"

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        request = journey_request(tracker, "flight_status")
        flight_no = entity_value(request, "flight_no")
        customer_id = verified_customer(tracker)
        with session_scope() as session:
            service = TravelService(session)
            if flight_no:
                day = resolve_date(request["text"], clock.today()) or clock.today()
                self.report_flight(service, parse_flight_no(flight_no) or flight_no.upper(), day, dispatcher)
            elif customer_id is None:  # verification was stopped or locked and has said so
                return []
            elif entity_value(request, "booking_ref"):
                self.report_named_booking(
                    service, entity_value(request, "booking_ref"), customer_id, dispatcher
                )
            else:
                self.report_upcoming(service, customer_id, dispatcher)
        return []

    @staticmethod
    def report_flight(
        service: TravelService, flight_no: str, day: date, dispatcher: CollectingDispatcher
    ) -> None:
        view = service.flight_status(flight_no, day, clock.now())
        if view is None:
            dispatcher.utter_message(response="utter_flight_not_found", flight_no=flight_no)
        else:
            dispatcher.utter_message(response="utter_flight_status", **status_facts(view))

    @staticmethod
    def report_booking(
        service: TravelService, booking: FlightBooking, dispatcher: CollectingDispatcher
    ) -> None:
        if booking.status == "cancelled":
            dispatcher.utter_message(response="utter_booking_status_cancelled", **booking_facts(booking))
            return
        view = service.flight_status(booking.flight_no, booking.departs_at.date(), clock.now())
        dispatcher.utter_message(
            response="utter_booking_flight_status", **{**booking_facts(booking), **status_facts(view)}
        )

    def report_named_booking(
        self, service: TravelService, named: str, customer_id: str, dispatcher: CollectingDispatcher
    ) -> None:
        ref = parse_booking_ref(named) or named.upper()
        booking = service.owned_booking(ref, customer_id)
        if booking is None:
            dispatcher.utter_message(response="utter_booking_not_yours", booking_ref=ref)
        else:
            self.report_booking(service, booking, dispatcher)

    def report_upcoming(
        self, service: TravelService, customer_id: str, dispatcher: CollectingDispatcher
    ) -> None:
        bookings = service.upcoming_bookings(customer_id, clock.now())
        if not bookings:
            dispatcher.utter_message(response="utter_no_upcoming_bookings")
        for booking in bookings[:MAX_BOOKINGS_SHOWN]:
            self.report_booking(service, booking, dispatcher)


# ---- the booking question, shared by both forms -----------------------------


class ActionAskBookingRef(FormQuestion):
    """Offers the verified customer's upcoming bookings as buttons."""

    slot = "booking_ref"

    def ask(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> None:
        with session_scope() as session:
            bookings = TravelService(session).upcoming_bookings(verified_customer(tracker), clock.now())
            if bookings:
                dispatcher.utter_message(
                    response="utter_ask_booking_ref", buttons=[booking_button(b) for b in bookings]
                )
            else:
                dispatcher.utter_message(response="utter_ask_booking_ref_none")


class BookingFormValidation(VerifiedJourneyValidation, ABC):
    """The customer's own booking, refused when the rules no longer allow the change or refund."""

    quote: Callable[[FlightBooking, datetime], FeeQuote]

    @staticmethod
    @abstractmethod
    def refusal_response(band: str) -> str:
        """The response that refuses a booking in this band: departed / flown / cancelled."""

    def validate_booking_ref(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        ref = parse_booking_ref(str(value))
        if ref is None:
            dispatcher.utter_message(response="utter_invalid_booking_ref")
            return {"booking_ref": None}
        with session_scope() as session:
            booking = TravelService(session).owned_booking(ref, verified_customer(tracker))
            if booking is None:  # unknown and someone else's alike: nothing about it is revealed
                dispatcher.utter_message(response="utter_booking_not_yours", booking_ref=ref)
                return {"booking_ref": None}
            quote = self.quote(booking, clock.now())
            if not quote.allowed:
                dispatcher.utter_message(response=self.refusal_response(quote.band), **booking_facts(booking))
                return {"booking_ref": ref, "requested_slot": None}
            return {"booking_ref": ref, **self.booking_accepted(session, booking, dispatcher, tracker)}

    def booking_accepted(
        self, session: Session, booking: FlightBooking, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> Dict[Text, Any]:
        """Further slots to set once the booking is known."""
        return {}


class ActionAskConfirmation(FormQuestion, ABC):
    """A confirmation question that shows exactly what will change and what it costs."""

    def ask(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> None:
        with session_scope() as session:
            booking = own_booking(session, tracker)
            dispatcher.utter_message(
                response=f"utter_ask_{self.slot}", **self.facts(session, booking, tracker)
            )

    @abstractmethod
    def facts(self, session: Session, booking: FlightBooking, tracker: Tracker) -> Dict[str, str]:
        """The values the question shows."""


class BookingSubmission(GuardedAction, ABC):
    """Carries out a confirmed change or refund; a no, or a form that stopped early, changes nothing."""

    form_slots: Tuple[str, ...]
    confirm_slot: str
    kept_response: str

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        reset = [SlotSet(slot, None) for slot in self.form_slots]
        confirmed = tracker.get_slot(self.confirm_slot)
        if confirmed is None or verified_customer(tracker) is None:  # the form stopped and said why
            return reset
        if not confirmed:
            dispatcher.utter_message(response=self.kept_response, booking_ref=tracker.get_slot("booking_ref"))
            return reset
        with session_scope() as session:
            self.carry_out(session, own_booking(session, tracker), dispatcher, tracker)
        return reset

    @abstractmethod
    def carry_out(
        self, session: Session, booking: FlightBooking, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> None:
        """Changes the booking, records it as a resolved ticket and tells the customer."""


def record(session: Session, category: str, booking: FlightBooking, summary: str, tracker: Tracker) -> str:
    """A completed change or refund as a resolved ticket: the customer's record id."""
    ticket = TicketService(session).open(
        category,
        summary,
        clock.now(),
        customer_id=booking.customer_id,
        booking_ref=booking.ref,
        conversation_id=tracker.sender_id,
        context=conversation_context(tracker),
        status="resolved",
    )
    return ticket.id


# ---- change (改签) -----------------------------------------------------------


def change_request_text(tracker: Tracker) -> str:
    """The message the new day is read from: the latest one, or the request the form started from."""
    if (tracker.active_loop or {}).get("name") == "change_flight_form":
        return tracker.latest_message.get("text") or ""
    return journey_request(tracker, "change_flight").get("text", "")


def said_day(message: str, value: Any, today: date) -> Optional[date]:
    """The new day the customer named. The NLU may cut "2026-12-05" into "2026-" and "12-05", so a
    message that names a day decides, and of two days in it the one it changes to (明天不行，改到5号);
    the entity counts only when the message names none."""
    return resolve_new_date(message, today) if names_a_day(message) else resolve_date(str(value), today)


def day_to_fly(
    day: Optional[date],
    booking: Optional[FlightBooking],
    service: TravelService,
    dispatcher: CollectingDispatcher,
) -> Optional[str]:
    """The new day as an ISO date: a real day, not past, and (once the booking is known) with flights left."""
    if day is None:
        dispatcher.utter_message(response="utter_invalid_travel_date")
        return None
    if day < clock.today():
        dispatcher.utter_message(response="utter_travel_date_past", day=month_day(day))
        return None
    if booking is not None and not service.alternatives(booking, day, clock.now()):
        dispatcher.utter_message(
            response="utter_no_flights_that_day",
            day=month_day(day),
            origin=booking.origin,
            destination=booking.destination,
        )
        return None
    return day.isoformat()


class ValidateChangeFlightForm(BookingFormValidation):
    quote = staticmethod(FlightPolicy.change_fee)

    @staticmethod
    def refusal_response(band: str) -> str:
        return f"utter_change_refused_{band}"

    def name(self) -> Text:
        return "validate_change_flight_form"

    def booking_accepted(
        self, session: Session, booking: FlightBooking, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> Dict[Text, Any]:
        earlier_day = tracker.get_slot("travel_date")
        # A day named before the booking was known ("我要改签到明天") is checked against its route
        # now; a day named in this same message is checked by validate_travel_date next.
        if earlier_day and "travel_date" not in tracker.slots_to_validate():
            return {
                "travel_date": day_to_fly(
                    date.fromisoformat(earlier_day), booking, TravelService(session), dispatcher
                )
            }
        return {}

    async def extract_travel_date(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        # 把K7M2QD改到三天后: a day in the request counts even when the NLU tagged no date in it.
        starting = (tracker.active_loop or {}).get("name") != self.form_name()
        request = change_request_text(tracker)
        if starting and not tracker.get_slot("travel_date") and names_a_day(request):
            return {"travel_date": request}
        return {}

    def validate_travel_date(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        message, today = change_request_text(tracker), clock.today()
        ruled_out = only_ruled_out_days(message, today)
        if ruled_out:
            dispatcher.utter_message(response="utter_travel_date_ruled_out", day=month_day(ruled_out[-1]))
            return {"travel_date": None}
        day = said_day(message, value, today)
        with session_scope() as session:
            return {
                "travel_date": day_to_fly(
                    day, own_booking(session, tracker), TravelService(session), dispatcher
                )
            }

    def validate_new_flight_no(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        flight_no = parse_flight_no(str(value))
        with session_scope() as session:
            offered = TravelService(session).alternatives(
                own_booking(session, tracker), new_day(tracker), clock.now()
            )
            if flight_no not in {flight.flight_no for flight in offered}:
                dispatcher.utter_message(response="utter_invalid_new_flight_no")
                return {"new_flight_no": None}
        return {"new_flight_no": flight_no}


class ActionAskNewFlightNo(FormQuestion):
    """The same route's flights on the new day, as buttons; the cabin stays."""

    slot = "new_flight_no"

    def ask(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> None:
        day = new_day(tracker)
        with session_scope() as session:
            booking = own_booking(session, tracker)
            flights = TravelService(session).alternatives(booking, day, clock.now())
            dispatcher.utter_message(
                response="utter_ask_new_flight_no",
                day=month_day(day),
                origin=booking.origin,
                destination=booking.destination,
                cabin=booking.cabin,
                buttons=[flight_button(flight, day) for flight in flights],
            )


class ActionAskTravelDate(FormQuestion):
    slot = "travel_date"


class ActionAskChangeConfirmed(ActionAskConfirmation):
    slot = "change_confirmed"

    def facts(self, session: Session, booking: FlightBooking, tracker: Tracker) -> Dict[str, str]:
        flight = session.get(FlightSchedule, tracker.get_slot("new_flight_no"))
        departs, arrives = scheduled_times(flight, new_day(tracker))
        return {
            **booking_facts(booking),
            **quote_facts(FlightPolicy.change_fee(booking, clock.now())),
            "old_flight_no": booking.flight_no,
            "old_departs": month_day_time(booking.departs_at),
            "new_flight_no": flight.flight_no,
            "new_departs": month_day_time(departs),
            "new_arrives": clock_time(arrives),
        }


class ActionChangeFlight(BookingSubmission):
    form_slots = CHANGE_SLOTS
    confirm_slot = "change_confirmed"
    kept_response = "utter_change_kept"

    def name(self) -> Text:
        return "action_change_flight"

    def carry_out(
        self, session: Session, booking: FlightBooking, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> None:
        flight = session.get(FlightSchedule, tracker.get_slot("new_flight_no"))
        day = new_day(tracker)
        try:
            change = TravelService(session).change(booking, flight, day, clock.now())
        except BookingRefused:  # the chosen flight left, or the booking's departure passed, meanwhile
            dispatcher.utter_message(response="utter_change_failed", booking_ref=booking.ref)
            return
        summary = (
            f"预订{booking.ref}改签：{change.old_flight_no} {month_day_time(change.old_departs_at)} → "
            f"{change.new_flight_no} {month_day_time(change.new_departs_at)}，手续费{yuan(change.fee)}元"
        )
        dispatcher.utter_message(
            response="utter_flight_changed",
            **booking_facts(booking),
            new_flight_no=change.new_flight_no,
            new_departs=month_day_time(change.new_departs_at),
            new_arrives=clock_time(scheduled_times(flight, day)[1]),
            fee=yuan(change.fee),
            ticket_id=record(session, "flight_change", booking, summary, tracker),
        )


# ---- refund (退票) -----------------------------------------------------------


class ValidateCancelFlightForm(BookingFormValidation):
    quote = staticmethod(FlightPolicy.refund_quote)

    @staticmethod
    def refusal_response(band: str) -> str:
        return f"utter_flight_refund_refused_{band}"

    def name(self) -> Text:
        return "validate_cancel_flight_form"


class ActionAskFlightCancelConfirmed(ActionAskConfirmation):
    slot = "flight_cancel_confirmed"

    def facts(self, session: Session, booking: FlightBooking, tracker: Tracker) -> Dict[str, str]:
        return {**booking_facts(booking), **quote_facts(FlightPolicy.refund_quote(booking, clock.now()))}


class ActionCancelFlight(BookingSubmission):
    form_slots = CANCEL_SLOTS
    confirm_slot = "flight_cancel_confirmed"
    kept_response = "utter_flight_cancel_kept"

    def name(self) -> Text:
        return "action_cancel_flight"

    def carry_out(
        self, session: Session, booking: FlightBooking, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> None:
        try:
            quote = TravelService(session).cancel(booking, clock.now())
        except BookingRefused as refused:  # departed meanwhile
            dispatcher.utter_message(
                response=ValidateCancelFlightForm.refusal_response(refused.code), **booking_facts(booking)
            )
            return
        summary = (
            f"预订{booking.ref}退票：票价{yuan(booking.fare)}元，手续费{yuan(quote.fee)}元，"
            f"退款{yuan(quote.refund_amount)}元"
        )
        dispatcher.utter_message(
            response="utter_flight_cancelled",
            **booking_facts(booking),
            **quote_facts(quote),
            ticket_id=record(session, "flight_refund", booking, summary, tracker),
        )
