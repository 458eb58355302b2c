"""`python -m kb tune`: fit the answering decision on the tuning split only.

Reads kb/eval/tuning.yml (never heldout.yml) and writes kb/calibration.yml:

1. `dense_weight`: the weight of the dense similarity in the combined ranking, the one
   that ranks the right document first for most tuning questions (ties: the smaller).
2. The logistic model: for the best candidate of each tuning question (requests about
   one's own records left out, they are never answered), the decision features
   (kb/answering.py FEATURE_NAMES) against "is it the right document".
3. The floors and the margin: the grid point that answers the most tuning questions
   outright and right while confident-wrong stays at most TUNING_CONFIDENT_WRONG and the
   questions outside the KB get "not sure" at least TUNING_ABSTAIN of the time (both
   stricter than the held-out targets, to leave room for questions not seen here).

`python -m kb tune --cv` judges a change of the decision without the held-out split:
k-fold cross-validation over the tuning questions (stratified by inside / outside the KB,
repeated with other shuffles), steps 2 and 3 fitted on k-1 folds and counted on the one
left out; nothing is written.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import replace
from datetime import datetime, timezone
from fractions import Fraction
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np
import yaml

from kb.answering import CALIBRATION_PATH, FEATURE_NAMES, Answerer, Calibration, Evidence, decide
from kb.dense import DenseIndex
from kb.evaluation import TUNING_PATH, Question, read_questions
from kb.retrieval import KnowledgeBase

DENSE_WEIGHTS = (0.0, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 60.0, 80.0)
ANSWER_FLOORS = tuple(round(float(x), 3) for x in np.arange(0.30, 0.96, 0.025))
CLARIFY_FLOORS = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4)
CLOSE_MARGINS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4)
TUNING_CONFIDENT_WRONG = Fraction("0.01")
TUNING_ABSTAIN = Fraction("0.97")
REGULARISATION_C = 10.0


def _unfitted(dense_weight: float) -> Calibration:
    """A calibration with the ranking's weight and no decision model yet."""
    return Calibration(dense_weight, (0.0,) * len(FEATURE_NAMES), 0.0, 1.0, 1.0, 0.0)


def _encoded(kb: KnowledgeBase, questions_path: Path) -> Tuple[List[Question], DenseIndex, np.ndarray]:
    """The tuning questions, the KB's dense index and each question's vector (encoded once)."""
    questions = read_questions(questions_path)
    dense = DenseIndex.build(kb.documents)
    return questions, dense, np.array([dense.encode_query(q.text) for q in questions])


def _right(question: Question, evidence: Evidence) -> bool:
    return bool(evidence.candidates) and evidence.candidates[0].document.id in question.doc_ids


def _evidence(answerer: Answerer, questions: Sequence[Question], vectors: np.ndarray) -> List[Evidence]:
    return [answerer.evidence(q.text, query_vector=v) for q, v in zip(questions, vectors, strict=True)]


def choose_dense_weight(
    kb: KnowledgeBase, dense: DenseIndex, questions: Sequence[Question], vectors: np.ndarray
) -> Tuple[float, Dict[float, int]]:
    answerable = [(q, v) for q, v in zip(questions, vectors, strict=True) if q.doc_ids]
    right = {}
    for weight in DENSE_WEIGHTS:
        answerer = Answerer(kb, dense, _unfitted(weight))
        right[weight] = sum(_right(q, answerer.evidence(q.text, query_vector=v)) for q, v in answerable)
    best = max(DENSE_WEIGHTS, key=lambda w: (right[w], -w))
    return best, right


def fit_model(evidence: Sequence[Evidence], questions: Sequence[Question]) -> Tuple[Tuple[float, ...], float]:
    from sklearn.linear_model import LogisticRegression

    rows = [(e.features, _right(q, e)) for e, q in zip(evidence, questions, strict=True) if _decided(e)]
    features = np.array([r[0] for r in rows])
    labels = np.array([r[1] for r in rows])
    model = LogisticRegression(C=REGULARISATION_C, max_iter=5000).fit(features, labels)
    return tuple(float(c) for c in model.coef_[0]), float(model.intercept_[0])


def _decided(evidence: Evidence) -> bool:
    return bool(evidence.candidates) and not evidence.lookup and not evidence.elsewhere


def score_grid_point(
    calibration: Calibration, evidence: Sequence[Evidence], questions: Sequence[Question]
) -> Tuple[int, int, int, int]:
    """(answered right, rightly clarified, confident wrong, abstained outside) on the tuning split."""
    answered = clarified = wrong = abstained = 0
    for e, q in zip(evidence, questions, strict=True):
        outcome, document, alternatives = decide(e, calibration)
        if outcome == "answered":
            if document.id in q.doc_ids:
                answered += 1
            else:
                wrong += 1
        elif outcome == "clarify" and q.ambiguous:
            clarified += bool({document.id, *(d.id for d in alternatives)} & set(q.doc_ids))
        if not q.doc_ids and outcome == "not_sure":
            abstained += 1
    return answered, clarified, wrong, abstained


