"""`make demo-traffic`'s clock (scripts/demo_traffic.py: SharedClock): every process of the product, however
run.sh starts it, reads the moved clock, and libfaketime's shared state outlives run.sh's helpers and is
gone afterwards."""

from __future__ import annotations

import asyncio
import os
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from business.clock import SHANGHAI
from scripts.demo_traffic import LIBFAKETIMES, SharedClock

pytestmark = pytest.mark.skipif(
    not LIBFAKETIMES, reason="libfaketime is not installed: run scripts/install_system_deps.sh"
)
SHARED_MEMORY = Path("/dev/shm")
# Four threads asking for the time at once for two seconds (a server's event loop and its pool): how many
# of the times they were told were today's, not the demo's.
THREADS_TOGETHER = """
import threading, time
seen = []
def ask():
    end = time.monotonic() + 2
    while time.monotonic() < end:
        seen.append(time.time())
threads = [threading.Thread(target=ask) for _ in range(4)]
[t.start() for t in threads]
[t.join() for t in threads]
print(len(seen), max(seen))
"""
# A server's thread pool at work: the loop hands small jobs to four threads and waits a little between
# rounds; prints the process's CPU seconds for a fixed amount of work.
THREADS_HANDING_OVER = """
import threading, time
from concurrent.futures import ThreadPoolExecutor
pool = ThreadPoolExecutor(4)
def job():
    return sum(range(20000))
for _ in range(60):
    [f.result() for f in [pool.submit(job) for _ in range(4)]]
    threading.Event().wait(0.01)
print(time.process_time())
"""
# run.sh's way: helpers forked and gone ($(...), a subshell, a background job), a server exec'd last.
RUN_SH_LIKE = (
    'helper=$(echo x); (exit 0); sleep 0.1 & wait; exec python3 -c "import time; print(time.time())"'
)


def faketime_state() -> set:
    return {name for name in os.listdir(SHARED_MEMORY) if "faketime" in name}


def test_processes_started_the_way_run_sh_starts_them_share_the_demo_clock_and_leave_nothing(tmp_path):
    before = faketime_state()
    clock = SharedClock(
        tmp_path / "demo_clock", datetime.now(SHANGHAI).replace(tzinfo=None) - timedelta(days=10)
    )
    try:
        keepers = faketime_state() - before
        for _ in range(3):
            seen = subprocess.run(
                ["bash", "-c", RUN_SH_LIKE],
                env={**os.environ, **clock.environment()},
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert seen.returncode == 0 and "libfaketime" not in seen.stderr, seen.stderr
            assert abs(float(seen.stdout) - clock.epoch()) < 5  # ten days back, not today
            # None of them made shared state of its own (which its helpers would remove under it).
            assert faketime_state() - before == keepers
        asyncio.run(clock.move_by(180))
        moved = subprocess.run(
            ["python3", "-c", "import time; print(time.time())"],
            env={**os.environ, **clock.environment()},
            capture_output=True,
            text=True,
            check=True,
        )
        assert abs(float(moved.stdout) - clock.epoch()) < 5
        together = subprocess.run(
            ["python3", "-c", THREADS_TOGETHER],
            env={**os.environ, **clock.environment()},
            capture_output=True,
            text=True,
            check=True,
        )
        calls, latest = together.stdout.split()
        assert int(calls) > 10_000 and float(latest) < clock.epoch() + 5  # never the real time
    finally:
        clock.close()
    assert faketime_state() - before == set()
    assert not clock.path.exists()


def cpu_seconds(program: str, env: dict) -> float:
    done = subprocess.run(["python3", "-c", program], env=env, capture_output=True, text=True, check=True)
    return float(done.stdout)


def test_threads_handing_over_work_cost_on_the_demo_clock_what_they_cost_on_the_real_one(tmp_path):
    clock = SharedClock(
        tmp_path / "demo_clock", datetime.now(SHANGHAI).replace(tzinfo=None) - timedelta(days=10)
    )
    try:
        real = min(cpu_seconds(THREADS_HANDING_OVER, dict(os.environ)) for _ in range(2))
        moved = min(
            cpu_seconds(THREADS_HANDING_OVER, {**os.environ, **clock.environment()}) for _ in range(2)
        )
    finally:
        clock.close()
    # With libfaketime's condition-variable fix on, the same work took over ten times the CPU.
    assert moved < 2 * real + 0.2, (moved, real)
