"""Identity verification form: registered phone + ID card last 4, three tries per session.

A channel that already knows who the customer is (a WeChat openid bound to an
account, a logged-in web visitor, a signed REST identity) says so in the first
message's metadata under VERIFIED_CUSTOMER_KEY; the session then starts verified.

The journey that asked for verification (slot `journey`) continues by rule once
the form ends; its own form checks `verified_customer_id` again, so a locked or
abandoned check never leads to a change.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    FormQuestion,
    GuardedFormValidation,
    conversation_context,
    verified_customer,
)
from business import clock
from business.formatting import mask_name
from business.privacy import masked
from business.services.identity import (
    MAX_ATTEMPTS,
    VERIFIED_CUSTOMER_KEY,
    IdentityVerifier,
    parse_id_last4,
    parse_phone,
)
from business.services.tickets import TicketService
from business.store.db import session_scope

logger = logging.getLogger(__name__)


def is_locked(tracker: Tracker) -> bool:
    return (tracker.get_slot("verification_failures") or 0) >= MAX_ATTEMPTS


class ValidateVerifyIdentityForm(GuardedFormValidation):
    def name(self) -> Text:
        return "validate_verify_identity_form"

    async def required_slots(
        self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Text]:
        # Verified once per session; a locked check asks nothing more.
        if verified_customer(tracker) or is_locked(tracker):
            return []
        return domain_slots

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        if is_locked(tracker):
            dispatcher.utter_message(
                response="utter_identity_locked", ticket_id=tracker.get_slot("identity_ticket_id")
            )
            return [SlotSet("requested_slot", None)]
        return await super().run(dispatcher, tracker, domain)

    def validate_phone_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        phone = parse_phone(str(value))
        if phone is None:
            dispatcher.utter_message(response="utter_invalid_phone_number")
            return {"phone_number": None}
        # The number itself does not rest: the slot keeps its masked form, the next turn its owner.
        with session_scope() as session:
            candidate = IdentityVerifier(session).candidate(phone)
        return {"phone_number": masked("mobile", phone), "identity_candidate": candidate}

    def validate_id_last4(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        id_last4 = parse_id_last4(str(value))
        if id_last4 is None:
            dispatcher.utter_message(response="utter_invalid_id_last4")
            return {"id_last4": None}
        failures = int(tracker.get_slot("verification_failures") or 0)
        with session_scope() as session:
            candidate = tracker.get_slot("identity_candidate") or ""
            result = IdentityVerifier(session).verify(candidate, id_last4, failures)
            if result.verified:
                dispatcher.utter_message(
                    response="utter_identity_verified", customer_name=mask_name(result.customer.name)
                )
                return {"id_last4": id_last4, "verified_customer_id": result.customer.id}
            if result.locked:
                ticket = TicketService(session).open(
                    "identity",
                    "身份验证连续3次未通过，需人工核实身份",
                    clock.now(),
                    conversation_id=tracker.sender_id,
                    context=conversation_context(tracker),
                )
                dispatcher.utter_message(response="utter_identity_locked", ticket_id=ticket.id)
                # required_slots() now returns nothing, which ends the form.
                return {
                    "phone_number": None,
                    "identity_candidate": None,
                    "id_last4": None,
                    "verification_failures": failures + 1,
                    "identity_ticket_id": ticket.id,
                }
        dispatcher.utter_message(response="utter_identity_mismatch", attempts_left=result.attempts_left)
        return {
            "phone_number": None,
            "identity_candidate": None,
            "id_last4": None,
            "verification_failures": failures + 1,
        }


class ActionAskPhoneNumber(FormQuestion):
    slot = "phone_number"


class ActionAskIdLast4(FormQuestion):
    slot = "id_last4"


class VerifiedJourneyValidation(GuardedFormValidation):
    """A form that changes money or reveals it asks nothing of an unverified customer."""

    async def required_slots(
        self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Text]:
        return domain_slots if verified_customer(tracker) else []


def vouched_customer(tracker: Tracker) -> Optional[str]:
    """The known customer a channel vouched for at session start, else None."""
    vouched = (tracker.get_slot("session_started_metadata") or {}).get(VERIFIED_CUSTOMER_KEY)
    if not vouched:
        return None
    try:
        with session_scope() as session:
            if IdentityVerifier(session).known_customer(str(vouched)) is not None:
                return str(vouched)
    except Exception:  # the store is down: the customer verifies the usual way later
        logger.exception("could not look up vouched customer for %s", tracker.sender_id)
        return None
    logger.warning("channel vouched for unknown customer %s in %s", vouched, tracker.sender_id)
    return None


class ActionSessionStart(Action):
    """Starts a session; verified at once when the channel vouches for a known customer."""

    def name(self) -> Text:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        customer_id = vouched_customer(tracker)
        identity = [SlotSet("verified_customer_id", customer_id)] if customer_id else []
        return [SessionStarted(), *identity, ActionExecuted("action_listen")]
