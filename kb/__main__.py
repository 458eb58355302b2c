"""Designer and developer commands for the knowledge base.

python -m kb list                      documents: id, title, category, facts
python -m kb check                     problems in the documents (exit 1 if any)
python -m kb ask "满多少包邮"            top hits and what the assistant would do, and why
python -m kb build                     build the index and report its size and time
python -m kb tune                      fit the answering decision on kb/eval/tuning.yml
python -m kb tune --cv                 the same, cross-validated over tuning.yml's questions
python -m kb evaluate [--synthetic N]  both splits, the held-out targets, latency
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import unicodedata
from pathlib import Path
from typing import Sequence

import jieba
import numpy as np

from business.store.seed import DEMO_DATA
from kb.answering import Answerer
from kb.checker import check_kb
from kb.evaluation import (
    ABSTAIN_TARGET,
    ANSWERED_TARGET,
    CONFIDENT_WRONG_TARGET,
    LEXICAL_P95_TARGET_MS,
    P95_TARGET_MS,
    TOP1_TARGET,
    Latency,
    QualityReport,
    encode_questions,
    evaluate_quality,
    measure_latency,
    synthetic_answerer,
    target_failures,
)
from kb.questions import HELDOUT_PATH, TUNING_PATH, read_questions
from kb.retrieval import (
    DEFAULT_DIR,
    STRONG_SCORE,
    DocumentError,
    KnowledgeBase,
    document_paths,
    read_documents,
)


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def pad(text: str, width: int) -> str:
    return text + " " * max(0, width - display_width(text))


def print_table(rows: Sequence[Sequence[str]]) -> None:
    widths = [max(display_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(pad(cell, width) for cell, width in zip(row, widths, strict=True)).rstrip())


def command_list(args: argparse.Namespace) -> int:
    documents = read_documents(args.directory)
    rows = [("id", "title", "category", "facts")]
    rows += [(d.id, d.title, d.category, ", ".join(d.facts) or "-") for d in documents]
    print_table(rows)
    print(f"\n{len(documents)} documents")
    return 0


def command_check(args: argparse.Namespace) -> int:
    problems = check_kb(args.directory, args.demo_data)
    for problem in problems:
        print(f"error: {problem}")
    documents = len(document_paths(args.directory))
    if problems:
        print(f"{len(problems)} problem(s) in {documents} documents")
        return 1
    print(f"ok: {documents} documents, every kb_fact of {args.demo_data.name} stated with its numbers")
    return 0


def command_ask(args: argparse.Namespace) -> int:
    answerer = Answerer.load(KnowledgeBase.load(args.directory))
    calibration = answerer.calibration
    kb = answerer.kb
    print(f"tokens: {' '.join(kb.analyzer.query_tokens(args.query)) or '(none)'}")
    vector = answerer.dense.encode_query(args.query)  # encoded once for the decision and the ranking
    decision = answerer.answer(args.query, channel=args.channel, query_vector=vector)
    evidence = decision.evidence
    print(f"  {'combined':>8}  {'lexical':>7}  {'coverage':>8}  {'dense':>6}  document")
    for candidate in answerer.rank(args.query, k=args.k, channel=args.channel, query_vector=vector):
        print(
            f"  {candidate.combined:8.3f}  {candidate.lexical:7.3f}  {candidate.coverage:8.2f}  "
            f"{candidate.dense:6.3f}  {candidate.document.id}  {candidate.document.title}"
        )
    model = calibration.model(evidence)
    if evidence.features:
        print(
            "features: "
            + ", ".join(
                f"{name} {value:.3f}"
                for name, value in zip(
                    model.feature_names, evidence.features + evidence.example_features, strict=True
                )
            )
        )
    nearest = answerer.examples.nearest(vector)
    if nearest is not None:
        example, similarity = nearest
        print(
            f"nearest example question ({similarity:.3f}): {example.text} -> "
            f"{', '.join(example.doc_ids) or 'outside the KB'}"
        )
    if evidence.candidates and not evidence.example_features:
        print(
            f"no example question is labelled {evidence.candidates[0].document.id}: the model without examples"
        )
    print(
        f"probability right: {evidence.probability:.3f}  (answer at >= {model.answer_floor}, "
        f"ask which one at >= {model.clarify_floor} with a runner-up within {model.close_margin} "
        f"combined; dense weight {calibration.dense_weight:g}, STRONG_SCORE {STRONG_SCORE:g})"
    )
    if evidence.lookup:
        print("a request about the customer's own records: never answered from the KB")
    if evidence.elsewhere:
        print(
            "about another company or a business we do not run (elsewhere_phrases): never answered from the KB"
        )
    print(f"lexical decision alone (the NLU feature): {evidence.lexical_outcome}")
    print(f"decision: {decision.outcome}")
    if decision.outcome == "answered":
        if decision.passage is not None:
            print(f"the part that applies ({decision.passage.reason}):")
        print(decision.text(short=args.channel == "phone"))
    elif decision.outcome == "clarify":
        print("ask which one: " + " / ".join(d.title for d in decision.options))
    return 0


def command_build(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    kb = KnowledgeBase.load(args.directory)
    seconds = time.perf_counter() - start
    print(f"built index: {len(kb.documents)} documents, {kb.vocabulary_size} terms in {seconds:.2f} s")
    return 0


def print_quality(name: str, report: QualityReport, path: Path) -> None:
    def line(label: str, share, note: str = "") -> None:
        print(
            f"  {label:<34} {float(share):.3f}  ({share.count}/{share.total}){'   ' + note if note else ''}"
        )

    print(f"{name}: {path} ({len(report.in_kb)} answerable, {len(report.out_of_kb)} outside the KB)")
    line("top-1 accuracy", report.top_k(1))
    line("top-3 accuracy", report.top_k(3))
    line("answered outright and right", report.answered_correctly, "answerable")
    line(
        "asked which one, truly ambiguous",
        report.clarified_rightly,
        "answerable, right one among the buttons",
    )
    line("asked which one, otherwise", report.clarified_otherwise, "answerable, not counted as right")
    line("not sure, offered a human", report.in_kb_share("not_sure"), "answerable")
    line("confidently wrong", report.confident_wrong, "all questions")
    line("abstains outside the KB", report.abstain_out_of_kb, "outside the KB: not sure")
    line(
        "condition: the part that applies",
        report.condition_stated,
        "questions with a condition, answered right",
    )
    line("condition: the whole document", report.whole_document_for_condition)
    line("condition: a part, the wrong one", report.wrong_part_for_condition)


def print_misses(report: QualityReport) -> None:
    for outcome in report.misses:
        print(
            f"  miss: {outcome.question.text}  expected={list(outcome.question.doc_ids) or None} "
            f"ranked={outcome.ranked_ids} answered={outcome.answered_id} offered={outcome.offered_ids} ({outcome.outcome})"
        )
    for outcome in report.with_condition:
        if outcome.answered_id in outcome.question.doc_ids and not (
            outcome.partial and outcome.question.says in outcome.text
        ):
            print(
                f"  condition: {outcome.question.text}  should say {outcome.question.says!r}: {outcome.text!r}"
            )


def latency_line(label: str, documents: int, latency: Latency) -> str:
    return (
        f"  {label} ({documents} documents, {len(latency.samples_ms)} samples): "
        f"p50 {latency.p50:.2f} ms, p95 {latency.p95:.2f} ms"
    )


def command_evaluate(args: argparse.Namespace) -> int:
    answerer = Answerer.load(KnowledgeBase.load(args.directory))
    splits = [("tuning", args.tuning), ("held-out", args.questions)]
    reports, vectors, encoding_ms, texts = {}, [], [], []
    for name, path in splits:
        questions = read_questions(path)
        split_vectors, split_ms = encode_questions(answerer, questions)
        reports[name] = evaluate_quality(answerer, questions, split_vectors)
        print_quality(name, reports[name], path)
        if args.show_misses:
            print_misses(reports[name])
        vectors.extend(split_vectors)
        encoding_ms.extend(split_ms)
        texts.extend(q.text for q in questions)
    print(
        f"targets (held-out split): top-1 >= {float(TOP1_TARGET):.2f}, answered outright and right >= "
        f"{float(ANSWERED_TARGET):.2f}, confidently wrong <= {float(CONFIDENT_WRONG_TARGET):.2f}, abstains outside "
        f">= {float(ABSTAIN_TARGET):.2f}; answer p95 < {P95_TARGET_MS:g} ms, lexical p95 < {LEXICAL_P95_TARGET_MS:g} ms"
    )
    full, retrieval, lexical = measure_latency(answerer, texts, vectors, encoding_ms)
    print("latency:")
    print(latency_line("question encoding (e5)", len(answerer.documents), Latency(encoding_ms)))
    print(latency_line("answer, shipped KB", len(answerer.documents), full))
    print(latency_line("  retrieval and decision", len(answerer.documents), retrieval))
    print(latency_line("lexical decision (NLU feature), shipped KB", len(answerer.documents), lexical))
    p95_ms, lexical_p95_ms = full.p95, lexical.p95
    if args.synthetic:
        start = time.perf_counter()
        large = synthetic_answerer(answerer, args.synthetic)
        print(
            f"  synthetic KB built in {time.perf_counter() - start:.1f} s ({large.kb.vocabulary_size} terms)"
        )
        heldout = read_questions(args.questions)
        top1 = evaluate_quality(large, heldout, np.array(vectors[-len(heldout) :])).top_k(1)
        print(f"  top-1 in the synthetic KB (held-out)      {float(top1):.3f}   (information only)")
        full, retrieval, lexical = measure_latency(large, texts, vectors, encoding_ms, rounds=1)
        print(latency_line("answer, synthetic KB", len(large.documents), full))
        print(latency_line("  retrieval and decision", len(large.documents), retrieval))
        print(latency_line("lexical decision (NLU feature), synthetic KB", len(large.documents), lexical))
        p95_ms, lexical_p95_ms = full.p95, lexical.p95
    failures = target_failures(reports["held-out"], p95_ms, lexical_p95_ms)
    for failure in failures:
        print(f"below target: {failure}")
    print("targets: " + ("FAILED" if failures else "met"))
    return 1 if failures else 0


def command_tune(args: argparse.Namespace) -> int:
    from kb.calibrate import cross_validate, tune

    if args.cv:
        cross_validate(KnowledgeBase.load(args.directory), args.questions)
    else:
        tune(KnowledgeBase.load(args.directory), args.questions)
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m kb", description="星河 knowledge base tools")
    root.add_argument("--directory", type=Path, default=DEFAULT_DIR, help="KB documents folder")
    commands = root.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="list the documents").set_defaults(run=command_list)
    check = commands.add_parser("check", help="check the documents against the demo data")
    check.add_argument("--demo-data", type=Path, default=DEMO_DATA)
    check.set_defaults(run=command_check)
    ask = commands.add_parser("ask", help="show what a question retrieves")
    ask.add_argument("query")
    ask.add_argument("-k", type=int, default=5)
    ask.add_argument("--channel", choices=("web", "wechat", "phone"))
    ask.set_defaults(run=command_ask)
    commands.add_parser("build", help="build the index, report size and time").set_defaults(run=command_build)
    tune = commands.add_parser("tune", help="fit the answering decision on the tuning split")
    tune.add_argument("--questions", type=Path, default=TUNING_PATH)
    tune.add_argument(
        "--cv",
        action="store_true",
        help="k-fold cross-validation on the tuning questions instead (writes nothing)",
    )
    tune.set_defaults(run=command_tune)
    evaluate = commands.add_parser("evaluate", help="both splits, the held-out targets, latency")
    evaluate.add_argument("--questions", type=Path, default=HELDOUT_PATH, help="the held-out split")
    evaluate.add_argument("--tuning", type=Path, default=TUNING_PATH, help="the tuning split")
    evaluate.add_argument(
        "--synthetic", type=int, metavar="N", help="also time a synthetic KB of N documents"
    )
    evaluate.add_argument(
        "--show-misses", action="store_true", help="print every question not answered right"
    )
    evaluate.set_defaults(run=command_evaluate)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    jieba.setLogLevel(logging.WARNING)  # no dictionary-loading chatter in command output
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except DocumentError as error:
        print(f"error: {error} (details: python -m kb check)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
