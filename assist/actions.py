"""What an agent does for the customer of the chat they serve, through the same business services
and rules as the bot: look up an order or a booking, check whether an order can be returned, file
the return, open a ticket. Each action is written to the audit log. An agent cannot do what the
rules forbid the bot; a supervisor may grant a return past its time limit, with a reason, recorded
as an override."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Dict

from sqlalchemy.orm import Session

from assist.customer import BOOKING_STATUS_NAMES, ORDER_STATUS_NAMES
from assist.replies import fee_text, order_status_text
from business.formatting import mask_name, month_day_time, yuan
from business.services.agents import AgentError
from business.services.audit import AuditLog
from business.services.live_chat import LiveChatService
from business.services.orders import OrderService, parse_order_id
from business.services.refunds import (
    ELIGIBILITY_NAMES,
    OVERRIDABLE,
    REASON_NAMES,
    Eligibility,
    RefundPolicy,
    RefundService,
)
from business.services.tickets import CATEGORY_NAMES, TicketService
from business.services.travel import TravelService, parse_booking_ref
from business.store.models import Agent, LiveChat, Order
from business.wording import Wording


class AgentActions:
    def __init__(self, session: Session, agent: Agent, chat_id: int, now: datetime, say: Wording) -> None:
        self.session = session
        self.agent = agent
        self.now = now
        self.say = say
        # Only the chat the agent serves (a supervisor takes it over first), as for writing in it.
        self.chat: LiveChat = LiveChatService(session).agent_wrote(chat_id, agent)
        self.audit = AuditLog(session)

    def _record(self, action: str, subject: str, detail: str = "") -> None:
        self.audit.record(
            self.agent.id, action, self.now, subject=subject, detail=f"chat {self.chat.id} {detail}".strip()
        )

    def _order(self, order_id: str) -> Order:
        found = parse_order_id(order_id or "")
        order = OrderService(self.session).find(found) if found else None
        if order is None:
            raise AgentError("没有这个订单号（XH开头加10位数字）")
        if self.chat.customer_id is not None and order.customer_id != self.chat.customer_id:
            raise AgentError("这个订单不是这位客户的，不能查看")
        return order

    def _own_order(self, order_id: str) -> Order:
        if self.chat.customer_id is None:
            raise AgentError("客户还没有验证身份：请先让客户在对话里验证，再办理退货")
        return self._order(order_id)

    def lookup_order(self, order_id: str) -> Dict[str, Any]:
        """The order's status as the bot would tell it (anyone with the number may hear it, masked)."""
        order = self._order(order_id)
        self._record("lookup_order", order.id)
        return {
            "order_id": order.id,
            "status_name": ORDER_STATUS_NAMES.get(order.status, order.status),
            "text": order_status_text(self.session, order, self.say),
        }

    def lookup_booking(self, booking_ref: str) -> Dict[str, Any]:
        """A verified customer's own booking, with what a change or a refund would cost now."""
        ref = parse_booking_ref(booking_ref or "")
        booking = TravelService(self.session).owned_booking(ref, self.chat.customer_id) if ref else None
        if booking is None:
            raise AgentError("没有找到这位已验证客户的这个预订（6位字母数字）")
        self._record("lookup_booking", booking.ref)
        return {
            "booking_ref": booking.ref,
            "flight": f"{booking.flight_no} {booking.origin}→{booking.destination}",
            "departs": month_day_time(booking.departs_at),
            "passenger": mask_name(booking.passenger),
            "status_name": BOOKING_STATUS_NAMES.get(booking.status, booking.status),
            "text": fee_text(booking, self.now, self.say),
        }

    def _eligibility(self, order: Order, reason: str) -> Eligibility:
        if reason not in REASON_NAMES:
            raise AgentError("请选择退货原因：七天无理由、商品质量问题、发错货/少件或其他原因")
        return RefundPolicy.eligibility(order, reason, self.now.date())

    def refund_check(self, order_id: str, reason: str) -> Dict[str, Any]:
        order = self._own_order(order_id)
        eligibility = self._eligibility(order, reason)
        self._record("refund_check", order.id, f"{reason}: {eligibility.code}")
        return {
            "order_id": order.id,
            "allowed": eligibility.allowed,
            "explanation": ELIGIBILITY_NAMES[eligibility.code],
            "amount": yuan(order.total),
            "supervisor_may_grant": not eligibility.allowed and eligibility.code in OVERRIDABLE,
        }

    def request_refund(self, order_id: str, reason: str, detail: str, override: str) -> Dict[str, Any]:
        """Files the return the way the bot does; outside the rules only a supervisor, with a reason."""
        order = self._own_order(order_id)
        eligibility = self._eligibility(order, reason)
        override = override.strip()
        if not eligibility.allowed:
            if eligibility.code not in OVERRIDABLE:
                raise AgentError(f"不能退货：{ELIGIBILITY_NAMES[eligibility.code]}")
            if self.agent.role != "supervisor":
                raise AgentError(f"规则不允许：{ELIGIBILITY_NAMES[eligibility.code]}。规则外退货需要班长特批")
            if not override:
                raise AgentError("规则外的退货请写明特批理由")
        granted = override if not eligibility.allowed else None
        refund, ticket = RefundService(self.session).request(
            order,
            reason,
            detail.strip()[:500] or REASON_NAMES[reason],
            self.now,
            conversation_id=self.chat.conversation_id,
            override=granted,
        )
        if granted:
            self._record("refund_override", order.id, f"{eligibility.code}: {granted}")
        else:
            self._record("refund", order.id, reason)
        return {
            "order_id": order.id,
            "amount": yuan(refund.amount),
            "ticket_id": ticket.id,
            "override": bool(granted),
        }

    def open_ticket(self, category: str, summary: str) -> Dict[str, Any]:
        if category not in CATEGORY_NAMES:
            raise AgentError("请选择工单类别")
        summary = summary.strip()[:1000]
        if not summary:
            raise AgentError("请写明工单内容")
        ticket = TicketService(self.session).open(
            category,
            summary,
            self.now,
            customer_id=self.chat.customer_id,
            conversation_id=self.chat.conversation_id,
        )
        self._record("ticket_open", ticket.id, category)
        return {"ticket_id": ticket.id, "category_name": CATEGORY_NAMES[category]}
