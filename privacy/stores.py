"""Where a customer's conversations rest: the business database, and Rasa's tracker store and event
broker as the endpoints file configures them (SQL ones; the tables are Rasa's `events`).

Read with plain SQLAlchemy, so nothing here needs Rasa: the workspace and the command line use it.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import yaml
from sqlalchemy import MetaData, Table, func, inspect, select
from sqlalchemy.engine import URL, Engine

from business.store.db import engine_for, get_engine

logger = logging.getLogger(__name__)

# make run writes the endpoints Rasa runs with here (scripts/run.sh); the workspace gets the path.
ENDPOINTS_ENV = "XINGHE_ENDPOINTS_RUNTIME"
SQL_TRACKER_STORES = frozenset({"sql", "persistence.tracker_store.maskingsqltrackerstore"})
# Variables endpoints.yml names, with the defaults scripts/project_env.sh gives them.
DEFAULTS = {"XINGHE_EVENTS_DB": "var/events.db"}


def expand(value: str) -> str:
    for name, default in DEFAULTS.items():
        value = value.replace("${" + name + "}", os.environ.get(name) or default)
    return os.path.expandvars(value)


def sql_url(config: Mapping[str, Any]) -> Optional[str]:
    """The SQLAlchemy URL of an SQL store's settings in endpoints.yml, as Rasa builds it."""
    dialect = str(config.get("dialect") or "sqlite")
    db = expand(str(config.get("db") or ""))
    if not db or "${" in db:
        return None
    if dialect == "sqlite":
        return f"sqlite:///{db}"

    def setting(name: str) -> Optional[str]:  # the production endpoints name environment variables
        value = config.get(name)
        if value is None:
            return None
        return expand(str(value)) or None  # an empty variable (no password) is no value

    port = setting("port")
    url: str = URL.create(
        dialect,
        username=setting("username"),
        password=setting("password"),
        host=setting("url") or setting("host"),
        port=int(port) if port else None,
        database=db,
    ).render_as_string(hide_password=False)
    return url


def default_endpoints() -> Path:
    configured = os.environ.get(ENDPOINTS_ENV)
    if configured:
        return Path(configured)
    runtime = Path("var/endpoints.runtime.yml")
    return runtime if runtime.exists() else Path("endpoints.yml")


@dataclass
class Stores:
    business: Engine
    tracker: Optional[Engine]  # None: not an SQL tracker store (nothing of Rasa's is reachable)
    broker: Optional[Engine]

    @classmethod
    def from_endpoints(cls, path: Optional[Path] = None) -> "Stores":
        with open(path or default_endpoints(), encoding="utf-8") as f:
            endpoints = yaml.safe_load(f) or {}
        tracker = endpoints.get("tracker_store") or {}
        broker = endpoints.get("event_broker") or {}
        tracker_url = sql_url(tracker) if str(tracker.get("type", "")).lower() in SQL_TRACKER_STORES else None
        broker_url = sql_url(broker) if str(broker.get("type", "")).lower() == "sql" else None
        return cls(
            business=get_engine(),
            tracker=engine_for(tracker_url) if tracker_url else None,
            broker=engine_for(broker_url) if broker_url else None,
        )

    def unreachable(self) -> List[str]:
        """The conversation stores this code cannot reach (not SQL): erase and purge miss them."""
        missing = [] if self.tracker is not None else ["对话存储（tracker store）不是 SQL 存储"]
        if self.broker is None:
            missing.append("事件代理不是 SQL 代理：请在代理一侧（如 RabbitMQ 的队列）设置保存期限")
        return missing


_REFLECTED: Dict[Engine, Table] = {}


def events_table(engine: Optional[Engine]) -> Optional[Table]:
    """Rasa's `events` table in that store, if the store has one yet (reflected once per store)."""
    if engine is None:
        return None
    if engine not in _REFLECTED and inspect(engine).has_table("events"):
        _REFLECTED[engine] = Table("events", MetaData(), autoload_with=engine)
    return _REFLECTED.get(engine)


def last_event_id(engine: Engine) -> int:
    """The id of the last row of the store's `events` table; 0 while Rasa has not created it."""
    events = events_table(engine)
    if events is None:
        return 0
    with engine.connect() as connection:
        return int(connection.execute(select(func.coalesce(func.max(events.c.id), 0))).scalar_one())


def events_after(engine: Engine, after: int, limit: int) -> List[Tuple[int, str, Any]]:
    """(id, sender_id, data) of the rows of the store's `events` table after the id `after`, in id
    order, at most `limit`: the SQL event broker's and the SQL tracker store's alike. Nothing while
    Rasa has not created the table yet."""
    events = events_table(engine)
    if events is None:
        logger.debug("Rasa has not created its events table yet")
        return []
    with engine.connect() as connection:
        rows = connection.execute(
            select(events.c.id, events.c.sender_id, events.c.data)
            .where(events.c.id > after)
            .order_by(events.c.id)
            .limit(limit)
        ).all()
    return [(int(row_id), str(sender_id or ""), data) for row_id, sender_id, data in rows]


def scrub(engine: Optional[Engine]) -> None:
    """After deleting: SQLite keeps deleted rows' bytes in free pages and in its write-ahead log
    until they are reused; the erasing connections set `secure_delete`, and this folds the log
    back into the database and empties it."""
    if engine is not None and engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def secure(connection: Any) -> None:
    """Makes this connection's deletes overwrite the deleted bytes (SQLite; others free them)."""
    if connection.engine.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA secure_delete = ON")
