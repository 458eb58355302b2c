"""Checks a KB directory against the demo data: what `python -m kb check` runs."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Dict, List, Sequence

import yaml

from business.store.seed import DEMO_DATA
from kb.retrieval import (
    DEFAULT_DIR,
    SYNONYMS_PATH,
    Document,
    DocumentError,
    document_paths,
    normalize,
    parse_document,
    read_synonym_groups,
    split_front_matter,
)

# A WeChat bubble and a phone prompt: a few lines, one spoken sentence.
MAX_BODY_LINES = 5
MAX_SHORT_CHARS = 80

# Hotline, clock time, then any integer or decimal ("1-3个工作日" gives 1 and 3).
_NUMBER = re.compile(r"\d{3}-\d{3}-\d{4}|\d{1,2}:\d{2}|\d+(?:\.\d+)?")
_SENTENCE_END = re.compile(r"[。！？!?]")


def read_kb_facts(path: Path = DEMO_DATA) -> Dict[str, str]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return {item["id"]: item["fact"] for item in data["kb_facts"]}


def numbers_in(text: str) -> Counter:
    return Counter(_NUMBER.findall(text))


def check_kb(
    directory: Path = DEFAULT_DIR,
    demo_data: Path = DEMO_DATA,
    synonyms: Path = SYNONYMS_PATH,
) -> List[str]:
    """Every problem found, one line each; an empty list means the KB is fine."""
    facts = read_kb_facts(demo_data)
    documents, problems = read_valid_documents(directory)
    problems += duplicate_id_problems(directory)
    for document in documents:
        problems += length_problems(document)
        problems += fact_problems(document, facts)
    problems += uncovered_fact_problems(documents, facts)
    problems += synonym_problems(synonyms)
    return problems


def read_valid_documents(directory: Path) -> tuple[List[Document], List[str]]:
    documents, problems = [], []
    paths = document_paths(directory)
    if not paths:
        problems.append(f"{directory}: no *.md documents")
    for path in paths:
        try:
            documents.append(parse_document(path))
        except DocumentError as error:
            problems.append(str(error))
    return documents, problems


def duplicate_id_problems(directory: Path) -> List[str]:
    owners: Dict[str, List[str]] = {}
    for path in document_paths(directory):
        try:
            meta, _ = split_front_matter(path.read_text(encoding="utf-8"))
        except DocumentError:
            continue  # already reported by read_valid_documents
        if isinstance(meta.get("id"), str):
            owners.setdefault(meta["id"], []).append(path.name)
    return [
        f"duplicate id `{doc_id}` in {', '.join(names)}"
        for doc_id, names in sorted(owners.items())
        if len(names) > 1
    ]


def length_problems(document: Document) -> List[str]:
    problems = []
    lines = [line for line in document.body.splitlines() if line.strip()]
    if len(lines) > MAX_BODY_LINES:
        problems.append(f"{document.id}: body has {len(lines)} lines (at most {MAX_BODY_LINES})")
    if len(document.short) > MAX_SHORT_CHARS:
        problems.append(
            f"{document.id}: `short` is {len(document.short)} characters (at most {MAX_SHORT_CHARS})"
        )
    if len(_SENTENCE_END.findall(document.short.rstrip("。！？!?"))) > 0:
        problems.append(f"{document.id}: `short` must be one sentence")
    return problems


def fact_problems(document: Document, facts: Dict[str, str]) -> List[str]:
    problems = []
    for fact_id in document.facts:
        if fact_id not in facts:
            problems.append(f"{document.id}: unknown fact id `{fact_id}`")
            continue
        missing = numbers_in(facts[fact_id]).keys() - numbers_in(document.body).keys()
        if missing:
            problems.append(
                f"{document.id}: claims fact `{fact_id}` but its body does not state {', '.join(sorted(missing))}"
            )
    return problems


def uncovered_fact_problems(documents: Sequence[Document], facts: Dict[str, str]) -> List[str]:
    stated = {fact_id for document in documents for fact_id in document.facts}
    return [f"fact `{fact_id}` is not stated by any document" for fact_id in facts if fact_id not in stated]


def synonym_problems(path: Path) -> List[str]:
    groups: Dict[str, int] = {}
    problems = []
    for number, group in enumerate(read_synonym_groups(path), start=1):
        for word in map(normalize, group):
            if word in groups and groups[word] != number:
                problems.append(f"{path.name}: `{word}` is in synonym groups {groups[word]} and {number}")
            groups[word] = number
    return problems
