"""python -m assist evaluate: the knowledge suggestions' accuracy and latency (make assist-eval)."""

from __future__ import annotations

import sys

from assist.evaluation import evaluate, load_messages, report
from assist.suggestions import KnowledgeSuggestions
from kb.answering import default_answerer


def main(argv: list[str]) -> int:
    if argv[1:] != ["evaluate"]:
        print("usage: python -m assist evaluate", file=sys.stderr)
        return 2
    result = evaluate(KnowledgeSuggestions(default_answerer()), load_messages())
    print(report(result))
    return 0 if result.met else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
