"""Example questions (kb/questions.py): the nearest labelled question as evidence for a decision."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kb.answering import default_answerer
from kb.questions import EXAMPLE_SCALE, TUNING_PATH, ExampleQuestions, Question, read_questions


def unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


@pytest.fixture()
def examples() -> ExampleQuestions:
    questions = [
        Question("运费多少", ("shipping-fee",)),
        Question("满多少包邮", ("shipping-fee",)),
        Question("退款几天到", ("refund-arrival",)),
        Question("附近有什么好吃的", ()),
    ]
    vectors = np.stack([unit(1, 0, 0), unit(1, 1, 0), unit(0, 1, 0), unit(0, 0, 1)])
    return ExampleQuestions(questions, vectors)


def test_the_lead_is_how_much_nearer_the_documents_nearest_example_is(examples: ExampleQuestions) -> None:
    query = unit(1, 0.2, 0)
    lead, agrees = examples.lead(query, "shipping-fee")
    assert lead == pytest.approx(
        EXAMPLE_SCALE * (float(unit(1, 0, 0) @ query) - float(unit(0, 1, 0) @ query))
    )
    assert agrees == 1.0
    lead, agrees = examples.lead(query, "refund-arrival")
    assert lead < 0 and agrees == 0.0


def test_an_example_left_out_is_not_compared(examples: ExampleQuestions) -> None:
    query = unit(1, 0, 0)  # 运费多少 itself
    lead_with, _ = examples.lead(query, "shipping-fee")
    lead_without, _ = examples.lead(query, "shipping-fee", leave_out="运费多少")
    assert lead_without < lead_with  # its nearest is now 满多少包邮
    assert examples.nearest(query)[0].text == "运费多少"
    assert examples.nearest(query, leave_out="运费多少")[0].text == "满多少包邮"


def test_a_document_no_example_is_labelled_with_has_no_lead(examples: ExampleQuestions) -> None:
    assert examples.lead(unit(1, 0, 0), "pet-travel") is None
    # ... nor one whose only example is the question itself.
    assert examples.lead(unit(0, 1, 0), "refund-arrival", leave_out="退款几天到") is None


def test_labels_of_documents_the_kb_lacks_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "tuning.yml"
    path.write_text(
        "questions:\n"
        "  - {q: 运费多少, doc: [shipping-fee, gone]}\n"
        "  - {q: 这篇被删了, doc: gone}\n"
        "  - {q: 附近有什么好吃的, doc: null}\n",
        encoding="utf-8",
    )

    class Encoder:
        name = "fake"

        def queries(self, texts):
            return np.eye(len(texts), 3, dtype=np.float32)

    examples = ExampleQuestions.load(["shipping-fee"], path, Encoder(), cache_dir=None)
    assert [(q.text, q.doc_ids) for q in examples.questions] == [
        ("运费多少", ("shipping-fee",)),
        ("附近有什么好吃的", ()),
    ]


def test_the_shipped_examples_are_the_tuning_questions_and_every_one_is_used() -> None:
    answerer = default_answerer()
    assert len(answerer.examples) == len(read_questions(TUNING_PATH))
    question = "满多少包邮"
    evidence = answerer.evidence(question)
    assert evidence.candidates[0].document.id == "shipping-fee" and evidence.example_features
    assert answerer.calibration.model(evidence) is answerer.calibration.with_examples


def test_the_tuning_split_is_evaluated_as_questions_not_seen() -> None:
    """`kb evaluate` asks each tuning question without its own example: asked with it, the nearest
    example is the question itself and the tuning figures would flatter."""
    from kb.evaluation import encode_questions, evaluate_quality

    answerer = default_answerer()
    questions = [q for q in read_questions(TUNING_PATH) if q.doc_ids][:120]
    vectors, _ = encode_questions(answerer, questions)
    evaluated = evaluate_quality(answerer, questions, vectors).answered_correctly.count
    asked_with_own = [
        answerer.answer(q.text, query_vector=v) for q, v in zip(questions, vectors, strict=True)
    ]
    seen = sum(
        d.outcome == "answered" and d.document.id in q.doc_ids
        for q, d in zip(questions, asked_with_own, strict=True)
    )
    assert evaluated < seen
