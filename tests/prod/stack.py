"""The production topology as the tests and `make bench` start it: `scripts/run_prod.sh` (what
`make run-prod` starts) on free ports, on a PostgreSQL and a Redis of its own (tests/prod/servers.py)
and the machine's RabbitMQ (an exchange and a queue of this run's own, deleted at the end)."""

from __future__ import annotations

import os
import re
import shutil
import uuid
from pathlib import Path
from typing import List

from tests.servers import RABBITMQ_URL, reachable
from tests.stack import ROOT, E2EStack, free_port, tail

from .servers import PrivatePostgres, PrivateRedis, postgres_bin


def missing_parts() -> List[str]:
    from urllib.parse import urlparse

    missing = []
    if postgres_bin() is None:
        missing.append("PostgreSQL's programs (/usr/lib/postgresql/*/bin)")
    if shutil.which("redis-server") is None:
        missing.append("redis-server")
    if shutil.which("haproxy") is None:
        missing.append("haproxy (scripts/install_system_deps.sh)")
    rabbit = urlparse(RABBITMQ_URL)
    if not reachable(rabbit.hostname or "127.0.0.1", rabbit.port or 5672):
        missing.append(f"a running RabbitMQ at {rabbit.hostname}:{rabbit.port}")
    return missing


class ProdStack(E2EStack):
    """`scripts/run_prod.sh` on free ports, with private PostgreSQL and Redis."""

    command = ["bash", str(ROOT / "scripts" / "run_prod.sh")]

    def __init__(self, model: Path, xinghe_now: str) -> None:
        super().__init__(model, xinghe_now)
        self.postgres = PrivatePostgres()
        self.redis = PrivateRedis(self.tmpdir / "redis")
        self.rasa_ports = [free_port(), free_port()]
        self.actions_ports = [free_port(), free_port()]
        self.instance_urls = [f"http://127.0.0.1:{port}" for port in self.rasa_ports]
        run = uuid.uuid4().hex[:8]
        self.exchange, self.queue = f"xinghe-test-{run}", f"xinghe-test-{run}.workspace"
        self.logs = {"run_prod.sh": self.script_log}
        for name in ("rasa1", "rasa2", "actions1", "actions2", "haproxy", "workspace"):
            self.logs[name] = self.run_dir / f"{name}.log"
        # The business database run_prod.sh creates in the private PostgreSQL.
        self.database_url = f"postgresql://postgres@127.0.0.1:{self.postgres.port}/xinghe"
        for name in ("DATABASE_URL", "XINGHE_ENDPOINTS", "WECHAT_DEDUPE_URL"):
            self.env.pop(name, None)
        self.env.update(
            XINGHE_PG_PORT=str(self.postgres.port),
            XINGHE_REDIS_PORT=str(self.redis.port),
            XINGHE_RASA_PORTS=" ".join(map(str, self.rasa_ports)),
            XINGHE_ACTIONS_PORTS=" ".join(map(str, self.actions_ports)),
            XINGHE_BIND="127.0.0.1",
            XINGHE_EVENTS_EXCHANGE=self.exchange,
            XINGHE_WORKSPACE_QUEUE=self.queue,
            XINGHE_ACTIONS_TIMEOUT="3s",
            XINGHE_LOCK_LIFETIME="5",
        )

    def write_endpoints(self) -> None:
        """run_prod.sh uses deploy/endpoints.prod.yml as it is."""

    def start(self) -> None:
        self.postgres.create()
        self.redis.start()
        super().start()

    def pids(self, name: str) -> List[int]:
        """The process groups run_prod.sh started (or restarted) for `name`, oldest first."""
        return [int(pid) for pid in re.findall(rf"started {name} \(pid (\d+)\)", tail(self.script_log, 400))]

    def signal(self, name: str, sig: int) -> None:
        os.killpg(self.pids(name)[-1], sig)

    def stop(self) -> None:
        try:
            super().stop()
        finally:
            self.redis.stop()
            try:
                self.postgres.stop("immediate")
            except Exception:  # noqa: BLE001 - it may be stopped already
                pass
            self.postgres.remove()
            self._delete_broker_names()

    def _delete_broker_names(self) -> None:
        import asyncio

        import aio_pika

        async def delete() -> None:
            connection = await aio_pika.connect(RABBITMQ_URL)
            async with connection:
                channel = await connection.channel()
                await channel.queue_delete(self.queue)
                await channel.exchange_delete(self.exchange)

        try:
            asyncio.run(delete())
        except Exception:  # noqa: BLE001 - nothing to delete when the stack never started
            pass
