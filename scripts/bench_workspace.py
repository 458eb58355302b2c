"""How fast an agent's message reaches a web chat customer, under load: `make bench`.

Starts the product the way `make run` does (scripts/run.sh on free ports, its own database), adds
AGENTS agents and CUSTOMERS web chat customers (real Socket.IO clients, each of which has said
something to the bot so the conversation's channel is the web chat), gives every agent an equal
share of the customers as accepted live chats, then lets every agent write to their customers for
SECONDS seconds, one message every 1–3 s (like a person typing to several customers at once).
A delivery is timed from the agent's POST to the workspace until the customer's browser
connection receives the message. Prints p50/p95/p99 and whether p95 ≤ 300 ms.

    .venv/bin/python scripts/bench_workspace.py [--agents 50] [--customers 500] [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Dict, List, Tuple

import aiohttp
import socketio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from business import clock  # noqa: E402
from business.services.agents import AgentDirectory, NewAgent  # noqa: E402
from business.services.live_chat import LiveChatService, Routing  # noqa: E402
from business.store.db import engine_for, session_scope  # noqa: E402
from tests.stack import E2EStack, default_now, find_model  # noqa: E402

TARGET_P95_MS = 300.0
PASSWORD = "bench-password"
ARRIVED: Dict[str, float] = {}
ANSWERED: List[float] = []  # how long the workspace took to answer each POST (ms)


async def customer(rasa_url: str) -> Tuple[socketio.AsyncClient, str]:
    """A web chat visitor who has greeted the bot; their conversation id."""
    client = socketio.AsyncClient(reconnection=False)
    confirmed: asyncio.Future = asyncio.get_running_loop().create_future()
    answered = asyncio.Event()

    @client.on("session_confirm")
    async def on_confirm(data: Dict) -> None:
        if not confirmed.done():
            confirmed.set_result(data["conversation_id"])

    @client.on("bot_uttered")
    async def on_message(data: Dict) -> None:
        if data.get("role") == "agent":
            ARRIVED.setdefault(data.get("text", ""), time.perf_counter())
        else:
            answered.set()

    for attempt in range(3):  # fifty browsers arriving at once: one may need to knock again
        try:
            await client.connect(
                rasa_url,
                headers={"Origin": rasa_url},
                transports=["polling"],
                socketio_path="/webchat/socket.io",
            )
            break
        except socketio.exceptions.ConnectionError:
            if attempt == 2:
                raise
            await asyncio.sleep(1)
    await client.emit("session_request", {})
    conversation_id = await asyncio.wait_for(confirmed, 30)
    await client.emit("user_uttered", {"message": "你好"})
    await asyncio.wait_for(answered.wait(), 120)
    return client, conversation_id


def staff(database_url: str, agents: int, conversations: List[str]) -> Dict[str, List[int]]:
    """Agents B000… (商城), each with an equal share of the customers as accepted live chats."""
    engine = engine_for(database_url)
    share = -(-len(conversations) // agents)
    chats: Dict[str, List[int]] = {}
    with session_scope(engine) as session:
        directory, service = AgentDirectory(session), LiveChatService(session)
        now = clock.now()
        for n in range(agents):
            agent = directory.add(
                NewAgent(f"B{n:03d}", f"bench{n}", f"坐席{n}", PASSWORD, "agent", ["mall"], share)
            )
            directory.set_status(agent, "online", now)
            chats[agent.login] = []
            for conversation_id in conversations[n * share : (n + 1) * share]:
                chat = service.enqueue(
                    conversation_id, "webchat", Routing("mall", 2, "asked", None), now
                ).chat
                assert service.accept(chat.id, agent, now)
                chats[agent.login].append(chat.id)
    return chats


async def agent_at_work(
    http: aiohttp.ClientSession, workspace_url: str, login: str, chats: List[int], until: float
) -> List[Tuple[str, float]]:
    async with http.post(
        f"{workspace_url}/api/login",
        json={"login": login, "password": PASSWORD},
        headers={"Origin": workspace_url},
    ) as reply:
        assert reply.status == 200, await reply.text()
        headers = {
            "Origin": workspace_url,
            "X-CSRF-Token": (await reply.json())["csrf_token"],
            "Cookie": f"xh_workspace={reply.cookies['xh_workspace'].value}",
        }
    sent: List[Tuple[str, float]] = []
    n = 0
    await asyncio.sleep(random.uniform(0, 2))
    while time.perf_counter() < until:
        chat_id = chats[n % len(chats)]
        text = f"{login}-{n}：您好，这是第{n}条回复"
        started = time.perf_counter()
        async with http.post(
            f"{workspace_url}/api/chats/{chat_id}/messages", json={"text": text}, headers=headers
        ) as reply:
            if reply.status == 200 and (await reply.json())["state"] == "sent":
                sent.append((text, started))
                ANSWERED.append((time.perf_counter() - started) * 1000)
        n += 1
        await asyncio.sleep(random.uniform(1, 3))
    return sent


async def run(agents: int, customers: int, seconds: float) -> int:
    stack = E2EStack(find_model(), default_now())
    print(f"starting the product (scripts/run.sh) in {stack.tmpdir} …", flush=True)
    stack.start()
    clients: List[socketio.AsyncClient] = []
    try:
        print(f"{customers} web chat customers greet the bot …", flush=True)
        conversations: List[str] = []
        for batch in range(0, customers, 50):
            done = await asyncio.gather(
                *(customer(stack.rasa_url) for _ in range(min(50, customers - batch)))
            )
            clients += [c for c, _ in done]
            conversations += [conversation for _, conversation in done]
        os.environ["XINGHE_NOW"] = stack.xinghe_now  # the product's business clock, for presence
        chats = await asyncio.to_thread(staff, stack.database_url, agents, conversations)
        print(f"{agents} agents write to them for {seconds:.0f} s …", flush=True)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
            until = time.perf_counter() + seconds
            results = await asyncio.gather(
                *(agent_at_work(http, stack.workspace_url, login, ids, until) for login, ids in chats.items())
            )
        await asyncio.sleep(3)  # the last deliveries
        sent = [message for result in results for message in result]
        delays = sorted((ARRIVED[text] - started) * 1000 for text, started in sent if text in ARRIVED)
        lost = len(sent) - len(delays)
        if not delays:
            print("no message arrived")
            return 1
        p50, p95, p99 = (statistics.quantiles(delays, n=100)[i - 1] for i in (50, 95, 99))
        print(
            f"agent → customer (web chat), {agents} agents, {customers} customers, {seconds:.0f} s: "
            f"{len(sent)} messages sent, {len(delays)} delivered, {lost} lost; "
            f"p50 {p50:.0f} ms, p95 {p95:.0f} ms, p99 {p99:.0f} ms, max {delays[-1]:.0f} ms"
        )
        answered = statistics.quantiles(ANSWERED, n=100)[94]
        print(
            f"the workspace answered the agent's POST in p95 {answered:.0f} ms (Rasa had delivered by then)"
        )
        met = p95 <= TARGET_P95_MS and lost == 0
        print(f"target p95 ≤ {TARGET_P95_MS:.0f} ms, nothing lost: {'met' if met else 'FAILED'}")
        return 0 if met else 1
    finally:
        # Long-polling clients take a poll cycle each to leave: all at once, and not for long.
        leaving = asyncio.gather(*(client.disconnect() for client in clients), return_exceptions=True)
        try:
            await asyncio.wait_for(leaving, 10)
        except asyncio.TimeoutError:
            pass
        stack.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    return asyncio.run(run(args.agents, args.customers, args.seconds))


if __name__ == "__main__":
    sys.exit(main())
