"""Turns per second and how long customers wait, on `make run` and on `make run-prod`: `make bench`.

Starts each topology the way its make target does (scripts/run.sh, then scripts/run_prod.sh, on
free ports with their own databases; the production one on a PostgreSQL and a Redis of its own and
the machine's RabbitMQ), and drives it with locust, headless (scripts/locustfile.py: the everyday
journeys, half REST and half web chat), in three runs of SECONDS each:

* 1 customer, reading and typing about 3 s between messages: a turn on a quiet server;
* 50 customers, the same: a busy hour;
* saturation: 20 customers who never pause: the most turns per second the topology gives.

Prints turns/s, p50/p95/p99 and errors of each run side by side, and writes them with the machine
they ran on to results/bench/load.md and load.json.

    .venv/bin/python scripts/bench_load.py [--seconds 60] [--only run|run-prod]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.prod.stack import ProdStack, missing_parts  # noqa: E402
from tests.stack import E2EStack, default_now, find_model  # noqa: E402

RESULTS = ROOT / "results" / "bench"


@dataclass(frozen=True)
class Load:
    name: str
    customers: int
    think_s: float


LOADS = [Load("1 customer", 1, 3.0), Load("50 customers", 50, 3.0), Load("saturation", 20, 0.0)]


@dataclass
class Outcome:
    topology: str
    load: str
    turns: int
    errors: int
    turns_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float


def locust(url: str, load: Load, seconds: float, out: Path) -> Outcome:
    prefix = out / load.name.replace(" ", "_")
    subprocess.run(
        [
            sys.executable, "-m", "locust", "-f", str(ROOT / "scripts" / "locustfile.py"),
            "--headless", "--host", url, "--users", str(load.customers),
            "--spawn-rate", str(max(1, load.customers // 5)), "--run-time", f"{int(seconds)}s",
            "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "35",
        ],
        env={**os.environ, "BENCH_THINK_S": str(load.think_s)},
        check=False,  # locust exits 1 when any request failed: the errors are in the figures
        cwd=ROOT,
        timeout=seconds + 180,
    )  # fmt: skip
    with open(f"{prefix}_stats.csv", encoding="utf-8") as f:
        rows = {row["Name"]: row for row in csv.DictReader(f)}
    total = rows["Aggregated"]  # with the web chat connections that failed, as errors
    turned = [rows[name] for name in ("rest turn", "webchat turn") if name in rows]
    return Outcome(
        topology="",
        load=load.name,
        turns=sum(int(row["Request Count"]) for row in turned),
        errors=int(total["Failure Count"]),
        turns_per_s=sum(float(row["Requests/s"]) for row in turned),
        p50_ms=float(total["50%"]),
        p95_ms=float(total["95%"]),
        p99_ms=float(total["99%"]),
    )


def measure(stack: E2EStack, topology: str, seconds: float, out: Path) -> List[Outcome]:
    print(f"starting {topology} in {stack.tmpdir} …", flush=True)
    stack.start()
    outcomes = []
    try:
        for load in LOADS:
            print(f"  {topology}: {load.name}, {seconds:.0f} s …", flush=True)
            outcome = locust(stack.rasa_url, load, seconds, out / topology.replace(" ", "_"))
            outcome.topology = topology
            outcomes.append(outcome)
            time.sleep(3)
    finally:
        stack.stop()
        shutil.rmtree(stack.tmpdir, ignore_errors=True)
    return outcomes


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    memory_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return f"{os.cpu_count()} cores ({cpu}), {memory_kb / 1024 / 1024:.0f} GB, Python {platform.python_version()}"


def table(outcomes: List[Outcome]) -> str:
    lines = [
        "| topology | load | turns | errors | turns/s | p50 ms | p95 ms | p99 ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        lines.append(
            f"| {o.topology} | {o.load} | {o.turns} | {o.errors} | {o.turns_per_s:.1f} | "
            f"{o.p50_ms:.0f} | {o.p95_ms:.0f} | {o.p99_ms:.0f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--only", choices=("run", "run-prod"))
    args = parser.parse_args()
    model, now = find_model(), default_now()
    out = Path(tempfile.mkdtemp(prefix="xinghe-bench-"))
    stacks: Dict[str, E2EStack] = {}
    if args.only in (None, "run"):
        stacks["make run"] = E2EStack(model, now)
    if args.only in (None, "run-prod"):
        missing = missing_parts()
        if missing:
            print("skipping make run-prod: it needs " + ", ".join(missing), flush=True)
        else:
            stacks["make run-prod"] = ProdStack(model, now)
    outcomes: List[Outcome] = []
    for topology, stack in stacks.items():
        outcomes += measure(stack, topology, args.seconds, out)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    report = (
        f"# Load benchmark ({started})\n\n{machine()}; {args.seconds:.0f} s per run; "
        f"the journeys of scripts/locustfile.py, half REST and half web chat.\n\n{table(outcomes)}\n"
    )
    print("\n" + report)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "load.md").write_text(report, encoding="utf-8")
    (RESULTS / "load.json").write_text(
        json.dumps({"at": started, "machine": machine(), "runs": [asdict(o) for o in outcomes]}, indent=2),
        encoding="utf-8",
    )
    print(f"written to {RESULTS / 'load.md'}")
    return 0 if all(o.turns for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
