"""End-to-end harness: a real Rasa server and action server, started once per
pytest session and shared by every e2e test.

    make train && make test-e2e        (or: .venv/bin/python -m pytest -m e2e)

What the session fixture does:
  * model: ``$XINGHE_MODEL`` if set, else the newest ``models/*.tar.gz``; no
    model is a failure ("no trained model: run `make train`"), never a skip;
  * a temp dir with a fresh SQLite business DB (``DATABASE_URL``) seeded by
    ``python -m actions.store.seed``, and a copy of endpoints.yml whose action
    endpoint points at our action server and with no ``tracker_store`` (so
    Rasa keeps conversations in memory);
  * two free ports; ``XINGHE_NOW`` fixed to today 10:00 Asia/Shanghai (inside
    service hours) unless it is already set in the environment;
  * ``rasa run actions`` and ``rasa run --enable-api`` with logs in the temp
    dir; waits up to 240 s for both (a process that dies fails the session
    with its last 60 log lines); stops both at the end of the session.

Every test under tests/e2e/ is marked ``e2e`` automatically, so the fast run
(``pytest -m "not e2e"``) never starts anything.  Tests that need the servers
must live here to see these fixtures.

Environment knobs: XINGHE_MODEL, XINGHE_NOW, XINGHE_E2E_START_TIMEOUT (s),
XINGHE_E2E_KEEP=1 (keep the temp dir; it is always kept when a test failed).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
import requests
import yaml

from actions.services.clock import SHANGHAI
from actions.store.db import engine_for, session_scope
from actions.store.seed import build_order
from tests.connectors.drivers import channel_environment

ROOT = Path(__file__).resolve().parents[2]
E2E_DIR = Path(__file__).resolve().parent
SERVICE_TZ = ZoneInfo("Asia/Shanghai")
START_TIMEOUT = float(os.environ.get("XINGHE_E2E_START_TIMEOUT", "240"))
LOG_TAIL_LINES = 60


# --- marking ---------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True)  # before -m deselects anything
def pytest_collection_modifyitems(config, items):
    for item in items:
        if E2E_DIR in Path(item.path).resolve().parents:
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


def venv_tool(name: str) -> str:
    """A console script from the venv running pytest (no activated venv needed)."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        pytest.fail(f"`{name}` not found next to {sys.executable}: run `make install`", pytrace=False)
    return found


class E2EStack:
    """Rasa + action server on free ports, with their own DB and endpoints."""

    def __init__(self, model: Path, xinghe_now: str) -> None:
        self.model = model
        self.xinghe_now = xinghe_now
        self.tmpdir = Path(tempfile.mkdtemp(prefix="xinghe-e2e-"))
        self.database_url = f"sqlite:///{self.tmpdir / 'xinghe.db'}"
        self.rasa_port = free_port()
        self.actions_port = free_port()
        while self.actions_port == self.rasa_port:
            self.actions_port = free_port()
        self.rasa_url = f"http://localhost:{self.rasa_port}"
        self.actions_url = f"http://localhost:{self.actions_port}"
        self.endpoints = self.tmpdir / "endpoints.yml"
        self.procs: Dict[str, subprocess.Popen] = {}
        self.logs: Dict[str, Path] = {
            "action server": self.tmpdir / "actions.log",
            "rasa": self.tmpdir / "rasa.log",
        }
        self._log_files: List[Any] = []
        self.env = dict(os.environ)
        self.env.update(
            DATABASE_URL=self.database_url,
            XINGHE_NOW=xinghe_now,
            PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            RASA_TELEMETRY_ENABLED="false",
            TF_CPP_MIN_LOG_LEVEL="2",
            SQLALCHEMY_SILENCE_UBER_WARNING="1",
            PYTHONUNBUFFERED="1",
            # WeChat and phone channels: test credentials, and a free port for the fake
            # WeChat API that tests/e2e/test_wechat_phone.py starts.
            **channel_environment(wechat_api_port=free_port()),
            # Web chat: fixed test secrets (tests/e2e/test_webchat.py); pages come
            # from the same server, so the default same-origin rule applies.
            XINGHE_WEBCHAT_SECRET="e2e-webchat-visitor-secret-0123456789",
            XINGHE_WEBCHAT_SITE_SECRET="e2e-webchat-site-secret-0123456789",
        )

    # -- set-up --

    def write_endpoints(self) -> None:
        src = ROOT / "endpoints.yml"
        if not src.is_file():
            pytest.fail(f"{src} not found", pytrace=False)
        data = yaml.safe_load(src.read_text(encoding="utf-8")) or {}
        data.pop("tracker_store", None)  # in-memory tracker store
        action = data.get("action_endpoint") or {}
        action["url"] = f"{self.actions_url}/webhook"
        data["action_endpoint"] = action
        self.endpoints.write_text(
            yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )

    def seed(self) -> None:
        proc = subprocess.run(
            [sys.executable, "-m", "actions.store.seed"],
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if proc.returncode != 0:
            pytest.fail(
                f"seeding {self.database_url} failed (exit {proc.returncode}):\n"
                f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}",
                pytrace=False,
            )

    def _spawn(self, name: str, cmd: List[str]) -> None:
        log = open(self.logs[name], "wb")
        self._log_files.append(log)
        self.procs[name] = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: teardown kills all of it
        )

    def _answers(self, url: str) -> bool:
        try:
            return requests.get(url, timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def _fail_with_logs(self, message: str) -> None:
        parts = [message]
        for name, log in self.logs.items():
            parts.append(f"----- last {LOG_TAIL_LINES} lines of {name} log ({log}) -----\n{tail(log)}")
        pytest.fail("\n".join(parts), pytrace=False)

    def start(self) -> None:
        self.write_endpoints()
        self.seed()
        rasa = venv_tool("rasa")
        self._spawn(
            "action server",
            [rasa, "run", "actions", "--actions", "actions", "-p", str(self.actions_port)],
        )
        self._spawn(
            "rasa",
            [
                rasa, "run", "--enable-api",
                "-m", str(self.model),
                "--endpoints", str(self.endpoints),
                "--credentials", str(ROOT / "credentials.yml"),
                "-p", str(self.rasa_port),
            ],
        )
        checks = {
            "action server": f"{self.actions_url}/health",
            "rasa": f"{self.rasa_url}/status",
        }
        deadline = time.monotonic() + START_TIMEOUT
        pending = dict(checks)
        while pending:
            for name in list(pending):
                if self._answers(pending[name]):
                    del pending[name]
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    self._fail_with_logs(f"{name} exited with code {proc.returncode} during start-up")
            if not pending:
                break
            if time.monotonic() > deadline:
                self._fail_with_logs(
                    f"{', '.join(pending)} did not answer within {START_TIMEOUT:.0f}s"
                )
            time.sleep(1)

    # -- tear-down --

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=5)
        for log in self._log_files:
            log.close()


