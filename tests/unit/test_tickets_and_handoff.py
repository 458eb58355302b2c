import json
from datetime import datetime, timedelta

import pytest

from business.services.agents import AgentDirectory
from business.services.handoff import HandoffService, in_service_hours, next_opening
from business.services.live_chat import HandoffFacts
from business.services.tickets import TicketService
from tests.conftest import NOW


def test_ticket_ids_count_up_per_day(session):
    tickets = TicketService(session)
    first = tickets.open("complaint", "包裹破损", NOW, customer_id="C001")
    second = tickets.open("handoff", "转人工", NOW)
    tomorrow = tickets.open("handoff", "转人工", NOW + timedelta(days=1))
    assert (first.id, second.id, tomorrow.id) == ("TK20261122001", "TK20261122002", "TK20261123001")


def test_ticket_carries_priority_sla_context_and_history(session):
    context = [{"by": "customer", "text": "我要投诉"}]
    ticket = TicketService(session).open(
        "complaint",
        "客户投诉：快递员态度差",
        NOW,
        customer_id="C001",
        order_id="XH2611010001",
        conversation_id="web-1",
        context=context,
    )
    assert ticket.priority == "high" and ticket.status == "open"
    assert ticket.sla_due == NOW + timedelta(hours=24)
    assert json.loads(ticket.context) == context
    assert [(e.status, e.note) for e in ticket.events] == [("open", "创建工单：客户投诉：快递员态度差")]


def test_status_changes_are_kept_in_history(session):
    tickets = TicketService(session)
    ticket = tickets.open("refund", "退款审核", NOW)
    tickets.set_status(ticket, "in_progress", "客服已受理", NOW + timedelta(hours=1))
    assert [e.status for e in ticket.events] == ["open", "in_progress"]
    assert ticket.updated_at == NOW + timedelta(hours=1)


@pytest.mark.parametrize(
    "hour, minute, open_",
    [(8, 59, False), (9, 0, True), (20, 59, True), (21, 0, False), (23, 30, False)],
)
def test_service_hours_boundaries(hour, minute, open_):
    assert in_service_hours(datetime(2026, 11, 22, hour, minute)) is open_


def test_next_opening():
    assert next_opening(datetime(2026, 11, 22, 22, 0)) == datetime(2026, 11, 23, 9, 0)
    assert next_opening(datetime(2026, 11, 22, 3, 0)) == datetime(2026, 11, 22, 9, 0)


ASKED = HandoffFacts("handoff", ["order_status", "request_human"], verified=False)


def request(session, conversation_id, at, facts=ASKED):
    return HandoffService(session).request(
        "客户请求人工服务",
        at,
        facts=facts,
        conversation_id=conversation_id,
        channel="webchat",
        customer_id="C001",
    )


def test_handoff_in_hours_with_an_agent_online_queues_in_order(session):
    directory = AgentDirectory(session)
    directory.set_status(directory.find("A001"), "online", NOW)
    first = request(session, "a", NOW)
    second = request(session, "b", NOW + timedelta(minutes=1))
    assert first.queued and first.position == 1 and first.ticket.status == "queued"
    assert first.chat.ticket_id == first.ticket.id and first.chat.channel == "webchat"
    assert (second.position, second.wait_minutes) == (2, 1)  # 王芳 has three free places


def test_handoff_in_hours_with_nobody_online_promises_a_call_back_within_two_hours(session):
    handoff = request(session, "a", NOW)
    assert not handoff.queued and handoff.in_hours and handoff.chat is None
    assert handoff.callback_after == NOW + timedelta(hours=2) == handoff.ticket.sla_due
    assert handoff.ticket.status == "open"


def test_handoff_out_of_hours_promises_a_call_back(session):
    directory = AgentDirectory(session)
    late = datetime(2026, 11, 22, 22, 30)
    directory.set_status(directory.find("A001"), "online", late)  # working late does not open the queue
    handoff = request(session, "a", late)
    assert not handoff.queued and not handoff.in_hours and handoff.position is None
    assert handoff.callback_after == datetime(2026, 11, 23, 9, 0)
    assert handoff.ticket.status == "open" and handoff.ticket.sla_due == datetime(2026, 11, 23, 11, 0)
