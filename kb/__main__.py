"""Designer and developer commands for the knowledge base.

    python -m kb list                      documents: id, title, category, facts
    python -m kb check                     problems in the documents (exit 1 if any)
    python -m kb ask "满多少包邮"            top hits and what the assistant would do
    python -m kb build                     build the index and report its size and time
    python -m kb evaluate [--synthetic N]  accuracy and latency against the targets
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
import unicodedata
from pathlib import Path
from typing import List, Sequence

import jieba

from kb.checker import DEMO_DATA_PATH, check_kb
from kb.evaluation import (
    CONFIDENT_WRONG_TARGET,
    P95_TARGET_MS,
    QUESTIONS_PATH,
    TOP1_TARGET,
    Latency,
    QualityReport,
    evaluate_quality,
    measure_latency,
    read_questions,
    synthetic_kb,
)
from kb.retrieval import DEFAULT_DIR, DocumentError, KnowledgeBase, document_paths, read_documents


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def pad(text: str, width: int) -> str:
    return text + " " * max(0, width - display_width(text))


def print_table(rows: Sequence[Sequence[str]]) -> None:
    widths = [max(display_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(pad(cell, width) for cell, width in zip(row, widths)).rstrip())


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
    kb = KnowledgeBase.load(args.directory)
    print(f"tokens: {' '.join(kb.analyzer.query_tokens(args.query)) or '(none)'}")
    for hit in kb.search(args.query, k=args.k, channel=args.channel):
        print(f"  {hit.score:7.3f}  {hit.document.id}  {hit.document.title}")
    answer = kb.answer(args.query, channel=args.channel)
    print(f"decision: {answer.outcome} (score {answer.score:.3f}, coverage {answer.coverage:.2f})")
    if answer.outcome == "answered":
        print(answer.document.body)
    elif answer.outcome == "clarify":
        options = [answer.document, *answer.alternatives]
        print("ask which one: " + " / ".join(d.title for d in options))
    return 0


def command_build(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    kb = KnowledgeBase.load(args.directory)
    seconds = time.perf_counter() - start
    print(f"built index: {len(kb.documents)} documents, {kb.vocabulary_size} terms in {seconds:.2f} s")
    return 0


def print_quality(report: QualityReport, path: Path) -> None:
    print(f"questions: {path} ({len(report.in_kb)} answerable, {len(report.out_of_kb)} outside the KB)")
    print(f"  top-1 accuracy             {report.top_k(1):.3f}   (target >= {TOP1_TARGET:.2f})")
    print(f"  top-3 accuracy             {report.top_k(3):.3f}")
    print(f"  answered correctly         {report.answered_correctly:.3f}   (answerable, answered outright and right)")
    print(f"  asked which one is meant   {report.in_kb_share('clarify'):.3f}   (answerable)")
    print(f"    ... right one among them {report.clarified_with_right_option:.3f}")
    print(f"  not sure, offered a human  {report.in_kb_share('not_sure'):.3f}   (answerable)")
    print(f"  confident-wrong rate       {report.confident_wrong:.3f}   (all questions; target <= {CONFIDENT_WRONG_TARGET:.2f})")
    print(f"  abstain rate outside KB    {report.abstain_out_of_kb:.3f}")


def print_misses(report: QualityReport) -> None:
    for outcome in report.misses:
        print(
            f"  miss: {outcome.question.text}  expected={outcome.question.doc_id} "
            f"ranked={outcome.ranked_ids} answered={outcome.answered_id} offered={outcome.offered_ids} ({outcome.outcome})"
        )


def latency_line(label: str, documents: int, latency: Latency) -> str:
    return (
        f"  latency {label} ({documents} documents, {len(latency.samples_ms)} queries): "
        f"p50 {latency.p50:.2f} ms, p95 {latency.p95:.2f} ms"
    )


def target_failures(report: QualityReport, p95_ms: float) -> List[str]:
    failures = []
    if report.top_k(1) < TOP1_TARGET:
        failures.append(f"top-1 {report.top_k(1):.3f} < {TOP1_TARGET}")
    if report.confident_wrong > CONFIDENT_WRONG_TARGET:
        failures.append(f"confident-wrong {report.confident_wrong:.3f} > {CONFIDENT_WRONG_TARGET}")
    if p95_ms > P95_TARGET_MS:
        failures.append(f"p95 {p95_ms:.2f} ms > {P95_TARGET_MS} ms")
    return failures


def command_evaluate(args: argparse.Namespace) -> int:
    kb = KnowledgeBase.load(args.directory)
    questions = read_questions(args.questions)
    report = evaluate_quality(kb, questions)
    print_quality(report, args.questions)
    if args.show_misses:
        print_misses(report)
    queries = [question.text for question in questions]
    latency = measure_latency(kb, queries)
    print(latency_line("shipped KB", len(kb.documents), latency))
    p95_ms = latency.p95
    if args.synthetic:
        start = time.perf_counter()
        large = synthetic_kb(kb, args.synthetic)
        print(f"  synthetic KB built in {time.perf_counter() - start:.1f} s ({large.vocabulary_size} terms)")
        print(f"  top-1 accuracy in the synthetic KB {evaluate_quality(large, questions).top_k(1):.3f}   (information only)")
        large_latency = measure_latency(large, queries)
        print(latency_line("synthetic KB", len(large.documents), large_latency))
        p95_ms = large_latency.p95
    failures = target_failures(report, p95_ms)
    for failure in failures:
        print(f"below target: {failure}")
    print("targets: " + ("FAILED" if failures else "met"))
    return 1 if failures else 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m kb", description="星河 knowledge base tools")
    root.add_argument("--directory", type=Path, default=DEFAULT_DIR, help="KB documents folder")
    commands = root.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="list the documents").set_defaults(run=command_list)
    check = commands.add_parser("check", help="check the documents against the demo data")
    check.add_argument("--demo-data", type=Path, default=DEMO_DATA_PATH)
    check.set_defaults(run=command_check)
    ask = commands.add_parser("ask", help="show what a question retrieves")
    ask.add_argument("query")
    ask.add_argument("-k", type=int, default=5)
    ask.add_argument("--channel", choices=("web", "wechat", "phone"))
    ask.set_defaults(run=command_ask)
    commands.add_parser("build", help="build the index, report size and time").set_defaults(run=command_build)
    evaluate = commands.add_parser("evaluate", help="accuracy and latency against the targets")
    evaluate.add_argument("--questions", type=Path, default=QUESTIONS_PATH)
    evaluate.add_argument("--synthetic", type=int, metavar="N", help="also time a synthetic KB of N documents")
    evaluate.add_argument("--show-misses", action="store_true", help="print every question not answered right")
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
