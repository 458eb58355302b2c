"""`make assist-eval`: how often the knowledge suggestions put the right document first and among the
three shown, on messages customers send in the middle of agent conversations
(`assist/eval/messages.yml`), and how long a suggestion takes."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import List, Sequence, Tuple

import yaml

from assist.suggestions import KnowledgeSuggestions

MESSAGES = Path(__file__).with_name("eval") / "messages.yml"
TOP3_TARGET = Fraction(95, 100)
P95_TARGET_MS = 200.0


@dataclass(frozen=True)
class Result:
    messages: int
    top1: Fraction
    top3: Fraction
    p50_ms: float
    p95_ms: float
    misses: Tuple[Tuple[str, Tuple[str, ...], Tuple[str, ...]], ...]  # text, expected, shown

    @property
    def met(self) -> bool:
        return self.top3 >= TOP3_TARGET and self.p95_ms <= P95_TARGET_MS


def load_messages(path: Path = MESSAGES) -> List[Tuple[str, Tuple[str, ...]]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [(str(m["text"]), tuple(m["docs"])) for m in data["messages"]]


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def evaluate(suggestions: KnowledgeSuggestions, messages: Sequence[Tuple[str, Tuple[str, ...]]]) -> Result:
    suggestions.for_message("你好")  # the first call loads the encoder; it is not a customer's wait
    first = third = 0
    timings, misses = [], []
    for text, expected in messages:
        started = time.perf_counter()
        shown = tuple(s.document_id for s in suggestions.for_message(text))
        timings.append((time.perf_counter() - started) * 1000)
        first += bool(shown) and shown[0] in expected
        if set(shown) & set(expected):
            third += 1
        else:
            misses.append((text, expected, shown))
    count = len(messages)
    return Result(
        count,
        Fraction(first, count),
        Fraction(third, count),
        statistics.median(timings),
        percentile(timings, 0.95),
        tuple(misses),
    )


def report(result: Result) -> str:
    lines = [
        f"messages: {result.messages}",
        f"top-1: {float(result.top1):.3f}",
        f"top-3: {float(result.top3):.3f} (target ≥ {float(TOP3_TARGET):.2f})",
        f"suggestion latency: p50 {result.p50_ms:.1f} ms, p95 {result.p95_ms:.1f} ms (target ≤ {P95_TARGET_MS:.0f} ms)",
    ]
    lines += [
        f"  missed: {text}  want {'/'.join(want)}  shown {', '.join(shown)}"
        for text, want, shown in result.misses
    ]
    lines.append("targets: met" if result.met else "targets: NOT met")
    return "\n".join(lines)
