"""The running product for end-to-end and security tests: what `make run` starts,
started once per pytest session by `scripts/run.sh serve` itself, and shared.

    make train && make test-e2e        (or: .venv/bin/python -m pytest -m e2e)

What the session fixture does:
  * model: ``$XINGHE_MODEL`` if set, else the newest ``models/*.tar.gz``; no
    model is a failure ("no trained model: run `make train`"), never a skip;
  * a temp dir with a fresh SQLite business DB (``DATABASE_URL``, seeded by
    run.sh as on a new machine), a copy of endpoints.yml whose tracker store writes to the run
    directory, and run.sh's run
    directory (``XINGHE_RUN_DIR``: the API and action tokens it creates, the
    runtime endpoints, the logs);
  * no RASA_API_TOKEN or ACTIONS_TOKEN in the environment, so the tokens are
    made the way `make run` makes them on a fresh machine;
  * two free ports; ``XINGHE_NOW`` fixed to today 10:00 Asia/Shanghai (inside
    service hours) unless it is already set in the environment;
  * waits up to 240 s for run.sh's "running" banner (a run.sh that exits fails
    the session with the last lines of every log); stops it at the end.

Every test that uses these servers (any fixture below) is marked ``e2e``, so
the fast run (``pytest -m "not e2e"``) never starts anything.

Environment knobs: XINGHE_MODEL, XINGHE_NOW, XINGHE_E2E_START_TIMEOUT (s),
XINGHE_E2E_KEEP=1 (keep the temp dir; it is always kept when a test failed).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
import requests
import yaml

from business.clock import SHANGHAI
from business.store.db import engine_for, session_scope
from business.store.seed import build_order
from connectors.rest import rest_conversation_id
from tests.connectors.drivers import channel_environment

ROOT = Path(__file__).resolve().parents[1]
SERVICE_TZ = ZoneInfo("Asia/Shanghai")
START_TIMEOUT = float(os.environ.get("XINGHE_E2E_START_TIMEOUT", "240"))
LOG_TAIL_LINES = 60
RUNNING_BANNER = "星河智能客服已启动"
HEX_DIGITS_AS_LETTERS = str.maketrans("0123456789", "ghijklmnop")
# The secrets a test knows, like a configured deployment's; the API and action
# tokens are left to run.sh.
WEBCHAT_SECRET = "e2e-webchat-visitor-secret-0123456789"
WEBCHAT_SITE_SECRET = "e2e-webchat-site-secret-0123456789"
REST_SECRET = "e2e-rest-backoffice-secret-0123456789"


# --- marking ---------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True)  # before -m deselects anything
def pytest_collection_modifyitems(config, items):
    for item in items:
        if "e2e_stack" in getattr(item, "fixturenames", ()):  # every fixture below needs it
            item.add_marker(pytest.mark.e2e)


# --- helpers ---------------------------------------------------------------------


def find_model() -> Path:
    """The model under test: $XINGHE_MODEL, else the newest models/*.tar.gz."""
    env = os.environ.get("XINGHE_MODEL")
    if env:
        path = Path(env)
        if not path.is_absolute():
            path = ROOT / path
        if not path.is_file():
            pytest.fail(f"XINGHE_MODEL={env}: no such model file", pytrace=False)
        return path
    models = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        pytest.fail("no trained model: run `make train`", pytrace=False)
    return models[-1]


def default_now() -> str:
    """Today at 10:00 Asia/Shanghai (inside the 09:00–21:00 service hours)."""
    today = dt.datetime.now(SERVICE_TZ).date()
    return dt.datetime.combine(today, dt.time(10, 0), tzinfo=SERVICE_TZ).isoformat()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


def kill_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


class E2EStack:
    """`scripts/run.sh serve` on free ports, with its own DB, endpoints and run directory."""

    command = ["bash", str(ROOT / "scripts" / "run.sh"), "serve"]

    def __init__(self, model: Path, xinghe_now: str) -> None:
        self.model = model
        self.xinghe_now = xinghe_now
        self.tmpdir = Path(tempfile.mkdtemp(prefix="xinghe-e2e-"))
        self.run_dir = self.tmpdir / "run"
        self.database_url = f"sqlite:///{self.tmpdir / 'xinghe.db'}"
        ports: List[int] = []
        while len(ports) < 3:
            port = free_port()
            if port not in ports:
                ports.append(port)
        self.rasa_port, self.actions_port, self.workspace_port = ports
        self.rasa_url = f"http://localhost:{self.rasa_port}"
        self.actions_url = f"http://localhost:{self.actions_port}"
        self.workspace_url = f"http://localhost:{self.workspace_port}"
        self.endpoints = self.tmpdir / "endpoints.yml"
        self.proc: Optional[subprocess.Popen] = None
        self.script_log = self.tmpdir / "run.log"  # what the start script itself prints
        self.logs: Dict[str, Path] = {
            "run.sh": self.script_log,
            "action server": self.run_dir / "actions.log",
            "rasa": self.run_dir / "rasa.log",
            "workspace": self.run_dir / "workspace.log",
            "analytics": self.run_dir / "analytics.log",
        }
        # What an activated venv exports would point at the project's own var/.
        private = ("RASA_API_TOKEN", "ACTIONS_TOKEN", "XINGHE_EVENTS_DB", "XINGHE_DATA_KEY")
        self.env = {k: v for k, v in os.environ.items() if k not in private}
        self.env.update(
            DATABASE_URL=self.database_url,
            XINGHE_NOW=xinghe_now,
            XINGHE_MODEL=str(model),
            XINGHE_ENDPOINTS=str(self.endpoints),
            XINGHE_RUN_DIR=str(self.run_dir),
            RASA_PORT=str(self.rasa_port),
            ACTIONS_PORT=str(self.actions_port),
            WORKSPACE_PORT=str(self.workspace_port),
            START_TIMEOUT=str(int(START_TIMEOUT)),
            VENV=str(Path(sys.executable).parent.parent),
            PYTHONUNBUFFERED="1",
            # WeChat and phone channels: test credentials, and a free port for the fake
            # WeChat API that tests/e2e/test_wechat_phone.py starts.
            **channel_environment(wechat_api_port=free_port()),
            # Web chat: fixed test secrets (tests/e2e/test_webchat.py); pages come
            # from the same server, so the default same-origin rule applies.
            XINGHE_WEBCHAT_SECRET=WEBCHAT_SECRET,
            XINGHE_WEBCHAT_SITE_SECRET=WEBCHAT_SITE_SECRET,
            XINGHE_REST_SECRET=REST_SECRET,
        )

    @property
    def api_token(self) -> str:
        return (self.run_dir / "api_token").read_text(encoding="utf-8").strip()

    @property
    def actions_token(self) -> str:
        return (self.run_dir / "actions_token").read_text(encoding="utf-8").strip()

    # -- set-up --

    def write_endpoints(self) -> None:
        src = ROOT / "endpoints.yml"
        if not src.is_file():
            pytest.fail(f"{src} not found", pytrace=False)
        data = yaml.safe_load(src.read_text(encoding="utf-8")) or {}
        # The shipped tracker store (personal data masked at rest), in this run's own file.
        data["tracker_store"]["db"] = str(self.run_dir / "tracker.db")
        self.endpoints.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")

    def _fail_with_logs(self, message: str) -> None:
        parts = [message]
        for name, log in self.logs.items():
            parts.append(f"----- last {LOG_TAIL_LINES} lines of {name} log ({log}) -----\n{tail(log)}")
        pytest.fail("\n".join(parts), pytrace=False)

    def start(self) -> None:
        self.write_endpoints()
        with open(self.script_log, "wb") as log:
            self.proc = subprocess.Popen(
                self.command,
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: a signal reaches run.sh alone
            )
        deadline = time.monotonic() + START_TIMEOUT + 30  # run.sh gives up first, with its reason
        while RUNNING_BANNER not in tail(self.script_log, 200):
            if self.proc.poll() is not None:
                self._fail_with_logs(
                    f"{self.command[1]} exited with code {self.proc.returncode} during start-up"
                )
            if time.monotonic() > deadline:
                self._fail_with_logs(
                    f"{self.command[1]} did not report the servers up within {START_TIMEOUT:.0f}s"
                )
            time.sleep(1)

    # -- tear-down --

    def _server_pids(self) -> List[int]:
        """The servers run.sh started (each leads its own process group)."""
        return [int(pid) for pid in re.findall(r"\(pid (\d+)\)", tail(self.script_log, 400))]

    def stop(self) -> None:
        if self.proc is None:
            return
        servers = self._server_pids()
        kill_group(self.proc.pid, signal.SIGTERM)  # run.sh stops its servers, then exits
        try:
            self.proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            kill_group(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)
        for pid in servers:  # in case run.sh could not stop them
            kill_group(pid, signal.SIGKILL)


class Chat:
    """A minimal client for the REST channel (an anonymous customer) and Rasa's HTTP API."""

    def __init__(self, rasa_url: str, api_token: str) -> None:
        self.rasa_url = rasa_url
        self.api = {"token": api_token}
        self.http = requests.Session()

    def say(self, sender: str, text: str) -> List[Dict[str, Any]]:
        """POST one message; the raw list of bot messages (text, buttons, custom...)."""
        r = self.http.post(
            f"{self.rasa_url}/webhooks/rest/webhook",
            json={"sender": sender, "message": text},
            timeout=60,
        )
        r.raise_for_status()
        return r.json()

    def texts(self, sender: str, text: str) -> List[str]:
        """POST one message; the text of each reply that has one."""
        return [m["text"] for m in self.say(sender, text) if m.get("text")]

    def tracker(self, conversation_id: str) -> Dict[str, Any]:
        """A conversation through the HTTP API (REST senders: see `conversation_id`).  Rasa
        does not unquote the id in the path, so the ':' of channel prefixes stays as it is."""
        r = self.http.get(
            f"{self.rasa_url}/conversations/{quote(conversation_id, safe=':')}/tracker",
            params=self.api,
            timeout=60,
        )
        r.raise_for_status()
        return r.json()

    def parse(self, text: str) -> Dict[str, Any]:
        """NLU only: POST /model/parse (intent, entities, ranking)."""
        r = self.http.post(f"{self.rasa_url}/model/parse", params=self.api, json={"text": text}, timeout=60)
        r.raise_for_status()
        return r.json()

    @staticmethod
    def new_sender() -> str:
        """A fresh REST sender, unique per call. Letters only: Rasa echoes it in every answer, and the
        security tests look for the demo customers' secrets (digits: phone numbers, ID card endings) in
        whole answers, where a hex id would now and then hold one by chance."""
        return "e2e-" + uuid.uuid4().hex.translate(HEX_DIGITS_AS_LETTERS)

    @staticmethod
    def conversation_id(sender: str) -> str:
        """The conversation an anonymous REST sender is in (tickets and trackers name it)."""
        return rest_conversation_id(sender)


@contextlib.asynccontextmanager
async def workspace_agent(http, workspace_url: str, login: str = "wangfang"):
    """A demo agent logged in to the workspace and online (王芳: 商城 and 钱包): the headers her
    browser sends with every call (origin, CSRF token, session cookie); logged out afterwards."""
    headers = {"Origin": workspace_url}
    async with http.post(
        f"{workspace_url}/api/login", json={"login": login, "password": "xinghe-demo"}, headers=headers
    ) as answer:
        assert answer.status == 200
        headers.update(
            {
                "X-CSRF-Token": (await answer.json())["csrf_token"],
                "Cookie": f"xh_workspace={answer.cookies['xh_workspace'].value}",
            }
        )
    async with http.post(f"{workspace_url}/api/status", json={"status": "online"}, headers=headers) as status:
        assert status.status == 200
    try:
        yield headers
    finally:
        async with http.post(f"{workspace_url}/api/logout", headers=headers):
            pass


# --- fixtures ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def rasa_model() -> Path:
    return find_model()


def running(request, stack: E2EStack, label: str, kept: str):
    """Starts `stack` for a pytest session and stops it at the end; its temp dir (`kept`) stays when
    a test failed or XINGHE_E2E_KEEP=1, with the tail of every log on failure."""
    failed_before = request.session.testsfailed
    started = False
    try:
        stack.start()
        started = True
        yield stack
    finally:
        stack.stop()
        failed = not started or request.session.testsfailed > failed_before
        reporter = request.config.pluginmanager.get_plugin("terminalreporter")
        if failed or os.environ.get("XINGHE_E2E_KEEP") == "1":
            if reporter is not None:
                reporter.write_line(f"{label}: kept {stack.tmpdir} ({kept})")
                if failed:
                    for name, log in stack.logs.items():
                        reporter.write_line(f"----- last 30 lines of {name} log -----")
                        reporter.write_line(tail(log, 30))
        else:
            shutil.rmtree(stack.tmpdir, ignore_errors=True)


@pytest.fixture(scope="session")
def e2e_stack(request, rasa_model: Path):
    yield from running(
        request,
        E2EStack(rasa_model, os.environ.get("XINGHE_NOW") or default_now()),
        "e2e",
        "logs, DB, endpoints",
    )


def stack_value(name: str, attribute: str, doc: str):
    """A session fixture `name` that is `e2e_stack.<attribute>`."""

    def value(e2e_stack: E2EStack) -> str:
        return getattr(e2e_stack, attribute)

    value.__doc__ = doc
    return pytest.fixture(scope="session", name=name)(value)


rasa_url = stack_value("rasa_url", "rasa_url", "Rasa's base URL (channels and the HTTP API).")
actions_url = stack_value("actions_url", "actions_url", "The action server's base URL.")
workspace_url = stack_value("workspace_url", "workspace_url", "The agent workspace's base URL.")
stack_database_url = stack_value(
    "stack_database_url",
    "database_url",
    "The business DB the action server uses (open it with SQLAlchemy to check effects).",
)
xinghe_now = stack_value(
    "xinghe_now", "xinghe_now", "The fixed clock (XINGHE_NOW) the action server runs with."
)


@pytest.fixture(scope="session")
def chat(e2e_stack: E2EStack) -> Chat:
    return Chat(e2e_stack.rasa_url, e2e_stack.api_token)


@pytest.fixture
def store(stack_database_url):
    """Opens a session on the action server's database: `with store() as session: ...`."""

    def open_session():
        return session_scope(engine_for(stack_database_url))

    return open_session


@pytest.fixture
def new_delivered_order(store, xinghe_now):
    """Adds a delivered order of 张伟's (C001), paid by WeChat five days before, for one test to
    refund alone: the demo orders are shared by every test in the session.  Returns its id."""
    now = dt.datetime.fromisoformat(xinghe_now).astimezone(SHANGHAI).replace(tzinfo=None)

    def add(order_id: str) -> str:
        record = {
            "id": order_id,
            "customer": "C001",
            "status": "delivered",
            "paid_days_ago": 5,
            "delivered_days_ago": 3,
            "items": [{"name": "护眼台灯", "qty": 1, "price": 159.00}],
        }
        with store() as session:
            session.add(build_order(record, now.date(), now, wallet_memos=[]))
        return order_id

    return add
