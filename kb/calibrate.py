"""`python -m kb tune`: fit the answering decision on the tuning split only.

Reads kb/eval/tuning.yml (never heldout.yml) and writes kb/calibration.yml:

1. `dense_weight`: the weight of the dense similarity in the combined ranking, the one
   that ranks the right document first for most tuning questions (ties: the smaller).
2. The two logistic models: for the best candidate of each tuning question (requests about
   one's own records left out, they are never answered), the decision features against "is
   it the right document". Each question is asked without its own example (kb/questions.py),
   as a question not seen. `with_examples` reads FEATURE_NAMES and EXAMPLE_FEATURE_NAMES;
   `without_examples`, for a document no example is labelled with yet, reads FEATURE_NAMES
   and is fitted on every question as if no document had examples.
3. The floors and the margin of each model: the grid point that answers the most tuning
   questions outright and right while confident-wrong stays at most TUNING_CONFIDENT_WRONG
   and the questions outside the KB get "not sure" at least TUNING_ABSTAIN of the time (both
   stricter than the held-out targets, to leave room for questions not seen here).

`python -m kb tune --cv` judges a change of the decision without the held-out split:
k-fold cross-validation over the tuning questions (stratified by inside / outside the KB,
repeated with other shuffles), steps 2 and 3 fitted on k-1 folds and counted on the one
left out, both as shipped and as if no document had examples; nothing is written.
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

from kb.answering import (
    CALIBRATION_PATH,
    EXAMPLE_FEATURE_NAMES,
    FEATURE_NAMES,
    Answerer,
    Calibration,
    DecisionModel,
    Evidence,
    decide,
    with_probability,
)
from kb.questions import TUNING_PATH, Question, read_questions
from kb.retrieval import KnowledgeBase

DENSE_WEIGHTS = (0.0, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 60.0, 80.0)
ANSWER_FLOORS = tuple(round(float(x), 3) for x in np.arange(0.30, 0.96, 0.025))
CLARIFY_FLOORS = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4)
CLOSE_MARGINS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4)
TUNING_CONFIDENT_WRONG = Fraction("0.01")
TUNING_ABSTAIN = Fraction("0.97")
REGULARISATION_C = 10.0
# The two decision models (kb/answering.py Calibration), as the counts of each are labelled.
MODELS = {"with_examples": "as shipped", "without_examples": "as if no document had examples"}


def _unfitted(dense_weight: float) -> Calibration:
    """A calibration with the ranking's weight and no decision models yet."""

    def blank(names: Tuple[str, ...]) -> DecisionModel:
        return DecisionModel(names, (0.0,) * len(names), 0.0, 1.0, 1.0, 0.0)

    return Calibration(dense_weight, blank(FEATURE_NAMES + EXAMPLE_FEATURE_NAMES), blank(FEATURE_NAMES))


class TuningSet:
    """The tuning questions encoded once, with the KB's answerer whose examples they are."""

    def __init__(self, kb: KnowledgeBase, questions_path: Path) -> None:
        self.questions = read_questions(questions_path)
        self.answerer = Answerer.build(kb, _unfitted(0.0), questions_path)
        self.vectors = np.array([self.answerer.dense.encode_query(q.text) for q in self.questions])

    def evidence(self, calibration: Calibration) -> List[Evidence]:
        """Each question's evidence, asked without its own example."""
        answerer = self.answerer.with_calibration(calibration)
        return [
            answerer.evidence(q.text, query_vector=v, leave_out=q.text)
            for q, v in zip(self.questions, self.vectors, strict=True)
        ]


def _right(question: Question, evidence: Evidence) -> bool:
    return bool(evidence.candidates) and evidence.candidates[0].document.id in question.doc_ids


def choose_dense_weight(tuning: TuningSet) -> Tuple[float, Dict[float, int]]:
    answerable = [i for i, q in enumerate(tuning.questions) if q.doc_ids]
    right = {}
    for weight in DENSE_WEIGHTS:
        answerer = tuning.answerer.with_calibration(_unfitted(weight))
        right[weight] = sum(
            _right(
                tuning.questions[i],
                answerer.evidence(tuning.questions[i].text, query_vector=tuning.vectors[i]),
            )
            for i in answerable
        )
    best = max(DENSE_WEIGHTS, key=lambda w: (right[w], -w))
    return best, right


