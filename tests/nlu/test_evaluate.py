"""make evaluate reads the figures of each pipeline's own learned entity extractor, and
cross-validates on the same folds every run."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy
import pytest
import rasa
from rasa.nlu.test import generate_folds
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "evaluate.py"


@pytest.fixture(scope="module")
def evaluate():
    spec = importlib.util.spec_from_file_location("evaluate", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_report(directory: Path, name: str, micro_f1: float) -> None:
    report = {"micro avg": {"f1-score": micro_f1}}
    (directory / f"{name}_report.json").write_text(json.dumps(report), encoding="utf-8")


def report_dir(tmp_path: Path, **extractors: float) -> Path:
    """A `rasa test nlu` output with an intent report and the given entity reports."""
    intents = {"accuracy": 0.9, "macro avg": {"f1-score": 0.91}}
    (tmp_path / "intent_report.json").write_text(json.dumps(intents), encoding="utf-8")
    write_report(tmp_path, "RegexEntityExtractor", 0.42)
    for name, micro_f1 in extractors.items():
        write_report(tmp_path, name, micro_f1)
    return tmp_path


@pytest.mark.parametrize("extractor", ["CRFEntityExtractorOnCopy", "DIETClassifier"])
def test_the_entity_figure_is_the_learned_extractors_not_the_regex_ones(evaluate, tmp_path, extractor):
    scores = evaluate.scores(report_dir(tmp_path, **{extractor: 0.97}))
    assert (scores["entity_extractor"], scores["entity_micro_f1"]) == (extractor, 0.97)
    assert (scores["intent_accuracy"], scores["intent_macro_f1"]) == (0.9, 0.91)


def test_a_pipeline_without_a_learned_extractor_has_no_entity_figure(evaluate, tmp_path):
    scores = evaluate.scores(report_dir(tmp_path))
    assert (scores["entity_extractor"], scores["entity_micro_f1"]) == (None, None)
    assert evaluate.fmt(scores["entity_micro_f1"]) == "—"


def fold_test_texts(seed: int) -> list[list[str]]:
    """The test part of each of Rasa's 3 cross-validation folds, numpy seeded as make evaluate does."""
    examples = [
        Message(data={"text": f"{intent} {i}", "intent": intent})
        for intent in ("greet", "goodbye")
        for i in range(9)
    ]
    numpy.random.seed(seed)
    return [
        sorted(m.get("text") for m in test.training_examples)
        for _, test in generate_folds(3, TrainingData(training_examples=examples))
    ]


def test_the_same_seed_gives_the_same_cross_validation_folds(evaluate):
    assert fold_test_texts(evaluate.CV_SEED) == fold_test_texts(evaluate.CV_SEED)
    assert fold_test_texts(1) != fold_test_texts(2)


def test_the_seeded_command_seeds_numpy_with_its_first_argument(evaluate):
    def first_draw(seed: str) -> float:
        out = subprocess.run(
            [sys.executable, "-c", f"{evaluate.SEED_NUMPY}; print(numpy.random.rand())", seed],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return float(out.stdout)

    numpy.random.seed(3)
    assert first_draw("3") == numpy.random.rand() != first_draw("4")
    assert evaluate.SEEDED_RASA.startswith(evaluate.SEED_NUMPY + ";")


def test_the_seeded_command_hands_its_arguments_to_rasa(evaluate):
    out = subprocess.run(
        [sys.executable, "-c", evaluate.SEEDED_RASA, "3", "--version"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert f"Rasa Version      :         {rasa.__version__}" in out.stdout


def test_the_figures_name_the_commit_and_an_edited_checkout(evaluate, tmp_path, monkeypatch):
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    git("init", "-q")
    (tmp_path / "config.yml").write_text("pipeline: []\n", encoding="utf-8")
    git("add", "config.yml")
    git("commit", "-qm", "config")
    monkeypatch.setattr(evaluate, "ROOT", tmp_path)
    assert evaluate.revision() == git("rev-parse", "--short", "HEAD")
    (tmp_path / "config.yml").write_text("pipeline: [edited]\n", encoding="utf-8")
    assert evaluate.revision() == git("rev-parse", "--short", "HEAD") + "-dirty"
