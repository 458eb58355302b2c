"""make evaluate reads the figures of each pipeline's own learned entity extractor."""
import importlib.util
import json
from pathlib import Path

import pytest

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


@pytest.mark.parametrize("extractor", ["CRFEntityExtractor", "DIETClassifier"])
def test_the_entity_figure_is_the_learned_extractors_not_the_regex_ones(evaluate, tmp_path, extractor):
    scores = evaluate.scores(report_dir(tmp_path, **{extractor: 0.97}))
    assert (scores["entity_extractor"], scores["entity_micro_f1"]) == (extractor, 0.97)
    assert (scores["intent_accuracy"], scores["intent_macro_f1"]) == (0.9, 0.91)


def test_a_pipeline_without_a_learned_extractor_has_no_entity_figure(evaluate, tmp_path):
    scores = evaluate.scores(report_dir(tmp_path))
    assert (scores["entity_extractor"], scores["entity_micro_f1"]) == (None, None)
    assert evaluate.fmt(scores["entity_micro_f1"]) == "—"
