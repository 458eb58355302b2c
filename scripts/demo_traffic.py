"""A month of customer service for a newcomer's first report: `make demo-traffic`.

Starts the product the way `make run` does (scripts/run.sh: Rasa with every channel, the action server,
the workspace, the analytics consumer, on the project's own var/ databases) under libfaketime, so that
every one of its processes reads one clock, which this script moves through the last DAYS days, a slot
of hours at a time (the night, the service hours' two halves, the evening). In each slot, customers arrive
as the day's traffic has them (busier on weekdays, at 10–11 and 20–22) over the web chat (Socket.IO
clients), WeChat (pushes signed and encrypted as WeChat does), the phone (a voice gateway's signed
webhooks) and REST, and run the everyday journeys with the mistakes customers make: typos, unknown order
numbers, questions the knowledge base does not cover, forms left half way, requests the assistant
cannot serve. Some come back on the same topic half a day to five days later.
Whoever the bot hands over waits in the workspace's queue; in service hours the demo agents work it
through the workspace's API like their browsers do (accept, answer, close with a result) after a
few minutes, a few customers give up waiting, and most rate the service.

Nothing is confirmed that would change the demo's orders, wallets or bookings (refunds are declined at
the confirmation, nothing is cancelled), so the demo journeys in the README still work afterwards. It stops
the product once the analytics consumer has caught up and prints the month's headline figures;
`make report` and the workspace's supervisor view then show it.

    .venv/bin/python scripts/demo_traffic.py [--conversations 1000] [--days 30] [--seed 7]

Needs libfaketime (Debian's `faketime`, scripts/install_system_deps.sh) and a trained model. It uses
the ports `make run` uses (RASA_PORT, ACTIONS_PORT, WORKSPACE_PORT), so `make run` must not be running.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import aiohttp
import socketio
import yaml
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analytics.intake import SQL_BROKER  # noqa: E402
from analytics.report import build, shown  # noqa: E402
from analytics.store import position  # noqa: E402
from business.clock import SHANGHAI  # noqa: E402
from business.store.db import database_url, engine_for, session_scope  # noqa: E402
from connectors.rest import rest_conversation_id  # noqa: E402
from privacy.stores import last_event_id  # noqa: E402
from tests.connectors.drivers import (  # noqa: E402
    FakeWeChatApi,
    Gateway,
    Served,
    WeChat,
    channel_environment,
    text_xml,
)
from tests.stack import RUNNING_BANNER, free_port, kill_group, tail  # noqa: E402

# Debian's faketime package, wherever the machine's architecture puts it.
LIBFAKETIMES = sorted(Path("/usr/lib").glob("*/faketime/libfaketime.so.1"))
START_TIMEOUT_S = 300
ANSWER_TIMEOUT_S = 30
# Customers of the same slot of hours arrive together, at the time of the first of them: the more arrive
# at once, the more of them the machine serves side by side, and every slot costs a few moves of the clock
# (each waits for the next second). The slots start at midnight and at the service hours' start, middle
# and end (09:00–21:00), so every conversation stays on its day and in or out of the agents' hours; the
# report counts by day and week, not by hour.
SLOT_STARTS = (0, 9, 15, 21)
SLOT_TIMEOUT_S = 300  # a slot of traffic that takes longer is given up and counted as failed
OPEN_HOURS = range(9, 21)  # the agents' service hours (business/services/live_chat.py)
DEMO_PASSWORD = "xinghe-demo"  # the demo logins' password (docs/workspace.md)
AGENTS = ("wangfang", "liqiang", "zhaomin")
SUPERVISOR = "chenjing"

# When customers come: share of a day's traffic by hour (Asia/Shanghai), and by weekday (Monday first).
BY_HOUR = [1, 0.5, 0.3, 0.2, 0.2, 0.3, 0.8, 2, 4, 7, 9, 9, 6, 6, 8, 8, 7, 6, 5, 6, 8, 8, 6, 3]
BY_WEEKDAY = [1.1, 1.0, 1.0, 1.0, 1.05, 0.85, 0.8]
CHANNELS = {"webchat": 0.4, "wechat": 0.3, "rest": 0.18, "phone": 0.12}
COME_BACK = 0.12  # share of conversations whose customer comes back on the same topic later
# How much later: never in the same slot (the longest is nine hours), where it would be the same conversation.
COME_BACK_HOURS = [12, 20, 30, 60, 120]

# What customers say, journey by journey: (weight, messages). "{kb}" / "{kb_unknown}" stand for a
# question from the knowledge base's tuning set that it covers / does not cover (kb/eval/tuning.yml).
TEXT_JOURNEYS: Dict[str, Tuple[float, List[str]]] = {
    "order_status": (14, ["帮我查下订单XH2611010001到哪了", "谢谢"]),
    "order_in_steps": (8, ["你好", "我的快递到哪了", "XH2611010002"]),
    "order_typo": (3, ["查下我的定单", "XH2611010001"]),
    "order_unknown_id": (4, ["我的快递到哪了", "XH2699999999", "XH2699999998", "XH2611010001"]),
    "kb_question": (22, ["{kb}"]),
    "kb_question_thanks": (6, ["{kb}", "好的谢谢"]),
    "kb_not_covered": (6, ["{kb_unknown}"]),
    "refund_declined": (4, ["我要退货", "13800138001", "2817", "XH2611010002", "七天无理由", "不用了"]),
    "refund_left_half_way": (3, ["我要退货", "13800138001"]),
    "balance": (4, ["查一下我的余额", "13900139002", "0645"]),
    "frozen_wallet": (1, ["查余额", "13500135005", "1024"]),
    "flight_status": (4, ["MU5101几点起飞"]),
    "human": (6, ["转人工"]),
    "complaint": (3, ["快递员态度恶劣，订单XH2611010001的包裹直接扔在门口"]),
    "out_of_scope": (3, ["帮我订个外卖", "今天天气怎么样", "能借我点钱吗", "那转人工吧"]),
    "gibberish": (2, ["asdfgh", "？？？"]),
    "opening_hours": (3, ["你们几点上班", "谢谢"]),
    "greeting_only": (3, ["你好"]),
}
# The journeys in which the assistant hands the customer over (or offers to, and they accept).
HANDOVER_JOURNEYS = {"human", "complaint", "frozen_wallet", "out_of_scope", "order_unknown_id", "gibberish"}
# On the phone "#n" is a key pressed at the menu; anything else is spoken.
PHONE_JOURNEYS: Dict[str, Tuple[float, List[str]]] = {
    "order_status": (5, ["#1", "订单号是 X H 二六一一零一零零零一", "好的，再见"]),
    "kb_question": (2, ["{kb}", "好的，再见"]),
    "human": (3, ["#0"]),
}
# After a handoff: what the customer tells the agent, what the agent answers, and how it ends.
TOLD_AGENT = ["我的快递三天没动了，能帮我催一下吗", "麻烦帮我看一下这个问题", "我等了好久了，怎么还没处理"]
AGENT_ANSWERS = [
    "您好，我这边帮您查询一下，请稍等一两分钟。",
    "好的，已经帮您登记并加急处理了，请留意短信通知。",
]
RESULTS = [("resolved", 0.75), ("unresolved", 0.1), ("ticket", 0.15)]
SCORES = [(5, 0.55), (4, 0.25), (3, 0.1), (2, 0.05), (1, 0.05)]
RATES_SERVICE = 0.7  # share of customers who rate when asked
GIVES_UP = 0.1  # share of queued customers who stop waiting


def weighted(rng: random.Random, options: Sequence[Tuple[Any, float]]) -> Any:
    return rng.choices([option for option, _ in options], [weight for _, weight in options])[0]


# --- the plan ------------------------------------------------------------------------------------


@dataclass
class Visit:
    """One conversation: who comes, when, over which channel, and what they say."""

    at: datetime  # Asia/Shanghai
    channel: str
    customer: str  # the customer's identity on the channel (openid, caller number, visitor, sender)
    journey: str
    says: List[str]
    conversation_id: str = ""  # known once the channel has named it
    rated: bool = False


def kb_questions() -> Tuple[List[str], List[str]]:
    """The knowledge base's tuning questions: those it covers, and those it should not answer."""
    questions = yaml.safe_load((ROOT / "kb" / "eval" / "tuning.yml").read_text(encoding="utf-8"))["questions"]
    covered = [q["q"] for q in questions if q.get("doc")]
    return covered, [q["q"] for q in questions if not q.get("doc")]


