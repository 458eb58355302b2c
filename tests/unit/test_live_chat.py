"""Agents, routing and the live-chat queue, on the real store (SQLite; PostgreSQL where noted)."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest

from business.services.agents import AgentDirectory, AgentError, NewAgent
from business.services.live_chat import (
    DEFAULT_HANDLE_TIME,
    HandoffFacts,
    LiveChatService,
    Routing,
    route,
)
from business.services.tickets import TicketService
from business.store.db import engine_for, session_scope
from business.store.models import Agent, Base, LiveChat
from tests.conftest import NOW
from tests.servers import postgres_url  # noqa: F401 (fixture)

DEMO_PASSWORD = "xinghe-demo"
MALL = Routing("mall", 2, "asked", "order_status")


def online(session, *agent_ids, at=NOW):
    directory = AgentDirectory(session)
    agents = [directory.find(agent_id) for agent_id in agent_ids]
    for agent in agents:
        directory.set_status(agent, "online", at)
    return agents if len(agents) > 1 else agents[0]


def queue(session, conversation_id, routing=MALL, at=NOW):
    return LiveChatService(session).enqueue(conversation_id, "webchat", routing, at)


# ---- routing ----


@pytest.mark.parametrize(
    "facts, group, priority, reason",
    [
        (HandoffFacts("complaint", ["order_status", "complain"], False), "complaint", 0, "complaint"),
        (HandoffFacts("account_frozen", ["account_lookup"], True), "wallet", 0, "wallet_frozen"),
        (HandoffFacts("handoff", ["change_flight", "request_human"], True), "travel", 1, "asked"),
        (HandoffFacts("handoff", ["greet", "request_human"], False), "mall", 2, "asked"),
        (
            HandoffFacts(
                "handoff", ["transaction_history", "nlu_fallback", "out_of_scope", "request_human"], False
            ),
            "wallet",
            2,
            "not_understood",
        ),
    ],
)
def test_a_handoff_goes_to_the_group_that_knows_what_the_customer_wanted(facts, group, priority, reason):
    routing = route(facts)
    assert (routing.skill_group, routing.priority, routing.reason) == (group, priority, reason)


# ---- agents ----


def test_a_demo_agent_logs_in_with_the_readme_password_and_nobody_with_a_wrong_one(session):
    directory = AgentDirectory(session)
    agent = directory.authenticate("wangfang", DEMO_PASSWORD)
    assert agent is not None and agent.name == "王芳" and agent.skill_groups == ["mall", "wallet"]
    assert agent.password_hash.startswith("$argon2id$") and DEMO_PASSWORD not in agent.password_hash
    assert directory.authenticate("wangfang", "xinghe-dem0") is None
    assert directory.authenticate("nobody", DEMO_PASSWORD) is None
    assert directory.authenticate("wangfang", "") is None


def test_a_new_agent_gets_a_salted_hash_and_the_rules_refuse_nonsense(session):
    directory = AgentDirectory(session)
    one = directory.add(NewAgent("A101", "zhou", "周一", "s3cret-pass", "agent", ["travel"]))
    two = directory.add(NewAgent("A102", "wu", "吴二", "s3cret-pass", "agent", ["travel"]))
    assert one.password_hash != two.password_hash
    assert directory.authenticate("zhou", "s3cret-pass").id == "A101"
    with pytest.raises(AgentError, match="技能组"):
        directory.add(NewAgent("A103", "x", "某", "pw", "agent", ["hotel"]))
    with pytest.raises(AgentError, match="角色"):
        directory.add(NewAgent("A104", "y", "某", "pw", "admin", ["mall"]))


def test_an_agent_who_went_quiet_is_not_counted_online(session):
    agent = online(session, "A001")
    directory = AgentDirectory(session)
    assert [a.id for a in directory.online_in("mall", NOW + timedelta(minutes=1))] == ["A001"]
    assert directory.online_in("mall", NOW + timedelta(minutes=3)) == []
    directory.seen(agent, NOW + timedelta(minutes=3))
    assert [a.id for a in directory.online_in("wallet", NOW + timedelta(minutes=4))] == ["A001"]
    assert directory.online_in("travel", NOW) == []


# ---- the queue ----


def test_complaints_first_then_verified_customers_then_first_come_first_served(session):
    online(session, "A001")
    plain = queue(session, "web:plain", Routing("mall", 2, "asked", None), NOW)
    verified = queue(session, "web:verified", Routing("mall", 1, "asked", None), NOW + timedelta(seconds=5))
    later = queue(session, "web:later", Routing("mall", 2, "asked", None), NOW + timedelta(seconds=9))
    service = LiveChatService(session)
    assert [service.position(p.chat) for p in (verified, plain, later)] == [1, 2, 3]
    assert [c.conversation_id for c in service.waiting(["mall"])] == [
        "web:verified",
        "web:plain",
        "web:later",
    ]
    # Another group's queue is its own.
    complaint = queue(
        session, "web:angry", Routing("complaint", 0, "complaint", "complain"), NOW + timedelta(minutes=1)
    )
    assert complaint.position == 1 and service.position(plain.chat) == 2


def test_asking_again_while_waiting_keeps_the_place(session):
    online(session, "A001")
    first = queue(session, "web:x")
    queue(session, "web:y")
    again = queue(session, "web:x", at=NOW + timedelta(minutes=1))
    assert again.chat.id == first.chat.id and again.position == 1


def test_the_wait_estimate_follows_free_places_and_the_groups_handle_time(session):
    agent = online(session, "A001")  # 3 places
    service = LiveChatService(session)
    places = [queue(session, f"web:{n}") for n in range(5)]
    assert [p.wait_minutes for p in places] == [
        1,
        1,
        1,
        2,
        3,
    ]  # 3 free; then 4 min x 1/3 and 2/3 … rounded up
    for place in places[:3]:
        assert service.accept(place.chat.id, agent, NOW)
    # Three closed chats that took 10 minutes each make the group's handle time 10 minutes.
    for place in places[:3]:
        service.close(place.chat.id, agent, "resolved", NOW + timedelta(minutes=10))
    assert service.handle_time("mall") == timedelta(minutes=10)
    later = NOW + timedelta(minutes=10)
    AgentDirectory(session).seen(agent, later)
    for n in range(3):
        queue(session, f"web:new{n}", at=later)
    for _ in range(3):  # web:3 and web:4 first, then the first newcomer
        service.accept_next(agent, later)
    waiting = service.waiting(["mall"])
    assert [c.conversation_id for c in waiting] == ["web:new1", "web:new2"]
    # No free place: the first waits 10 min x 1/3, the second 10 x 2/3, rounded up.
    assert [service.place(c, later).wait_minutes for c in waiting] == [4, 7]
    # The whole queue at once says the same.
    assert [
        (p.chat.conversation_id, p.position, p.wait_minutes)
        for p in service.places(["mall", "travel"], later)
    ] == [
        ("web:new1", 1, 4),
        ("web:new2", 2, 7),
    ]


def test_with_nobody_online_any_more_the_estimate_is_a_whole_handle_time_per_customer_ahead(session):
    online(session, "A001")
    places = [queue(session, f"web:{n}") for n in range(2)]
    service = LiveChatService(session)
    gone = NOW + timedelta(minutes=5)
    assert [service.place(p.chat, gone).wait_minutes for p in places] == [4, 8]
    assert DEFAULT_HANDLE_TIME == timedelta(minutes=4)


def test_exactly_one_of_two_agents_gets_a_customer(session):
    wang, chen = online(session, "A001", "S001")
    chat = queue(session, "web:x").chat
    service = LiveChatService(session)
    assert service.accept(chat.id, wang, NOW) is True
    assert service.accept(chat.id, chen, NOW) is False
    assert (chat.status, chat.agent_id) == ("active", "A001")


def test_an_agent_takes_only_their_groups_and_no_more_than_their_limit(session):
    wang, li = online(session, "A001", "A002")
    service = LiveChatService(session)
    travel = queue(session, "web:t", Routing("travel", 2, "asked", "change_flight")).chat
    with pytest.raises(AgentError, match="不在您的技能组"):
        service.accept(travel.id, wang, NOW)
    chats = [queue(session, f"web:{n}").chat for n in range(4)]
    for chat in chats[:3]:
        assert service.accept(chat.id, wang, NOW)
    with pytest.raises(AgentError, match="已满（3位）"):
        service.accept(chats[3].id, wang, NOW)
    # 李强 (travel, mall) is served in priority and arrival order across both groups.
    assert service.accept_next(li, NOW).conversation_id == "web:t"
    assert service.may_see(li, chats[3]) and not service.may_see(li, chats[0])


def test_transfer_to_a_group_keeps_the_place_and_to_an_offline_colleague_is_refused(session):
    wang, li = online(session, "A001", "A002")
    service = LiveChatService(session)
    chat = queue(session, "web:x").chat
    queue(session, "web:later", Routing("travel", 2, "asked", None), NOW + timedelta(seconds=10))
    service.accept(chat.id, wang, NOW)
    zhao = AgentDirectory(session).find("A003")
    with pytest.raises(AgentError, match="不在线"):
        service.transfer(chat.id, wang, NOW, to_agent=zhao)
    service.transfer(
        chat.id, wang, NOW + timedelta(seconds=30), to_group="travel", note="要改签，请旅行组处理"
    )
    assert (chat.status, chat.agent_id, chat.skill_group) == ("waiting", None, "travel")
    assert service.position(chat) == 1  # it queued before web:later
    assert "要改签" in chat.events[-1].detail
    assert service.accept(chat.id, li, NOW + timedelta(seconds=40))
    service.transfer(chat.id, li, NOW + timedelta(seconds=50), to_agent=wang, note="客户想问钱包")
    assert (chat.status, chat.agent_id) == ("active", "A001")


def test_closing_records_the_result_on_the_ticket_and_only_the_agent_may_close(session):
    wang, li = online(session, "A001", "A002")
    tickets = TicketService(session)
    ticket = tickets.open("handoff", "客户请求人工服务", NOW, customer_id="C001", status="queued")
    service = LiveChatService(session)
    chat = service.enqueue("web:c001", "webchat", MALL, NOW, customer_id="C001", ticket=ticket).chat
    service.accept(chat.id, wang, NOW)
    assert ticket.status == "in_progress"
    with pytest.raises(AgentError, match="不是由您接待"):
        service.close(chat.id, li, "resolved", NOW)
    with pytest.raises(AgentError, match="处理结果"):
        service.close(chat.id, wang, "done", NOW)
    service.close(chat.id, wang, "ticket", NOW + timedelta(minutes=5), note="需要仓库核实")
    assert (chat.status, chat.result, ticket.status) == ("closed", "ticket", "open")
    assert "需要仓库核实" in ticket.events[-1].note
    with pytest.raises(AgentError, match="已经结束"):
        service.close(chat.id, wang, "resolved", NOW)
    service.rate(chat.id, 5)
    assert chat.rating == 5
    with pytest.raises(AgentError):
        service.rate(chat.id, 6)


def test_the_customer_can_leave_the_queue_and_the_agent(session):
    wang = online(session, "A001")
    service = LiveChatService(session)
    queue(session, "web:x")
    assert service.cancel("web:x", NOW).status == "cancelled"
    assert service.open_chat("web:x") is None and service.cancel("web:x", NOW) is None
    chat = queue(session, "web:x").chat
    service.accept(chat.id, wang, NOW)
    assert service.cancel("web:x", NOW).events[-1].detail == "客户结束人工对话"


def test_a_customer_nobody_accepts_in_time_is_escalated_once(session):
    online(session, "A001", "A003")
    service = LiveChatService(session)
    complaint = queue(session, "web:angry", Routing("complaint", 0, "complaint", "complain")).chat
    mall = queue(session, "web:mall").chat
    assert service.overdue(NOW + timedelta(seconds=59)) == []
    assert service.overdue(NOW + timedelta(seconds=61)) == [complaint]
    assert service.overdue(NOW + timedelta(seconds=121)) == [mall]
    assert service.overdue(NOW + timedelta(minutes=10)) == []


def test_a_silent_customer_prompts_the_agent_once_then_the_chat_closes(session):
    wang = online(session, "A001")
    service = LiveChatService(session)
    chat = queue(session, "web:x").chat
    service.accept(chat.id, wang, NOW)
    service.customer_wrote("web:x", NOW + timedelta(minutes=1))
    prompt, close = timedelta(minutes=3), timedelta(minutes=6)
    assert service.silent(NOW + timedelta(minutes=3), prompt, close) == ([], [])
    assert service.silent(NOW + timedelta(minutes=4), prompt, close) == ([chat], [])
    assert service.silent(NOW + timedelta(minutes=5), prompt, close) == ([], [])
    assert service.silent(NOW + timedelta(minutes=7), prompt, close) == ([], [chat])
    assert (chat.status, chat.result) == ("closed", "unresolved")


# ---- many agents at once, on SQLite and PostgreSQL ----


def accept_storm(url: str, agents: int = 20, customers: int = 200) -> Counter:
    engine = engine_for(url)
    with session_scope(engine) as session:
        directory = AgentDirectory(session)
        for n in range(agents):
            agent = directory.add(NewAgent(f"T{n:03d}", f"t{n}", f"坐席{n}", "pw", "agent", ["mall"], 10))
            directory.set_status(agent, "online", NOW)
        for n in range(customers):
            LiveChatService(session).enqueue(f"web:{n}", "webchat", MALL, NOW + timedelta(milliseconds=n))
    start = threading.Barrier(agents)
    failures = []

    def work(agent_id: str) -> None:
        start.wait()
        try:
            while True:
                with session_scope(engine) as session:
                    agent = session.get(Agent, agent_id)
                    service = LiveChatService(session)
                    if len(service.active_for(agent_id)) >= agent.max_concurrent:
                        return
                    if service.accept_next(agent, NOW) is None:
                        return
        except Exception as error:  # noqa: BLE001 - reported below
            failures.append(repr(error))

    threads = [threading.Thread(target=work, args=(f"T{n:03d}",)) for n in range(agents)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with session_scope(engine) as session:
        chats = session.query(LiveChat).all()
        assert len(chats) == customers
        assert all(chat.status == "active" and chat.agent_id for chat in chats)
        accepted = Counter(
            event.chat_id for chat in chats for event in chat.events if event.kind == "accepted"
        )
        assert set(accepted.values()) == {1}
        return Counter(chat.agent_id for chat in chats)


def test_twenty_agents_accepting_two_hundred_customers_at_once_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'storm.db'}"
    Base.metadata.create_all(engine_for(url))
    per_agent = accept_storm(url)
    assert sum(per_agent.values()) == 200 and max(per_agent.values()) <= 10


def test_twenty_agents_accepting_two_hundred_customers_at_once_on_postgresql(postgres_url):  # noqa: F811
    Base.metadata.create_all(engine_for(postgres_url))
    per_agent = accept_storm(postgres_url)
    assert sum(per_agent.values()) == 200 and max(per_agent.values()) <= 10
