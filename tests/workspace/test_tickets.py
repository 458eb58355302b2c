"""Tickets and canned replies in the workspace: the agents' side of the ticket store."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Optional

from business import sealing
from business.services.callbacks import CallbackNumbers
from business.services.tickets import TicketService
from business.store.db import session_scope
from business.store.models import AuditEntry, Ticket
from tests.conftest import NOW

from .conftest import LiveSignals


def ticket(
    category: str,
    customer_id: Optional[str] = "C001",
    conversation_id: str = "webchat:c001",
    hours_left: int = 4,
) -> str:
    with session_scope() as session:
        opened = TicketService(session).open(
            category,
            "客户说快递三天没动",
            NOW,
            customer_id=customer_id,
            conversation_id=conversation_id,
            context=[{"by": "customer", "text": "我的快递三天没动了", "intent": "order_status", "at": 1.0}],
            sla_due=NOW + timedelta(hours=hours_left),
        )
        return opened.id


async def test_the_worklist_shows_an_agent_their_groups_tickets_most_urgent_first(workspace):
    late = ticket("logistics", hours_left=-1)  # mall, overdue
    soon = ticket("refund", hours_left=2)  # mall
    ticket("flight_change", hours_left=1)  # travel: not 王芳's
    wang = await workspace.logged_in("wangfang")
    listed = (await (await wang.get("/api/tickets")).json())["tickets"]
    assert [(t["id"], t["overdue"]) for t in listed] == [(late, True), (soon, False)]
    assert listed[0]["customer"]["name"] == "张*" and listed[0]["group_name"] == "商城"
    overdue = (await (await wang.get("/api/tickets?overdue=1")).json())["tickets"]
    assert [t["id"] for t in overdue] == [late]
    assert (await (await wang.get("/api/tickets?overdue=1&status=closed")).json())["tickets"] == []
    travel = (await (await wang.get("/api/tickets?group=travel")).json())["tickets"]
    assert travel == []
    chen = await workspace.logged_in("chenjing")
    assert len((await (await chen.get("/api/tickets")).json())["tickets"]) == 3


async def test_a_status_change_keeps_the_history_and_the_owner_hears_the_note(workspace):
    ticket_id = ticket("logistics")
    wang = await workspace.logged_in("wangfang")
    opened = await (await wang.get(f"/api/tickets/{ticket_id}")).json()
    assert opened["context"][0]["text"] == "我的快递三天没动了"
    reply = await wang.post(
        f"/api/tickets/{ticket_id}/status",
        {"status": "in_progress", "note": "已联系快递站，明天派送", "for_customer": True},
    )
    updated = await reply.json()
    assert updated["status_name"] == "处理中"
    assert [e["note"] for e in updated["events"]][-1] == "已联系快递站，明天派送"
    with session_scope() as session:
        stored = session.get(Ticket, ticket_id)
        assert TicketService.latest_note_for_customer(stored) == "已联系快递站，明天派送"
        assert stored.events[-1].agent_id == "A001"
        assert session.query(AuditEntry).filter_by(action="view_ticket", subject=ticket_id).count() == 1
    for body, words in [
        ({"status": "queued", "note": "x"}, "工单状态"),
        ({"status": "resolved", "note": "  "}, "处理说明"),
    ]:
        refused = await wang.post(f"/api/tickets/{ticket_id}/status", body)
        assert refused.status == 409 and words in (await refused.json())["error"]


async def test_agents_assign_tickets_to_themselves_and_supervisors_to_anyone(workspace):
    ticket_id = ticket("refund")
    wang = await workspace.logged_in("wangfang")
    refused = await wang.post(f"/api/tickets/{ticket_id}/assign", {"agent_id": "A002"})
    assert refused.status == 409 and "找班长" in (await refused.json())["error"]
    mine = await (await wang.post(f"/api/tickets/{ticket_id}/assign", {"agent_id": "A001"})).json()
    assert mine["assignee_id"] == "A001" and mine["events"][-1]["note"] == "分配给王芳"
    assert [t["id"] for t in (await (await wang.get("/api/tickets?mine=1")).json())["tickets"]] == [ticket_id]
    chen = await workspace.logged_in("chenjing")
    moved = await (await chen.post(f"/api/tickets/{ticket_id}/assign", {"agent_id": "A002"})).json()
    assert moved["assignee_id"] == "A002"
    taken = await wang.post(f"/api/tickets/{ticket_id}/assign", {"agent_id": ""})
    assert taken.status == 409 and "已分给别的坐席" in (await taken.json())["error"]


async def test_a_reply_on_a_ticket_reaches_the_customers_conversation(workspace):
    ticket_id = ticket("logistics", conversation_id="webchat:c001")
    wang = await workspace.logged_in("wangfang")
    updated = await (await wang.post(f"/api/tickets/{ticket_id}/reply", {"text": "快递明天上午送到"})).json()
    assert updated["events"][-1]["note"] == "快递明天上午送到" and updated["events"][-1]["for_customer"]
    [said] = workspace.rasa.appended("webchat:c001")
    assert (said["text"], said["metadata"]["agent_name"]) == ("快递明天上午送到", "王芳")
    no_conversation = ticket("refund", conversation_id=None)
    refused = await wang.post(f"/api/tickets/{no_conversation}/reply", {"text": "您好"})
    assert refused.status == 409 and "电话联系" in (await refused.json())["error"]


async def test_another_groups_ticket_is_out_of_reach(workspace):
    ticket_id = ticket("flight_refund")
    wang = await workspace.logged_in("wangfang")
    for reply in (
        await wang.get(f"/api/tickets/{ticket_id}"),
        await wang.post(f"/api/tickets/{ticket_id}/status", {"status": "closed", "note": "x"}),
        await wang.post(f"/api/tickets/{ticket_id}/reply", {"text": "x"}),
        await wang.post(f"/api/tickets/{ticket_id}/reveal-phone"),
    ):
        assert reply.status == 409 and "无权查看" in (await reply.json())["error"]


async def test_agents_use_canned_replies_and_only_supervisors_edit_them(workspace):
    wang = await workspace.logged_in("wangfang")
    titles = [c["title"] for c in (await (await wang.get("/api/canned")).json())["canned"]]
    assert "问候" in titles and "退货说明" in titles and "改签说明" not in titles  # mall and wallet only
    refused = await wang.post("/api/canned", {"title": "x", "text": "y"})
    assert refused.status == 403
    chen = await workspace.logged_in("chenjing")
    added = await (
        await chen.post("/api/canned", {"title": "催件", "text": "已帮您催促快递", "skill_group": "mall"})
    ).json()
    assert added["group_name"] == "商城"
    changed = await chen.http.put(
        f"{workspace.base_url}/api/canned/{added['id']}",
        json={"title": "催件", "text": "已帮您联系快递加急派送", "skill_group": "mall"},
        headers=chen.headers(),
    )
    assert (await changed.json())["text"] == "已帮您联系快递加急派送"
    bad = await chen.post("/api/canned", {"title": "", "text": "y"})
    assert bad.status == 409 and "不能为空" in (await bad.json())["error"]
    deleted = await chen.http.delete(f"{workspace.base_url}/api/canned/{added['id']}", headers=chen.headers())
    assert deleted.status == 200
    assert "催件" not in [c["title"] for c in (await (await wang.get("/api/canned")).json())["canned"]]


async def test_agents_see_their_colleagues_for_a_transfer(workspace):
    wang = await workspace.logged_in("wangfang")
    await workspace.logged_in("liqiang")
    colleagues = {a["name"]: a["status"] for a in (await (await wang.get("/api/agents")).json())["agents"]}
    assert colleagues == {"王芳": "online", "李强": "online", "赵敏": "offline", "陈静": "offline"}


async def test_a_wechat_customer_silent_for_over_48_hours_cannot_be_written_to(workspace):
    stale = ticket("logistics", conversation_id="oWeChatOpenid")
    fresh = ticket("refund", conversation_id="oWeChatOpenid2")
    workspace.rasa.events["oWeChatOpenid"] = [
        {"event": "user", "text": "快递呢", "input_channel": "wechat", "timestamp": time.time() - 49 * 3600}
    ]
    workspace.rasa.events["oWeChatOpenid2"] = [
        {"event": "user", "text": "退款呢", "input_channel": "wechat", "timestamp": time.time() - 3600}
    ]
    wang = await workspace.logged_in("wangfang")
    refused = await wang.post(f"/api/tickets/{stale}/reply", {"text": "快递明天到"})
    assert refused.status == 409 and "48小时" in (await refused.json())["error"]
    assert workspace.rasa.appended("oWeChatOpenid") == []
    assert (await wang.post(f"/api/tickets/{fresh}/reply", {"text": "退款已到账"})).status == 200


async def test_a_colleagues_change_to_a_ticket_reaches_the_agents_who_may_work_it_at_once(workspace):
    ticket_id = ticket("logistics")  # 商城: 王芳 and 李强 work it, 赵敏 (投诉, 钱包) does not
    wang = await workspace.logged_in("wangfang")
    li = await workspace.logged_in("liqiang")
    zhao = await workspace.logged_in("zhaomin")
    colleague = await LiveSignals.connect(workspace.base_url, li.cookie)
    outsider = await LiveSignals.connect(workspace.base_url, zhao.cookie)
    try:
        changed = await wang.post(
            f"/api/tickets/{ticket_id}/status", {"status": "in_progress", "note": "已联系快递站"}
        )
        assert changed.status == 200
        assert await colleague.wait_for("ticket_changed") == [{"id": ticket_id, "by": "A001"}]
        assert await outsider.wait_for("ticket_changed", timeout=0.5) == []
    finally:
        await colleague.close()
        await outsider.close()


def reveals() -> list:
    with session_scope() as session:
        return [
            (e.agent_id, e.subject, e.detail)
            for e in session.query(AuditEntry).filter_by(action="reveal_phone").order_by(AuditEntry.id)
        ]


async def test_a_call_back_number_shows_masked_and_each_reveal_is_audited(workspace, monkeypatch):
    monkeypatch.setenv(sealing.KEY_ENV, "cd" * 32)
    callback = ticket("handoff", customer_id=None, conversation_id="CA-call-1")
    with session_scope() as session:
        CallbackNumbers(session).keep(callback, "+8613911112222", NOW)
    wang = await workspace.logged_in("wangfang")
    shown = await (await wang.get(f"/api/tickets/{callback}")).json()
    assert shown["phone"] == "139****2222" and "13911112222" not in json.dumps(shown)
    assert reveals() == []  # opening the ticket reveals nothing
    revealed = await wang.post(f"/api/tickets/{callback}/reveal-phone")
    assert revealed.status == 200 and await revealed.json() == {"phone": "+8613911112222"}
    assert reveals() == [("A001", callback, "callback")]

    # A verified customer's ticket: their own number, the same way.
    own = ticket("logistics", customer_id="C001")
    assert (await (await wang.get(f"/api/tickets/{own}")).json())["phone"] == "138****8001"
    assert await (await wang.post(f"/api/tickets/{own}/reveal-phone")).json() == {"phone": "13800138001"}
    assert reveals()[-1] == ("A001", own, "customer C001")


async def test_a_number_that_cannot_be_opened_is_refused_in_chinese_and_not_audited(workspace, monkeypatch):
    monkeypatch.delenv(sealing.KEY_ENV, raising=False)
    callback = ticket("handoff", customer_id=None, conversation_id="CA-call-2")
    with session_scope() as session:
        CallbackNumbers(session).keep(callback, "+8613911112222", NOW)  # no key: masked form only
    nothing = ticket("logistics", customer_id=None)
    wang = await workspace.logged_in("wangfang")
    refused = await wang.post(f"/api/tickets/{callback}/reveal-phone")
    assert refused.status == 409 and "只保存了打码后的信息" in (await refused.json())["error"]
    refused = await wang.post(f"/api/tickets/{nothing}/reveal-phone")
    assert refused.status == 409 and (await refused.json())["error"] == "没有可以显示的号码"
    assert reveals() == []
