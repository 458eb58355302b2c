from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from actions.accounts import ActionAccountLookup, ActionTransactionHistory
from business.store.models import LiveChat, Ticket, WalletTransaction
from tests.actions.conftest import agent_online, make_tracker
from tests.conftest import NOW


def request(text, intent="account_lookup", customer="C001", entities=(), **kwargs):
    """The latest message answers the ID-card question; the request came before it."""
    history = [
        {
            "event": "user",
            "text": text,
            "parse_data": {"intent": {"name": intent}, "entities": list(entities)},
        }
    ]
    return make_tracker(
        "2817", history=history, slots={"verified_customer_id": customer, **kwargs.pop("slots", {})}, **kwargs
    )


def test_balance_points_and_level_with_two_decimals(run):
    result = run(ActionAccountLookup(), request("查余额"))
    assert result.responses == ["utter_account_summary"]
    message = result.message("utter_account_summary")
    assert (message["balance"], message["points"], message["points_value"]) == ("1280.50", 3680, "36.80")
    assert message["level"] == "金卡会员" and "运费险" in message["benefits"]
    assert result.events == []


def test_an_unverified_customer_is_told_nothing(run):
    result = run(ActionAccountLookup(), make_tracker("查余额", intent="account_lookup"))
    assert result.messages == [] and result.events == []


def test_a_frozen_wallet_opens_a_high_priority_ticket_and_queues_for_an_agent(run, session):
    agent_online(session, "A003")  # 赵敏: complaint and wallet
    result = run(ActionAccountLookup(), request("查余额", customer="C005", sender_id="frozen-1"))
    assert result.responses == ["utter_account_summary", "utter_wallet_frozen_queued"]
    ticket = session.execute(select(Ticket)).scalar_one()
    assert (ticket.category, ticket.priority, ticket.status) == ("account_frozen", "high", "queued")
    assert (ticket.customer_id, ticket.conversation_id) == ("C005", "frozen-1")
    assert result.message("utter_wallet_frozen_queued")["ticket_id"] == ticket.id
    assert result.slots() == {"handoff_ticket_id": ticket.id}  # "转人工" now finds the queued ticket
    assert result.message("utter_wallet_frozen_queued")["ahead"] == 0
    assert {"event": "pause", "timestamp": None} in result.events
    chat = session.execute(select(LiveChat)).scalar_one()
    assert (chat.skill_group, chat.priority, chat.reason) == ("wallet", 0, "wallet_frozen")


def test_a_frozen_wallet_with_no_wallet_agent_online_promises_a_call_back_within_two_hours(run, session):
    message = run(ActionAccountLookup(), request("查余额", customer="C005")).message(
        "utter_wallet_frozen_no_agent"
    )
    assert message["callback_at"] == "11月22日 12:00"
    assert session.get(Ticket, message["ticket_id"]).status == "open"


def test_asking_again_finds_the_same_ticket_even_in_a_new_conversation(run, session):
    agent_online(session, "A003")
    first = run(ActionAccountLookup(), request("查余额", customer="C005", sender_id="frozen-1"))
    again = run(ActionAccountLookup(), request("我的积分", customer="C005", sender_id="frozen-2"))
    ticket_id = first.message("utter_wallet_frozen_queued")["ticket_id"]
    known = again.message("utter_wallet_frozen_known")
    assert (known["ticket_id"], known["status_name"]) == (ticket_id, "排队等待人工")
    assert len(session.execute(select(Ticket)).all()) == 1


def test_a_frozen_wallet_after_hours_promises_a_call_back(run, session, monkeypatch):
    monkeypatch.setenv("XINGHE_NOW", "2026-11-22T22:30:00+08:00")
    message = run(ActionAccountLookup(), request("查余额", customer="C005")).message(
        "utter_wallet_frozen_after_hours"
    )
    assert message["callback_at"] == "11月23日 09:00"
    assert session.get(Ticket, message["ticket_id"]).status == "open"


def statement(text, customer="C001", **kwargs):
    return request(text, intent="transaction_history", customer=customer, **kwargs)


def items(result):
    return [
        (m["kind"], m["amount"], m["memo"])
        for m in result.messages
        if m["response"] == "utter_transaction_item"
    ]


def test_the_whole_statement_newest_first_with_signed_amounts(run):
    result = run(ActionTransactionHistory(), statement("最近的交易记录"))
    header = result.message("utter_transactions_header")
    assert (header["total"], header["page"], header["pages"]) == (3, 1, 1)
    assert items(result) == [
        ("消费", "-399.00", "订单XH2611010001"),
        ("充值", "+500.00", "银行卡充值"),
        ("消费", "-178.00", "订单XH2611010002"),
    ]
    assert result.message("utter_transaction_item")["occurred_at"].startswith("11月21日")
    assert "utter_transactions_more" not in result.responses


def test_period_and_kind_from_the_request_before_verification(run):
    result = run(ActionTransactionHistory(), statement("最近一周的充值记录"))
    assert result.message("utter_transactions_header_filtered")["criteria"] == "11月16日-11月22日 充值"
    assert items(result) == [("充值", "+500.00", "银行卡充值")]


def test_a_single_day(run):
    result = run(ActionTransactionHistory(), statement("查一下昨天的消费"))
    assert result.message("utter_transactions_header_filtered")["criteria"] == "11月21日 消费"
    assert items(result) == [("消费", "-399.00", "订单XH2611010001")]


def test_withdrawals_of_a_frozen_wallet_can_be_read(run):
    result = run(ActionTransactionHistory(), statement("提现记录", customer="C005"))
    assert items(result) == [("提现", "-500.00", "提现至尾号6621银行卡（已拦截）")]


def test_nothing_in_the_period_says_so(run):
    result = run(ActionTransactionHistory(), statement("上个月的账单"))
    assert result.responses == ["utter_transactions_none_filtered"]
    assert result.message("utter_transactions_none_filtered")["criteria"] == "10月1日-10月31日"
    assert result.slots() == {"statement_query": None}


def add_transactions(session, customer, count):
    for days in range(1, count + 1):
        session.add(
            WalletTransaction(
                customer_id=customer,
                occurred_at=NOW - timedelta(days=days),
                type="消费",
                amount=Decimal(f"-{days}.00"),
                memo=f"第{days}笔",
            )
        )
    session.commit()


def test_a_long_statement_is_paged_and_more_continues_it(run, session):
    add_transactions(session, "C004", 7)
    first = run(ActionTransactionHistory(), statement("交易记录", customer="C004"))
    assert [memo for _, _, memo in items(first)] == ["第1笔", "第2笔", "第3笔", "第4笔", "第5笔"]
    assert first.message("utter_transactions_more")["remaining"] == 2
    shown = first.slots()["statement_query"]
    assert shown["page"] == 1

    more = statement(
        '/transaction_history{"statement_page": "next"}',
        customer="C004",
        entities=[{"entity": "statement_page", "value": "next"}],
        slots={"statement_query": shown},
    )
    second = run(ActionTransactionHistory(), more)
    header = second.message("utter_transactions_header")
    assert (header["page"], header["pages"]) == (2, 2)
    assert [memo for _, _, memo in items(second)] == ["第6笔", "第7笔"]
    assert "utter_transactions_more" not in second.responses


def test_a_new_request_starts_again_from_the_first_page(run, session):
    add_transactions(session, "C004", 7)
    shown = {"since": None, "until": None, "types": None, "page": 2}
    result = run(
        ActionTransactionHistory(), statement("交易记录", customer="C004", slots={"statement_query": shown})
    )
    assert result.message("utter_transactions_header")["page"] == 1
