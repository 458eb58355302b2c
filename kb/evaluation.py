"""KB evaluation: the tuning and held-out splits, exact targets, latency, a synthetic large KB.

kb/eval/tuning.yml is what `python -m kb tune` fits the decision on; kb/eval/heldout.yml
is never looked at by any tuning and is the only split the targets are checked on.
Shares are kept as counts, and every target is compared exactly (fractions, no float
rounding): a confident-wrong share of 0.0201 is over a limit of 0.02 even though it
prints as 0.020.
"""

from __future__ import annotations

import random
import statistics
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np

from kb.answering import Answerer
from kb.dense import DenseIndex, passages
from kb.questions import Question
from kb.retrieval import (
    CATEGORIES,
    CHANNELS,
    Document,
    KnowledgeBase,
)

# Targets on the held-out split: (what, comparison, limit). The limits are exact decimals.
TOP1_TARGET = Fraction("0.90")
ANSWERED_TARGET = Fraction("0.90")  # answered outright and right, of the answerable questions
CONFIDENT_WRONG_TARGET = Fraction("0.02")  # answered outright and wrong, of all questions
ABSTAIN_TARGET = Fraction("0.95")  # "not sure" on the questions the KB does not cover
# Latency of one answer on the 10k-document synthetic KB, question encoding included, on
# the 2-core machine the project runs on (docs/knowledge-base.md); strictly below.
P95_TARGET_MS = 100.0
# The lexical decision alone (what the NLU featurizer asks for every message).
LEXICAL_P95_TARGET_MS = 10.0
SYNTHETIC_SEED = 20261122


def at_least(value: Fraction, limit: Fraction) -> bool:
    return value >= limit


def at_most(value: Fraction, limit: Fraction) -> bool:
    return value <= limit


def below(value: float, limit: float) -> bool:
    return value < limit


@dataclass(frozen=True)
class Outcome:
    question: Question
    ranked_ids: List[str]
    answered_id: Optional[str]  # the document answered outright, if any
    offered_ids: List[str]  # the choices when the assistant asks which one is meant
    outcome: str
    text: str = ""  # the answer given (answered only)
    partial: bool = False  # the answer is the part of the document that applies


@dataclass(frozen=True)
class Share:
    count: int
    total: int

    @property
    def fraction(self) -> Fraction:
        return Fraction(self.count, self.total) if self.total else Fraction(0)

    def __float__(self) -> float:
        return float(self.fraction)

    def __format__(self, spec: str) -> str:
        return format(float(self), spec)


@dataclass(frozen=True)
class QualityReport:
    outcomes: List[Outcome]

    @property
    def in_kb(self) -> List[Outcome]:
        return [o for o in self.outcomes if o.question.doc_ids]

    @property
    def out_of_kb(self) -> List[Outcome]:
        return [o for o in self.outcomes if not o.question.doc_ids]

    def top_k(self, k: int) -> Share:
        return _share(self.in_kb, lambda o: bool(set(o.question.doc_ids) & set(o.ranked_ids[:k])))

    def in_kb_share(self, outcome: str) -> Share:
        return _share(self.in_kb, lambda o: o.outcome == outcome)

    @property
    def clarified_rightly(self) -> Share:
        """Asked which one with buttons, the question truly ambiguous, the right document among them."""
        return _share(self.in_kb, _is_clarified_rightly)

    @property
    def clarified_otherwise(self) -> Share:
        return _share(self.in_kb, lambda o: o.outcome == "clarify" and not _is_clarified_rightly(o))

    @property
    def answered_correctly(self) -> Share:
        return _share(self.in_kb, _is_answered_right)

    @property
    def confident_wrong(self) -> Share:
        """Over every question: answered outright with the wrong document, or at all when out of the KB."""
        return _share(self.outcomes, _is_confident_wrong)

    @property
    def abstain_out_of_kb(self) -> Share:
        """Out of the KB: the assistant said it was not sure (no answer, no buttons)."""
        return _share(self.out_of_kb, lambda o: o.outcome == "not_sure")

    @property
    def with_condition(self) -> List[Outcome]:
        return [o for o in self.in_kb if o.question.says]

    @property
    def condition_stated(self) -> Share:
        """Questions with a condition answered right with only a part of the document, stating what applies."""
        return _share(
            self.with_condition, lambda o: _is_answered_right(o) and o.partial and o.question.says in o.text
        )

    @property
    def whole_document_for_condition(self) -> Share:
        """... answered right with the whole document (it states what applies among the rest)."""
        return _share(self.with_condition, lambda o: _is_answered_right(o) and not o.partial)

    @property
    def wrong_part_for_condition(self) -> Share:
        return _share(
            self.with_condition,
            lambda o: _is_answered_right(o) and o.partial and o.question.says not in o.text,
        )

    @property
    def misses(self) -> List[Outcome]:
        return [
            o
            for o in self.outcomes
            if not (
                _is_answered_right(o)
                or _is_clarified_rightly(o)
                or (not o.question.doc_ids and o.outcome == "not_sure")
            )
        ]


