"""The production topology under test (tests/prod/stack.py), started once per pytest session; tests
restart and stop its own PostgreSQL and Redis.

Every test here is marked `prod` (and `e2e`): `make test-prod` runs them. A machine without
PostgreSQL's and Redis's programs, HAProxy or a running RabbitMQ skips them, saying which is
missing.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.stack import default_now, find_model, running

from .stack import ProdStack, missing_parts


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).parent == here:
            item.add_marker(pytest.mark.prod)
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def prod_stack(request):
    missing = missing_parts()
    if missing:
        pytest.skip("the production topology tests need " + ", ".join(missing))
    stack = ProdStack(find_model(), os.environ.get("XINGHE_NOW") or default_now())
    yield from running(request, stack, "prod", "logs, databases")


def _signal_all(stack: ProdStack, sig: int) -> None:
    for name in ("action server 1", "action server 2"):
        stack.signal(name, sig)


@pytest.fixture
def action_servers_frozen(prod_stack):
    """Both action servers stop answering (as if hung) for the test, and come back after it."""
    _signal_all(prod_stack, signal.SIGSTOP)
    yield
    _signal_all(prod_stack, signal.SIGCONT)
