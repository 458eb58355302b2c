"""Rasa's requests to the action server (and its other HTTP endpoints) over kept connections.

Rasa's `EndpointConfig.request` opens a new aiohttp session for every request and closes it after
the answer: a name lookup in a thread, a new TCP connection and its teardown for every custom action
of every turn, on both sides. Timed with a scratch script on `make run`'s machine, a request cost 0.87 ms
of CPU that way against 0.21 ms over a kept connection, with one to three such requests a turn.

Here each endpoint keeps one session per event loop and Rasa's `async with` leaves it open. Its
connections are dropped after `IDLE_S` unused, well before the action server (Sanic, 5 s) or
HAProxy (10 s) closes them, so a request is never sent on a connection the other side is closing.
A connection the other side closed (a restarted action server) is noticed and not reused.

Each request to the action server also carries the whole domain (54 kB of JSON here), the same dict
for every request while a model is loaded; it is serialized once per model (`RequestBody`) instead
of per request, 0.27 -> 0.06 ms a request (the same scratch timing).
"""

from __future__ import annotations

import asyncio
import json
import weakref
from types import TracebackType
from typing import Any, Dict, Optional, Type

import aiohttp
from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
from rasa.utils.endpoints import EndpointConfig

IDLE_S = 2.0


class KeptSession:
    """The loop's session of an endpoint, for Rasa's `async with self.session() as session`, which
    would otherwise close it at the end of the request."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self.session

    async def __aexit__(
        self,
        kind: Optional[Type[BaseException]],
        error: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        return None


class RequestBody:
    """The JSON of a request body (aiohttp's `json_serialize`), the same text `json.dumps` gives, with
    the domain's part serialized once for as long as requests carry the same domain dict: Rasa
    never changes a loaded domain, and a new model brings a new one."""

    def __init__(self) -> None:
        self._domain: Optional[Dict[str, Any]] = None
        self._domain_json = ""

    def __call__(self, body: Any) -> str:
        domain = body.get("domain") if isinstance(body, dict) else None
        if not isinstance(domain, dict):
            return json.dumps(body)
        if domain is not self._domain:
            self._domain, self._domain_json = domain, json.dumps(domain)
        rest = json.dumps({key: value for key, value in body.items() if key != "domain"})
        return ("{" if rest == "{}" else rest[:-1] + ", ") + '"domain": ' + self._domain_json + "}"


def new_session(endpoint: EndpointConfig) -> aiohttp.ClientSession:
    """What Rasa's `EndpointConfig.session` makes, with connections kept for `IDLE_S` and no limit
    on how many are open at once (Rasa's sessions had none either)."""
    auth = (
        aiohttp.BasicAuth(endpoint.basic_auth["username"], endpoint.basic_auth["password"])
        if endpoint.basic_auth
        else None
    )
    return aiohttp.ClientSession(
        headers=endpoint.headers,
        auth=auth,
        timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
        connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=IDLE_S),
        json_serialize=RequestBody(),
    )


def kept_session(self: EndpointConfig) -> KeptSession:
    # EndpointConfig defines __eq__ without __hash__, so each keeps its own sessions, by loop (a test
    # or a tool may run several loops in turn; a closed loop's session goes with it).
    sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aiohttp.ClientSession] = vars(
        self
    ).setdefault("_kept_sessions", weakref.WeakKeyDictionary())
    loop = asyncio.get_running_loop()
    session = sessions.get(loop)
    if session is None or session.closed:
        session = sessions[loop] = new_session(self)
    return KeptSession(session)


def install() -> None:
    EndpointConfig.session = kept_session  # type: ignore[assignment,method-assign]
