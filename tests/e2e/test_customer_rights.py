"""A deletion request end to end: a customer talks to the running assistant, a supervisor exports
what is held about them from the workspace and then erases it; afterwards Rasa itself has nothing
of the conversation, the event broker's stream neither, and the counts stay."""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal

import pytest
import requests
from sqlalchemy import func, select

from business.store.models import Customer, Ticket
from tests.e2e.conversation import conversation_to_verify

PHONE, ID_TAIL = "13312345678", "4321"


@pytest.fixture
def new_customer(store):
    """A customer of this test's own (the demo customers serve the other tests)."""
    with store() as session:
        session.add(
            Customer(
                id="C900",
                name="孙悦",
                phone=PHONE,
                id_card_last4=ID_TAIL,
                member_level="普通会员",
                points=10,
                wallet_balance=Decimal("88.00"),
            )
        )
    return "C900"


def supervisor(workspace_url: str) -> requests.Session:
    browser = requests.Session()
    browser.headers["Origin"] = workspace_url
    login = browser.post(
        f"{workspace_url}/api/login", json={"login": "chenjing", "password": "xinghe-demo"}, timeout=30
    )
    assert login.status_code == 200
    browser.headers["X-CSRF-Token"] = login.json()["csrf_token"]
    browser.headers["Cookie"] = f"xh_workspace={login.cookies['xh_workspace']}"  # the jar skips "localhost"
    return browser


def test_a_supervisor_exports_then_erases_a_customers_conversations(
    e2e_stack, chat, store, workspace_url, new_customer
):
    talk = conversation_to_verify(chat, "查余额", PHONE, ID_TAIL)
    assert "88.00" in talk.say("查余额")
    talk.say("转人工")  # nobody online: a call-back ticket with the conversation in it
    with store() as session:
        tickets_before = session.scalar(select(func.count()).select_from(Ticket))

    chen = supervisor(workspace_url)
    reply = chen.get(f"{workspace_url}/api/supervisor/customers/{new_customer}/export", timeout=60)
    assert reply.status_code == 200, reply.text
    exported = reply.json()
    said = [line["text"] for line in exported["对话"][talk.conversation_id]]
    assert "查余额" in said and "133****5678" in " ".join(said)  # as stored: masked

    erased = chen.post(
        f"{workspace_url}/api/supervisor/customers/{new_customer}/erase",
        json={"confirm": new_customer, "reason": "客户来电要求删除"},
        timeout=60,
    )
    assert erased.status_code == 200 and talk.conversation_id in erased.json()["conversations"]

    # Rasa reads the conversation from its tracker store: nothing the customer said is left.
    tracker = json.dumps(chat.tracker(talk.conversation_id), ensure_ascii=False)
    assert "查余额" not in tracker and "133****5678" not in tracker and "88.00" not in tracker
    with sqlite3.connect(e2e_stack.run_dir / "events.db") as broker:
        assert broker.execute(
            "SELECT count(*) FROM events WHERE sender_id = ?", (talk.conversation_id,)
        ).fetchone() == (0,)
    with store() as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == tickets_before  # the counts stay
        assert session.get(Customer, new_customer).phone != PHONE
    # A new message starts afresh: the assistant no longer knows them.
    assert "手机号" in talk.say("查余额")
