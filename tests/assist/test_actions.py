"""An agent's actions for the customer they serve: the bot's rules, the audit log, a supervisor's
recorded override."""

from __future__ import annotations

import pytest

from assist.actions import AgentActions
from business.services.agents import AgentError
from business.services.live_chat import LiveChatService, Routing
from business.store.models import Agent, AuditEntry, Order, Ticket
from business.wording import Wording
from tests.conftest import NOW

SAY = Wording.from_domain()


def serving(session, agent_id: str, customer_id: str | None = "C001") -> AgentActions:
    """The agent has accepted a chat of this customer (None: not verified)."""
    agent = session.get(Agent, agent_id)
    service = LiveChatService(session)
    chat = service.enqueue(
        f"webchat:{agent_id}", "webchat", Routing("mall", 1, "asked", None), NOW, customer_id=customer_id
    ).chat
    assert service.accept(chat.id, agent, NOW)
    return AgentActions(session, agent, chat.id, NOW, SAY)


def audited(session, action: str) -> list[str]:
    return [e.subject for e in session.query(AuditEntry).filter_by(action=action)]


def test_an_order_lookup_tells_what_the_bot_would_and_is_audited(session):
    actions = serving(session, "A001")
    found = actions.lookup_order("xh2611010001")
    assert found["status_name"] == "已发货" and "顺丰" in found["text"] and "138****8001" in found["text"]
    assert audited(session, "lookup_order") == ["XH2611010001"]
    with pytest.raises(AgentError, match="不是这位客户的"):
        actions.lookup_order("XH2611050004")  # 李娜's order


def test_a_booking_lookup_quotes_the_fees_for_the_verified_owner_only(session):
    actions = serving(session, "A001")
    found = actions.lookup_booking("k7m2qd")
    assert "改签" in found["text"] and "手续费" in found["text"]
    with pytest.raises(AgentError):
        actions.lookup_booking("H5R8WE")  # someone else's


def test_an_agent_files_a_return_within_the_rules_but_not_outside_them(session):
    actions = serving(session, "A001")
    check = actions.refund_check("XH2611010002", "no_reason")
    assert check["allowed"] and check["explanation"] == "符合退货规则"
    filed = actions.request_refund("XH2611010002", "no_reason", "不想要了", "")
    assert session.get(Order, "XH2611010002").status == "refunding" and filed["ticket_id"]

    late = actions.refund_check("XH2610150003", "quality")
    assert not late["allowed"] and "15天" in late["explanation"] and late["supervisor_may_grant"]
    with pytest.raises(AgentError, match="班长特批"):
        actions.request_refund("XH2610150003", "quality", "屏幕坏了", "我觉得可以")
    assert session.get(Order, "XH2610150003").status == "delivered"
    with pytest.raises(AgentError, match="运输中"):
        actions.request_refund("XH2611010001", "no_reason", "", "")


def test_a_supervisor_grants_a_late_return_with_a_reason_recorded(session):
    actions = serving(session, "S001")
    with pytest.raises(AgentError, match="特批理由"):
        actions.request_refund("XH2610150003", "quality", "屏幕坏了", "  ")
    filed = actions.request_refund("XH2610150003", "quality", "屏幕坏了", "老客户，质量问题属实")
    assert filed["override"]
    assert "班长特批：老客户，质量问题属实" in session.get(Ticket, filed["ticket_id"]).summary
    [entry] = session.query(AuditEntry).filter_by(action="refund_override").all()
    assert (entry.agent_id, entry.subject) == ("S001", "XH2610150003") and "老客户" in entry.detail
    with pytest.raises(AgentError, match="已经在退款中"):  # nothing left to return, whoever asks
        actions.request_refund("XH2610150003", "quality", "", "再退一次")


def test_an_unverified_customer_gets_no_return_and_a_stranger_no_actions(session):
    actions = serving(session, "A001", customer_id=None)
    with pytest.raises(AgentError, match="验证身份"):
        actions.refund_check("XH2611010002", "no_reason")
    chat_id = actions.chat.id
    with pytest.raises(AgentError, match="不是由您接待"):
        AgentActions(session, session.get(Agent, "A002"), chat_id, NOW, SAY)


def test_a_ticket_opened_from_the_chat_belongs_to_its_customer_and_conversation(session):
    actions = serving(session, "A001")
    opened = actions.open_ticket("logistics", "客户说快递三天没动，已联系快递站")
    ticket = session.get(Ticket, opened["ticket_id"])
    assert (ticket.customer_id, ticket.conversation_id) == ("C001", "webchat:A001")
    assert audited(session, "ticket_open") == [ticket.id]
