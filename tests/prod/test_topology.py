"""The production topology (`make run-prod`) under concurrency and faults, against the real
servers: two Rasa instances and two action servers behind HAProxy, PostgreSQL, Redis, RabbitMQ."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from typing import Any, Dict, List, Tuple

import aiohttp
import pytest
import yaml

from tests.connectors.drivers import Served, WeChat, text_xml
from tests.stack import ROOT, Chat, workspace_agent

ORDER = "XH2611010001"  # the demo customer's order, shipped
SERVICE_ERROR = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))["responses"][
    "utter_service_error"
][0]["text"]


@pytest.fixture
async def http():
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=90)) as session:
        yield session


@pytest.fixture
async def instances(prod_stack, http) -> List[str]:
    """Both Rasa instances' own addresses, once both answer (one may be coming back from a kill)."""
    for url in prod_stack.instance_urls:
        assert await answering(http, url, within_s=180), f"{url} does not answer"
    return prod_stack.instance_urls


@pytest.fixture(scope="session")
def chat(prod_stack) -> Chat:
    return Chat(prod_stack.rasa_url, prod_stack.api_token)


async def say(http, base_url: str, sender: str, text: str) -> Tuple[int, List[Dict[str, Any]]]:
    """The HTTP status (0 when the connection broke) and the bot's messages."""
    try:
        async with http.post(
            f"{base_url}/webhooks/rest/webhook", json={"sender": sender, "message": text}
        ) as response:
            return response.status, (await response.json() if response.status == 200 else [])
    except aiohttp.ClientError:
        return 0, []


