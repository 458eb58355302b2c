"""The local servers the production stores run on (PostgreSQL, Redis, RabbitMQ), for tests that
use them for real. A machine without them skips those tests with a message naming the server."""

from __future__ import annotations

import os
import secrets
from typing import Any, Dict, Iterator

import pytest

POSTGRES_ADMIN_URL = os.environ.get("XINGHE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
RABBITMQ_URL = os.environ.get("XINGHE_TEST_RABBITMQ", "amqp://guest:guest@127.0.0.1:5672/")
REDIS_URL = os.environ.get("XINGHE_TEST_REDIS", "redis://127.0.0.1:6379/0")


def _admin_connection():
    import psycopg2  # from rasa's dependencies

    try:
        connection = psycopg2.connect(POSTGRES_ADMIN_URL, connect_timeout=3)
    except psycopg2.OperationalError as error:
        pytest.skip(
            f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL} ({error}); start it to run this test"
        )
    connection.autocommit = True
    return connection


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database for one test, dropped afterwards."""
    from business.store.db import engine_for

    name = f"xinghe_test_{secrets.token_hex(4)}"
    url = f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    admin = _admin_connection()
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {name}")
    try:
        yield url
    finally:
        engine_for(url).dispose()
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


def reachable(host: str, port: int) -> bool:
    import socket

    with socket.socket() as probe:
        probe.settimeout(2)
        return probe.connect_ex((host, port)) == 0


@pytest.fixture
def rabbitmq_url() -> str:
    """The local RabbitMQ (tests name their own exchanges and queues, and delete them)."""
    from urllib.parse import urlparse

    parsed = urlparse(RABBITMQ_URL)
    if not reachable(parsed.hostname or "127.0.0.1", parsed.port or 5672):
        pytest.skip(
            f"RabbitMQ is not reachable at {parsed.hostname}:{parsed.port}; start it to run this test"
        )
    return RABBITMQ_URL


@pytest.fixture
def redis_server() -> Dict[str, Any]:
    """Where the local Redis is (tests use keys of their own, with a random prefix)."""
    from urllib.parse import urlparse

    parsed = urlparse(REDIS_URL)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 6379
    if not reachable(host, port):
        pytest.skip(f"Redis is not reachable at {host}:{port}; start it to run this test")
    return {"host": host, "port": port, "prefix": f"test{secrets.token_hex(4)}"}
