"""The customer 360 shows what the agent needs, masked as in the bot's answers."""

from __future__ import annotations

import json

from assist.customer import customer_360
from business.services.live_chat import LiveChatService, Routing
from business.store.models import Agent, Customer
from tests.conftest import NOW


def test_the_360_of_a_verified_customer_is_complete_and_masked(session):
    customer = session.get(Customer, "C001")
    service = LiveChatService(session)
    chat = service.enqueue(
        "webchat:earlier", "webchat", Routing("mall", 1, "asked", None), NOW, customer_id="C001"
    ).chat
    service.accept(chat.id, session.get(Agent, "A001"), NOW)
    service.close(chat.id, session.get(Agent, "A001"), "resolved", NOW)
    service.rate(chat.id, 4)
    view = customer_360(session, "C001", conversation_id="webchat:now")

    assert view["profile"]["name"] == customer.name[0] + "*" * (len(customer.name) - 1)
    assert view["profile"]["phone"] == customer.phone[:3] + "****" + customer.phone[-4:]
    assert [o["id"] for o in view["orders"]] and all(o["status_name"] for o in view["orders"])
    assert view["earlier_chats"] == [
        {"closed": "11月22日 10:00", "agent": "王芳", "result": "已解决", "rating": 4}
    ]
    shown = json.dumps(view, ensure_ascii=False)
    assert customer.phone not in shown and customer.name not in shown  # nothing in clear
    # The conversation on screen is not an "earlier" one.
    assert customer_360(session, "C001", conversation_id="webchat:earlier")["earlier_chats"] == []
