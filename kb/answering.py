"""The answering path: lexical and dense retrieval, and a calibrated decision (no Rasa imports).

`KnowledgeBase.answer()` (kb/retrieval.py) stays the lexical decision the NLU's
KnowledgeBaseFeaturizer reads for every message; encoding every message with a sentence
encoder would slow each parse and change the intent model's features. The assistant's
answers (action_answer_faq, `python -m kb ask`) come from `Answerer.answer()` here:

1. Rank: every document gets a combined score, its BM25 score (scaled by the score the
   lexical retriever trusts outright, capped) plus `dense_weight` times how far its dense
   similarity (kb/dense.py) stands above the median document's.
2. Decide: a logistic model, fitted on kb/eval/tuning.yml only by `python -m kb tune`
   (kb/calibration.yml), turns numbers about the best candidate into the probability
   that it is the right document: its lexical score and coverage, its dense similarity
   and lead over the next document, its combined lead, whether the lexical decision
   alone would have answered with it, and what the example questions say (kb/questions.py:
   how much nearer the nearest example labelled with it is than the nearest other one, and
   whether it is the nearest of all). A document no example is labelled with yet (a
   designer's new one) is decided by a second model without those two numbers, fitted on
   every tuning question as if no document had examples. The best candidate is answered
   outright when that probability reaches the model's `answer_floor` (the confidence floor);
   when it does not, but the runner-up is within `close_margin` of the combined score and the
   probability reaches `clarify_floor`, the customer is asked which one is meant (buttons); otherwise the
   assistant is not sure and offers a person. Requests about the customer's own records
   ("我的快递到哪了", an order number) and questions about other companies or businesses
   we do not run (kb/lookups.yml `elsewhere_phrases`: 京东, 12306, 酒店) are never answered.
3. Answer: kb/passages.py picks the part of the document that applies when the question
   carries a condition (a city, a number of days, an amount, a payment method).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np
import yaml

from kb.dense import DenseIndex
from kb.passages import Passage, select_passage, without_conditions
from kb.questions import EXAMPLES_PATH, ExampleQuestions
from kb.retrieval import KB_DIR, LOOKUPS_PATH, STRONG_SCORE, Document, KnowledgeBase, normalize

CALIBRATION_PATH = KB_DIR / "calibration.yml"
FEATURE_NAMES = (
    "lexical",
    "coverage",
    "dense",
    "dense_lead",
    "combined_lead",
    "lexical_agrees",
    "lexical_first",
    "dense_first",
)
# Added when the best candidate's document has example questions (kb/questions.py).
EXAMPLE_FEATURE_NAMES = ("example_lead", "example_agrees")
LEXICAL_CAP = 2.0  # BM25 / STRONG_SCORE beyond this adds nothing: the words already decided
MAX_ALTERNATIVES = 2
# Cosine similarities between e5 vectors differ in the second decimal: scaled to the range
# of the other features so the logistic model's regularisation treats them alike.
DENSE_SCALE = 20.0


@dataclass(frozen=True)
class DecisionModel:
    """A logistic model over the best candidate's features and the floors that turn its probability
    into a decision, as `python -m kb tune` chose them on the tuning split."""

    feature_names: Tuple[str, ...]
    coefficients: Tuple[float, ...]  # one per feature_names
    intercept: float
    answer_floor: float  # the confidence floor: least probability answered outright
    clarify_floor: float  # least probability for asking which one is meant
    close_margin: float  # a runner-up this close in combined score is offered too

    @classmethod
    def from_dict(cls, data: dict, feature_names: Tuple[str, ...]) -> "DecisionModel":
        return cls(
            feature_names=feature_names,
            coefficients=tuple(float(data["coefficients"][name]) for name in feature_names),
            intercept=float(data["intercept"]),
            answer_floor=float(data["answer_floor"]),
            clarify_floor=float(data["clarify_floor"]),
            close_margin=float(data["close_margin"]),
        )

    def probability(self, features: Sequence[float]) -> float:
        z = self.intercept + sum(c * f for c, f in zip(self.coefficients, features, strict=True))
        return 1.0 / (1.0 + math.exp(-z))


@dataclass(frozen=True)
class Calibration:
    """What `python -m kb tune` chose on the tuning split (kb/calibration.yml): the ranking's dense
    weight, the decision for a best candidate with example questions (every shipped document has
    some) and the one for a document no example is labelled with yet (a designer's new one)."""

    dense_weight: float
    with_examples: DecisionModel  # FEATURE_NAMES + EXAMPLE_FEATURE_NAMES
    without_examples: DecisionModel  # FEATURE_NAMES

    @classmethod
    def load(cls, path: Path = CALIBRATION_PATH) -> "Calibration":
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        return cls(
            dense_weight=float(data["dense_weight"]),
            with_examples=DecisionModel.from_dict(
                data["with_examples"], FEATURE_NAMES + EXAMPLE_FEATURE_NAMES
            ),
            without_examples=DecisionModel.from_dict(data["without_examples"], FEATURE_NAMES),
        )

    def model(self, evidence: "Evidence") -> DecisionModel:
        """The decision model that applies to `evidence`'s best candidate."""
        return self.with_examples if evidence.example_features else self.without_examples

    def with_floors(self, **floors: float) -> "Calibration":
        """Both models with other floors (answer_floor, clarify_floor, close_margin)."""
        return replace(
            self,
            with_examples=replace(self.with_examples, **floors),
            without_examples=replace(self.without_examples, **floors),
        )


@dataclass(frozen=True)
class Candidate:
    document: Document
    lexical: float  # BM25 score
    coverage: float  # share of the question's weight the document contains
    dense: float  # best passage's cosine similarity
    combined: float


@dataclass(frozen=True)
class Evidence:
    """Everything one decision was taken on: the best candidates and the decision's inputs."""

    candidates: Tuple[Candidate, ...]  # best first
    features: Tuple[float, ...]  # of the best candidate, in FEATURE_NAMES order
    example_features: Tuple[float, ...]  # EXAMPLE_FEATURE_NAMES, or none: no example has its document
    probability: float
    lookup: bool  # a request about the customer's own records
    elsewhere: bool  # about another company's platform or a business we do not run
    lexical_outcome: str  # what the lexical decision alone would do


@dataclass(frozen=True)
class Decision:
    outcome: str  # "answered", "clarify" or "not_sure"
    document: Optional[Document]  # answered, or the first option when clarifying
    alternatives: Tuple[Document, ...]  # the other options when clarifying
    passage: Optional[Passage]  # the part of `document` that applies (answered only)
    evidence: Evidence

    @property
    def score(self) -> float:
        """The probability the best candidate is right (logged with the question)."""
        return self.evidence.probability

    @property
    def options(self) -> Tuple[Document, ...]:
        return (self.document, *self.alternatives) if self.outcome == "clarify" else ()

    def text(self, short: bool = False) -> str:
        """The answer: the part that applies, the one-sentence form, or the whole document."""
        if self.passage is not None:
            return self.passage.text
        return self.document.short if short else self.document.body


class Answerer:
    """The lexical knowledge base plus its dense index, deciding with a calibration."""

    def __init__(
        self, kb: KnowledgeBase, dense: DenseIndex, calibration: Calibration, examples: ExampleQuestions
    ) -> None:
        self.kb = kb
        self.dense = dense
        self.calibration = calibration
        self.examples = examples

    @classmethod
    def build(
        cls, kb: KnowledgeBase, calibration: Calibration, examples_path: Path = EXAMPLES_PATH
    ) -> "Answerer":
        """The KB with its dense index and its example questions, deciding with `calibration`."""
        dense = DenseIndex.build(kb.documents)
        examples = ExampleQuestions.load((d.id for d in kb.documents), examples_path, dense.encoder)
        return cls(kb, dense, calibration, examples)

    @classmethod
    def load(
        cls, kb: Optional[KnowledgeBase] = None, calibration_path: Path = CALIBRATION_PATH
    ) -> "Answerer":
        return cls.build(kb or KnowledgeBase.load(), Calibration.load(calibration_path))

    def with_calibration(self, calibration: Calibration) -> "Answerer":
        return Answerer(self.kb, self.dense, calibration, self.examples)

    @property
    def documents(self) -> Tuple[Document, ...]:
        return self.kb.documents

    def get(self, doc_id: str) -> Optional[Document]:
        return self.kb.get(doc_id)

    def rank(
        self, query: str, k: int = 3, channel: Optional[str] = None, query_vector: Optional[np.ndarray] = None
    ) -> List[Candidate]:
        return self._evidence(query, channel, query_vector, k, "").candidates[:k]

    def answer(
        self,
        query: str,
        channel: Optional[str] = None,
        query_vector: Optional[np.ndarray] = None,
        leave_out: str = "",
    ) -> Decision:
        """What the assistant does with `query`; `leave_out` is an example question not to compare it
        with (the evaluation asks each tuning question without its own example)."""
        evidence = self.evidence(query, channel, query_vector, leave_out)
        outcome, document, alternatives = decide(evidence, self.calibration.model(evidence))
        passage = select_passage(document, query) if outcome == "answered" else None
        return Decision(outcome, document, alternatives, passage, evidence)

    def evidence(
        self,
        query: str,
        channel: Optional[str] = None,
        query_vector: Optional[np.ndarray] = None,
        leave_out: str = "",
    ) -> Evidence:
        return self._evidence(query, channel, query_vector, 1 + MAX_ALTERNATIVES, leave_out)

    @functools.cached_property
    def _elsewhere(self) -> Tuple[str, ...]:
        data = yaml.safe_load(LOOKUPS_PATH.read_text(encoding="utf-8")) or {}
        return tuple(normalize(str(p)).replace(" ", "") for p in data.get("elsewhere_phrases") or [])

    def _evidence(
        self, query: str, channel: Optional[str], query_vector: Optional[np.ndarray], k: int, leave_out: str
    ) -> Evidence:
        tokens = self.kb.analyzer.query_tokens(query)
        # Coverage is judged on what the question asks about, its places and quantities aside.
        topic_tokens = self.kb.analyzer.query_tokens(without_conditions(query)) or tokens
        lexical = np.asarray(self.kb.lexical_scores(tokens, channel), dtype=np.float64)
        lexical_answer = self.kb.answer(query, channel=channel)
        lookup = self.kb.is_lookup(query)
        compact = normalize(query).replace(" ", "")
        lookup_elsewhere = any(phrase in compact for phrase in self._elsewhere)
        if not tokens and not query.strip():
            return Evidence((), (), (), 0.0, lookup, lookup_elsewhere, lexical_answer.outcome)
        if query_vector is None:
            query_vector = self.dense.encode_query(query)
        dense = self.dense.similarities(query_vector).astype(np.float64)
        combined = np.minimum(lexical / STRONG_SCORE, LEXICAL_CAP) + self.calibration.dense_weight * (
            dense - np.median(dense)
        )
        mask = self.kb.channel_mask(channel)
        if mask is not None:
            combined = np.where(mask > 0, combined, -np.inf)
        k = min(max(k, 2), len(combined))
        top = np.argpartition(-combined, k - 1)[:k]
        top = [int(i) for i in top[np.argsort(-combined[top], kind="stable")] if np.isfinite(combined[i])]
        candidates = tuple(
            Candidate(
                self.kb.documents[i],
                float(lexical[i]),
                self.kb.coverage(topic_tokens, self.kb.documents[i].id),
                float(dense[i]),
                float(combined[i]),
            )
            for i in top
        )
        if not candidates:
            return Evidence((), (), (), 0.0, lookup, lookup_elsewhere, lexical_answer.outcome)
        best = candidates[0]
        others = np.delete(dense, top[0]) if len(dense) > 1 else np.array([0.0])
        runner_up = candidates[1].combined if len(candidates) > 1 else best.combined - 1.0
        lexical_agrees = float(lexical_answer.confident and lexical_answer.document.id == best.document.id)
        first = top[0]
        features = (
            min(best.lexical / STRONG_SCORE, LEXICAL_CAP),
            best.coverage,
            DENSE_SCALE * (best.dense - float(np.median(dense))),
            DENSE_SCALE * (best.dense - float(others.max())),
            best.combined - runner_up,
            lexical_agrees,
            float(lexical[first] > 0 and lexical[first] >= lexical.max()),
            float(dense[first] >= dense.max()),
        )
        example_features = self.examples.lead(query_vector, best.document.id, leave_out) or ()
        evidence = Evidence(
            candidates, features, example_features, 0.0, lookup, lookup_elsewhere, lexical_answer.outcome
        )
        return with_probability(evidence, self.calibration)


def with_probability(evidence: Evidence, calibration: Calibration) -> Evidence:
    """`evidence` with the probability its decision model gives the best candidate."""
    inputs = evidence.features + evidence.example_features
    return replace(evidence, probability=calibration.model(evidence).probability(inputs))


def decide(evidence: Evidence, model: DecisionModel) -> Tuple[str, Optional[Document], Tuple[Document, ...]]:
    """Answer, ask which one is meant, or not sure: (outcome, document, alternatives)."""
    if not evidence.candidates or evidence.lookup or evidence.elsewhere:
        return "not_sure", None, ()
    best = evidence.candidates[0]
    if evidence.probability >= model.answer_floor:
        return "answered", best.document, ()
    close = tuple(
        c.document for c in evidence.candidates[1:] if c.combined >= best.combined - model.close_margin
    )
    if close and evidence.probability >= model.clarify_floor:
        return "clarify", best.document, close
    return "not_sure", None, ()


@functools.lru_cache(maxsize=1)
def default_answerer() -> Answerer:
    """The shipped KB with its dense index, built once per process (the action server calls this)."""
    from kb.retrieval import default_kb

    return Answerer.load(default_kb())
