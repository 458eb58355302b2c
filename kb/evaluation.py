"""Retrieval evaluation: accuracy on held-out questions, latency, a synthetic large KB."""
from __future__ import annotations

import random
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence

import yaml

from kb.retrieval import (
    CATEGORIES,
    CHANNELS,
    KB_DIR,
    Document,
    KnowledgeBase,
)

QUESTIONS_PATH = KB_DIR / "eval" / "questions.yml"
TUNING_PATH = KB_DIR / "eval" / "tuning.yml"

TOP1_TARGET = 0.90
CONFIDENT_WRONG_TARGET = 0.03
P95_TARGET_MS = 10.0
SYNTHETIC_SEED = 20261122


@dataclass(frozen=True)
class Question:
    text: str
    doc_id: Optional[str]  # None: the KB must not answer it


@dataclass(frozen=True)
class Outcome:
    question: Question
    ranked_ids: List[str]
    answered_id: Optional[str]  # the document answered outright, if any
    offered_ids: List[str]  # the choices when the assistant asks which one is meant
    outcome: str


@dataclass(frozen=True)
class QualityReport:
    outcomes: List[Outcome]

    @property
    def in_kb(self) -> List[Outcome]:
        return [o for o in self.outcomes if o.question.doc_id is not None]

    @property
    def out_of_kb(self) -> List[Outcome]:
        return [o for o in self.outcomes if o.question.doc_id is None]

    def top_k(self, k: int) -> float:
        return _share(self.in_kb, lambda o: o.question.doc_id in o.ranked_ids[:k])

    def in_kb_share(self, outcome: str) -> float:
        return _share(self.in_kb, lambda o: o.outcome == outcome)

    @property
    def clarified_with_right_option(self) -> float:
        return _share(self.in_kb, lambda o: o.question.doc_id in o.offered_ids)

    @property
    def answered_correctly(self) -> float:
        return _share(self.in_kb, lambda o: o.answered_id == o.question.doc_id)

    @property
    def confident_wrong(self) -> float:
        """Over every question: answered outright with the wrong document, or at all when out of the KB."""
        return _share(self.outcomes, _is_confident_wrong)

    @property
    def abstain_out_of_kb(self) -> float:
        return _share(self.out_of_kb, lambda o: o.answered_id is None)

    @property
    def misses(self) -> List[Outcome]:
        return [o for o in self.outcomes if _is_confident_wrong(o) or o.answered_id != o.question.doc_id]


@dataclass(frozen=True)
class Latency:
    samples_ms: List[float]

    @property
    def p50(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p95(self) -> float:
        return statistics.quantiles(self.samples_ms, n=20, method="inclusive")[-1]


def _share(outcomes: Sequence[Outcome], predicate) -> float:
    return sum(1 for o in outcomes if predicate(o)) / len(outcomes) if outcomes else 0.0


def _is_confident_wrong(outcome: Outcome) -> bool:
    return outcome.answered_id is not None and outcome.answered_id != outcome.question.doc_id


def read_questions(path: Path = QUESTIONS_PATH) -> List[Question]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return [Question(str(item["q"]), item.get("doc")) for item in data["questions"]]


def evaluate_quality(kb: KnowledgeBase, questions: Sequence[Question]) -> QualityReport:
    outcomes = []
    for question in questions:
        ranked = [hit.document.id for hit in kb.search(question.text, k=3)]
        answer = kb.answer(question.text)
        answered = answer.document.id if answer.confident and answer.document else None
        offered = [d.id for d in (answer.document, *answer.alternatives)] if answer.alternatives else []
        outcomes.append(Outcome(question, ranked, answered, offered, answer.outcome))
    return QualityReport(outcomes)


def measure_latency(kb: KnowledgeBase, queries: Sequence[str], rounds: int = 3) -> Latency:
    """Wall time of `answer()` per query, after one warm-up pass."""
    for query in queries:
        kb.answer(query)
    samples = []
    for _ in range(rounds):
        for query in queries:
            start = time.perf_counter()
            kb.answer(query)
            samples.append((time.perf_counter() - start) * 1000)
    return Latency(samples)


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

