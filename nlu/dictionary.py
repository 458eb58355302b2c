"""The jieba user dictionary, generated from what the project already knows.

Cities come from the NLU lookup tables and synonyms, product names from the demo
catalogue, policy vocabulary from the knowledge base; only segmentation fixes that
exist nowhere else (brand names, dates, words jieba must not glue together) are
written by hand in data/jieba/. Nothing is maintained twice.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, Iterable, List

import yaml

from business.text import normalise
from kb.retrieval import domain_words, read_documents

ENTITY_FREQUENCY = 2000  # high enough that jieba keeps the word whole
_NAME = re.compile(r"^[\u4e00-\u9fff]{2,8}$")  # a city or product name
# KB keywords are often whole phrases (下单多久发货); as one token they would hide their
# words from the intent classifier, so only word-length terms are taken.
_TERM = re.compile(r"^[\u4e00-\u9fff]{2,4}$")


def catalogue_words(demo_data_path: Path) -> List[str]:
    """The Chinese part of every product name in the demo orders (无线蓝牙耳机 Pro -> 无线蓝牙耳机)."""
    data = yaml.safe_load(demo_data_path.read_text(encoding="utf-8")) or {}
    names = [item["name"] for order in data.get("orders") or [] for item in order.get("items") or []]
    return [part for name in names for part in re.findall(r"[\u4e00-\u9fff]+", name)]


def read_hand_entries(directory: Path) -> Dict[str, str]:
    """Hand-written jieba lines (`word [freq] [tag]`) by word, from every file in `directory`."""
    entries: Dict[str, str] = {}
    for path in sorted(Path(directory).glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                entries[line.split()[0]] = line
    return entries


def user_dictionary(
    entity_words: Iterable[str], hand_dir: Path, kb_dir: Path, demo_data_path: Path
) -> List[str]:
    """jieba dictionary lines: hand entries win over generated ones for the same word."""
    names = [*entity_words, *catalogue_words(demo_data_path)]
    terms = domain_words(read_documents(kb_dir))
    lines = read_hand_entries(hand_dir)
    for words, shape in ((names, _NAME), (terms, _TERM)):
        for word in (normalise(word).strip() for word in words):
            if shape.match(word) and word not in lines:
                lines[word] = f"{word} {ENTITY_FREQUENCY} n"
    return sorted(lines.values())
