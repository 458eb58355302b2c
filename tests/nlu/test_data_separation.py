"""Evaluation data stays out of training: the holdout and the external set never leak into data/."""
import json
import os
import re
from pathlib import Path

import pytest
from rasa.shared.nlu.training_data.loading import load_data

from nlu.text import normalise

ROOT = Path(__file__).resolve().parents[2]
EXTERNAL = Path(os.environ.get("XINGHE_EXTERNAL_EVAL") or ROOT.parent / "shared" / "eval" / "external_zh.jsonl")


def comparable(text: str) -> str:
    """Text as a duplicate check sees it: normalised, without punctuation, spaces or case."""
    return re.sub(r"[\W_]+", "", normalise(text)).lower()


@pytest.fixture(scope="module")
def training_texts():
    return {comparable(m.get("text")) for m in load_data(str(ROOT / "data" / "nlu")).intent_examples}


def test_the_holdout_has_300_utterances_none_of_them_trained_on(training_texts):
    holdout = load_data(str(ROOT / "tests" / "nlu_holdout.yml")).intent_examples
    assert len(holdout) >= 300
    leaked = sorted(m.get("text") for m in holdout if comparable(m.get("text")) in training_texts)
    assert not leaked, f"holdout utterances found in data/nlu: {leaked[:10]}"


@pytest.mark.skipif(not EXTERNAL.exists(), reason=f"external evaluation set not on this machine ({EXTERNAL})")
def test_no_training_example_comes_from_the_external_set(training_texts):
    with EXTERNAL.open(encoding="utf-8") as rows:
        external = {comparable(json.loads(row)["text"]) for row in rows}
    copied = sorted(training_texts & external - {""})
    assert not copied, f"training examples found in {EXTERNAL.name}: {copied[:10]}"