def plan(conversations: int, days: int, last_day: date, rng: random.Random) -> List[Visit]:
    """`conversations` visits over the `days` days up to `last_day`, in time order."""
    covered, not_covered = kb_questions()
    day_list = [last_day - timedelta(days=n) for n in range(days - 1, -1, -1)]
    day_weights = [
        BY_WEEKDAY[day.weekday()] * (0.85 + 0.3 * n / max(1, days - 1)) for n, day in enumerate(day_list)
    ]
    visits: List[Visit] = []
    n = 0
    while len(visits) < conversations:
        n += 1
        day = rng.choices(day_list, day_weights)[0]
        hour = rng.choices(range(24), BY_HOUR)[0]
        at = datetime.combine(day, datetime.min.time()) + timedelta(hours=hour, minutes=rng.randrange(60))
        channel = weighted(rng, list(CHANNELS.items()))
        journeys = PHONE_JOURNEYS if channel == "phone" else TEXT_JOURNEYS
        journey = weighted(rng, [(name, weight) for name, (weight, _) in journeys.items()])
        says = [
            line.replace("{kb}", rng.choice(covered)).replace("{kb_unknown}", rng.choice(not_covered))
            for line in journeys[journey][1]
        ]
        visit = Visit(at, channel, identity(channel, n), journey, says)
        visits.append(visit)
        if rng.random() < COME_BACK:  # the same customer, the same topic, later
            later = at + timedelta(hours=rng.choice(COME_BACK_HOURS), minutes=rng.randrange(60))
            if later.date() <= last_day and len(visits) < conversations:
                visits.append(Visit(later, channel, visit.customer, journey, says))
    return sorted(visits, key=lambda visit: visit.at)


