"""Wallet, travel, complaint and ticket conversations over the REST channel, checked in the
replies and in the store: changed exactly as promised, and not at all when the customer says no."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from business.clock import SHANGHAI
from business.store.models import FlightBooking, Ticket, WalletTransaction
from tests.e2e.conversation import Conversation, conversation_to_verify

pytestmark = pytest.mark.e2e

TICKET_ID = re.compile(r"TK\d{11,}")


def business_now(xinghe_now: str) -> datetime:
    """The action server's clock (naive Asia/Shanghai), where the demo data's relative dates hang off."""
    moment = datetime.fromisoformat(xinghe_now)
    return moment.astimezone(SHANGHAI).replace(tzinfo=None) if moment.tzinfo else moment


def ticket_ids(reply: str) -> list:
    return TICKET_ID.findall(reply)


def tickets_of(session, **where) -> list:
    query = select(Ticket).where(*(getattr(Ticket, name) == value for name, value in where.items()))
    return session.execute(query).scalars().all()


# ---- wallet ----------------------------------------------------------------------


def test_balance_points_and_member_level(chat):
    talk = conversation_to_verify(chat, "查一下我的余额", "13800138001", "2817")
    reply = talk.say("我的积分和会员等级")  # verified once per session: answered at once
    for fact in ("1280.50元", "3680分", "36.80元", "金卡会员", "运费险"):
        assert fact in reply


def test_a_frozen_wallet_is_handed_to_a_person_with_one_ticket(chat, store):
    talk = conversation_to_verify(chat, "查余额", "13500135005", "1024")
    with store() as session:
        [ticket] = tickets_of(session, customer_id="C005", category="account_frozen")
        assert (ticket.priority, ticket.status, ticket.conversation_id) == (
            "high",
            "open",  # no wallet agent is online: a call back
            talk.conversation_id,
        )
    again = talk.say("钱包余额多少")
    assert "312.80元" in again and "冻结" in again and ticket.id in again
    assert ticket.id in talk.say("转人工")  # already queued: no second handoff
    with store() as session:
        assert len(tickets_of(session, customer_id="C005")) == 1

    later = Conversation(chat).say(f"工单{ticket.id}处理到哪了")  # a new conversation, no verification
    assert ticket.id in later and "已受理" in later and "账户解冻" in later


def test_recent_top_ups_only(chat):
    talk = conversation_to_verify(chat, "最近一周的充值记录", "13800138001", "2817")
    reply = talk.say("最近一周的充值记录")
    assert "+500.00元" in reply and "银行卡充值" in reply
    assert "-399.00" not in reply and "订单XH2611010001" not in reply


def test_a_long_statement_is_paged(chat, store, xinghe_now):
    now = business_now(xinghe_now)
    with store() as session:
        session.add_all(
            WalletTransaction(
                customer_id="C004",
                occurred_at=now - timedelta(days=day),
                type="消费",
                amount=Decimal(f"-{day}.00"),
                memo=f"测试消费{day}",
            )
            for day in range(1, 8)
        )
    talk = conversation_to_verify(chat, "交易记录", "13600136004", "7702")
    first = chat.say(talk.sender, "交易记录")
    texts = "\n".join(m.get("text", "") for m in first)
    assert "共7笔" in texts and "第1/2页" in texts and "测试消费5" in texts and "测试消费6" not in texts
    [more] = [b for m in first for b in m.get("buttons") or [] if b["title"] == "查看更多"]
    page_two = talk.say(more["payload"])
    assert "第2/2页" in page_two and "测试消费6" in page_two and "测试消费7" in page_two
    assert "测试消费1" not in page_two


# ---- flights ---------------------------------------------------------------------


def test_flight_status_by_number_needs_no_verification(chat):
    reply = Conversation(chat).say("MU5101几点起飞")
    assert "MU5101" in reply and "08:00" in reply and "10:15" in reply and "上海虹桥" in reply
    assert "手机号" not in reply


def test_my_flights_after_verification(chat):
    talk = conversation_to_verify(chat, "查余额", "13800138001", "2817")
    reply = talk.say("我的航班几点起飞")
    assert "K7M2QD" in reply and "上海虹桥→北京首都" in reply


def booking_state(session, ref: str) -> tuple:
    booking = session.get(FlightBooking, ref)
    return booking.flight_no, booking.departs_at, booking.status, booking.fare, booking.cabin


def test_change_declined_then_confirmed(chat, store, xinghe_now):
    new_day = business_now(xinghe_now).date() + timedelta(days=6)  # K7M2QD flies in 5 days
    with store() as session:
        before = booking_state(session, "K7M2QD")
    talk = conversation_to_verify(chat, "查余额", "13800138001", "2817")

    def choose_flight() -> str:
        assert any(title.startswith("K7M2QD") for title in talk.buttons("我要改签"))
        assert "哪一天" in talk.say("K7M2QD")
        assert "MU5103 09:00-11:15" in talk.buttons(new_day.isoformat())
        return talk.say("MU5103")

    confirm = choose_flight()
    assert "MU5101" in confirm and "110.00元" in confirm and "10%" in confirm
    assert "没有改签" in talk.say("不用了")
    with store() as session:
        assert booking_state(session, "K7M2QD") == before
        assert tickets_of(session, booking_ref="K7M2QD") == []

    choose_flight()
    reply = talk.say("确认")
    assert "改签成功" in reply and "MU5103" in reply and "110.00元" in reply
    with store() as session:
        assert booking_state(session, "K7M2QD") == (
            "MU5103",
            datetime.combine(new_day, time(9, 0)),
            "confirmed",
            before[3],
            before[4],
        )
        [record] = tickets_of(session, booking_ref="K7M2QD")
        assert (record.category, record.status, record.customer_id) == ("flight_change", "resolved", "C001")
        assert record.id in reply


def test_someone_elses_booking_reveals_nothing(chat):
    talk = conversation_to_verify(chat, "查余额", "13900139002", "0645")
    reply = talk.say("我要改签P3X9LA")
    assert "没有找到预订 P3X9LA" in reply
    assert "王芳" not in reply and "CA1858" not in reply and "公务舱" not in reply


def test_a_flown_booking_is_neither_refunded_nor_changed(chat, store):
    talk = conversation_to_verify(chat, "我要退票", "13600136004", "7702")
    assert "不能退票" in talk.say("Z8N4TB")
    assert "不能改签" in talk.say("改签Z8N4TB")
    with store() as session:
        assert session.get(FlightBooking, "Z8N4TB").status == "flown"
        assert tickets_of(session, booking_ref="Z8N4TB") == []


def test_a_day_without_flights_on_the_route_is_asked_again(chat, store, xinghe_now):
    day = business_now(xinghe_now).date() + timedelta(days=10)
    with store() as session:  # CZ3101 is the only flight 广州白云→北京大兴
        session.add(
            FlightBooking(
                ref="G5T7YU",
                customer_id="C004",
                passenger="刘洋",
                flight_no="CZ3101",
                origin="广州白云",
                destination="北京大兴",
                cabin="经济舱",
                fare=Decimal("1480.00"),
                departs_at=datetime.combine(day, time(9, 15)),
                status="confirmed",
            )
        )
    talk = conversation_to_verify(chat, "查余额", "13600136004", "7702")
    assert "哪一天" in talk.say("改签G5T7YU")
    reply = talk.say(day.isoformat())
    assert "没有可以改签的航班" in reply and "哪一天" in reply  # asked for another day
    with store() as session:
        assert booking_state(session, "G5T7YU")[:2] == ("CZ3101", datetime.combine(day, time(9, 15)))


def test_of_two_days_in_one_answer_the_one_changed_to_is_offered(chat, xinghe_now):
    tomorrow = business_now(xinghe_now).date() + timedelta(days=1)
    new_day = tomorrow + timedelta(days=5)  # K7M2QD flies in 5 days
    talk = conversation_to_verify(chat, "查余额", "13800138001", "2817")
    assert "哪一天" in talk.say("改签K7M2QD")
    reply = talk.say(f"明天不行，改到{new_day.month}月{new_day.day}号")
    assert f"{new_day.month}月{new_day.day}日" in reply and "可改签的航班" in reply
    assert f"{tomorrow.month}月{tomorrow.day}日" not in reply


def test_a_day_ruled_out_is_not_taken_and_the_one_kept_is(chat, xinghe_now):
    tomorrow = business_now(xinghe_now).date() + timedelta(days=1)
    new_day = tomorrow + timedelta(days=5)  # K7M2QD flies in 5 days
    talk = conversation_to_verify(chat, "查余额", "13800138001", "2817")
    assert "哪一天" in talk.say("改签K7M2QD")
    reply = talk.say("明天不行")
    assert "不行，我们换一天" in reply and "哪一天" in reply and "可改签的航班" not in reply
    reply = talk.say(f"{new_day.month}月{new_day.day}号吧，明天不行")
    assert f"{new_day.month}月{new_day.day}日" in reply and "可改签的航班" in reply


def test_refund_declined_then_confirmed(chat, store):
    talk = conversation_to_verify(chat, "我要退票", "13700137003", "351x")
    confirm = talk.say("P3X9LA")
    for fact in ("3960.00元", "198.00元", "3762.00元", "5%"):
        assert fact in confirm
    assert "没有退票" in talk.say("不用了")
    with store() as session:
        assert session.get(FlightBooking, "P3X9LA").status == "confirmed"
        assert tickets_of(session, booking_ref="P3X9LA") == []

    talk.say("我要退票")
    talk.say("P3X9LA")
    reply = talk.say("确认")
    assert "退票成功" in reply and "3762.00元" in reply
    with store() as session:
        assert session.get(FlightBooking, "P3X9LA").status == "cancelled"
        [record] = tickets_of(session, booking_ref="P3X9LA")
        assert (record.category, record.status) == ("flight_refund", "resolved") and record.id in reply


def test_three_wrong_checks_end_a_flight_change_without_a_question(chat, store):
    talk = Conversation(chat)
    reply = talk.fail_verification("我要改签", "13900139002")
    assert "连续3次" in reply and "预订号" not in reply
    with store() as session:
        assert session.get(FlightBooking, "H5R8WE").status == "confirmed"


# ---- complaints, logistics exceptions and tickets --------------------------------------


def test_a_bare_complaint_asks_what_happened_then_files_a_ticket(chat, store):
    talk = Conversation(chat)
    assert "发生了什么" in talk.say("我要投诉")
    messages = chat.say(talk.sender, "快递员态度恶劣，订单XH2611010001的包裹直接扔在门口")
    reply = "\n".join(m.get("text", "") for m in messages)
    assert "24小时内" in reply and "转人工客服" in [
        b["title"] for m in messages for b in m.get("buttons") or []
    ]
    with store() as session:
        [ticket] = tickets_of(session, conversation_id=talk.conversation_id)
        assert (ticket.category, ticket.priority, ticket.order_id) == ("complaint", "high", "XH2611010001")
        assert ticket.id in reply
    assert "人工客服" in talk.say("转人工")


def test_a_complaint_inside_a_flight_change_files_it_instead_of_asking_on(chat, store):
    talk = conversation_to_verify(chat, "我要改签", "13900139002", "0645")
    reply = talk.say("你们这什么破服务，我要投诉！")
    assert "24小时内" in reply and "哪一天" not in reply and "预订号" not in reply
    with store() as session:
        [ticket] = tickets_of(session, conversation_id=talk.conversation_id)
        assert ticket.category == "complaint" and "破服务" in ticket.summary
        assert session.get(FlightBooking, "H5R8WE").flight_no == "MU5137"


def test_a_stuck_parcel_opens_one_logistics_ticket(chat, store):
    first = Conversation(chat).say("帮我查下订单XH2611080008到哪了")
    again = Conversation(chat).say("XH2611080008")
    [ticket_id] = ticket_ids(first)
    assert "滞留" in first and ticket_ids(again) == [ticket_id]
    with store() as session:
        [ticket] = tickets_of(session, order_id="XH2611080008")
        assert (ticket.id, ticket.category) == (ticket_id, "logistics")


def test_my_open_tickets_in_a_later_conversation(chat, store):
    conversation_to_verify(chat, "查余额", "13500135005", "1024")  # the frozen wallet's ticket
    talk = conversation_to_verify(chat, "我的工单处理到哪了", "13500135005", "1024")
    reply = talk.say("我的工单处理到哪了")
    with store() as session:
        [ticket] = tickets_of(session, customer_id="C005", category="account_frozen")
    assert ticket.id in reply and "处理中的工单" in reply
