"""Customers for the load benchmark (`make bench`, scripts/bench_load.py): locust users who run the
everyday journeys, half over the REST channel and half in the web chat (a real Socket.IO client).

Each journey is a new customer: a greeting and an order lookup by number, a policy question for the
knowledge base, or an order question answered in two steps. Between their messages customers read
and type for THINK_S seconds on average (BENCH_THINK_S, default 3; 0 for the saturation run). A
turn is timed from sending the message until the bot's answer arrives (REST: the whole answer; web
chat: its first message). A turn fails when the answer is an error or does not come within 30 s.
"""

from __future__ import annotations

import os
import random
import time
import uuid
from typing import List

import gevent
import socketio
from gevent.event import Event
from journeys import JOURNEYS  # scripts/ is on locust's path: it loads this file from there
from locust import HttpUser, events, task

THINK_S = float(os.environ.get("BENCH_THINK_S", "3"))
ANSWER_TIMEOUT_S = 30


def think() -> None:
    if THINK_S:
        gevent.sleep(random.uniform(0.5, 1.5) * THINK_S)


class Customer(HttpUser):
    """One customer after another: each journey is a new customer, over REST (the channel a back
    office or an app uses, anonymous) or in the web chat, half and half."""

    def wait_time(self) -> float:
        return random.uniform(0.5, 1.5) * THINK_S

    @task
    def journey(self) -> None:
        if random.random() < 0.5:
            self.rest_journey(random.choice(JOURNEYS))
        else:
            self.webchat_journey(random.choice(JOURNEYS))

    def rest_journey(self, messages: List[str]) -> None:
        sender = f"bench-{uuid.uuid4().hex}"
        for text in messages:
            with self.client.post(
                "/webhooks/rest/webhook",
                json={"sender": sender, "message": text},
                name="rest turn",
                catch_response=True,
                timeout=ANSWER_TIMEOUT_S,
            ) as reply:
                if reply.status_code != 200 or not reply.json():
                    reply.failure(f"HTTP {reply.status_code}, {reply.text[:80]}")
            think()

    def webchat_journey(self, messages: List[str]) -> None:
        answered = Event()
        client = socketio.Client(reconnection=False)
        client.on("bot_uttered", lambda _data: answered.set())
        started = time.perf_counter()
        try:
            client.connect(  # the websocket client sends the page's Origin itself
                self.host,
                transports=["websocket"],
                socketio_path="/webchat/socket.io",
                wait_timeout=ANSWER_TIMEOUT_S,
            )
            client.emit("session_request", {})
        except Exception as error:  # noqa: BLE001 - a refused connection is a failed turn
            record("webchat connect", started, error)
            return
        try:
            for text in messages:
                answered.clear()
                started = time.perf_counter()
                client.emit("user_uttered", {"message": text})
                ok = answered.wait(ANSWER_TIMEOUT_S)
                record("webchat turn", started, None if ok else TimeoutError("no answer in 30 s"))
                think()
        finally:
            client.disconnect()


def record(name: str, started: float, error: Exception | None) -> None:
    events.request.fire(
        request_type="SIO",
        name=name,
        response_time=(time.perf_counter() - started) * 1000,
        response_length=0,
        exception=error,
        context={},
    )