def choose_floors(
    calibration: Calibration, evidence: Sequence[Evidence], questions: Sequence[Question]
) -> Tuple[Calibration, Tuple[int, int, int, int]]:
    total, outside = len(questions), sum(1 for q in questions if not q.doc_ids)
    best, best_key, best_score = calibration, None, None
    for answer_floor, clarify_floor, margin in itertools.product(
        ANSWER_FLOORS, CLARIFY_FLOORS, CLOSE_MARGINS
    ):
        if clarify_floor > answer_floor:
            continue
        candidate = replace(
            calibration, answer_floor=answer_floor, clarify_floor=clarify_floor, close_margin=margin
        )
        score = score_grid_point(candidate, evidence, questions)
        answered, clarified, wrong, abstained = score
        if Fraction(wrong, total) > TUNING_CONFIDENT_WRONG or Fraction(abstained, outside) < TUNING_ABSTAIN:
            continue
        # Most answered right, then most rightly clarified, then the highest floor (the safer side).
        key = (answered, clarified, answer_floor, -margin)
        if best_key is None or key > best_key:
            best, best_key, best_score = candidate, key, score
    if best_score is None:
        raise SystemExit("no grid point keeps confident-wrong and abstention within the tuning limits")
    return best, best_score


def _with_model(evidence: Sequence[Evidence], calibration: Calibration) -> List[Evidence]:
    return [
        replace(e, probability=calibration.probability(e.features)) if _decided(e) else e for e in evidence
    ]


def cross_validate(
    kb: KnowledgeBase, questions_path: Path = TUNING_PATH, folds: int = 5, repeats: int = 20
) -> Dict[str, float]:
    """Steps 2 and 3 fitted on k-1 folds of the tuning questions and counted on the fold left out
    (dense_weight as calibrated); the shares averaged over the repeats."""
    from sklearn.model_selection import StratifiedKFold

    questions, dense, vectors = _encoded(kb, questions_path)
    weight = float(yaml.safe_load(CALIBRATION_PATH.read_text(encoding="utf-8"))["dense_weight"])
    provisional = _unfitted(weight)
    evidence = _evidence(Answerer(kb, dense, provisional), questions, vectors)
    inside = np.array([bool(q.doc_ids) for q in questions])
    totals = np.zeros(4)
    for repeat in range(repeats):
        for train, test in StratifiedKFold(folds, shuffle=True, random_state=repeat).split(vectors, inside):
            train_evidence, train_questions = [evidence[i] for i in train], [questions[i] for i in train]
            coefficients, intercept = fit_model(train_evidence, train_questions)
            fitted = replace(provisional, coefficients=coefficients, intercept=intercept)
            calibration, _ = choose_floors(fitted, _with_model(train_evidence, fitted), train_questions)
            totals += score_grid_point(
                calibration, _with_model([evidence[i] for i in test], fitted), [questions[i] for i in test]
            )
    answered, clarified, wrong, abstained = totals / repeats
    answerable, outside = int(inside.sum()), int((~inside).sum())
    figures = {
        "answered right": answered / answerable,
        "rightly clarified": clarified / answerable,
        "confident wrong": wrong / len(questions),
        "not sure outside the KB": abstained / outside,
    }
    print(
        f"{folds}-fold cross-validation on {questions_path.name}, {repeats} shuffles: "
        + ", ".join(f"{name} {value:.3f}" for name, value in figures.items())
    )
    return figures


def tune(
    kb: KnowledgeBase, questions_path: Path = TUNING_PATH, output: Path = CALIBRATION_PATH
) -> Calibration:
    questions, dense, vectors = _encoded(kb, questions_path)
    weight, right_by_weight = choose_dense_weight(kb, dense, questions, vectors)
    provisional = _unfitted(weight)
    evidence = _evidence(Answerer(kb, dense, provisional), questions, vectors)
    coefficients, intercept = fit_model(evidence, questions)
    fitted = replace(provisional, coefficients=coefficients, intercept=intercept)
    evidence = _evidence(Answerer(kb, dense, fitted), questions, vectors)
    calibration, (answered, clarified, wrong, abstained) = choose_floors(fitted, evidence, questions)
    answerable = sum(1 for q in questions if q.doc_ids)
    outside = len(questions) - answerable
    digest = hashlib.sha256(Path(questions_path).read_bytes()).hexdigest()[:16]
    header = (
        "# Written by `python -m kb tune` (kb/calibrate.py) from kb/eval/tuning.yml only; do not edit by hand.\n"
        f"# {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, tuning.yml sha256 {digest}…, "
        f"{answerable} answerable + {outside} outside the KB.\n"
        f"# Top-1 right by dense_weight: {', '.join(f'{w:g}: {n}' for w, n in right_by_weight.items())}.\n"
        f"# On the tuning split: answered right {answered}/{answerable}, rightly clarified {clarified}, "
        f"confident-wrong {wrong}/{len(questions)}, not sure outside the KB {abstained}/{outside}.\n"
    )
    data = {
        "dense_weight": float(calibration.dense_weight),
        "model": {
            "coefficients": {
                name: round(c, 6) for name, c in zip(FEATURE_NAMES, calibration.coefficients, strict=True)
            },
            "intercept": round(calibration.intercept, 6),
        },
        "answer_floor": float(calibration.answer_floor),
        "clarify_floor": float(calibration.clarify_floor),
        "close_margin": float(calibration.close_margin),
    }
    output.write_text(header + yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    print(header, end="")
    return Calibration.load(output)