def texts(messages: List[Dict[str, Any]]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


def turns(chat: Chat, conversation_id: str) -> List[Tuple[str, str]]:
    """The conversation's user messages and actions, in the order they were stored."""
    events = chat.tracker(conversation_id)["events"]
    return [
        (e["event"], e.get("text") or e.get("name") or "") for e in events if e["event"] in ("user", "action")
    ]


def one_turn_at_a_time(steps: List[Tuple[str, str]]) -> bool:
    """Every customer message is answered (up to action_listen) before the next one starts."""
    open_turn = False
    for event, name in steps:
        if event == "user":
            if open_turn:
                return False
            open_turn = True
        elif name == "action_listen":
            open_turn = False
    return True


async def test_a_conversation_goes_on_whichever_instance_gets_each_message(instances, http):
    sender = f"prod-{uuid.uuid4().hex[:8]}"
    first, second = instances
    status, reply = await say(http, first, sender, "查订单")
    assert status == 200 and "订单号" in texts(reply)
    # The other instance knows the question was asked: it was stored in PostgreSQL.
    status, reply = await say(http, second, sender, ORDER)
    assert status == 200 and "已于" in texts(reply) and "发货" in texts(reply)


async def test_twenty_messages_at_once_on_two_instances_are_answered_one_at_a_time(instances, http, chat):
    """Three conversations, each sent twenty messages at once, half to each instance."""
    senders = [f"prod-{uuid.uuid4().hex[:8]}" for _ in range(3)]
    messages = [f"第{n}个问题：运费怎么算" for n in range(20)]
    results = await asyncio.gather(
        *(say(http, instances[n % 2], sender, text) for sender in senders for n, text in enumerate(messages))
    )
    assert [status for status, _ in results] == [200] * 60
    assert all(texts(reply) for _, reply in results)  # every customer got an answer
    for sender in senders:
        steps = turns(chat, Chat.conversation_id(sender))
        assert sorted(text for event, text in steps if event == "user") == sorted(messages)  # none lost
        assert one_turn_at_a_time(steps)


async def test_a_wechat_message_retried_at_both_instances_makes_one_turn(prod_stack, instances, http, chat):
    env = prod_stack.env
    openid = f"oXH_prod_{uuid.uuid4().hex[:8]}"
    wechat = [
        WeChat(
            Served(f"{url}/webhooks/wechat", http),
            token=env["WECHAT_TOKEN"],
            aes_key=env["WECHAT_AES_KEY"],
            app_id=env["WECHAT_APP_ID"],
        )
        for url in instances
    ]
    push = text_xml("运费怎么算", msg_id=str(time.time_ns()), openid=openid)
    (status_a, body_a), (status_b, body_b) = await asyncio.gather(wechat[0].push(push), wechat[1].push(push))
    assert status_a == status_b == 200
    answered = [wechat[n].read(body).content for n, body in enumerate((body_a, body_b)) if body != "success"]
    assert len(answered) == 1 and "运费" in answered[0]  # one instance answers, the other stands down
    users = [text for event, text in turns(chat, openid) if event == "user"]
    assert users == ["运费怎么算"]


async def test_slow_or_missing_action_servers_get_a_polite_reply_and_the_next_turn_works(
    prod_stack, http, chat, action_servers_frozen
):
    sender = f"prod-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    status, reply = await say(http, prod_stack.rasa_url, sender, f"帮我查下订单{ORDER}")
    waited = time.monotonic() - started
    assert status == 200
    assert [m["text"] for m in reply] == [SERVICE_ERROR]  # said once, then the bot listens
    assert waited < 10  # the action timeout is 3 s in this run
    steps = turns(chat, Chat.conversation_id(sender))
    assert ("user", f"帮我查下订单{ORDER}") in steps  # the turn is kept
    for name in ("action server 1", "action server 2"):
        prod_stack.signal(name, signal.SIGCONT)
    await asyncio.sleep(4)  # HAProxy sees them healthy again after two checks a second apart
    status, reply = await say(http, prod_stack.rasa_url, sender, f"帮我查下订单{ORDER}")
    assert status == 200 and "已于" in texts(reply)


async def test_a_rasa_instance_killed_under_load_costs_at_most_the_requests_in_flight(prod_stack, http, chat):
    customers = 8
    failures: List[str] = []
    finished: List[int] = []
    killed = asyncio.Event()

    async def journey(n: int) -> None:
        for round_ in range(6):  # a new customer each round, asking and then answering
            if round_ == 2 and n == 0:
                prod_stack.signal("rasa 1", signal.SIGKILL)
                killed.set()
            sender = f"prod-load-{n}-{round_}-{uuid.uuid4().hex[:6]}"
            status, reply = await say(http, prod_stack.rasa_url, sender, "查订单")
            if status != 200:
                failures.append(f"{sender} 查订单: {status}")
                continue
            status, reply = await say(http, prod_stack.rasa_url, sender, ORDER)
            if status != 200:
                failures.append(f"{sender} {ORDER}: {status}")
            elif "已于" not in texts(reply):  # the question asked on one instance, answered on the other
                failures.append(f"{sender} lost its place: {texts(reply)}")
            await asyncio.sleep(0.2)
        finished.append(n)

    await asyncio.gather(*(journey(n) for n in range(customers)))
    assert killed.is_set()
    # Each customer has at most one request in flight when the instance dies.
    assert len(failures) <= customers, failures
    assert len(finished) == customers
    # The killed instance is started again and answers again.
    assert await answering(http, prod_stack.instance_urls[0], within_s=180)
    assert len(prod_stack.pids("rasa 1")) == 2


async def answering(http, url: str, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            async with http.get(url) as response:
                if response.status == 200:
                    return True
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(1)
    return False


@pytest.fixture
async def agent(prod_stack, http):
    async with workspace_agent(http, prod_stack.workspace_url) as headers:
        yield headers


async def test_what_a_customer_writes_to_an_agent_reaches_the_workspace_through_rabbitmq(
    prod_stack, instances, http, agent
):
    workspace = prod_stack.workspace_url
    sender = f"prod-{uuid.uuid4().hex[:8]}"
    status, reply = await say(http, instances[0], sender, "转人工")
    assert status == 200 and "排队" in texts(reply), texts(reply)
    async with http.post(f"{workspace}/api/queue/accept-next", headers=agent) as accepted:
        chat = await accepted.json()
        assert accepted.status == 200, chat
    status, _ = await say(http, instances[1], sender, "我的快递三天没动了")
    assert status == 200
    lines: List[Tuple[str, str]] = []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and ("customer", "我的快递三天没动了") not in lines:
        await asyncio.sleep(0.3)
        async with http.get(f"{workspace}/api/chats/{chat['id']}", headers=agent) as opened:
            lines = [(m["by"], m["text"]) for m in (await opened.json())["messages"]]
    assert ("customer", "我的快递三天没动了") in lines
    async with http.post(
        f"{workspace}/api/chats/{chat['id']}/close", json={"result": "resolved"}, headers=agent
    ) as closed:
        assert closed.status == 200


async def order_journey(http, url: str, sender: str) -> str:
    """Ask for an order and give its number: '' when it went right, else what went wrong."""
    status, reply = await say(http, url, sender, "查订单")
    if status != 200:
        return f"查订单: HTTP {status}"
    status, reply = await say(http, url, sender, ORDER)
    if status != 200:
        return f"{ORDER}: HTTP {status}"
    return "" if "已于" in texts(reply) else f"{ORDER}: {texts(reply)[:60]}"


async def test_postgresql_restarted_under_load_errors_are_reported_and_service_resumes(
    prod_stack, instances, http, chat
):
    outcomes: List[Tuple[float, str]] = []
    restarted_at: List[float] = []
    stop = asyncio.Event()

    async def customer(n: int) -> None:
        round_ = 0
        while not stop.is_set():
            started = time.monotonic()
            problem = await order_journey(
                http, prod_stack.rasa_url, f"prod-pg-{n}-{round_}-{uuid.uuid4().hex[:6]}"
            )
            outcomes.append((started, problem))
            round_ += 1

    async def restart_postgres() -> None:
        await asyncio.sleep(3)
        await asyncio.to_thread(prod_stack.postgres.restart)
        restarted_at.append(time.monotonic())
        await asyncio.sleep(12)
        stop.set()

    await asyncio.gather(restart_postgres(), *(customer(n) for n in range(4)))
    back = restarted_at[0]
    later = [problem for started, problem in outcomes if started > back + 5]
    assert later and not any(later), later  # the service resumed by itself
    assert all(
        status == 200
        for status, _ in [
            await say(http, url, f"prod-pg-after-{n}", "你好") for n, url in enumerate(instances)
        ]
    )
    # Errors were reported where an operator looks, not hidden.
    logs = "".join(
        prod_stack.logs[name].read_text(encoding="utf-8", errors="replace") for name in ("rasa1", "rasa2")
    )
    assert "OperationalError" in logs or "terminating connection" in logs
    # Nothing is corrupt: every stored conversation reads back whole, turn by turn.
    sender = f"prod-pg-check-{uuid.uuid4().hex[:6]}"
    assert await order_journey(http, prod_stack.rasa_url, sender) == ""
    assert one_turn_at_a_time(turns(chat, Chat.conversation_id(sender)))


async def test_without_redis_turns_are_refused_clearly_and_work_again_when_it_is_back(
    prod_stack, instances, http
):
    sender = f"prod-redis-{uuid.uuid4().hex[:6]}"
    assert (await say(http, prod_stack.rasa_url, sender, "你好"))[0] == 200
    prod_stack.redis.stop()
    try:
        async with http.post(
            f"{prod_stack.rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": "运费怎么算"}
        ) as refused:
            assert refused.status == 500
            assert "系统有点忙" in (await refused.json())["error"]
    finally:
        prod_stack.redis.start()
    status, reply = await say(http, prod_stack.rasa_url, sender, "运费怎么算")
    assert status == 200 and "运费" in texts(reply)


async def test_an_agents_messages_reach_a_web_chat_visitor_whichever_instance_delivers_them(
    prod_stack, instances, http, agent
):
    """The visitor's connection is on one instance; the workspace writes through the balancer, so
    the messages are delivered by both instances, the other one's through Redis."""
    import socketio

    workspace = prod_stack.workspace_url
    heard: List[str] = []
    confirmed = asyncio.Event()
    visitor = socketio.AsyncClient(reconnection=False)
    visitor.on("session_confirm", lambda data: confirmed.set())
    visitor.on("bot_uttered", lambda data: heard.append(data.get("text") or ""))
    await visitor.connect(
        instances[0],
        headers={"Origin": instances[0]},
        transports=["polling"],
        socketio_path="/webchat/socket.io",
    )
    try:
        await visitor.emit("session_request", {})
        await asyncio.wait_for(confirmed.wait(), 10)
        await visitor.emit("user_uttered", {"message": "转人工"})
        deadline = time.monotonic() + 15
        while not any("排队" in line for line in heard) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        async with http.post(f"{workspace}/api/queue/accept-next", headers=agent) as accepted:
            chat = await accepted.json()
            assert accepted.status == 200 and chat["channel"] == "webchat", chat
        said = [f"第{n}条：您好，我在帮您查" for n in range(4)]  # round robin: both instances deliver
        for text in said:
            async with http.post(
                f"{workspace}/api/chats/{chat['id']}/messages", json={"text": text}, headers=agent
            ) as sent:
                assert (await sent.json())["state"] == "sent"
        deadline = time.monotonic() + 10
        while not all(any(text in line for line in heard) for text in said) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert all(any(text in line for line in heard) for text in said), heard
        async with http.post(
            f"{workspace}/api/chats/{chat['id']}/close", json={"result": "resolved"}, headers=agent
        ) as closed:
            assert closed.status == 200
    finally:
        await visitor.disconnect()