class Chat:
    """A minimal client for Rasa's REST channel and HTTP API."""

    def __init__(self, rasa_url: str) -> None:
        self.rasa_url = rasa_url
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

    def tracker(self, sender: str) -> Dict[str, Any]:
        r = self.http.get(
            f"{self.rasa_url}/conversations/{quote(sender, safe='')}/tracker", timeout=60
        )
        r.raise_for_status()
        return r.json()

    def parse(self, text: str) -> Dict[str, Any]:
        """NLU only: POST /model/parse (intent, entities, ranking)."""
        r = self.http.post(f"{self.rasa_url}/model/parse", json={"text": text}, timeout=60)
        r.raise_for_status()
        return r.json()

    @staticmethod
    def new_sender() -> str:
        """A fresh conversation id, unique per call."""
        return f"e2e-{uuid.uuid4().hex}"


# --- fixtures ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def rasa_model() -> Path:
    return find_model()


@pytest.fixture(scope="session")
def e2e_stack(request, rasa_model: Path):
    stack = E2EStack(rasa_model, os.environ.get("XINGHE_NOW") or default_now())
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
                reporter.write_line(f"e2e: kept {stack.tmpdir} (logs, DB, endpoints)")
                if failed:
                    for name, log in stack.logs.items():
                        reporter.write_line(f"----- last 30 lines of {name} log -----")
                        reporter.write_line(tail(log, 30))
        else:
            shutil.rmtree(stack.tmpdir, ignore_errors=True)


@pytest.fixture(scope="session")
def rasa_url(e2e_stack: E2EStack) -> str:
    return e2e_stack.rasa_url


@pytest.fixture(scope="session")
def actions_url(e2e_stack: E2EStack) -> str:
    return e2e_stack.actions_url


@pytest.fixture(scope="session")
def database_url(e2e_stack: E2EStack) -> str:
    """The business DB the action server uses (open it with SQLAlchemy to check effects)."""
    return e2e_stack.database_url


@pytest.fixture(scope="session")
def xinghe_now(e2e_stack: E2EStack) -> str:
    """The fixed clock (XINGHE_NOW) the action server runs with."""
    return e2e_stack.xinghe_now


@pytest.fixture(scope="session")
def chat(e2e_stack: E2EStack) -> Chat:
    return Chat(e2e_stack.rasa_url)


@pytest.fixture
def store(database_url):
    """Opens a session on the action server's database: `with store() as session: ...`."""
    def open_session():
        return session_scope(engine_for(database_url))
    return open_session


@pytest.fixture
def new_delivered_order(store, xinghe_now):
    """Adds a delivered order of 张伟's (C001), paid by WeChat five days before, for one test to
    refund alone: the demo orders are shared by every test in the session.  Returns its id."""
    now = dt.datetime.fromisoformat(xinghe_now).astimezone(SHANGHAI).replace(tzinfo=None)

    def add(order_id: str) -> str:
        record = {"id": order_id, "customer": "C001", "status": "delivered", "paid_days_ago": 5,
                  "delivered_days_ago": 3, "items": [{"name": "护眼台灯", "qty": 1, "price": 159.00}]}
        with store() as session:
            session.add(build_order(record, now.date(), now, wallet_memos=[]))
        return order_id
    return add
