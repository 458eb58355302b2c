"""Imports flow one way, down to the business core.

`business/` (store, services, clock, text) imports no Rasa and none of the packages built on it;
the channels, the knowledge base and the NLU never import the Rasa action server package
`actions`. Checked twice: statically (every import statement, also those inside functions) and by
importing the whole core in a fresh interpreter (so an indirect import counts too).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from typing import Iterator, Set, Tuple

ROOT = Path(__file__).resolve().parents[2]
RASA_PACKAGES = {"rasa", "rasa_sdk", "sanic", "tensorflow"}
ABOVE_THE_CORE = {
    "actions",
    "analytics",
    "assist",
    "connectors",
    "kb",
    "nlu",
    "persistence",
    "privacy",
    "scripts",
    "tests",
    "workspace",
}


def imported_packages(path: Path) -> Iterator[Tuple[int, str]]:
    """(line, top-level package) of every absolute import in a source file."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]


def offending_imports(package: str, forbidden: Set[str]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for line, name in imported_packages(path)
        if name in forbidden
    ]


def test_the_business_core_imports_nothing_above_it():
    assert offending_imports("business", RASA_PACKAGES | ABOVE_THE_CORE) == []


def test_channels_knowledge_base_and_nlu_never_import_the_action_server_package():
    for package in ("connectors", "kb", "nlu", "scripts"):
        assert offending_imports(package, {"actions"}) == []


def test_the_workspace_and_agent_assist_reach_rasa_only_through_its_http_api():
    for package in ("workspace", "assist", "privacy"):
        assert offending_imports(package, {"rasa", "rasa_sdk", "tensorflow", "actions", "connectors"}) == []


def test_analytics_reads_the_broker_and_the_core_only():
    forbidden = RASA_PACKAGES | {"actions", "connectors", "workspace", "assist", "persistence", "nlu", "kb"}
    assert offending_imports("analytics", forbidden) == []


def test_importing_the_whole_core_loads_no_rasa():
    modules = sorted(
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for path in (ROOT / "business").rglob("*.py")
        if "migrations" not in path.parts  # Alembic loads those itself (tests/unit/test_migrations.py)
    )
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(done.stdout.splitlines()[-1]))
    assert "business" in loaded
    assert loaded & (RASA_PACKAGES | ABOVE_THE_CORE) == set()