def identity(channel: str, n: int) -> str:
    if channel == "wechat":
        return f"oXH_demo_visitor_{n:06d}"
    if channel == "phone":
        return f"+86139{n:08d}"
    return f"demo-{n:06d}"


# --- the shared clock ----------------------------------------------------------------------------


class SharedClock:
    """The time every process of the product reads: libfaketime's offset file, which each process reads
    again once the wall clock's second has changed (FAKETIME_CACHE_DURATION=0). Reading it on every call
    instead (FAKETIME_NO_CACHE) would show a move at once, but libfaketime 0.9.10 reads it into static
    buffers without a lock, and a process whose threads ask for the time together then now and then
    gets the real time (tests/analytics/test_demo_clock.py sees it; in a month of demo traffic it was an
    agent's accept on today's date). So a move waits until every process has read it. It only moves
    forward."""

    def __init__(self, path: Path, start: datetime) -> None:
        self.path = path
        self.offset = 0.0
        self._write(start)
        # libfaketime shares a semaphore and a little memory between the processes it runs in; the
        # process that created them removes them when it exits, under the others. Left to itself, the
        # first process of the product would create them and every helper run.sh forks would remove them
        # on its way out (and one killed by a signal leaves them behind, to collide with a later process
        # of the same pid). So a `cat` under the preload creates them and keeps them until its input
        # closes (close(), or this script's end however it comes), and the product only opens them.
        self.keeper = subprocess.Popen(
            ["cat"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            env={**os.environ, "LD_PRELOAD": str(LIBFAKETIMES[0])},
        )
        self.shared = f"/faketime_sem_{self.keeper.pid} /faketime_shm_{self.keeper.pid}"
        semaphore = Path(f"/dev/shm/sem.faketime_sem_{self.keeper.pid}")  # where glibc keeps it
        deadline = time.monotonic() + 10
        while not semaphore.exists():
            if self.keeper.poll() is not None or time.monotonic() > deadline:
                sys.exit("libfaketime did not create its shared semaphore (is /dev/shm writable?)")
            time.sleep(0.05)

    def environment(self) -> Dict[str, str]:
        return {
            "LD_PRELOAD": str(LIBFAKETIMES[0]),
            "FAKETIME_SHARED": self.shared,
            "FAKETIME_TIMESTAMP_FILE": str(self.path),
            "FAKETIME_CACHE_DURATION": "0",
            # Timers, timeouts and rate limits run on the monotonic clock: real seconds.
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            # Python's timed waits (a thread waiting for the GIL, a pool's queue, an Event) are on that
            # monotonic clock too, so they need none of libfaketime's rewriting of condition-variable
            # deadlines ("monotonic fix", on by default), which made every hand-over between threads
            # several times dearer: the workspace spent as much CPU as Rasa, and the bot answered slower.
            "FAKETIME_FORCE_MONOTONIC_FIX": "0",
            # Rasa's in-memory conversation locks expire by the clock: a move of minutes while a turn or
            # an agent's message held one would expire it (a LockError, and that message undelivered).
            "TICKET_LOCK_LIFETIME": str(24 * 3600),
        }

    def close(self) -> None:
        if self.keeper.stdin is not None:
            self.keeper.stdin.close()
        self.keeper.wait(timeout=10)
        self.path.unlink(missing_ok=True)

    def now(self) -> datetime:
        return datetime.fromtimestamp(time.time() + self.offset, SHANGHAI).replace(tzinfo=None)

    def epoch(self) -> float:
        return time.time() + self.offset

    async def move_to(self, moment: datetime) -> None:
        self._write(max(moment, self.now() + timedelta(seconds=1)))
        await asyncio.sleep(1.05 - time.time() % 1)  # past the next second: read by every process

    def _write(self, moment: datetime) -> None:
        self.offset = moment.replace(tzinfo=SHANGHAI).timestamp() - time.time()
        staged = self.path.with_suffix(".new")
        staged.write_text(f"{self.offset:+.0f}\n", encoding="ascii")
        os.replace(staged, self.path)  # a reader sees the old offset or the new one, never half

    async def move_by(self, minutes: float) -> None:
        await self.move_to(self.now() + timedelta(minutes=minutes))


# --- the product -----------------------------------------------------------------------------------


class Product:
    """scripts/run.sh serve, every process on the shared clock; the calling environment says where its
    data goes (by default the project's var/, as `make run`)."""

    def __init__(self, clock: SharedClock, wechat_api_port: int, log: Path) -> None:
        self.log = log
        self.run_dir = Path(os.environ.get("XINGHE_RUN_DIR", "var"))
        self.rasa_url = f"http://localhost:{os.environ.get('RASA_PORT', '5005')}"
        self.workspace_url = f"http://localhost:{os.environ.get('WORKSPACE_PORT', '5080')}"
        self.env = {k: v for k, v in os.environ.items() if k != "XINGHE_NOW"}
        # The newest model, never one trained on the demo's clock (run.sh trains when none is given).
        models = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda path: path.stat().st_mtime)
        if "XINGHE_MODEL" not in self.env:
            if not models:
                sys.exit("no trained model in models/: run `make train` first")
            self.env["XINGHE_MODEL"] = str(models[-1])
        self.env.update(clock.environment())
        self.env.update(channel_environment(wechat_api_port))
        self.proc: Optional[subprocess.Popen] = None

    def start(self) -> None:
        # The demo data's dates hang off the day it is seeded: today, not the start of the demo month,
        # so the README's journeys still work afterwards (run.sh's own seeding then finds it done).
        for step in (["-m", "business.store.migrate"], ["-m", "business.store.seed", "--if-empty"]):
            subprocess.run([sys.executable, *step], cwd=ROOT, env=os.environ, check=True)
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                ["bash", str(ROOT / "scripts" / "run.sh"), "serve"],
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while RUNNING_BANNER not in tail(self.log, 200):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"the product did not start; the end of {self.log}:\n{tail(self.log, 40)}")
            time.sleep(1)

    def stop(self) -> None:
        if self.proc is not None:
            kill_group(self.proc.pid, signal.SIGTERM)  # run.sh stops its servers, then exits
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                kill_group(self.proc.pid, signal.SIGKILL)