@dataclass(frozen=True)
class Latency:
    samples_ms: List[float]

    @property
    def p50(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p95(self) -> float:
        return statistics.quantiles(self.samples_ms, n=20, method="inclusive")[-1]


def _share(outcomes: Sequence[Outcome], predicate: Callable[[Outcome], bool]) -> Share:
    return Share(sum(1 for o in outcomes if predicate(o)), len(outcomes))


def _is_answered_right(outcome: Outcome) -> bool:
    return outcome.answered_id is not None and outcome.answered_id in outcome.question.doc_ids


def _is_clarified_rightly(outcome: Outcome) -> bool:
    return (
        outcome.outcome == "clarify"
        and outcome.question.ambiguous
        and bool(set(outcome.question.doc_ids) & set(outcome.offered_ids))
    )


def _is_confident_wrong(outcome: Outcome) -> bool:
    return outcome.answered_id is not None and outcome.answered_id not in outcome.question.doc_ids


def encode_questions(answerer: Answerer, questions: Sequence[Question]) -> Tuple[np.ndarray, List[float]]:
    """Each question's vector and the milliseconds its encoding took (one at a time, as in service)."""
    vectors, samples = [], []
    for question in questions:
        start = time.perf_counter()
        vectors.append(answerer.dense.encode_query(question.text))
        samples.append((time.perf_counter() - start) * 1000)
    return np.array(vectors), samples


def evaluate_quality(
    answerer: Answerer, questions: Sequence[Question], vectors: Optional[np.ndarray] = None
) -> QualityReport:
    outcomes = []
    for number, question in enumerate(questions):
        vector = vectors[number] if vectors is not None else None
        decision = answerer.answer(question.text, query_vector=vector, leave_out=question.text)
        ranked = [c.document.id for c in decision.evidence.candidates[:3]]
        answered = decision.document.id if decision.outcome == "answered" else None
        offered = [d.id for d in decision.options]
        text = decision.text() if answered else ""
        partial = decision.passage is not None
        outcomes.append(Outcome(question, ranked, answered, offered, decision.outcome, text, partial))
    return QualityReport(outcomes)


def target_failures(
    heldout: QualityReport, p95_ms: float, lexical_p95_ms: Optional[float] = None
) -> List[str]:
    """Every target the held-out split (and the latency) misses, compared exactly."""
    checks = [
        ("top-1", heldout.top_k(1).fraction, at_least, TOP1_TARGET, ">="),
        ("answered outright and right", heldout.answered_correctly.fraction, at_least, ANSWERED_TARGET, ">="),
        ("confident-wrong", heldout.confident_wrong.fraction, at_most, CONFIDENT_WRONG_TARGET, "<="),
        ("abstains outside the KB", heldout.abstain_out_of_kb.fraction, at_least, ABSTAIN_TARGET, ">="),
    ]
    failures = [
        f"{name} {float(value):.4f} ({value}) not {sign} {float(limit)}"
        for name, value, meets, limit, sign in checks
        if not meets(value, limit)
    ]
    if not below(p95_ms, P95_TARGET_MS):
        failures.append(f"answer p95 {p95_ms:.2f} ms not < {P95_TARGET_MS} ms")
    if lexical_p95_ms is not None and not below(lexical_p95_ms, LEXICAL_P95_TARGET_MS):
        failures.append(f"lexical p95 {lexical_p95_ms:.2f} ms not < {LEXICAL_P95_TARGET_MS} ms")
    return failures


def measure_latency(
    answerer: Answerer,
    queries: Sequence[str],
    vectors: np.ndarray,
    encoding_ms: Sequence[float],
    rounds: int = 3,
) -> Tuple[Latency, Latency, Latency]:
    """(answer with the question's encoding, retrieval and decision alone, lexical decision alone).

    Encoding was timed once per question (`encode_questions`); the rest is timed `rounds`
    times after a warm-up pass, and each sample of the full answer adds that question's
    encoding time to its retrieval time."""
    for query, vector in zip(queries, vectors, strict=True):
        answerer.answer(query, query_vector=vector)
    retrieval, full, lexical = [], [], []
    for _ in range(rounds):
        for query, vector, encoding in zip(queries, vectors, encoding_ms, strict=True):
            start = time.perf_counter()
            answerer.answer(query, query_vector=vector)
            elapsed = (time.perf_counter() - start) * 1000
            retrieval.append(elapsed)
            full.append(elapsed + encoding)
    # Timed in a loop of its own, as the NLU featurizer calls it: no dense product in between.
    for _ in range(max(rounds, 3)):
        for query in queries:
            start = time.perf_counter()
            answerer.kb.answer(query)
            lexical.append((time.perf_counter() - start) * 1000)
    return Latency(full), Latency(retrieval), Latency(lexical)


# --- synthetic KB -------------------------------------------------------------------


def vocabulary(kb: KnowledgeBase) -> List[str]:
    """The KB's own words (titles, keywords, answers) as the synthetic documents' material."""
    words = set()
    for document in kb.documents:
        text = " ".join((document.title, " ".join(document.keywords), document.short, document.body))
        words.update(word for word in kb.analyzer.tokens(text) if len(word) > 1)
    return sorted(words)


def synthetic_document(number: int, words: Sequence[str], rng: random.Random) -> Document:
    def phrase(low: int, high: int, separator: str = "") -> str:
        return separator.join(rng.choices(words, k=rng.randint(low, high)))

    lines = [phrase(6, 12) + "。" for _ in range(rng.randint(2, 5))]
    return Document(
        id=f"synthetic-{number:05d}",
        title=phrase(2, 3, separator="、"),
        category=rng.choice(CATEGORIES),
        keywords=tuple(rng.sample(words, k=6)),
        channels=CHANNELS,
        facts=(),
        short=phrase(6, 12) + "。",
        body="\n".join(lines),
    )


def synthetic_kb(real: KnowledgeBase, count: int, seed: int = SYNTHETIC_SEED) -> KnowledgeBase:
    """`count` seeded documents recombining the real KB's words, plus the real documents."""
    rng = random.Random(seed)
    words = vocabulary(real)
    synthetic = [synthetic_document(number, words, rng) for number in range(count - len(real.documents))]
    return KnowledgeBase(synthetic + list(real.documents), real.lexicon)


# How far a synthetic passage's vector strays from the real passage it is drawn near:
# at 0.03 per dimension its cosine with that passage is about 0.9, as close as two of the
# real KB's passages on neighbouring subjects are.
SYNTHETIC_VECTOR_NOISE = 0.03


def synthetic_answerer(real: Answerer, count: int, seed: int = SYNTHETIC_SEED) -> Answerer:
    """The synthetic KB with a dense index: its own documents keep their vectors, each
    synthetic passage gets a seeded vector near a random real passage (encoding 10,000
    documents would take an hour on this machine and measures the encoder, not retrieval)."""
    large = synthetic_kb(real.kb, count, seed)
    rng = np.random.default_rng(seed)
    real_vectors = real.dense.vectors
    owners, vectors = [], []
    real_positions = {d.id: i for i, d in enumerate(real.kb.documents)}
    real_starts = {}
    for row, owner in enumerate(real.dense.owners):
        real_starts.setdefault(int(owner), row)
    for position, document in enumerate(large.documents):
        document_passages = passages(document)
        if document.id in real_positions and large.get(document.id) is real.kb.get(document.id):
            start = real_starts[real_positions[document.id]]
            block = real_vectors[start : start + len(document_passages)]
        else:
            picks = real_vectors[rng.integers(0, len(real_vectors), len(document_passages))]
            block = picks + rng.normal(0, SYNTHETIC_VECTOR_NOISE, picks.shape).astype(np.float32)
            block /= np.linalg.norm(block, axis=1, keepdims=True)
        for vector in block:
            owners.append(position)
            vectors.append(vector)
    dense = DenseIndex(np.array(owners), np.array(vectors, dtype=np.float32), real.dense.encoder)
    return Answerer(large, dense, real.calibration, real.examples)
