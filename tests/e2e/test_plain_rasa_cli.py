"""The plain Rasa CLI works from the project root, as the people this project is for use it:
the activated venv, no flags (`make validate` runs plain `rasa data validate` the same way)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ACTIVATE = Path(sys.executable).parent / "activate"


def plain(command: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-c", f'. "{ACTIVATE}" && {command}'], cwd=ROOT, capture_output=True, text=True, timeout=1800
    )


def test_rasa_test_runs_every_test_story_and_the_nlu_evaluation():
    if not list((ROOT / "models").glob("*.tar.gz")):
        pytest.fail("plain `rasa test` uses the newest model in models/: run `make train` first")
    run = plain("rasa test")
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    results = ROOT / "results"
    report = json.loads((results / "story_report.json").read_text(encoding="utf-8"))
    stories = report["conversation_accuracy"]
    assert stories["total"] >= 45 and stories["correct"] == stories["total"], stories
    assert "None of the test stories failed" in (results / "failed_test_stories.yml").read_text(
        encoding="utf-8"
    )
    assert (results / "intent_report.json").exists()  # the NLU half ran on data/