# --- the people ----------------------------------------------------------------------------------


class Staff:
    """The demo agents and their supervisor, in the workspace, through its API like their browsers."""

    def __init__(self, http: aiohttp.ClientSession, workspace_url: str) -> None:
        self.http, self.url = http, workspace_url
        self.headers: Dict[str, Dict[str, str]] = {}
        self.groups: Dict[str, List[str]] = {}
        self.live: Dict[str, socketio.AsyncClient] = {}

    async def log_in(self, login: str) -> None:
        async with self.http.post(
            f"{self.url}/api/login",
            json={"login": login, "password": DEMO_PASSWORD},
            headers={"Origin": self.url},
        ) as answer:
            if answer.status != 200:
                raise RuntimeError(f"{login} could not log in: {await answer.text()}")
            body = await answer.json()
            cookie = answer.cookies["xh_workspace"].value
        self.headers[login] = {
            "Origin": self.url,
            "X-CSRF-Token": body["csrf_token"],
            "Cookie": f"xh_workspace={cookie}",
        }
        self.groups[login] = list(body["agent"]["skill_groups"])

    async def call(self, login: str, method: str, path: str, body: Optional[Dict] = None) -> Tuple[int, Any]:
        """One API call; a session that expired on the demo's clock is opened again, as a person would."""
        for attempt in range(2):
            headers = self.headers.get(login)
            if headers is None:  # (an agent's customers are served side by side: they share the login)
                await self.log_in(login)
                headers = self.headers[login]
            try:
                async with self.http.request(
                    method, f"{self.url}{path}", json=body, headers=headers
                ) as answer:
                    if answer.status == 401 and attempt == 0:
                        self.headers.pop(login, None)
                        continue
                    return answer.status, await answer.json(content_type=None)
            except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError):
                if attempt:  # a kept-alive connection the server had just closed: once more on a new one
                    raise
        raise AssertionError("unreachable")

    async def start_shift(self) -> None:
        for login in AGENTS:
            await self.call(login, "POST", "/api/status", {"status": "online"})
        await self.heartbeat()

    async def heartbeat(self) -> None:
        """What an open workspace tab sends every 30 s: the agents count as present. Like a web visitor's
        tab, it connects again when the server dropped it after the clock moved."""
        for login in AGENTS:
            for attempt in range(2):
                try:
                    if login not in self.live or not self.live[login].connected:
                        await self._connect_tab(login)
                    await self.live[login].call("heartbeat", {}, timeout=ANSWER_TIMEOUT_S)
                    break
                except socketio.exceptions.SocketIOError:
                    self.headers.pop(login, None)  # the session may have expired on the demo's clock
                    if attempt:
                        raise

    async def _connect_tab(self, login: str) -> None:
        if login in self.live:
            await self.live.pop(login).eio.disconnect(abort=True)
        if login not in self.headers:
            await self.log_in(login)
        client = socketio.AsyncClient(reconnection=False)
        await client.connect(
            self.url,
            headers={"Cookie": self.headers[login]["Cookie"], "Origin": self.url},
            transports=["polling"],  # the async client's websocket needs a newer aiohttp than Rasa pins
            socketio_path="/workspace/socket.io",
            wait_timeout=ANSWER_TIMEOUT_S,
        )
        self.live[login] = client

    async def waiting(self) -> Dict[str, Dict[str, Any]]:
        """The queue as the supervisor sees it (every skill group), by conversation."""
        status, body = await self.call(SUPERVISOR, "GET", "/api/queue")
        return {chat["conversation_id"]: chat for chat in body.get("queue", [])} if status == 200 else {}

    async def accept(self, chat: Dict[str, Any]) -> Optional[str]:
        """The first agent of the chat's skill group who can take it; their login. While each of them
        serves as many customers as they may, the chat stays in the queue and is offered again as they
        close their others (the slot's other customers are being served meanwhile)."""
        logins = [login for login in AGENTS if chat.get("skill_group") in self.groups.get(login, [])]
        deadline = time.monotonic() + ANSWER_TIMEOUT_S
        while True:
            for login in random.sample(logins, len(logins)):
                status, _ = await self.call(login, "POST", f"/api/chats/{chat['id']}/accept")
                if status == 200:
                    return login
            if time.monotonic() > deadline or chat["conversation_id"] not in await self.waiting():
                return None
            await asyncio.sleep(1)

    async def end_shift(self) -> None:
        for login, client in self.live.items():
            await self.call(login, "POST", "/api/logout")
            await client.eio.disconnect(abort=True)


