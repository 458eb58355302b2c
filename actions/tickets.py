"""Complaints (投诉) and following tickets (工单): what was filed, where it stands, what comes next."""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from actions.common import (
    FormQuestion,
    GuardedAction,
    GuardedFormValidation,
    conversation_context,
    entity_value,
    journey_request,
    latest_intent,
    open_answer,
    verified_customer,
)
from business import clock
from business.formatting import compact_id, month_day_time
from business.services.orders import OrderService, parse_order_id
from business.services.tickets import CATEGORIES, CATEGORY_NAMES, OPEN_STATUSES, TicketService
from business.services.travel import TravelService, parse_booking_ref
from business.store.db import session_scope
from business.store.models import Ticket

# What a bare complaint says without saying what happened: "我要投诉你们！" · "12315见".
BARE_COMPLAINT = re.compile(r"我要|我想|投诉|投訴|complain|你们|你們|12315[见見]?|[\s\W_]", re.IGNORECASE)
MIN_DESCRIPTION_CHARS = 6


def describes_what_happened(text: str) -> bool:
    return len(BARE_COMPLAINT.sub("", text)) >= MIN_DESCRIPTION_CHARS


class ValidateComplaintForm(GuardedFormValidation):
    """Asks what happened unless the complaint already says it."""

    def name(self) -> Text:
        return "validate_complaint_form"

    async def extract_complaint_detail(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        starting = (tracker.active_loop or {}).get("name") != self.form_name()
        text = (tracker.latest_message.get("text") or "").strip()
        if starting and latest_intent(tracker) == "complain" and describes_what_happened(text):
            return {"complaint_detail": text}
        return {}

    def validate_complaint_detail(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return open_answer("complaint_detail", value, dispatcher, tracker)


class ActionAskComplaintDetail(FormQuestion):
    slot = "complaint_detail"


def complaint_subjects(session: Session, detail: str) -> Dict[str, Optional[str]]:
    """The order and the booking the complaint names, when they exist."""
    order_id, booking_ref = parse_order_id(detail), parse_booking_ref(detail)
    return {
        "order_id": order_id if order_id and OrderService(session).find(order_id) else None,
        "booking_ref": booking_ref if booking_ref and TravelService(session).booking(booking_ref) else None,
    }


class ActionFileComplaint(GuardedAction):
    """A high-priority complaint ticket with a 24-hour call back; more anger in the same conversation is added to it."""

    def name(self) -> Text:
        return "action_file_complaint"

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        detail = tracker.get_slot("complaint_detail")
        if not detail:  # the form was stopped
            return []
        reset = [SlotSet("complaint_detail", None)]
        now = clock.now()
        with session_scope() as session:
            tickets = TicketService(session)
            earlier_id = tracker.get_slot("complaint_ticket_id")
            earlier = tickets.find(earlier_id) if earlier_id else None
            if earlier is not None and earlier.status in OPEN_STATUSES:
                tickets.set_status(earlier, earlier.status, f"客户补充：{detail}", now)
                dispatcher.utter_message(response="utter_complaint_updated", ticket_id=earlier.id)
                return reset
            ticket = tickets.open(
                "complaint",
                f"客户投诉：{detail}",
                now,
                customer_id=verified_customer(tracker),
                conversation_id=tracker.sender_id,
                context=conversation_context(tracker),
                **complaint_subjects(session, detail),
            )
            dispatcher.utter_message(response="utter_complaint_filed", ticket_id=ticket.id)
            return reset + [SlotSet("complaint_ticket_id", ticket.id)]


def ticket_facts(ticket: Ticket) -> Dict[str, str]:
    return {
        "ticket_id": ticket.id,
        "category_name": CATEGORY_NAMES.get(ticket.category, ticket.category),
        "updated_at": month_day_time(ticket.updated_at),
        "sla_due": month_day_time(ticket.sla_due),
    }


def report(ticket: Ticket, dispatcher: CollectingDispatcher, customer_id: Optional[str]) -> None:
    """The ticket's status; its owner (verified) also hears the agent's latest word to them."""
    dispatcher.utter_message(response=f"utter_ticket_status_{ticket.status}", **ticket_facts(ticket))
    note = TicketService.latest_note_for_customer(ticket)
    if note and customer_id is not None and ticket.customer_id == customer_id:
        dispatcher.utter_message(response="utter_ticket_agent_note", note=note)


def open_tickets(tickets: TicketService, customer_id: str) -> List[Ticket]:
    """The customer's open tickets, the latest of each kind, most recently updated first."""
    found = [tickets.open_for(customer_id, category) for category in CATEGORIES]
    return sorted((t for t in found if t is not None), key=lambda t: t.updated_at, reverse=True)


class ActionTicketStatus(GuardedAction):
    """A ticket by its id for anyone (status only); without an id, the verified customer's open tickets."""

    def name(self) -> Text:
        return "action_ticket_status"

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        named = entity_value(journey_request(tracker, "ticket_status"), "ticket_id")
        customer_id = verified_customer(tracker)
        with session_scope() as session:
            tickets = TicketService(session)
            if named:
                ticket = tickets.find(compact_id(named))
                if ticket is None:
                    dispatcher.utter_message(response="utter_ticket_not_found", ticket_id=compact_id(named))
                else:
                    report(ticket, dispatcher, customer_id)
            elif customer_id is not None:  # otherwise verification was stopped or locked and has said so
                found = open_tickets(tickets, customer_id)
                if not found:
                    dispatcher.utter_message(response="utter_tickets_none")
                else:
                    dispatcher.utter_message(response="utter_tickets_open_header", count=len(found))
                for ticket in found:
                    report(ticket, dispatcher, customer_id)
        return []
