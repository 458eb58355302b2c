"""星河钱包: balance, points and member level (account_lookup) and the statement (transaction_history)."""

from __future__ import annotations

from datetime import date
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions.common import VerifiedCustomerAction, entity_value, journey_request
from actions.handoff import hand_over, step_aside
from business import clock
from business.formatting import month_day, month_day_time, yuan
from business.services.dates import resolve_date
from business.services.tickets import STATUS_NAMES, TicketService
from business.services.wallet import WalletService, parse_period, parse_types
from business.store.db import session_scope

PAGE_SIZE = 5
NEXT_PAGE = "next"  # the value of the statement_page entity sent by the "查看更多" button
FROZEN_SUMMARY = "星河钱包因安全原因被冻结，客户需要人工核实身份后解冻"

StatementQuery = Dict[str, Any]  # since / until (ISO dates or None), types (list or None), page


class ActionAccountLookup(VerifiedCustomerAction):
    """Balance, points and level; a frozen wallet is explained and handed to a person, never unfrozen."""

    def name(self) -> Text:
        return "action_account_lookup"

    def act_for(
        self, customer_id: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> List[EventType]:
        with session_scope() as session:
            account = WalletService(session).account(customer_id)
            dispatcher.utter_message(
                response="utter_account_summary",
                balance=yuan(account.balance),
                points=account.points,
                points_value=yuan(account.points_value),
                level=account.level,
                benefits=account.benefits,
            )
            if not account.frozen:
                return []
            return hand_over_frozen_wallet(session, dispatcher, tracker, customer_id)


def hand_over_frozen_wallet(
    session: Session, dispatcher: CollectingDispatcher, tracker: Tracker, customer_id: str
) -> List[EventType]:
    """One high-priority ticket per frozen wallet, queued for an agent; asking again finds it."""
    known = TicketService(session).open_for(customer_id, "account_frozen")
    if known is not None:
        dispatcher.utter_message(
            response="utter_wallet_frozen_known", ticket_id=known.id, status_name=STATUS_NAMES[known.status]
        )
        return [SlotSet("handoff_ticket_id", known.id)]
    handoff = hand_over(session, tracker, FROZEN_SUMMARY, "account_frozen", customer_id)
    if handoff.queued:
        dispatcher.utter_message(
            response="utter_wallet_frozen_queued",
            ticket_id=handoff.ticket.id,
            ahead=handoff.position - 1,
            wait_minutes=handoff.wait_minutes,
        )
    else:
        dispatcher.utter_message(
            response="utter_wallet_frozen_no_agent"
            if handoff.in_hours
            else "utter_wallet_frozen_after_hours",
            ticket_id=handoff.ticket.id,
            callback_at=month_day_time(handoff.callback_after),
        )
    return [SlotSet("handoff_ticket_id", handoff.ticket.id), *step_aside(handoff)]


def iso(day: Optional[date]) -> Optional[str]:
    return day.isoformat() if day else None


def from_iso(day: Optional[str]) -> Optional[date]:
    return date.fromisoformat(day) if day else None


def requested_statement(text: str, today: date) -> StatementQuery:
    """Period and kinds a request names: '最近一周的充值' / '上个月' / '昨天的消费' / nothing for all."""
    since, until = parse_period(text, today)
    if since is None:
        day = resolve_date(text, today)
        if day is not None and day <= today:
            since = until = day
    return {"since": iso(since), "until": iso(until), "types": parse_types(text), "page": 1}


def statement_query(tracker: Tracker) -> StatementQuery:
    """The statement asked for: a new request, or the next page of the one shown ("查看更多")."""
    request = journey_request(tracker, "transaction_history")
    shown = tracker.get_slot("statement_query")
    if shown and entity_value(request, "statement_page") == NEXT_PAGE:
        return {**shown, "page": shown["page"] + 1}
    return requested_statement(request.get("text", ""), clock.today())


def criteria_label(query: StatementQuery) -> str:
    """'11月16日-11月22日 充值、提现'; empty when the whole statement is shown."""
    since, until = from_iso(query["since"]), from_iso(query["until"])
    if since is None:
        period = ""
    elif since == until:
        period = month_day(since)
    else:
        period = f"{month_day(since)}-{month_day(until)}"
    return " ".join(part for part in (period, "、".join(query["types"] or ())) if part)


class ActionTransactionHistory(VerifiedCustomerAction):
    """One page of the verified customer's statement, newest first, with "查看更多" when there is more."""

    def name(self) -> Text:
        return "action_transaction_history"

    def act_for(
        self, customer_id: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> List[EventType]:
        query = statement_query(tracker)
        criteria = criteria_label(query)
        scope = "_filtered" if criteria else ""
        with session_scope() as session:
            page = WalletService(session).transactions(
                customer_id,
                clock.now(),
                since=from_iso(query["since"]),
                until=from_iso(query["until"]),
                types=tuple(query["types"]) if query["types"] else None,
                page=query["page"],
                page_size=PAGE_SIZE,
            )
            if page.total == 0:
                dispatcher.utter_message(response=f"utter_transactions_none{scope}", criteria=criteria)
                return [SlotSet("statement_query", None)]
            dispatcher.utter_message(
                response=f"utter_transactions_header{scope}",
                criteria=criteria,
                total=page.total,
                page=page.page,
                pages=page.pages,
            )
            for item in page.items:
                dispatcher.utter_message(
                    response="utter_transaction_item",
                    occurred_at=month_day_time(item.occurred_at),
                    kind=item.type,
                    amount=f"+{yuan(item.amount)}" if item.amount > 0 else yuan(item.amount),
                    memo=item.memo or "",
                )
        if page.has_more:
            dispatcher.utter_message(
                response="utter_transactions_more", remaining=page.total - page.page * PAGE_SIZE
            )
        return [SlotSet("statement_query", {**query, "page": page.page})]