class Customer:
    """One visit's customer on their channel: says their lines, and after a handoff talks to the agent."""

    def __init__(self, visit: Visit, talk: "Channels") -> None:
        self.visit, self.talk = visit, talk

    async def arrive(self) -> None:
        await self.talk.open(self.visit)
        for line in self.visit.says:
            if not await self.talk.say(self.visit, line):
                break

    async def tell_agent(self, text: str) -> None:
        await self.talk.say(self.visit, text, answered=False)

    async def leave_queue(self) -> None:
        await self.talk.give_up(self.visit)

    async def rate(self, score: int) -> None:
        await self.talk.rate(self.visit, score)
        self.visit.rated = True

    async def leave(self) -> None:
        await self.talk.close(self.visit)


class WebVisitor:
    """A web chat customer's browser tab. The product's Socket.IO servers time their pings on the wall
    clock, so when the demo moves it by minutes they drop the connection: the tab connects again with
    its visitor token, into the same conversation, as the widget does."""

    def __init__(self, rasa_url: str, token: Optional[str]) -> None:
        self.rasa_url, self.token = rasa_url, token
        self.conversation_id = ""
        self.client: Optional[socketio.AsyncClient] = None
        self.idle = asyncio.Event()  # the bot finished its turn
        self.asked_to_rate = False

    async def connect(self) -> None:
        client = socketio.AsyncClient(reconnection=False)
        confirmed = asyncio.Event()

        @client.on("session_confirm")
        async def on_confirm(data: Dict[str, Any]) -> None:
            self.conversation_id, self.token = data["conversation_id"], data["token"]
            confirmed.set()

        @client.on("bot_typing")
        async def on_typing(data: Dict[str, Any]) -> None:
            if not data.get("on"):
                self.idle.set()

        @client.on("rating_request")
        async def on_rating_request(_data: Any = None) -> None:
            self.asked_to_rate = True

        await client.connect(
            self.rasa_url,
            headers={"Origin": self.rasa_url},
            auth={"token": self.token} if self.token else {},
            transports=["polling"],  # the async client's websocket needs a newer aiohttp than Rasa pins
            socketio_path="/webchat/socket.io",
            wait_timeout=ANSWER_TIMEOUT_S,
        )
        await client.emit("session_request", {})
        await asyncio.wait_for(confirmed.wait(), ANSWER_TIMEOUT_S)
        self.client = client

    async def call(self, event: str, data: Dict[str, Any]) -> Any:
        """Sends `event` and waits for the server's acknowledgement, connecting again once if the
        connection was dropped."""
        for attempt in range(2):
            if self.client is None or not self.client.connected:
                await self.close()
                await self.connect()
            assert self.client is not None
            try:
                return await self.client.call(event, data, timeout=ANSWER_TIMEOUT_S)
            except socketio.exceptions.SocketIOError:
                if attempt:
                    raise
                await self.close()
        raise AssertionError("unreachable")

    async def close(self) -> None:
        if self.client is not None:
            await self.client.eio.disconnect(abort=True)  # a polite goodbye waits for the long poll to end
            self.client = None