def _decided(evidence: Evidence) -> bool:
    return bool(evidence.candidates) and not evidence.lookup and not evidence.elsewhere


def without_examples(evidence: Sequence[Evidence]) -> List[Evidence]:
    """The evidence as if no document had example questions (what the second model is fitted on)."""
    return [replace(e, example_features=()) for e in evidence]


def by_model(evidence: Sequence[Evidence]) -> Dict[str, List[Evidence]]:
    """Per decision model (MODELS), the evidence it is counted on."""
    return {"with_examples": list(evidence), "without_examples": without_examples(evidence)}


def fit_model(
    model: DecisionModel, evidence: Sequence[Evidence], questions: Sequence[Question]
) -> DecisionModel:
    """`model` fitted on the decided questions whose best candidate it applies to."""
    from sklearn.linear_model import LogisticRegression

    width = len(model.feature_names)
    rows = [
        (e.features + e.example_features, _right(q, e))
        for e, q in zip(evidence, questions, strict=True)
        if _decided(e) and len(e.features + e.example_features) == width
    ]
    features = np.array([r[0] for r in rows])
    labels = np.array([r[1] for r in rows])
    fitted = LogisticRegression(C=REGULARISATION_C, max_iter=5000).fit(features, labels)
    return replace(
        model, coefficients=tuple(float(c) for c in fitted.coef_[0]), intercept=float(fitted.intercept_[0])
    )


def fit_models(
    calibration: Calibration, evidence: Sequence[Evidence], questions: Sequence[Question]
) -> Calibration:
    return replace(
        calibration,
        with_examples=fit_model(calibration.with_examples, evidence, questions),
        without_examples=fit_model(calibration.without_examples, without_examples(evidence), questions),
    )


def score_grid_point(
    calibration: Calibration, evidence: Sequence[Evidence], questions: Sequence[Question]
) -> Tuple[int, int, int, int]:
    """(answered right, rightly clarified, confident wrong, abstained outside) on the tuning split."""
    answered = clarified = wrong = abstained = 0
    for e, q in zip(evidence, questions, strict=True):
        outcome, document, alternatives = decide(e, calibration.model(e))
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
    calibration: Calibration, which: str, evidence: Sequence[Evidence], questions: Sequence[Question]
) -> Tuple[Calibration, Tuple[int, int, int, int]]:
    """The floors of the model `which` (MODELS) counted on `evidence` (whose probabilities the
    calibration gave)."""
    total, outside = len(questions), sum(1 for q in questions if not q.doc_ids)
    best, best_key, best_score = calibration, None, None
    model = getattr(calibration, which)
    for answer_floor, clarify_floor, margin in itertools.product(
        ANSWER_FLOORS, CLARIFY_FLOORS, CLOSE_MARGINS
    ):
        if clarify_floor > answer_floor:
            continue
        floors = replace(model, answer_floor=answer_floor, clarify_floor=clarify_floor, close_margin=margin)
        candidate = replace(calibration, **{which: floors})
        score = score_grid_point(candidate, evidence, questions)
        answered, clarified, wrong, abstained = score
        if Fraction(wrong, total) > TUNING_CONFIDENT_WRONG or Fraction(abstained, outside) < TUNING_ABSTAIN:
            continue
        # Most answered right, then most rightly clarified, then the highest floor (the safer side).
        key = (answered, clarified, answer_floor, -margin)
        if best_key is None or key > best_key:
            best, best_key, best_score = candidate, key, score
    if best_score is None:
        raise SystemExit(
            f"{which}: no grid point keeps confident-wrong and abstention within the tuning limits"
        )
    return best, best_score


def _with_probabilities(evidence: Sequence[Evidence], calibration: Calibration) -> List[Evidence]:
    return [with_probability(e, calibration) if _decided(e) else e for e in evidence]


def calibrate(
    provisional: Calibration, evidence: Sequence[Evidence], questions: Sequence[Question]
) -> Tuple[Calibration, Dict[str, Tuple[int, int, int, int]]]:
    """Steps 2 and 3 on `evidence`: both models fitted, each with its floors; the tuning counts of
    each (as shipped, and as if no document had examples)."""
    fitted = fit_models(provisional, evidence, questions)
    shipped, scores = fitted, {}
    for which, rows in by_model(evidence).items():
        shipped, scores[which] = choose_floors(shipped, which, _with_probabilities(rows, fitted), questions)
    return shipped, scores


