"""Evaluation data stays out of training: the holdout and the external set never leak into data/.

A holdout sentence that is a training sentence with a particle added, a character swapped or written
in traditional characters measures recall of the training data, not generalisation, so the holdout is
checked for near-duplicates (tests/near_duplicates.py) as well as copies.
"""

import json
import os
from pathlib import Path
from typing import List

import pytest
from rasa.shared.nlu.training_data.loading import load_data

from tests.near_duplicates import comparable, near_duplicates

ROOT = Path(__file__).resolve().parents[2]
EXTERNAL = Path(
    os.environ.get("XINGHE_EXTERNAL_EVAL") or ROOT.parent / "shared" / "eval" / "external_zh.jsonl"
)
HOLDOUT = ROOT / "tests" / "nlu_holdout.yml"


@pytest.fixture(scope="module")
def training_examples() -> List[str]:
    return [m.get("text") for m in load_data(str(ROOT / "data" / "nlu")).intent_examples]


@pytest.fixture(scope="module")
def training_texts(training_examples):
    return {comparable(text) for text in training_examples}


@pytest.fixture(scope="module")
def holdout_texts() -> List[str]:
    return [m.get("text") for m in load_data(str(HOLDOUT)).intent_examples]


def test_the_holdout_has_300_utterances_none_of_them_trained_on(holdout_texts, training_texts):
    assert len(holdout_texts) >= 300
    leaked = sorted(text for text in holdout_texts if comparable(text) in training_texts)
    assert not leaked, f"holdout utterances found in data/nlu: {leaked[:10]}"


def test_no_holdout_utterance_is_a_near_duplicate_of_a_training_example(holdout_texts, training_examples):
    pairs = near_duplicates(holdout_texts, training_examples)
    listed = "\n".join(f"  {held!r} (holdout) ~ {trained!r} (data/nlu)" for held, trained in pairs)
    assert not pairs, (
        f"{len({held for held, _ in pairs})} holdout utterances are near-duplicates of training "
        f"examples ({len(pairs)} pairs); reword the holdout one:\n{listed}"
    )


@pytest.mark.parametrize(
    "held, trained",
    [
        ("退票要扣多少钱", "退票扣多少钱"),  # a character added: ratio 0.923
        ("我要取消定单", "我要取消订单"),  # one character replaced in a short sentence
        ("我钱包里还有多少钱", "錢包裡還有多少錢"),  # traditional characters
        ("非常感谢您耐心解答🙏", "非常感谢您耐心解答谢"),  # the emoji reads as the word
        ("拜拜", "拜拜👋"),  # an emoji added is the same sentence
        ("你是不是机器人啊？？", "你是不是机器人"),  # punctuation does not count
        ("取消XH2611070006", "取消XH2611150021"),  # another id of the same kind
        ("工单号TK20261125017", "工单号TK20261120015"),
        ("航班号CA1832", "航班号CA1858"),
        ("13900139002", "13800138001"),  # an id alone is one template
        ("退掉P3X9LA", "退掉K7M2QD"),
        ("K7M2QD退票", "退票"),  # an id added
        ("查一下退款状态", "查一下13500135005的退款状态"),  # an id removed
        ("K7M2QD改到12月5号", "改到12月5日"),  # an id added and one character replaced
    ],
)
def test_near_duplicates_are_caught(held, trained):
    assert near_duplicates([held], [trained]) == [(held, trained)]


@pytest.mark.parametrize(
    "held, trained",
    [
        ("好的", "好的呢"),  # shorter than 5 characters: the holdout keeps it
        ("我要改签，预订号P3X9LA", "我要退票，预订号Z8N4TB"),
        ("麻烦转下人工", "我要找人工客服"),
        ("您好打扰一下", "打扰一下"),  # two characters added to six
        ("查一下XH2611070006", "查一下MU5101"),  # an order id for a flight number: two requests
        ("XH2611070006", "K7M2QD"),
    ],
)
def test_independent_phrasings_are_not_near_duplicates(held, trained):
    assert not near_duplicates([held], [trained])


@pytest.mark.skipif(not EXTERNAL.exists(), reason=f"external evaluation set not on this machine ({EXTERNAL})")
def test_no_training_example_comes_from_the_external_set(training_texts):
    with EXTERNAL.open(encoding="utf-8") as rows:
        external = {comparable(json.loads(row)["text"]) for row in rows}
    copied = sorted(training_texts & external - {""})
    assert not copied, f"training examples found in {EXTERNAL.name}: {copied[:10]}"
