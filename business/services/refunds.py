"""Returns and refunds: the after-sales rules of 星河商城 and the refund records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Dict, List, Optional, Tuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from business.formatting import PAYMENT_METHOD_NAMES, month_day, yuan
from business.services.tickets import TicketService
from business.store.models import Order, Refund, Ticket

NO_REASON_DAYS = 7  # 签收后7天内无理由退货
QUALITY_DAYS = 15  # 签收后15天内质量问题退换

# When the money arrives, by where it goes back to (knowledge base: refund_timeline).
TIMELINES = {
    "wallet": "即时到账",
    "wechat": "1-3个工作日到账",
    "alipay": "1-3个工作日到账",
    "bank_card": "3-7个工作日到账",
}

REASON_NAMES = {
    "no_reason": "七天无理由",
    "quality": "商品质量问题",
    "wrong_item": "发错货/少件",
    "other": "其他原因",
}
# Keyword lists are checked in this order: a seller's fault wins over a change of mind.
REASON_WORDS: List[Tuple[str, Tuple[str, ...]]] = [
    ("wrong_item", ("发错", "错发", "少件", "漏发", "少发", "不是我买的", "货不对")),
    (
        "quality",
        (
            "质量",
            "坏",
            "破",
            "瑕疵",
            "故障",
            "不能用",
            "用不了",
            "漏",
            "裂",
            "划痕",
            "异味",
            "失灵",
            "不工作",
            "没反应",
            "开不了机",
            "次品",
            "假货",
            "掉色",
            "起球",
            "开胶",
            "脱胶",
            "开线",
        ),
    ),
    (
        "no_reason",
        (
            "无理由",
            "不想要",
            "不要了",
            "不喜欢",
            "拍错",
            "买错",
            "买多",
            "多买",
            "不合适",
            "尺码",
            "大了",
            "小了",
            "后悔",
            "降价",
            "便宜",
            "差价",
            "不需要",
            "用不上",
        ),
    ),
]


def classify_reason(text: str) -> str:
    """Free text or a button title -> no_reason / quality / wrong_item / other."""
    for code, name in REASON_NAMES.items():
        if text.strip() == name:
            return code
    for code, words in REASON_WORDS:
        if any(word in text for word in words):
            return code
    return "other"


def refund_timeline(method: Optional[str]) -> str:
    return TIMELINES.get(method or "", "3-7个工作日到账")


REFUND_STATES = {"processing": "退款处理中", "refunded": "已退款", "rejected": "退款未通过"}


def refund_status_facts(refund: Refund) -> Dict[str, str]:
    """The values of `utter_refund_status_item` for one refund."""
    if refund.status == "refunded":
        progress = f"已于{month_day(refund.completed_at)}退回，请留意账户到账记录。"
    elif refund.status == "processing":
        progress = f"审核通过后原路退回，{refund_timeline(refund.method)}。"
    else:
        progress = "如有疑问可以转人工客服为您说明。"
    return {
        "order_id": refund.order_id,
        "items": refund.order.item_summary,
        "refund_state": REFUND_STATES[refund.status],
        "refund_amount": yuan(refund.amount),
        "refund_method": PAYMENT_METHOD_NAMES.get(refund.method, refund.method),
        "refund_requested_on": month_day(refund.requested_at),
        "progress": progress,
    }


# Why a return is or is not possible, for the agent (the bot tells the customer in its own responses).
ELIGIBILITY_NAMES = {
    "ok": "符合退货规则",
    "not_delivered": "订单还没发货，应取消订单而不是退货",
    "in_transit": "订单正在运输中，签收后才能退货",
    "refunding": "这个订单已经在退款中",
    "refunded": "这个订单已经退过款",
    "cancelled": "订单已取消",
    "no_reason_expired": "签收超过7天，不能无理由退货（质量问题15天内可以）",
    "expired": "签收超过15天，已过售后期",
}

# Past the time limits a supervisor may still grant a return; an order not delivered, refunding,
# refunded or cancelled has nothing to return, whoever asks.
OVERRIDABLE = frozenset({"no_reason_expired", "expired"})


@dataclass(frozen=True)
class Eligibility:
    allowed: bool
    code: str  # ok / not_delivered / in_transit / refunding / refunded / cancelled / no_reason_expired / expired
    days_since_delivery: Optional[int] = None


class RefundPolicy:
    """Which orders may be returned, for which reasons, on which day."""

    @staticmethod
    def order_state(order: Order) -> Eligibility:
        """Whether the order can be returned at all, before the reason is known."""
        if order.status == "delivered":
            return Eligibility(True, "ok")
        code = {
            "pending_payment": "not_delivered",
            "paid": "not_delivered",
            "shipped": "in_transit",
        }.get(order.status, order.status)
        return Eligibility(False, code)

    @staticmethod
    def eligibility(order: Order, reason: str, today: date) -> Eligibility:
        state = RefundPolicy.order_state(order)
        if not state.allowed:
            return state
        days = (today - order.delivered_at.date()).days
        if reason in ("quality", "wrong_item"):
            allowed = days <= QUALITY_DAYS
            return Eligibility(allowed, "ok" if allowed else "expired", days)
        if days <= NO_REASON_DAYS:
            return Eligibility(True, "ok", days)
        return Eligibility(False, "no_reason_expired" if days <= QUALITY_DAYS else "expired", days)


class RefundService:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.tickets = TicketService(session)

    def request(
        self,
        order: Order,
        reason: str,
        detail: str,
        now: datetime,
        *,
        conversation_id: Optional[str] = None,
        context: Optional[List[Dict[str, Any]]] = None,
        override: Optional[str] = None,
    ) -> Tuple[Refund, Ticket]:
        """Records an eligible return: the refund, the order's new status and the review ticket. Outside
        the rules only with `override`, a supervisor's reason, which the ticket keeps."""
        eligibility = RefundPolicy.eligibility(order, reason, now.date())
        if not eligibility.allowed and (not override or eligibility.code not in OVERRIDABLE):
            raise ValueError(f"order {order.id} is not eligible for a refund: {eligibility.code}")
        exception = (
            f"（规则外：{ELIGIBILITY_NAMES[eligibility.code]}；班长特批：{override}）" if override else ""
        )
        ticket = self.tickets.open(
            "refund",
            f"订单{order.id}申请退货退款（{REASON_NAMES[reason]}）：{detail}{exception}",
            now,
            customer_id=order.customer_id,
            order_id=order.id,
            conversation_id=conversation_id,
            context=context,
        )
        refund = Refund(
            amount=order.total,
            reason=reason,
            reason_detail=detail,
            method=order.payment_method,
            status="processing",
            requested_at=now,
            ticket_id=ticket.id,
        )
        order.refunds.append(refund)
        order.status = "refunding"
        return refund, ticket

    def open_exception(
        self,
        order: Order,
        reason: str,
        detail: str,
        eligibility: Eligibility,
        now: datetime,
        *,
        conversation_id: Optional[str] = None,
        context: Optional[List[Dict[str, Any]]] = None,
    ) -> Ticket:
        """A return outside the rules goes to a person; one open ticket per order."""
        existing = self.tickets.open_for(order.customer_id, "refund_exception", order.id)
        if existing is not None:
            return existing
        return self.tickets.open(
            "refund_exception",
            f"订单{order.id}签收{eligibility.days_since_delivery}天后申请退货（{REASON_NAMES[reason]}）：{detail}",
            now,
            customer_id=order.customer_id,
            order_id=order.id,
            conversation_id=conversation_id,
            context=context,
        )

    def for_customer(self, customer_id: str) -> List[Refund]:
        """The customer's refunds, newest first."""
        return list(
            self.session.execute(
                select(Refund)
                .join(Order)
                .where(Order.customer_id == customer_id)
                .order_by(Refund.requested_at.desc())
            ).scalars()
        )
