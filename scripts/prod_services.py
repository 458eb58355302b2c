"""Are the production topology's servers there? `make run-prod` asks before starting anything.

    python scripts/prod_services.py     (the XINGHE_PG_*, XINGHE_REDIS_*, XINGHE_RABBITMQ_* variables)

Checks PostgreSQL, Redis and RabbitMQ with a real connection each, creates the business and the
tracker store's databases when they are missing, and says in one message which
servers are missing and where they were looked for. Exit code 0 when all answer, 1 otherwise.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Callable, List, Tuple

import aio_pika
import psycopg2
import redis
from psycopg2 import sql


def env(name: str) -> str:
    return os.environ[name]


def postgres() -> str:
    where = f"{env('XINGHE_PG_HOST')}:{env('XINGHE_PG_PORT')}"
    connection = psycopg2.connect(
        host=env("XINGHE_PG_HOST"),
        port=env("XINGHE_PG_PORT"),
        user=env("XINGHE_PG_USER"),
        password=os.environ.get("XINGHE_PG_PASSWORD") or None,
        dbname="postgres",
        connect_timeout=3,
    )
    connection.autocommit = True  # CREATE DATABASE runs outside a transaction
    created = []
    try:
        with connection.cursor() as cursor:
            for name in (env("XINGHE_BUSINESS_DB"), env("XINGHE_TRACKER_DB")):
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
                if cursor.fetchone() is None:
                    cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                    created.append(name)
    finally:
        connection.close()
    return f"PostgreSQL {where}" + (f": created the databases {', '.join(created)}" if created else "")


def redis_server() -> str:
    where = f"{env('XINGHE_REDIS_HOST')}:{env('XINGHE_REDIS_PORT')}"
    redis.Redis(host=env("XINGHE_REDIS_HOST"), port=int(env("XINGHE_REDIS_PORT")), socket_timeout=3).ping()
    return f"Redis {where}"


def rabbitmq() -> str:
    where = f"{env('XINGHE_RABBITMQ_HOST')}:{env('XINGHE_RABBITMQ_PORT')}"

    async def connect() -> None:
        connection = await aio_pika.connect(
            host=env("XINGHE_RABBITMQ_HOST"),
            port=int(env("XINGHE_RABBITMQ_PORT")),
            login=env("XINGHE_RABBITMQ_USER"),
            password=env("XINGHE_RABBITMQ_PASSWORD"),
            timeout=3,
        )
        await connection.close()

    asyncio.run(connect())
    return f"RabbitMQ {where}"


CHECKS: List[Tuple[str, Callable[[], str]]] = [
    ("PostgreSQL", postgres),
    ("Redis", redis_server),
    ("RabbitMQ", rabbitmq),
]


def main() -> int:
    missing = []
    for name, check in CHECKS:
        try:
            print(f"    {check()}: ok")
        except Exception as error:  # noqa: BLE001 - each failure is reported, whatever it is
            missing.append(f"{name} ({error})".replace("\n", " "))
    if missing:
        print(
            "错误 / error: 生产拓扑需要的服务连不上 / the production topology needs servers that do not "
            "answer: " + "; ".join(missing) + ". Start them (docs/deployment.md), or use `make run`, "
            "which needs none of them.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
