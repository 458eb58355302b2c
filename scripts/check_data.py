"""`rasa data validate`, with every warning either explained or fatal.

Rasa warns about each response that no story or rule mentions; here that is
expected for the responses that code sends (the `"utter_…"` names in actions/, business/,
assist/, connectors/ and workspace/: custom actions, agent assist, the channels and the
agent workspace) and the questions forms ask. Any other warning, a response code names but
the domain lacks, or a validation error fails the check.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from rasa.shared.core.domain import Domain

ROOT = Path(__file__).resolve().parents[1]
UNUSED = re.compile(r"The utterance '(utter_\w+)' is not used in any story or rule\.")
WARNING = re.compile(r"UserWarning: (.+)")
# "utter_x" or f"utter_x_{...}" anywhere in the actions' code
SENT = re.compile(r"""f?["'](utter_\w*?)(\{|["'])""")
# Not a response: the metadata key in which Rasa names the response a bot message came from.
NOT_SENT = {"utter_action"}


def responses_sent_by_actions() -> tuple[set[str], set[str]]:
    names, prefixes = set(), set()
    for package in ("actions", "assist", "business", "connectors", "workspace"):
        for path in (ROOT / package).rglob("*.py"):
            for name, end in SENT.findall(path.read_text(encoding="utf-8")):
                if name not in NOT_SENT:
                    (prefixes if end == "{" else names).add(name)
    return names, prefixes


def main() -> int:
    domain = Domain.load(ROOT / "domain.yml").as_dict()
    responses = set(domain["responses"])
    form_questions = {
        f"utter_ask_{slot}" for form in domain["forms"].values() for slot in form["required_slots"]
    }
    names, prefixes = responses_sent_by_actions()
    problems = [
        f"actions send '{name}', which domain.yml does not define" for name in sorted(names - responses)
    ]
    problems += [
        f"no response in domain.yml starts with '{prefix}'"
        for prefix in sorted(prefixes)
        if not any(r.startswith(prefix) for r in responses)
    ]

    # Exactly as a designer runs it: the activated venv, the project root, no flags.
    activate = Path(sys.executable).parent / "activate"
    run = subprocess.run(
        ["bash", "-c", f'. "{activate}" && rasa data validate'],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    output = run.stdout + run.stderr
    if run.returncode != 0:
        problems.append(f"rasa data validate exited with {run.returncode}:\n{output[-3000:]}")
    explained = 0
    for warning in WARNING.findall(output):
        unused = UNUSED.search(warning)
        name = unused.group(1) if unused else None
        if name and (name in names or name in form_questions or any(name.startswith(p) for p in prefixes)):
            explained += 1
        else:
            problems.append(f"unexplained warning: {warning}")
    for problem in problems:
        print(f"✗ {problem}")
    print(
        f"data validation: {explained} explained warnings (responses sent by actions), "
        f"{len(problems)} problems"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