class Channels:
    """How each channel's customers reach the product (the clients a browser, WeChat, a voice gateway
    and a back office use), and what they keep between visits (a web visitor's token)."""

    def __init__(self, http: aiohttp.ClientSession, rasa_url: str, clock: SharedClock) -> None:
        self.http, self.rasa_url, self.clock = http, rasa_url, clock
        self.visitor_tokens: Dict[str, str] = {}
        self.webchat: Dict[int, WebVisitor] = {}
        self.calls: Dict[int, Gateway] = {}
        self.wechat = WeChat(Served(f"{rasa_url}/webhooks/wechat", http))

    async def open(self, visit: Visit) -> None:
        if visit.channel == "webchat":
            tab = WebVisitor(self.rasa_url, self.visitor_tokens.get(visit.customer))
            await tab.connect()
            self.webchat[id(visit)] = tab
            visit.conversation_id = tab.conversation_id
            self.visitor_tokens[visit.customer] = tab.token or ""
        elif visit.channel == "phone":
            call = Gateway(Served(f"{self.rasa_url}/webhooks/phone", http=self.http), caller=visit.customer)
            self.calls[id(visit)] = call
            visit.conversation_id = call.sid
            await call.dial_in()
        elif visit.channel == "wechat":
            visit.conversation_id = visit.customer
        else:
            visit.conversation_id = rest_conversation_id(visit.customer)

    async def say(self, visit: Visit, text: str, answered: bool = True) -> bool:
        """Sends one message; whether the conversation can go on (a phone call may have been put
        through to the agent line or ended)."""
        if visit.channel == "webchat":
            tab = self.webchat[id(visit)]
            tab.idle.clear()
            for _ in range(5):  # as the web chat's notice asks a customer who types too fast: wait, resend
                acknowledged = await tab.call("user_uttered", {"message": text})
                if not (isinstance(acknowledged, dict) and acknowledged.get("code") == "rate_limited"):
                    break
                await asyncio.sleep(2)
            if answered:
                await asyncio.wait_for(tab.idle.wait(), ANSWER_TIMEOUT_S)
        elif visit.channel == "phone":
            call = self.calls[id(visit)]
            if call.doc is None or call.doc.find("Gather") is None:
                return False
            await (call.press(text[1:]) if text.startswith("#") else call.speak(text))
        elif visit.channel == "wechat":
            status, _ = await self.wechat.push(
                text_xml(text, msg_id=str(time.time_ns()), openid=visit.customer),
                openid=visit.customer,
                sent_at=self.clock.epoch(),
            )
            return status == 200
        else:
            async with self.http.post(
                f"{self.rasa_url}/webhooks/rest/webhook",
                json={"sender": visit.customer, "message": text},
                timeout=aiohttp.ClientTimeout(total=ANSWER_TIMEOUT_S),
            ) as answer:
                return answer.status == 200
        return True

    async def give_up(self, visit: Visit) -> None:
        if visit.channel == "phone":
            await self.calls.pop(id(visit)).hang_up()  # while the agent line rings
        else:
            await self.say(visit, "不等了")

    async def rate(self, visit: Visit, score: int) -> None:
        if visit.channel == "webchat":
            await self.webchat[id(visit)].call("rate", {"score": score})
        elif visit.channel != "phone":  # no stars: the score is typed
            await self.say(visit, f"{score}分")

    def asked_to_rate(self, visit: Visit) -> bool:
        return visit.channel == "webchat" and self.webchat[id(visit)].asked_to_rate

    async def close(self, visit: Visit) -> None:
        if visit.channel == "webchat" and id(visit) in self.webchat:
            await self.webchat.pop(id(visit)).close()
        elif visit.channel == "phone" and id(visit) in self.calls:
            await self.calls.pop(id(visit)).hang_up()  # the gateway's status callback when a call ends


# --- an hour of traffic ------------------------------------------------------------------------------


