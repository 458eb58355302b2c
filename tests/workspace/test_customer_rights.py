"""A supervisor answers a customer's export or deletion request from the workspace; agents cannot."""

from __future__ import annotations

from sqlalchemy import select

from business.services.live_chat import LiveChatService, Routing
from business.store.db import session_scope
from business.store.models import AuditEntry, Customer, LiveChat
from tests.conftest import NOW

MALL = Routing("mall", 2, "asked", "order_status")


def audited(action: str) -> list:
    with session_scope() as session:
        return [
            (e.agent_id, e.subject)
            for e in session.execute(select(AuditEntry).where(AuditEntry.action == action)).scalars()
        ]


async def test_a_supervisor_exports_a_customers_data_as_a_download(workspace):
    chen = await workspace.logged_in("chenjing")
    reply = await chen.get("/api/supervisor/customers/C001/export")
    assert reply.status == 200 and 'filename="customer-C001.json"' in reply.headers["Content-Disposition"]
    document = await reply.json()
    assert document["个人资料"]["name"] == "张伟" and document["订单"]
    assert audited("export_customer") == [("S001", "C001")]


async def test_only_a_supervisor_and_only_with_confirmation_and_a_reason_erases(workspace):
    with session_scope() as session:
        LiveChatService(session).enqueue("webchat:c001", "webchat", MALL, NOW, customer_id="C001")
    wang = await workspace.logged_in("wangfang")
    for reply in (
        await wang.get("/api/supervisor/customers/C001/export"),
        await wang.post("/api/supervisor/customers/C001/erase", {"confirm": "C001", "reason": "客户要求"}),
    ):
        assert reply.status == 403
    chen = await workspace.logged_in("chenjing")
    for body, words in (
        ({"confirm": "C002", "reason": "客户要求"}, "再输入一遍客户编号"),
        ({"confirm": "C001"}, "删除的依据"),
    ):
        refused = await chen.post("/api/supervisor/customers/C001/erase", body)
        assert refused.status == 409 and words in (await refused.json())["error"]
    refused = await chen.post("/api/supervisor/customers/C404/erase", {"confirm": "C404", "reason": "x"})
    assert refused.status == 409 and "没有客户 C404" in (await refused.json())["error"]
    refused = await chen.get("/api/supervisor/customers/C0%2F..%2F1/export")
    assert refused.status in (404, 409)
    with session_scope() as session:
        assert session.get(Customer, "C001").name == "张伟"  # nothing erased yet

    erased = await chen.post(
        "/api/supervisor/customers/C001/erase", {"confirm": "C001", "reason": "客户来电要求删除（工单 TK1）"}
    )
    assert erased.status == 200 and (await erased.json())["live_chats"] == 1
    with session_scope() as session:
        assert session.get(Customer, "C001").name == "已注销用户"
        assert session.execute(select(LiveChat.customer_id)).scalars().all() == [None]
    assert audited("erase_customer") == [("S001", "C001")]
