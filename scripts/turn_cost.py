"""What a turn costs each process of a running `make run`, in CPU time (docs/deployment.md).

Sends the load benchmark's journeys (scripts/journeys.py) over the REST channel, CUSTOMERS at a
time without pauses, and reads from /proc how much CPU the Rasa process and the action server used
meanwhile, and what the product's other processes (the workspace, the analytics consumer) and this
load generator spent beside them: CPU milliseconds per turn are what bounds the turns per second one
core can serve, and their sum what the machine's cores can, whatever else the machine is doing. Linux only.

    .venv/bin/python scripts/turn_cost.py [--journeys 300] [--customers 8] [--url http://localhost:5005]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from journeys import JOURNEYS  # noqa: E402

PROCESSES = {"rasa": "bin/rasa run", "action server": "actions.server"}
# Started by `make run` too, and busy while customers talk (the workspace follows the event stream, the
# consumer turns it into facts); absent from an older or a partial start, so optional.
BESIDE = {"workspace": "python -m workspace", "analytics consumer": "analytics consume"}


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def pids(pattern: str) -> List[int]:
    found = subprocess.run(
        ["pgrep", "-f", pattern], capture_output=True, text=True, check=False
    ).stdout.split()
    return [int(pid) for pid in found]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--journeys", type=int, default=300)
    parser.add_argument("--customers", type=int, default=8)
    parser.add_argument("--url", default=f"http://localhost:{os.environ.get('RASA_PORT', '5005')}")
    args = parser.parse_args()
    watched: Dict[str, int] = {}
    for name, pattern in PROCESSES.items():
        found = pids(pattern)
        if len(found) != 1:
            print(f"error: expected one {name} process (`make run`), found {len(found)}", file=sys.stderr)
            return 1
        watched[name] = found[0]
    for name, pattern in BESIDE.items():
        found = pids(pattern)
        if len(found) == 1:
            watched[name] = found[0]
    watched["this load generator"] = os.getpid()
    webhook = f"{args.url}/webhooks/rest/webhook"
    waits: List[float] = []
    lock = threading.Lock()

    def journey(_: int) -> None:
        session, sender = requests.Session(), f"cost-{uuid.uuid4().hex}"
        for text in random.choice(JOURNEYS):
            started = time.perf_counter()
            reply = session.post(webhook, json={"sender": sender, "message": text}, timeout=30)
            reply.raise_for_status()
            with lock:
                waits.append(time.perf_counter() - started)

    random.seed(1)
    for _ in range(5):  # warm up: first parses, first database connections
        journey(0)
    waits.clear()
    before = {name: cpu_seconds(pid) for name, pid in watched.items()}
    started = time.perf_counter()
    with ThreadPoolExecutor(args.customers) as pool:
        list(pool.map(journey, range(args.journeys)))
    elapsed = time.perf_counter() - started
    turns = len(waits)
    spent = {name: (cpu_seconds(pid) - before[name]) * 1000 / turns for name, pid in watched.items()}
    for name, ms in spent.items():
        print(f"{name}: {ms:.1f} ms of CPU per turn")
    print(f"all of them: {sum(spent.values()):.1f} ms of CPU per turn")
    waits.sort()
    print(
        f"{turns} turns, {args.customers} customers without pauses: {turns / elapsed:.1f} turns/s, "
        f"p50 {waits[turns // 2] * 1000:.0f} ms, p95 {waits[int(turns * 0.95)] * 1000:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