@dataclass
class Tally:
    conversations: int = 0
    by_channel: Counter = field(default_factory=Counter)
    queued: int = 0
    served: int = 0
    gave_up: int = 0
    rated: int = 0
    failed: int = 0
    seconds: Counter = field(default_factory=Counter)  # real time by part of the traffic

    @contextlib.contextmanager
    def timed(self, part: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.seconds[part] += time.monotonic() - started

    def failure(self, visit: Visit, error: BaseException) -> None:
        self.failed += 1
        print(f"  {visit.at:%m-%d %H:%M} {visit.channel} {visit.journey}: {error!r}", flush=True)


async def slot_of_traffic(
    visits: List[Visit], clock: SharedClock, staff: Staff, talk: Channels, rng: random.Random, tally: Tally
) -> None:
    await clock.move_to(visits[0].at)
    open_now = clock.now().hour in OPEN_HOURS
    # Only these journeys can reach a person; in slots without them the workspace is left alone.
    may_hand_over = any(visit.journey in HANDOVER_JOURNEYS for visit in visits)
    if open_now and may_hand_over:
        with tally.timed("the workspace: presence and queue"):
            await staff.heartbeat()
    customers = [Customer(visit, talk) for visit in visits]
    with tally.timed("customers with the bot"):
        arrived = await asyncio.gather(*(customer.arrive() for customer in customers), return_exceptions=True)
    for customer, outcome in zip(customers, arrived, strict=True):
        tally.conversations += 1
        tally.by_channel[customer.visit.channel] += 1
        if isinstance(outcome, BaseException):
            tally.failure(customer.visit, outcome)
    talking = [
        c for c, outcome in zip(customers, arrived, strict=True) if not isinstance(outcome, BaseException)
    ]
    with tally.timed("the workspace: presence and queue"):
        queued = await staff.waiting() if may_hand_over else {}
    waiting = [c for c in customers if c.visit.conversation_id in queued]
    tally.queued += len(waiting)
    if waiting:
        await clock.move_by(rng.uniform(0.5, 4))  # the queue moves
        with tally.timed("agents with customers"):
            if open_now:
                await staff.heartbeat()
            handled = await asyncio.gather(
                *(
                    served_or_gave_up(c, queued[c.visit.conversation_id], clock, staff, talk, rng, tally)
                    for c in waiting
                ),
                return_exceptions=True,
            )
        for customer, outcome in zip(waiting, handled, strict=True):
            if isinstance(outcome, BaseException):
                tally.failure(customer.visit, outcome)
    with tally.timed("customers with the bot"):
        for customer in talking:
            if (
                not customer.visit.rated
                and talk.asked_to_rate(customer.visit)
                and rng.random() < RATES_SERVICE
            ):
                try:
                    await customer.rate(weighted(rng, SCORES))  # the bot asked at the end of its part
                    tally.rated += 1
                except Exception as error:  # one customer's failure is counted, the month goes on
                    tally.failure(customer.visit, error)
        await asyncio.gather(*(customer.leave() for customer in customers), return_exceptions=True)


async def served_or_gave_up(
    customer: Customer,
    chat: Dict[str, Any],
    clock: SharedClock,
    staff: Staff,
    talk: Channels,
    rng: random.Random,
    tally: Tally,
) -> None:
    if rng.random() < GIVES_UP:
        await customer.leave_queue()
        tally.gave_up += 1
        return
    login = await staff.accept(chat)
    if login is None:
        return
    tally.served += 1
    phone = customer.visit.channel == "phone"
    if not phone:  # on the phone they talk on the agent line
        await staff.call(login, "POST", f"/api/chats/{chat['id']}/messages", {"text": AGENT_ANSWERS[0]})
        await customer.tell_agent(rng.choice(TOLD_AGENT))
        await staff.call(login, "POST", f"/api/chats/{chat['id']}/messages", {"text": AGENT_ANSWERS[1]})
    await clock.move_by(rng.uniform(1, 4))  # handled within the silence limit (docs/workspace.md)
    score = weighted(rng, SCORES) if rng.random() < RATES_SERVICE else None
    if phone:
        call = talk.calls[id(customer.visit)]
        await call.dial_ends("completed", duration=str(rng.randrange(60, 400)))
        if score is not None and call.doc.find("Gather") is not None:
            await call.press(str(score))
            customer.visit.rated = True
            tally.rated += 1
    result = weighted(rng, RESULTS)
    await staff.call(login, "POST", f"/api/chats/{chat['id']}/close", {"result": result, "note": "演示"})
    if score is not None and not phone:
        await customer.rate(score)
        tally.rated += 1


# --- the month -----------------------------------------------------------------------------------


def caught_up(broker: Engine) -> bool:
    """The analytics consumer has read every event Rasa's SQL broker wrote."""
    last = last_event_id(broker)
    with session_scope(engine_for(database_url())) as session:
        return position(session, SQL_BROKER) >= last


async def month(
    args: argparse.Namespace, clock: SharedClock, product: Product, wechat_api: FakeWeChatApi
) -> Tally:
    rng = random.Random(args.seed)
    random.seed(args.seed)
    last_day = datetime.now(SHANGHAI).date() - timedelta(
        days=1
    )  # the real yesterday: the clock is a month back
    visits = plan(args.conversations, args.days, last_day, rng)
    slots: Dict[Tuple[date, int], List[Visit]] = defaultdict(list)
    for visit in visits:
        slots[(visit.at.date(), max(hour for hour in SLOT_STARTS if hour <= visit.at.hour))].append(visit)
    print(
        f"{len(visits)} conversations over {args.days} days up to {last_day}, in {len(slots)} slots "
        f"(from {', '.join(f'{hour:02d}:00' for hour in SLOT_STARTS)})",
        flush=True,
    )
    tally = Tally()
    started = time.monotonic()
    async with aiohttp.ClientSession() as http:
        staff = Staff(http, product.workspace_url)
        await clock.move_to(visits[0].at)
        await staff.start_shift()
        talk = Channels(http, product.rasa_url, clock)
        for n, key in enumerate(sorted(slots), 1):
            try:
                await asyncio.wait_for(
                    slot_of_traffic(slots[key], clock, staff, talk, rng, tally), SLOT_TIMEOUT_S
                )
            except asyncio.TimeoutError:
                tally.failed += len(slots[key])
                print(f"  {key[0]} {key[1]:02d}:00 did not finish in {SLOT_TIMEOUT_S} s", flush=True)
            if n % 25 == 0 or n == len(slots):
                print(
                    f"  {key[0]} {key[1]:02d}:00 · {tally.conversations} conversations, {tally.served} served by "
                    f"agents, {time.monotonic() - started:.0f} s",
                    flush=True,
                )
        await staff.end_shift()
    return tally


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the product on the way out
    os.umask(0o077)  # customers' data, tokens and logs: readable by their owner only, as run.sh makes them
    if not LIBFAKETIMES:
        sys.exit("libfaketime not found: run scripts/install_system_deps.sh (Debian's faketime)")
    run_dir = Path(os.environ.get("XINGHE_RUN_DIR", "var"))
    run_dir.mkdir(parents=True, exist_ok=True)
    month_before = datetime.now(SHANGHAI).replace(tzinfo=None) - timedelta(days=args.days + 1)
    clock = SharedClock((run_dir / "demo_clock").resolve(), month_before)
    wechat_port = free_port()
    product = Product(clock, wechat_port, run_dir / "demo_traffic.log")
    began = time.monotonic()
    print(f"starting the product on the demo's clock (log: {product.log}) …", flush=True)

    async def everything() -> Tally:
        wechat_api = FakeWeChatApi()
        await wechat_api.start(wechat_port)
        try:
            return await month(args, clock, product, wechat_api)
        finally:
            await wechat_api.stop()

    try:
        product.start()
        tally = asyncio.run(everything())
        events_db = Path(os.environ.get("XINGHE_EVENTS_DB", run_dir / "events.db"))
        broker = create_engine(f"sqlite:///{events_db}", future=True)
        deadline = time.monotonic() + 120
        while not caught_up(broker) and time.monotonic() < deadline:
            time.sleep(1)
        time.sleep(6)  # one more refresh of closes and ratings (analytics/intake.py REFRESH_S)
    finally:
        product.stop()
        clock.close()
    elapsed = time.monotonic() - began
    last_day = datetime.now(SHANGHAI).date() - timedelta(days=1)
    start = datetime.combine(last_day - timedelta(days=args.days - 1), datetime.min.time())
    with session_scope(engine_for(database_url())) as session:
        overall = build(
            session, start, datetime.combine(last_day + timedelta(days=1), datetime.min.time())
        ).overall
    print(
        f"\n{tally.conversations} conversations in {elapsed / 60:.1f} min "
        f"({', '.join(f'{channel} {n}' for channel, n in tally.by_channel.most_common())}); "
        f"{tally.queued} queued for an agent, {tally.served} served, {tally.gave_up} gave up, "
        f"{tally.rated} ratings; {tally.failed} conversations failed on the customer's side.\n"
        f"Time: {', '.join(f'{part} {seconds:.0f} s' for part, seconds in tally.seconds.most_common())}.\n"
        f"In the facts: {overall.conversations} conversations, containment "
        f"{shown('containment', overall.containment)}, handoff rate {shown('handoff_rate', overall.handoff_rate)}, "
        f"CSAT {shown('csat', overall.csat)}.\n"
        f"Next: `make report` (FROM={start.date()} TO={last_day}) or `make run` and the workspace's 班长视图."
    )
    return 0 if tally.failed <= tally.conversations // 20 else 1


if __name__ == "__main__":
    sys.exit(main())
