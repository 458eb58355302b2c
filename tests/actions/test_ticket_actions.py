from datetime import datetime

import pytest
from sqlalchemy import select

from actions.orders import ActionOrderStatus
from actions.tickets import ActionFileComplaint, ActionTicketStatus, ValidateComplaintForm
from business.services.tickets import TicketService
from business.store.models import Ticket
from tests.actions.conftest import make_tracker
from tests.conftest import NOW


def complaint(text):
    """The form starting on the customer's complaint."""
    return make_tracker(text, intent="complain")


@pytest.mark.parametrize("text", ["快递员态度恶劣，直接把包裹扔在门口", "订单XH2611010001的耳机是翻新货"])
def test_a_complaint_that_says_what_happened_is_not_asked_again(run, text):
    result = run(ValidateComplaintForm(), complaint(text))
    assert result.slots() == {"complaint_detail": text} and result.messages == []


@pytest.mark.parametrize("text", ["我要投诉！", "12315见", "投訴", "垃圾"])
def test_a_bare_complaint_is_asked_what_happened(run, text):
    result = run(ValidateComplaintForm(), complaint(text))
    assert result.slots() == {} and result.messages == []  # the form asks complaint_detail next


def filed(detail, customer=None, sender="complaint-1", **slots):
    return make_tracker(
        detail,
        intent="complain",
        sender_id=sender,
        slots={"complaint_detail": detail, "verified_customer_id": customer, **slots},
    )


def test_a_complaint_files_a_high_priority_ticket_with_the_order_it_names(run, session):
    result = run(ActionFileComplaint(), filed("订单XH2611010001的耳机是翻新货，太过分了", customer="C001"))
    ticket = session.execute(select(Ticket)).scalar_one()
    assert (ticket.category, ticket.priority, ticket.status) == ("complaint", "high", "open")
    assert (ticket.order_id, ticket.customer_id, ticket.conversation_id) == (
        "XH2611010001",
        "C001",
        "complaint-1",
    )
    assert "翻新货" in ticket.summary and ticket.sla_due == datetime(2026, 11, 23, 10, 0)
    assert result.message("utter_complaint_filed")["ticket_id"] == ticket.id
    assert result.slots() == {"complaint_detail": None, "complaint_ticket_id": ticket.id}


def test_a_named_booking_is_linked_and_an_unknown_order_is_not(run, session):
    run(ActionFileComplaint(), filed("XH2699999999没发货，K7M2QD的航班也改不了"))
    ticket = session.execute(select(Ticket)).scalar_one()
    assert (ticket.order_id, ticket.booking_ref, ticket.customer_id) == (None, "K7M2QD", None)


def test_more_anger_in_the_same_conversation_is_added_to_the_same_ticket(run, session):
    first = run(ActionFileComplaint(), filed("快递员态度恶劣，直接把包裹扔在门口"))
    earlier = first.slots()["complaint_ticket_id"]
    again = run(ActionFileComplaint(), filed("到现在都没人理我", complaint_ticket_id=earlier))
    ticket = session.execute(select(Ticket)).scalar_one()
    assert again.message("utter_complaint_updated")["ticket_id"] == ticket.id
    assert "到现在都没人理我" in ticket.events[-1].note


def test_a_stopped_complaint_files_nothing(run, session):
    assert run(ActionFileComplaint(), make_tracker("算了", intent="deny")).messages == []
    assert session.execute(select(Ticket)).first() is None


def status_request(text, entities=(), customer=None):
    return make_tracker(
        text,
        intent="ticket_status",
        entities=entities,
        sender_id="later-conversation",
        slots={"verified_customer_id": customer} if customer else {},
    )


def open_ticket(session, category="complaint", customer="C001"):
    ticket = TicketService(session).open(
        category, "测试工单", NOW, customer_id=customer, conversation_id="earlier-conversation"
    )
    session.commit()
    return ticket


def test_a_ticket_from_an_earlier_conversation_is_found_by_its_id(run, session):
    ticket = open_ticket(session)
    tracker = status_request(
        f"工单{ticket.id.lower()}怎么样了", [{"entity": "ticket_id", "value": ticket.id.lower()}]
    )
    message = run(ActionTicketStatus(), tracker).message("utter_ticket_status_open")
    assert (message["ticket_id"], message["category_name"]) == (ticket.id, "投诉")
    assert (message["updated_at"], message["sla_due"]) == ("11月22日 10:00", "11月23日 10:00")


def test_a_resolved_ticket_says_so(run, session):
    ticket = open_ticket(session)
    TicketService(session).set_status(ticket, "resolved", "已回电处理", datetime(2026, 11, 22, 11, 30))
    session.commit()
    tracker = status_request(ticket.id, [{"entity": "ticket_id", "value": ticket.id}])
    message = run(ActionTicketStatus(), tracker).message("utter_ticket_status_resolved")
    assert message["updated_at"] == "11月22日 11:30"


def test_an_unknown_ticket_id_says_so(run):
    tracker = status_request("TK20991231999", [{"entity": "ticket_id", "value": "TK20991231999"}])
    assert run(ActionTicketStatus(), tracker).responses == ["utter_ticket_not_found"]


def test_a_verified_customer_gets_the_open_tickets(run, session):
    open_ticket(session, "complaint")
    open_ticket(session, "account_frozen")
    open_ticket(session, "complaint", customer="C002")
    result = run(ActionTicketStatus(), status_request("我的工单处理到哪了", customer="C001"))
    assert result.message("utter_tickets_open_header")["count"] == 2
    assert result.responses.count("utter_ticket_status_open") == 2


def test_no_open_tickets_says_so_and_unverified_says_nothing(run):
    assert run(ActionTicketStatus(), status_request("工单进度", customer="C003")).responses == [
        "utter_tickets_none"
    ]
    assert run(ActionTicketStatus(), status_request("工单进度")).messages == []


def test_a_stuck_parcel_opens_one_logistics_ticket_however_often_it_is_asked(run, session):
    first = run(ActionOrderStatus(), make_tracker(slots={"order_id": "XH2611080008"}, sender_id="one"))
    again = run(ActionOrderStatus(), make_tracker(slots={"order_id": "XH2611080008"}, sender_id="two"))
    ticket = session.execute(select(Ticket)).scalar_one()
    assert (ticket.category, ticket.order_id, ticket.customer_id) == ("logistics", "XH2611080008", "C004")
    for result in (first, again):
        assert result.message("utter_order_status_shipped_exception")["ticket_id"] == ticket.id


def test_the_owner_hears_the_agents_latest_word_and_a_stranger_only_the_status(run, session):
    ticket = open_ticket(session)
    tickets = TicketService(session)
    tickets.set_status(
        ticket, "in_progress", "内部：已联系仓库", datetime(2026, 11, 22, 11, 0), agent_id="A001"
    )
    tickets.set_status(
        ticket,
        "in_progress",
        "已联系快递，明天上午派送",
        datetime(2026, 11, 22, 11, 5),
        agent_id="A001",
        for_customer=True,
    )
    session.commit()
    owner = run(ActionTicketStatus(), status_request("我的工单处理到哪了", customer="C001"))
    assert owner.message("utter_ticket_agent_note")["note"] == "已联系快递，明天上午派送"
    by_id = status_request(ticket.id, [{"entity": "ticket_id", "value": ticket.id}])
    assert run(ActionTicketStatus(), by_id).responses == ["utter_ticket_status_in_progress"]
