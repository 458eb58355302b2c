"""Labelled customer questions: the two evaluation splits, and the tuning split's questions as the
answering path's example questions (no Rasa imports).

kb/eval/tuning.yml and kb/eval/heldout.yml hold questions as customers write them, each labelled
with the document(s) that answer it, or with none when the KB must not answer it.

The tuning questions are also examples (相似问): a new question is compared with them, and the
nearest one tells which document customers who asked like this needed, or that the KB did not
cover it. When the nearest example belongs to the best candidate, and by how far it is nearer than
the nearest example of any other document or outside the KB, are two of the decision's inputs
(kb/answering.py). A question is never its own example: `python -m kb tune` and `kb evaluate` leave
each tuning question out when they ask it, so the tuning figures are those of a question not seen.
Their vectors are e5 query vectors (questions compared with questions), kept under var/kb-vectors/
like the passages'.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Tuple

import numpy as np
import yaml

from business.text import to_simplified
from kb.dense import MAX_QUERY_CHARS, VECTOR_CACHE_DIR, cached_vectors, shared_encoder
from kb.retrieval import KB_DIR

EVAL_DIR = KB_DIR / "eval"
TUNING_PATH = EVAL_DIR / "tuning.yml"
HELDOUT_PATH = EVAL_DIR / "heldout.yml"
EXAMPLES_PATH = TUNING_PATH
# Cosine similarities between e5 query vectors differ in the second decimal (kb/answering.py's
# DENSE_SCALE does the same for the passages').
EXAMPLE_SCALE = 20.0


@dataclass(frozen=True)
class Question:
    text: str
    doc_ids: Tuple[str, ...]  # empty: the KB must not answer it; several: each states the answer
    says: Optional[str] = None  # what the answer to a question with a condition must state
    ambiguous: bool = False  # truly means one of several things: asking which one is right


def read_questions(path: Path = HELDOUT_PATH) -> List[Question]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    questions = []
    for item in data["questions"]:
        doc = item.get("doc")
        doc_ids = tuple(str(d) for d in doc) if isinstance(doc, list) else ((str(doc),) if doc else ())
        says = item.get("says")
        questions.append(
            Question(
                str(item["q"]),
                doc_ids,
                str(says) if says is not None else None,
                bool(item.get("ambiguous", False)),
            )
        )
    return questions


class ExampleQuestions:
    """Labelled questions as nearest neighbours of a new one."""

    def __init__(self, questions: Sequence[Question], vectors: np.ndarray) -> None:
        self.questions = tuple(questions)
        self._vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(self.questions), -1)
        self._position = {q.text: i for i, q in enumerate(self.questions)}
        self._labelled = {
            doc_id: np.array([doc_id in q.doc_ids for q in self.questions], dtype=bool)
            for doc_id in {d for q in self.questions for d in q.doc_ids}
        }

    @classmethod
    def load(
        cls,
        document_ids: Iterable[str],
        path: Path = EXAMPLES_PATH,
        encoder=None,
        cache_dir: Optional[Path] = VECTOR_CACHE_DIR,
    ) -> "ExampleQuestions":
        """The questions of `path`, labelled only with documents the KB holds: a question whose every
        document was removed is no example (it would read as a question the KB does not cover)."""
        known = set(document_ids)
        questions = []
        for question in read_questions(path):
            kept = tuple(d for d in question.doc_ids if d in known)
            if question.doc_ids and not kept:
                continue
            questions.append(Question(question.text, kept, ambiguous=question.ambiguous))
        encoder = encoder or shared_encoder()
        texts = [to_simplified(q.text[:MAX_QUERY_CHARS]) for q in questions]  # as DenseIndex.encode_query
        return cls(questions, cached_vectors(encoder, texts, cache_dir, queries=True))

    def __len__(self) -> int:
        return len(self.questions)

    def lead(
        self, query_vector: np.ndarray, doc_id: str, leave_out: str = ""
    ) -> Optional[Tuple[float, float]]:
        """(how much nearer the nearest example of `doc_id` is than the nearest example of any other
        document or outside the KB, scaled; whether it is the nearest of all), or None when no
        example is labelled with `doc_id`. The example whose text is `leave_out` is not compared."""
        labelled = self._labelled.get(doc_id)
        if labelled is None:
            return None
        similarities = self._vectors @ query_vector
        usable = np.ones(len(self.questions), dtype=bool)
        if leave_out in self._position:
            usable[self._position[leave_out]] = False
        mine, others = labelled & usable, ~labelled & usable
        if not mine.any() or not others.any():
            return None
        nearest_mine = float(similarities[mine].max())
        nearest_other = float(similarities[others].max())
        return EXAMPLE_SCALE * (nearest_mine - nearest_other), float(nearest_mine > nearest_other)

    def nearest(self, query_vector: np.ndarray, leave_out: str = "") -> Optional[Tuple[Question, float]]:
        """The nearest example and its cosine similarity (for `python -m kb ask`)."""
        if not self.questions:
            return None
        similarities = self._vectors @ query_vector
        order = [i for i in np.argsort(-similarities) if self.questions[i].text != leave_out]
        return (self.questions[order[0]], float(similarities[order[0]])) if order else None