def cross_validate(
    kb: KnowledgeBase, questions_path: Path = TUNING_PATH, folds: int = 5, repeats: int = 20
) -> Dict[str, Dict[str, float]]:
    """Steps 2 and 3 fitted on k-1 folds of the tuning questions and counted on the fold left out
    (dense_weight as calibrated), as shipped and as if no document had examples; the shares
    averaged over the repeats."""
    from sklearn.model_selection import StratifiedKFold

    tuning = TuningSet(kb, questions_path)
    questions = tuning.questions
    provisional = _unfitted(Calibration.load().dense_weight)
    evidence = tuning.evidence(provisional)
    inside = np.array([bool(q.doc_ids) for q in questions])
    totals = {which: np.zeros(4) for which in MODELS}
    for repeat in range(repeats):
        for train, test in StratifiedKFold(folds, shuffle=True, random_state=repeat).split(
            tuning.vectors, inside
        ):
            calibration, _ = calibrate(
                provisional, [evidence[i] for i in train], [questions[i] for i in train]
            )
            test_questions = [questions[i] for i in test]
            for which, rows in by_model([evidence[i] for i in test]).items():
                totals[which] += score_grid_point(
                    calibration, _with_probabilities(rows, calibration), test_questions
                )
    answerable, outside = int(inside.sum()), int((~inside).sum())
    figures = {}
    for which, label in MODELS.items():
        answered, clarified, wrong, abstained = totals[which] / repeats
        figures[which] = {
            "answered right": answered / answerable,
            "rightly clarified": clarified / answerable,
            "confident wrong": wrong / len(questions),
            "not sure outside the KB": abstained / outside,
        }
        print(
            f"{folds}-fold cross-validation on {questions_path.name}, {repeats} shuffles, {label}: "
            + ", ".join(f"{name} {value:.3f}" for name, value in figures[which].items())
        )
    return figures


def _model_data(model: DecisionModel) -> dict:
    return {
        "coefficients": {
            name: round(c, 6) for name, c in zip(model.feature_names, model.coefficients, strict=True)
        },
        "intercept": round(model.intercept, 6),
        "answer_floor": float(model.answer_floor),
        "clarify_floor": float(model.clarify_floor),
        "close_margin": float(model.close_margin),
    }


def tune(
    kb: KnowledgeBase, questions_path: Path = TUNING_PATH, output: Path = CALIBRATION_PATH
) -> Calibration:
    tuning = TuningSet(kb, questions_path)
    questions = tuning.questions
    weight, right_by_weight = choose_dense_weight(tuning)
    provisional = _unfitted(weight)
    calibration, scores = calibrate(provisional, tuning.evidence(provisional), questions)
    answerable = sum(1 for q in questions if q.doc_ids)
    outside = len(questions) - answerable
    digest = hashlib.sha256(Path(questions_path).read_bytes()).hexdigest()[:16]
    counts = []
    for which, label in MODELS.items():
        answered, clarified, wrong, abstained = scores[which]
        counts.append(
            f"# On the tuning split, {label}: answered right {answered}/{answerable}, rightly clarified "
            f"{clarified}, confident-wrong {wrong}/{len(questions)}, not sure outside the KB {abstained}/{outside}.\n"
        )
    header = (
        "# Written by `python -m kb tune` (kb/calibrate.py) from kb/eval/tuning.yml only; do not edit by hand.\n"
        f"# {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, tuning.yml sha256 {digest}…, "
        f"{answerable} answerable + {outside} outside the KB; each asked without its own example.\n"
        f"# Top-1 right by dense_weight: {', '.join(f'{w:g}: {n}' for w, n in right_by_weight.items())}.\n"
        + "".join(counts)
    )
    data = {
        "dense_weight": float(calibration.dense_weight),
        "with_examples": _model_data(calibration.with_examples),
        "without_examples": _model_data(calibration.without_examples),
    }
    output.write_text(header + yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    print(header, end="")
    return Calibration.load(output)
